"""The `deployment` runner: the scenario on Flower's Deployment Engine, real processes.

On this machine (the default): a SuperLink (`--isolation process`) with the run's ServerApp worker
(`simulator.deployment.server_worker`), and per silo a SuperNode (node config `partition-id=i
num-partitions=n min-group-size=k`, `--isolation process`) with its long-running ClientApp worker
(`simulator.deployment.silo_worker`), all on loopback ports. The SuperNodes and workers are forks of
one fork server that imports Flower, torch and the apps once (fork_server.py) while the SuperLink
starts beside it; the SuperNodes are forked first (they need only Flower) and dial relays that
hold their connections until their keys are registered. Registration and submission go through the SuperLink's Control API from this process,
as `flwr supernode register` and `flwr run` send them.
With `deployment.superlink = "host:port"` it attaches to a SuperLink that is already running with
its silos elsewhere and only submits and follows the run.

Each silo's worker measures its own host (its own energy probe) and its measurements come back
inside the replies, so the ServerApp's ledger holds every silo's rows; the ServerApp writes it into
the run folder after every exchange, so a run cut short keeps what was measured, and this process
follows it to show the rounds' progress. Each SuperNode reaches the SuperLink through a
byte-counting relay (see byte_relay.py): the wire bytes of each silo are written next to its payload
bytes in `deployment.json`.

Every process started here is stopped by PID when the run ends or fails, and dies with this process
if it is killed; a watchdog then removes the scratch folder with the keys (see processes.py).
"""

from __future__ import annotations

import os
import shutil
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
    registration_public_key,
)
from simulator.deployment.commands import silo_node_config
from simulator.deployment.follow import JournalProgress, follow_run, keep_partial_ledger
from simulator.deployment.processes import (
    DeploymentError,
    ProcessSupervisor,
    Watchdog,
    free_port,
    wait_for_port,
)
from simulator.deployment.record import DeploymentOutcome, wire_of_silos, write_deployment_record
from simulator.errors import InputError
from simulator.flower.flwr_internals import (
    build_app_package,
    control_client,
    control_api_answers,
    register_supernode,
    start_run,
)
from simulator.flower.scenario_source import RUN_DIR_KEY, SCENARIO_TOML_KEY, scenario_toml
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.results.run_dir import read_federation_outcome
from simulator.scenario.schema import Scenario

LOG_DIR = "deployment_logs"
# What the app package carries: the packages the ServerApp and ClientApp import (the bundled
# scenarios and factors are in simulator/configs; the top-level `configs` only links to them).
APP_PARTS = ("simulator", "strategies")


def run_deployment(
    scenario: Scenario,
    run_dir: Path,
    on_submitted: Callable[[ProcessSupervisor], None] | None = None,
    observer: RunObserver = NULL_OBSERVER,
) -> DeploymentOutcome:
    """Run the scenario's federation on Flower's Deployment Engine; write its FL part into `run_dir`.

    `on_submitted` is called with the process supervisor once the run is submitted (fault tests).
    """
    run_dir = run_dir.resolve()
    app_dir = flower_app_dir()
    started_at = time.perf_counter()
    watchdog = Watchdog()  # first: from here on, a killed runner leaves no process and no key behind
    try:
        return _run(scenario, run_dir, app_dir, watchdog, started_at, on_submitted, observer)
    finally:
        watchdog.release()


def _run(
    scenario: Scenario,
    run_dir: Path,
    app_dir: Path,
    watchdog: Watchdog,
    started_at: float,
    on_submitted: Callable[[ProcessSupervisor], None] | None,
    observer: RunObserver,
) -> DeploymentOutcome:
    settings = scenario.deployment
    scratch = Path(tempfile.mkdtemp(prefix="silocarbon-deploy-"))
    watchdog.remove_on_exit(scratch)
    env = _child_environment(scratch / "flwr-home")
    supervisor = ProcessSupervisor(env, run_dir / LOG_DIR, watchdog)
    relays: dict[str, CountingRelay] = {}
    app_bytes = 0
    try:
        credentials = _credentials(scenario, scratch)
        if settings.superlink:
            address = settings.superlink
        else:
            address, relays = _start_processes(supervisor, scenario, credentials, scratch)
        app_package = build_app_package(app_dir, APP_PARTS)  # while the processes start
        app_bytes = len(app_package)
        if not settings.superlink:
            host, port = address.rsplit(":", 1)
            superlink = next(started for started in supervisor.started if started.role == "superlink")
            wait_for_port(host, int(port), settings.startup_timeout_s, superlink)
        progress = JournalProgress(run_dir, observer)  # rows a resumed run already has are not progress
        run_id = _register_and_submit(address, credentials, scenario, run_dir, app_package, relays)
        observer.federation_started(scenario.training.last_round, scenario.silo_names)
        if on_submitted is not None:
            on_submitted(supervisor)
        follow_run(run_id, scenario, run_dir, address, credentials, supervisor, observer, progress)
        observer.federation_finished()
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
    write_deployment_record(run_dir, scenario, outcome, supervisor, app_bytes)
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
        # Flower's SuperLink, SuperNodes and app installs use this folder, never the user's own config.
        FLWR_HOME=str(flwr_home),
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        PYTHONPATH=package_root + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def _credentials(scenario: Scenario, scratch: Path) -> DeploymentCredentials | None:
    settings = scenario.deployment
    if not settings.tls:
        return None
    if settings.superlink:
        # Attached: the silos hold their own keys elsewhere; only the CA is needed to reach the SuperLink.
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


