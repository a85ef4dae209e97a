"""Nothing lost, nothing half-written: a kill in the middle of a write leaves the old file or the new
one, and every kind of damage to a run folder is named in one line without raising."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.errors import InputError
from simulator.pipeline import run_scenario
from simulator.results.integrity import check_run_dir, require_run_dir
from simulator.results.run_dir import CL_MODEL, EMISSIONS, FL_MODEL, LEDGER, MANIFEST, SUMMARY
from tests.conftest import REPO_ROOT, tiny_scenario

SIZE = 8 * 2**20

WRITER = f"""
import sys
from pathlib import Path
from simulator.results.atomic import write_bytes_atomic
target = Path(sys.argv[1])
index = 0
while True:
    index += 1
    write_bytes_atomic(target, bytes([index % 256]) * {SIZE})
    if index == 2:
        Path(sys.argv[2]).touch()
"""


def test_sigkill_during_atomic_writes_leaves_a_whole_file(tmp_path):
    target, started = tmp_path / "big.bin", tmp_path / "started"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(started)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert time.monotonic() < deadline and writer.poll() is None
            time.sleep(0.01)
        time.sleep(0.3)  # well inside the loop of whole-file rewrites
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        if writer.poll() is None:
            writer.kill()
    data = target.read_bytes()
    assert len(data) == SIZE and data == data[:1] * SIZE


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    return run_scenario(tiny_scenario(probes__energy=False), tmp_path_factory.mktemp("runs")).run_dir


def test_a_finished_run_folder_is_complete_and_holds_no_temporary_files(finished_run):
    assert check_run_dir(finished_run, load_models=True).status == "complete"
    assert not [p.name for p in finished_run.iterdir() if p.name.endswith(".tmp")]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:40])


DAMAGE = {
    "manifest is a list": (lambda d: (d / MANIFEST).write_text("[]"), "manifest.json' holds no scenario"),
    "unknown status": (lambda d: _set_status(d, "paused"), "has status 'paused'"),
    "summary gone": (lambda d: (d / SUMMARY).unlink(), "summary.json' is missing"),
    "summary not results": (lambda d: (d / SUMMARY).write_text('{"fl": 1}'), "summary.json' lacks the fl and cl"),
    "ledger garbled": (lambda d: (d / LEDGER).write_text("approach\nfl\n"), "ledger.csv' is not a readable ledger"),
    "ledger bad number": (lambda d: _replace_in(d / LEDGER, "\nfl,paris,1,", "\nfl,paris,one,"), "ledger.csv' is not a readable ledger"),
    "emissions foreign": (lambda d: (d / EMISSIONS).write_text("a,b\n"), "emissions.csv' is not in CodeCarbon"),
    "model truncated": (lambda d: _truncate(d / FL_MODEL), "final_model.pt' is not a readable torch state_dict"),
    "cl model binary junk": (lambda d: (d / CL_MODEL).write_bytes(os.urandom(64)), "cl_model.pt' is not a readable"),
    "not utf-8": (lambda d: (d / SUMMARY).write_bytes(b"\xff\xfe\x00"), "summary.json' is not readable JSON"),
}


def _set_status(folder: Path, status: str) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    (folder / MANIFEST).write_text(json.dumps({**manifest, "status": status}))


def _replace_in(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new, 1))


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_damage_is_named_in_one_line_and_never_raises(finished_run, tmp_path, case):
    damage, expected = DAMAGE[case]
    copy = tmp_path / finished_run.name
    shutil.copytree(finished_run, copy)
    damage(copy)
    check = check_run_dir(copy, load_models=True)
    assert check.status == "damaged" and expected in check.problem and "\n" not in check.problem
    with pytest.raises(InputError, match="is unusable"):
        require_run_dir(copy)


def test_odd_paths_are_checked_without_raising(tmp_path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "empty").mkdir()
    for path, expected in ((tmp_path / "a-file", "is not a folder"), (tmp_path / "empty", "manifest.json' is missing"),
                           (tmp_path / "missing", "does not exist"), (Path("nul\x00byte"), "does not exist")):
        check = check_run_dir(path)
        assert check.status == "damaged" and expected in check.problem


def test_a_failed_run_is_reported_with_its_reason(finished_run, tmp_path):
    copy = tmp_path / finished_run.name
    shutil.copytree(finished_run, copy)
    manifest = json.loads((copy / MANIFEST).read_text())
    (copy / MANIFEST).write_text(json.dumps({**manifest, "status": "failed", "failure": "FederationStopped: round 1"}))
    check = check_run_dir(copy)
    assert check.status == "failed" and check.problem == "FederationStopped: round 1" and check.usable


def _cli(*argv: str) -> tuple[int, str]:
    import contextlib
    import io

    from simulator.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(list(argv))
        except SystemExit as done:
            return int(done.code or 0), err.getvalue()
    return 0, err.getvalue()


def test_commands_that_read_run_folders_never_crash_on_damaged_ones(finished_run, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(finished_run, runs / finished_run.name)
    for case, (damage, _) in DAMAGE.items():
        copy = runs / f"20990101T000000Z-{case.replace(' ', '-')}"
        shutil.copytree(finished_run, copy)
        damage(copy)
    (runs / "a-stray-file").write_text("x")
    status, err = _cli("runs", "--runs-dir", str(runs))
    assert status == 0 and "Traceback" not in err
    for folder in sorted(runs.iterdir()):
        for argv in (("report", str(folder)), ("compare", str(runs / finished_run.name), str(folder),
                                                "--runs-dir", str(runs)), ("resume", str(folder))):
            status, err = _cli(*argv)
            assert "Traceback" not in err, (argv, err)
            assert status in (0, 2), (argv, status, err)
            if status == 2:
                assert err.count("\n") == 1, (argv, err)
