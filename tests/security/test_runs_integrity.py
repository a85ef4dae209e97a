"""`silocarbon runs` lists a run folder only when it passes the run-folder integrity check: a damaged
one is skipped with one warning naming the folder and what is wrong, also when it was whole (and
indexed) before."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from simulator.results.run_dir import CL_MODEL, FL_MODEL, LEDGER, SUMMARY
from tests.conftest import run_cli, tiny_scenario


def _truncate(file: Path) -> None:
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def _flip_a_byte(file: Path) -> None:
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored tensor data: only the archive's CRC notices
    file.write_bytes(bytes(data))


DAMAGE = {
    "no-cl-model": (lambda d: (d / CL_MODEL).unlink(), f"{CL_MODEL}' is missing"),
    "cut-model": (lambda d: _truncate(d / FL_MODEL), f"{FL_MODEL}' is not a readable torch file"),
    "flipped-model": (lambda d: _flip_a_byte(d / FL_MODEL), f"{FL_MODEL}' is damaged"),
    "bad-ledger": (lambda d: (d / LEDGER).write_text("a,b\n1,2\n"), f"{LEDGER}' is not a readable ledger"),
    "no-summary": (lambda d: (d / SUMMARY).unlink(), f"{SUMMARY}' is missing"),
}


@pytest.fixture(scope="module")
def complete_run(tmp_path_factory) -> Path:
    from simulator.pipeline import run_scenario

    return run_scenario(tiny_scenario(probes__energy=False), tmp_path_factory.mktemp("runs")).run_dir


def test_runs_skips_damaged_folders_with_a_warning_naming_each(complete_run, tmp_path):
    runs = tmp_path / "runs"
    for name in ("20990101T000000Z-whole", *(f"20990101T000000Z-{case}" for case in DAMAGE)):
        shutil.copytree(complete_run, runs / name)
    first = run_cli("runs", "--runs-dir", str(runs), cwd=tmp_path, env={"COLUMNS": "200"})
    assert first.returncode == 0 and all(case in first.stdout for case in DAMAGE), first.stderr  # all whole, indexed

    for case, (damage, _) in DAMAGE.items():
        damage(runs / f"20990101T000000Z-{case}")
    listed = run_cli("runs", "--runs-dir", str(runs), cwd=tmp_path, env={"COLUMNS": "200"})

    assert listed.returncode == 0, listed.stderr
    assert "20990101T000000Z-whole" in listed.stdout
    warnings = listed.stderr.strip().splitlines()
    assert len(warnings) == len(DAMAGE), listed.stderr
    for case, (_, reason) in DAMAGE.items():
        assert case not in listed.stdout, f"damaged folder {case} listed as complete"
        assert any(f"run folder '{runs / f'20990101T000000Z-{case}'}': damaged" in w and reason in w
                   for w in warnings), (case, listed.stderr)
