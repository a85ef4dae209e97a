"""The `deployment` runner: the scenario on Flower's Deployment Engine, real processes.

On this machine (the default): a SuperLink, and per silo a SuperNode (node config
`partition-id=i num-partitions=n`, `--isolation process`) with its long-running ClientApp worker
(`simulator.flower.silo_worker`), all on loopback ports; the run itself is submitted with Flower's
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
from dataclasses import asdict, dataclass
from collections.abc import Callable
from pathlib import Path

import simulator
from simulator.config import Scenario
from simulator.deploy.certs import (
    CA_CERT,
    LOOPBACK_HOSTS,
    SERVER_CERT,
    SERVER_KEY,
    DeploymentCredentials,
    generate_credentials,
    read_credentials,
)
from simulator.errors import InputError
from simulator.flower.byte_relay import CountingRelay, WireCount
from simulator.flower.deployment_processes import (
    DeploymentError,
    ProcessSupervisor,
    StartedProcess,
    free_port,
    wait_for_port,
)
from simulator.flower.scenario_source import RUN_DIR_KEY, SCENARIO_TOML_KEY, scenario_toml
from simulator.ledger import APPROACH_FL, SERVER_SILO, Ledger
from simulator.results.atomic import write_json_atomic, write_text_atomic
from simulator.results.run_dir import FL_HISTORY, FL_LEDGER, LEDGER, FederationOutcome, read_federation_outcome

CONNECTION_NAME = "silocarbon"  # the SuperLink connection written into the run's own Flower config
DEPLOYMENT_FILE = "deployment.json"
LOG_DIR = "deployment_logs"
STATUS_POLL_S = 0.5
# The SuperLink's SuperExec asks for a ServerApp to start every second by default; a run here
# should not wait that long for its ServerApp.
SUPEREXEC_POLL_S = "0.1"
WIRE_METHOD = (
    "TCP payload bytes between the silo's SuperNode and the SuperLink, counted by a relay on loopback "
    "(TLS, HTTP, protobuf, polling, heartbeats and the app download included; TCP/IP headers excluded)"
)


@dataclass(frozen=True)
class SiloWire:
    silo: str
    wire_up_bytes: int  # silo -> SuperLink
    wire_down_bytes: int  # SuperLink -> silo
    payload_up_bytes: int  # from the ledger: Flower record sizes of the replies
    payload_down_bytes: int
    connections: int

    @property
    def wire_to_payload(self) -> float | None:
        payload = self.payload_up_bytes + self.payload_down_bytes
        return None if payload == 0 else (self.wire_up_bytes + self.wire_down_bytes) / payload

    def wire_to_payload_after_app_download(self, app_package_bytes: int) -> float | None:
        """The ratio once the one-off app download is taken out (approximate: its framing stays in)."""
        payload = self.payload_up_bytes + self.payload_down_bytes
        wire = self.wire_up_bytes + self.wire_down_bytes - app_package_bytes
        return None if payload == 0 else wire / payload


@dataclass(frozen=True)
class DeploymentOutcome:
    federation: FederationOutcome
    run_id: int
    pids: frozenset[int]
    wire: tuple[SiloWire, ...]  # empty when attached to a SuperLink elsewhere (not measured here)
    wall_s: float  # start of the first process to the end of the run, seconds


def wire_of_silos(ledger: Ledger, counts: dict[str, WireCount]) -> tuple[SiloWire, ...]:
    """Each silo's wire bytes next to the payload bytes its ledger rows record."""
    result = []
    for silo, count in counts.items():
        rows = [row for row in ledger.rows if row.approach == APPROACH_FL and row.silo == silo]
        result.append(
            SiloWire(
                silo=silo,
                wire_up_bytes=count.to_superlink_bytes,
                wire_down_bytes=count.from_superlink_bytes,
                payload_up_bytes=sum(row.bytes_up for row in rows),
                payload_down_bytes=sum(row.bytes_down for row in rows),
                connections=count.connections,
            )
        )
    return tuple(result)


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
        _follow(run_id, scenario, run_dir, address, credentials, supervisor)
        supervisor.note_descendants()
    except BaseException:
        _keep_partial_ledger(run_dir)
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
    _write_deployment_record(run_dir, scenario, outcome, supervisor)
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
            "simulator.flower.silo_worker",
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


# -- following the run ---------------------------------------------------------------------------


def _control_client(address: str, credentials: DeploymentCredentials | None):
    from flwr.supercore.control import ControlHttpClient
    from flwr.supercore.interceptors import RuntimeVersionHttpInterceptor

    return ControlHttpClient.from_server_address(
        server_address=address,
        insecure=credentials is None,
        root_certificates=None if credentials is None else credentials.ca_cert.read_bytes(),
        interceptors=[RuntimeVersionHttpInterceptor(component_name="flwr CLI")],
    )


def _run_status(client, run_id: int):
    from flwr.common.serde import run_from_proto
    from flwr.proto.control_pb2 import ListRunsRequest

    response = client.ListRuns(ListRunsRequest(run_id=run_id))
    if run_id not in response.run_dict:
        raise DeploymentError(f"the SuperLink does not know run {run_id}")
    return run_from_proto(response.run_dict[run_id]).status


