"""`flwr run` on a fresh checkout: the app bundle Flower builds carries everything the apps need, and it
runs on a simulation SuperLink that installs nothing at run time.

The run test (marker `deployment`, part of the default run and of CI) starts a real SuperLink on
loopback with runtime dependency installation off and a temporary FLWR_HOME (so no default local
profile starts a SuperLink of its own), submits the bundle with Flower's own CLI, and checks that the
run folder appears and that every process it caused is gone afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import tomli_w
from conftest import REPO_ROOT, tiny_scenario

from simulator.ledger import Ledger
from simulator.deployment.processes import ProcessSupervisor, free_port, running_pids, wait_for_port
from simulator.flower.scenario_source import RUN_DIR_KEY, SCENARIO_TOML_KEY, scenario_toml

RUN_TIMEOUT_S = 600
CONNECTION = "local-simulation"


def _flower_environment(flwr_home: Path) -> dict[str, str]:
    flwr_home.mkdir(parents=True, exist_ok=True)
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "FLWR_HOME": str(flwr_home),  # Flower's CLI reads its connections here, never the user's own
        "FLWR_TELEMETRY_ENABLED": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }


def _flwr(env: dict[str, str], *args: str, cwd: Path) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "flwr"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"flwr {' '.join(args[:2])}: {done.stdout[-2000:]} {done.stderr[-2000:]}"
    return done.stdout


def _built_bundle(env: dict[str, str], folder: Path) -> Path:
    """The app bundle `flwr build` makes of the checkout, unpacked into `folder / 'bundle'`."""
    _flwr(env, "build", "--app", str(REPO_ROOT), cwd=folder)
    (fab,) = folder.glob("*.fab")
    unpacked = folder / "bundle"
    with zipfile.ZipFile(fab) as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "simulator/configs/default.toml" in names and "simulator/configs/factors.toml" in names
    assert not any(name.startswith(("tests/", "experiments/", "docs/")) for name in names)
    return unpacked


def test_the_bundle_alone_loads_the_embedded_default_scenario(tmp_path):
    env = _flower_environment(tmp_path / "flwr-home")
    bundle = _built_bundle(env, tmp_path)
    # Only the bundle on the path before site-packages: the package and its configs come from it.
    probe = (
        "import simulator, pathlib; from simulator.scenario.load import load_scenario; "
        "from simulator.lifecycle import load_factors; "
        "print(pathlib.Path(simulator.__file__).resolve().parent); print(load_scenario().name); load_factors()"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=bundle, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    package_dir, scenario_name = done.stdout.split()
    assert Path(package_dir) == (bundle / "simulator").resolve()
    assert scenario_name == "default"


@pytest.mark.deployment
@pytest.mark.timeout(RUN_TIMEOUT_S + 120)
def test_flwr_run_of_the_bundle_on_a_simulation_superlink_writes_the_run_folder(tmp_path):
    env = _flower_environment(tmp_path / "flwr-home")
    bundle = _built_bundle(env, tmp_path)
    port = free_port()
    (Path(env["FLWR_HOME"]) / "config.toml").write_text(
        tomli_w.dumps({"superlink": {"default": CONNECTION, CONNECTION: {"address": f"127.0.0.1:{port}", "insecure": True}}})
    )
    run_dir = tmp_path / "run"
    run_config = tmp_path / "run-config.toml"
    run_config.write_text(tomli_w.dumps({SCENARIO_TOML_KEY: scenario_toml(tiny_scenario()), RUN_DIR_KEY: str(run_dir)}))
    supervisor = ProcessSupervisor(env, tmp_path / "logs")
    try:
        superlink = supervisor.start(
            "superlink",
            [
                str(Path(sys.executable).parent / "flower-superlink"),
                "--insecure",
                "--simulation",
                # Without it the SuperLink would install the app's dependencies (a CUDA torch) at run time.
                "--disable-runtime-dependency-installation",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
        )
        wait_for_port("127.0.0.1", port, 120, superlink)
        submitted = _flwr(
            env, "run", str(bundle), CONNECTION, "--federation-config", "num-supernodes=2",
            "--run-config", str(run_config), "--format", "json", cwd=tmp_path,
        )
        assert json.loads(submitted[submitted.index("{"):])["success"]
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not (run_dir / "fl_history.json").is_file():
            supervisor.note_descendants()  # the SuperExec, the simulation process and Ray's
            assert superlink.popen.poll() is None, superlink.log_path.read_text()[-2000:]
            assert time.monotonic() < deadline, superlink.log_path.read_text()[-2000:]
            time.sleep(0.5)
        supervisor.note_descendants()
    finally:
        supervisor.stop_all()
    history = json.loads((run_dir / "fl_history.json").read_text())
    assert [entry["round"] for entry in history["rounds"]] == [1, 2]
    assert (run_dir / "final_model.pt").is_file() and (run_dir / "fl_ledger.csv").is_file()
    rows = Ledger.from_csv(run_dir / "fl_ledger.csv").rows
    # Ray's actors carry no probe of their own: the silos' energy is absent (docs/deployment.md); the
    # ServerApp measures its own host, charged to the central site.
    assert {row.energy_method for row in rows if row.silo != "server"} == {"absent"}
    assert {row.energy_method for row in rows if row.silo == "server"} <= {"modelled", "measured"}
    assert {row.country for row in rows if row.silo == "server"} == {"USA"}
    assert len(supervisor.pids) >= 3  # the SuperLink, its SuperExec and the simulation process at least
    assert running_pids(supervisor.pids) == set()


def test_the_package_holds_real_files_and_declares_its_configs_as_package_data():
    import fnmatch
    import tomllib

    package = REPO_ROOT / "simulator"
    assert [path for path in package.rglob("*") if path.is_symlink()] == []
    patterns = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["simulator"]
    configs = sorted(path.relative_to(package).as_posix() for path in (package / "configs").iterdir())
    assert configs and all(any(fnmatch.fnmatch(name, pattern) for pattern in patterns) for name in configs)
    # The top-level path users type still leads there.
    assert (REPO_ROOT / "configs" / "default.toml").resolve() == (package / "configs" / "default.toml").resolve()