def _start_processes(
    supervisor: ProcessSupervisor, scenario: Scenario, credentials: DeploymentCredentials | None, scratch: Path
) -> tuple[str, dict[str, CountingRelay]]:
    """Start the SuperLink, the ServerApp worker and every silo's SuperNode and worker, without
    waiting for any of them (each waits for what it dials); the SuperLink's address and the relays
    (closed: see byte_relay.py). The SuperNodes and workers are forks of one fork server, which
    imports Flower, torch and the apps once for all of them (fork_server.py), while the SuperLink
    starts beside it."""
    scenario_file = scratch / "scenario.toml"  # the text the run config carries
    scenario_file.write_text(scenario_toml(scenario), encoding="utf-8")
    supervisor.start_fork_server(scenario.deployment.startup_timeout_s, scenario_file)
    port = free_port()
    address = f"127.0.0.1:{port}"
    superlink = [
        _executable("flower-superlink"),
        # Without this the SuperLink would try to install the app's dependencies at run time.
        "--disable-runtime-dependency-installation",
        # The ServerApp process is ours (started below), not one a SuperExec starts per run.
        "--isolation",
        "process",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if credentials is None:
        superlink.append("--insecure")
    else:
        superlink += [
            "--ssl-ca-certfile",
            str(credentials.ca_cert),
            "--ssl-certfile",
            str(credentials.server_cert),
            "--ssl-keyfile",
            str(credentials.server_key),
        ]
        if scenario.deployment.authenticate_supernodes:
            superlink.append("--enable-supernode-auth")
    supervisor.start("superlink", superlink)
    security = ["--insecure"] if credentials is None else ["--root-certificates", str(credentials.ca_cert)]
    country = scenario.probes.host_country if scenario.probes.energy else ""
    supervisor.fork("serverapp worker", "server-worker", ["--runtime-api-address", address, *security,
                                                           "--host-country", country])
    relays = {}
    for index, silo in enumerate(scenario.silos):
        relay = CountingRelay("127.0.0.1", port, opened=False)
        relays[silo.name] = relay
        runtime_port = free_port()
        supernode = [
            "--superlink",
            relay.address,
            "--isolation",
            "process",  # the ClientApp process is ours: one long-running worker per silo
            "--host",
            "127.0.0.1",
            "--port",
            str(runtime_port),
            "--node-config",
            silo_node_config(scenario, index),  # with the silo's own floor for analytics disclosure
            *security,
        ]
        if credentials is not None and scenario.deployment.authenticate_supernodes:
            supernode += ["--auth-supernode-private-key", str(credentials.keys_of(silo.name).private_key)]
        supervisor.fork(f"supernode {silo.name}", "supernode", supernode)
        worker = [
            "--runtime-api-address",
            f"127.0.0.1:{runtime_port}",
            "--insecure",  # the Runtime API is the SuperNode's local port, not the network
            "--host-country",
            country,
        ]
        supervisor.fork(f"silo worker {silo.name}", "silo-worker", worker)
    return address, relays


def _register_and_submit(
    address: str,
    credentials: DeploymentCredentials | None,
    scenario: Scenario,
    run_dir: Path,
    app_package: bytes,
    relays: dict[str, CountingRelay],
) -> int:
    """Register the SuperNodes' keys (silos started here), let the SuperNodes through, start the run."""
    client = control_client(address, root_certificates=None if credentials is None else credentials.ca_cert.read_bytes())
    try:
        if relays:  # a SuperLink started here: its port accepts connections; wait until its API answers
            _wait_for_control_api(client, scenario.deployment.startup_timeout_s)
        if relays and credentials is not None and scenario.deployment.authenticate_supernodes:
            for keys in credentials.supernodes:
                _control_call(f"registering silo '{keys.silo}''s SuperNode key", register_supernode, client,
                              registration_public_key(keys))
        for relay in relays.values():
            relay.open()
        # The scenario travels inside the run config, so silos on other machines need no shared file.
        run_config = {SCENARIO_TOML_KEY: scenario_toml(scenario), RUN_DIR_KEY: str(run_dir)}
        return _control_call("starting the run", start_run, client, app_package, run_config)
    finally:
        client.close()


CONTROL_API_RETRY_S = 0.1


def _wait_for_control_api(client, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    """Ask the new SuperLink's Control API something harmless until it answers: once in about 25
    runs, the first request after its port accepted connections was reset, which failed the run."""
    deadline = time.monotonic() + timeout_s
    while not control_api_answers(client):
        if time.monotonic() >= deadline:
            raise DeploymentError(f"the SuperLink's Control API did not answer within {timeout_s:.0f} s")
        time.sleep(CONTROL_API_RETRY_S)


def _control_call(what: str, call, *args):  # type: ignore[no-untyped-def]
    """A Control API call; one line naming what failed (Flower's HTTP errors translated)."""
    try:
        return call(*args)
    except (RuntimeError, ConnectionError) as error:
        raise DeploymentError(f"{what} on the SuperLink failed: {error}") from None
