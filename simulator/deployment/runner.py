"""The `deployment` runner: the scenario on Flower's Deployment Engine, real processes.

On this machine (the default): a SuperLink, and per silo a SuperNode (node config
`partition-id=i num-partitions=n`, `--isolation process`) with its long-running ClientApp worker
(`simulator.deployment.silo_worker`), all on loopback ports; the run itself is submitted with Flower's
own `flwr run`. With `deployment.superlink = "host:port"` it attaches to a SuperLink that is
already running with its silos elsewhere and only submits and follows the run.

Each silo's worker measures its own host (its own energy probe) and its measurements come back
inside the replies, so the ServerApp's ledger holds every silo's rows; the ServerApp writes it into
the run folder after every exchange, so a run cut short keeps what was measured. Each SuperNode
reaches the SuperLink through a byte-counting relay (see byte_relay.py): the wire bytes of each silo
are written next to its payload bytes in `deployment.json`.

Every process started here (and every process they start) is stopped by PID when the run ends or
fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import simulator
from simulator.deployment.byte_relay import CountingRelay
from simulator.deployment.certs import (
    CA_CERT,
    LOOPBACK_HOSTS,
    SERVER_CERT,
    SERVER_KEY,
    DeploymentCredentials,
    generate_credentials,
    read_credentials,
)
from simulator.deployment.follow import follow_run, keep_partial_ledger
from simulator.deployment.processes import DeploymentError, ProcessSupervisor, free_port, wait_for_port
from simulator.deployment.record import DeploymentOutcome, wire_of_silos, write_deployment_record
from simulator.errors import InputError
from simulator.flower.flwr_internals import app_package_bytes
from simulator.flower.scenario_source import RUN_DIR_KEY, SCENARIO_TOML_KEY, scenario_toml
from simulator.results.run_dir import read_federation_outcome
from simulator.scenario.schema import Scenario

CONNECTION_NAME = "silocarbon"  # the SuperLink connection written into the run's own Flower config
LOG_DIR = "deployment_logs"
# The SuperLink's SuperExec asks for a ServerApp to start every second by default; a run here
# should not wait that long for its ServerApp.
SUPEREXEC_POLL_S = "0.1"


def run_deployment(
    scenario: Scenario, run_dir: Path, on_submitted: Callable[[ProcessSupervisor], None] | None = None
) -> DeploymentOutcome:
    """Run the scenario's federation on Flower's Deployment Engine; write its FL part into `run_dir`.

    `on_submitted` is called with the process supervisor once the run is submitted (fault tests).
    """
    run_dir = run_dir.resolve()
    app_dir = flower_app_dir()
    settings = scenario.deployment
    started_at = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="silocarbon-deploy-"))
    env = _child_environment(scratch / "flwr-home")
    supervisor = ProcessSupervisor(env, run_dir / LOG_DIR)
    relays: dict[str, CountingRelay] = {}
    try:
        credentials = _credentials(scenario, scratch)
        if settings.superlink:
            address = settings.superlink
        else:
            address = _start_superlink(supervisor, credentials, settings.startup_timeout_s)
        _write_flower_config(env, address, credentials)
        if not settings.superlink:
            if credentials is not None and settings.authenticate_supernodes:
                _flwr_all(
                    env,
                    app_dir,
                    [["supernode", "register", str(keys.public_key), CONNECTION_NAME] for keys in credentials.supernodes],
                )
            relays = _start_silos(supervisor, scenario, address, credentials)
        run_id = _submit(env, app_dir, scenario, run_dir, scratch)
        if on_submitted is not None:
            on_submitted(supervisor)
        follow_run(run_id, scenario, run_dir, address, credentials, supervisor)
        supervisor.note_descendants()
    except BaseException:
        keep_partial_ledger(run_dir)
        raise
    finally:
        counts = {silo: relay.count() for silo, relay in relays.items()}
        supervisor.stop_all()
        for relay in relays.values():
            relay.close()
        shutil.rmtree(scratch, ignore_errors=True)
    federation = read_federation_outcome(run_dir)
    outcome = DeploymentOutcome(
        federation=federation,
        run_id=run_id,
        pids=supervisor.pids,
        wire=wire_of_silos(federation.ledger, counts),
        wall_s=time.perf_counter() - started_at,
    )
    write_deployment_record(run_dir, scenario, outcome, supervisor, app_package_bytes(app_dir))
    return outcome


# -- set-up --------------------------------------------------------------------------------------


def flower_app_dir() -> Path:
    """The folder `flwr run` builds the app from: the source tree holding [tool.flwr.app]."""
    root = Path(simulator.__file__).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file() or "[tool.flwr.app]" not in pyproject.read_text():
        raise InputError(
            "key 'runner': 'deployment' needs silocarbon's source tree (a pyproject.toml with [tool.flwr.app] "
            f"next to the simulator package, looked for {pyproject}); install from a checkout with `pip install -e .`"
        )
    return root


def _child_environment(flwr_home: Path) -> dict[str, str]:
    flwr_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    package_root = str(Path(simulator.__file__).resolve().parents[1])
    env.update(
        FLWR_TELEMETRY_ENABLED="0",
        RAY_USAGE_STATS_ENABLED="0",
        # Flower's CLI, SuperLink and app installs use this folder, never the user's own config.
        FLWR_HOME=str(flwr_home),
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        PYTHONPATH=package_root + os.pathsep + env.get("PYTHONPATH", ""),
        FLWR_SUPEREXEC_TASK_POLL_INTERVAL=SUPEREXEC_POLL_S,
    )
    return env


def _credentials(scenario: Scenario, scratch: Path) -> DeploymentCredentials | None:
    settings = scenario.deployment
    if not settings.tls:
        return None
    if settings.superlink:
        # Attached: the silos hold their own keys elsewhere; only the CA is needed to reach the SuperLink.
        # Flower's connection config takes absolute paths only.
        ca = Path(settings.certs_dir).expanduser().resolve() / CA_CERT
        if not settings.certs_dir or not ca.is_file():
            raise InputError(
                "key 'deployment.certs_dir': attaching to a SuperLink with TLS needs the folder holding its "
                f"{CA_CERT} (from `silocarbon deploy certs`), or deployment.tls = false"
            )
        return DeploymentCredentials(ca.parent, ca, ca.parent / SERVER_CERT, ca.parent / SERVER_KEY, ())
    if settings.certs_dir:
        return read_credentials(Path(settings.certs_dir).expanduser().resolve(), scenario.silo_names)
    return generate_credentials(scratch / "certs", list(LOOPBACK_HOSTS), scenario.silo_names)


def _executable(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if found is None:
        raise InputError(f"key 'runner': 'deployment' needs Flower's `{name}` command (pip install 'flwr>=1.42,<1.43')")
    return found


def _start_superlink(supervisor: ProcessSupervisor, credentials: DeploymentCredentials | None, timeout_s: float) -> str:
    port = free_port()
    argv = [
        _executable("flower-superlink"),
        # Without this the SuperLink would try to install the app's dependencies at run time.
        "--disable-runtime-dependency-installation",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if credentials is None:
        argv.append("--insecure")
    else:
        argv += [
            "--ssl-ca-certfile",
            str(credentials.ca_cert),
            "--ssl-certfile",
            str(credentials.server_cert),
            "--ssl-keyfile",
            str(credentials.server_key),
        ]
        if credentials.supernodes:
            argv.append("--enable-supernode-auth")
    superlink = supervisor.start("superlink", argv)
    wait_for_port("127.0.0.1", port, timeout_s, superlink)
    return f"127.0.0.1:{port}"


def _start_silos(
    supervisor: ProcessSupervisor, scenario: Scenario, superlink: str, credentials: DeploymentCredentials | None
) -> dict[str, CountingRelay]:
    host, port = superlink.rsplit(":", 1)
    relays = {}
    country = scenario.probes.host_country if scenario.probes.energy else ""
    for index, silo in enumerate(scenario.silos):
        relay = CountingRelay(host, int(port))
        relays[silo.name] = relay
        runtime_port = free_port()
        argv = [
            _executable("flower-supernode"),
            "--superlink",
            relay.address,
            "--isolation",
            "process",  # the ClientApp process is ours: one long-running worker per silo
            "--host",
            "127.0.0.1",
            "--port",
            str(runtime_port),
            "--node-config",
            f"partition-id={index} num-partitions={len(scenario.silos)}",
        ]
        if credentials is None:
            argv.append("--insecure")
        else:
            argv += ["--root-certificates", str(credentials.ca_cert)]
            if scenario.deployment.authenticate_supernodes:
                argv += ["--auth-supernode-private-key", str(credentials.keys_of(silo.name).private_key)]
        supervisor.start(f"supernode {silo.name}", argv)
        worker = [
            sys.executable,
            "-m",
            "simulator.deployment.silo_worker",
            "--runtime-api-address",
            f"127.0.0.1:{runtime_port}",
            "--insecure",  # the Runtime API is the SuperNode's local port, not the network
            "--host-country",
            country,
        ]
        supervisor.start(f"silo worker {silo.name}", worker)
    return relays


def _write_flower_config(env: dict[str, str], address: str, credentials: DeploymentCredentials | None) -> None:
    import tomli_w

    connection: dict[str, object] = {"address": address}
    if credentials is None:
        connection["insecure"] = True
    else:
        connection["root-certificates"] = str(credentials.ca_cert)
    config = {"superlink": {"default": CONNECTION_NAME, CONNECTION_NAME: connection}}
    path = Path(env["FLWR_HOME"]) / "config.toml"
    path.write_text(tomli_w.dumps(config))


FLWR_CLI_TIMEOUT_S = 300


def _flwr(env: dict[str, str], app_dir: Path, args: list[str]) -> str:
    return _flwr_all(env, app_dir, [args])[0]


def _flwr_all(env: dict[str, str], app_dir: Path, commands: list[list[str]]) -> list[str]:
    """Run `flwr` commands side by side (each one imports Flower: seconds on a busy host); their outputs."""
    running = [
        (args, subprocess.Popen(
            [_executable("flwr"), *args], env=env, cwd=app_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ))
        for args in commands
    ]
    outputs = []
    try:
        for args, process in running:
            stdout, stderr = process.communicate(timeout=FLWR_CLI_TIMEOUT_S)
            if process.returncode != 0:
                last = (stderr.strip() or stdout.strip() or "no output").splitlines()[-1]
                raise DeploymentError(f"`flwr {' '.join(args[:2])}` failed with status {process.returncode}: {last}")
            outputs.append(stdout)
    finally:
        for _, process in running:
            if process.poll() is None:
                process.kill()
                process.wait()
    return outputs


def _submit(env: dict[str, str], app_dir: Path, scenario: Scenario, run_dir: Path, scratch: Path) -> int:
    import tomli_w

    # The scenario travels inside the run config, so silos on other machines need no shared file.
    overrides = scratch / "run-config.toml"
    overrides.write_text(tomli_w.dumps({SCENARIO_TOML_KEY: scenario_toml(scenario), RUN_DIR_KEY: str(run_dir)}))
    output = _flwr(env, app_dir, ["run", str(app_dir), CONNECTION_NAME, "--run-config", str(overrides), "--format", "json"])
    try:
        reply = json.loads(output[output.index("{") :])
    except ValueError:
        raise DeploymentError(f"`flwr run` did not answer in JSON: {' '.join(output.split())[-200:]}") from None
    if not reply.get("success") or reply.get("run-id") is None:
        # Flower's JSON error output: {"success": false, "error-message": "..."}
        reason = " ".join(str(reply.get("error-message", reply)).split())
        raise DeploymentError(f"`flwr run` did not start the run: {reason}")
    return int(reply["run-id"])