def _follow(
    run_id: int,
    scenario: Scenario,
    run_dir: Path,
    address: str,
    credentials: DeploymentCredentials | None,
    supervisor: ProcessSupervisor,
) -> None:
    """Wait for the run to finish; one clear error if it fails or one of our processes stops."""
    from flwr.common.constant import Status, SubStatus

    # Every round may take its full timeout twice (train and evaluate), plus the start-up.
    limit_s = scenario.deployment.startup_timeout_s + 2 * scenario.training.last_round * scenario.training.round_timeout_s
    deadline = time.monotonic() + limit_s
    client = _control_client(address, credentials)
    try:
        while True:
            supervisor.note_descendants()
            stopped = supervisor.first_exited()
            if stopped is not None:
                raise DeploymentError(_stopped_message(stopped, run_id, scenario, run_dir))
            status = _run_status(client, run_id)
            if status.status == Status.FINISHED:
                if status.sub_status != SubStatus.COMPLETED or not (run_dir / FL_HISTORY).is_file():
                    raise DeploymentError(
                        f"run {run_id} finished as {status.sub_status or 'unknown'}: {status.details or 'no details'}"
                        f"; {_rows_note(run_dir)}; logs in {run_dir / LOG_DIR}"
                    )
                return
            if time.monotonic() > deadline:
                raise DeploymentError(f"run {run_id} did not finish within {limit_s:.0f} s; {_rows_note(run_dir)}")
            time.sleep(STATUS_POLL_S)
    finally:
        client.close()


def _stopped_message(stopped: StartedProcess, run_id: int, scenario: Scenario, run_dir: Path) -> str:
    return (
        f"{stopped.role} (pid {stopped.pid}) stopped with exit status {stopped.popen.returncode} during run {run_id} "
        f"of {scenario.training.rounds} rounds, so the run was ended; {_rows_note(run_dir)}; its log: {stopped.log_path}"
    )


def _rows_note(run_dir: Path) -> str:
    partial = run_dir / FL_LEDGER
    if not partial.is_file():
        return "no ledger rows were measured yet"
    rows = Ledger.from_csv(partial).rows
    silo_rows = [row for row in rows if row.silo != SERVER_SILO]
    last_round = max((row.round for row in rows), default=0)
    return f"{len(silo_rows)} silo ledger rows measured up to round {last_round} are kept in {run_dir / LEDGER}"


def _keep_partial_ledger(run_dir: Path) -> None:
    """A run cut short: the FL rows measured so far become the run folder's ledger."""
    partial = run_dir / FL_LEDGER
    if partial.is_file() and not (run_dir / LEDGER).exists():
        write_text_atomic(run_dir / LEDGER, partial.read_text())


def deployment_summary_lines(run_dir: Path) -> list[str]:
    """What `silocarbon run` prints after a deployment run: pace, and each silo's wire next to payload."""
    record = json.loads((run_dir / DEPLOYMENT_FILE).read_text())
    security = "TLS, authenticated SuperNodes" if record["authenticated_supernodes"] else (
        "TLS" if record["tls"] else "no TLS"
    )
    lines = [
        f"Deployment ({security}; SuperLink {record['superlink']}): {record['seconds_per_round']:.2f} s per round, "
        f"{record['wall_s']:.1f} s with start-up and stop"
    ]
    for silo in record["wire"]:
        lines.append(
            f"  {silo['silo']}: wire {silo['wire_up_bytes']:,} B up / {silo['wire_down_bytes']:,} B down, payload "
            f"{silo['payload_up_bytes']:,} B up / {silo['payload_down_bytes']:,} B down, wire/payload "
            f"{silo['wire_to_payload']:.2f} ({silo['wire_to_payload_after_app_download']:.2f} without the "
            f"{record['app_package_bytes']:,} B app download)"
        )
    if not record["wire"]:
        lines.append(f"  wire bytes: {record['wire_method']}")
    lines.append(f"  details: {run_dir / DEPLOYMENT_FILE}")
    return lines


def _app_package_bytes() -> int:
    """Size of the app package (FAB) `flwr run` builds from the source tree, as Flower builds it."""
    from flwr.cli.build import build_fab_from_disk

    return len(build_fab_from_disk(flower_app_dir()))


def _write_deployment_record(
    run_dir: Path, scenario: Scenario, outcome: DeploymentOutcome, supervisor: ProcessSupervisor
) -> None:
    settings = scenario.deployment
    app_bytes = _app_package_bytes()
    record = {
        "units": {"bytes": "bytes", "wall_s": "s", "wire_to_payload": "wire bytes / payload bytes (ratio)"},
        "run_id": outcome.run_id,
        "superlink": settings.superlink or "started here, on loopback",
        "tls": settings.tls,
        "authenticated_supernodes": settings.tls and settings.authenticate_supernodes,
        "wall_s": outcome.wall_s,
        "fl_wall_s": outcome.federation.wall_s,
        "seconds_per_round": outcome.federation.wall_s / max(1, len(outcome.federation.rounds)),
        # Loopback: every silo's worker measures the same host, and their windows can overlap.
        "silo_hosts": "this machine, shared by every silo" if not settings.superlink else "each silo's own",
        "processes": [
            {"role": started.role, "pid": started.pid, "exit_status": started.popen.returncode}
            for started in supervisor.started
        ],
        "pids_seen": sorted(outcome.pids),
        "wire_method": WIRE_METHOD if outcome.wire else "not measured (silos run elsewhere)",
        # Each SuperNode downloads the app once per run; that download is part of its wire_down_bytes.
        "app_package_bytes": app_bytes,
        "wire": [
            {
                **asdict(silo),
                "wire_to_payload": silo.wire_to_payload,
                "wire_to_payload_after_app_download": silo.wire_to_payload_after_app_download(app_bytes),
            }
            for silo in outcome.wire
        ],
    }
    write_json_atomic(run_dir / DEPLOYMENT_FILE, record)
