"""A long-running ClientApp process for one silo's SuperNode (started with `--isolation process`).

Flower's own `flwr-clientapp` serves one message per process, so every message would import torch,
rebuild the silo's data split and restart CodeCarbon. This worker takes the SuperExec's place for
its SuperNode: it acquires each ClientApp task from the SuperNode's Runtime API and runs it in this
same process with Flower's own task input/output functions. Torch, the split and the energy probe
start once, and the silo's energy windows measure this host (the probe installed here).

Run: `python -m simulator.deployment.silo_worker --runtime-api-address HOST:PORT --host-country FRA
[--insecure | --root-certificates CA.pem]`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import simulator  # noqa: F401  (telemetry off before Flower loads)

# Acquire tasks often: the Runtime API is local to the silo and a poll is one small request.
DEFAULT_POLL_INTERVAL_S = 0.05
# A task can be acquired before its SuperNode holds the whole message; Flower then retries the
# missing parts after 1 s, doubling. Here every 0.1 s: the reply is still ready before the
# SuperNode's next reply check (0.5 s after it holds the message), and asking more often only
# competes with the SuperNode's own download (0.02-0.05 s measured 0.1-0.3 s slower per round).
OBJECT_PULL_FIRST_WAIT_S = 0.1
OBJECT_PULL_MAX_WAIT_S = 0.1
SILOCARBON_APP_PUBLISHER = "silocarbon"
LISTEN_WAIT_S = 600.0  # the runner's own start-up limit ends the run sooner


def serve(
    runtime_api_address: str,
    *,
    insecure: bool,
    root_certificates: str | None,
    host_country: str | None,
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
) -> None:
    from simulator.deployment.processes import wait_until_listening
    from simulator.flower.client_app import app as client_app
    from simulator.flower.flwr_internals import acquire_client_app_task, runtime_client
    from simulator.probes.energy import install_host_probe
    from simulator.probes.host_energy import HostEnergyProbe
    from simulator.training import warm_up_torch

    if host_country:
        probe = HostEnergyProbe(host_country)  # the same probe `silocarbon run` installs
        probe.warm_up()
        install_host_probe(probe)
    warm_up_torch()  # the ClientApp's lifespan then sets the scenario's thread count
    certificates = _read(root_certificates)
    host, port = runtime_api_address.rsplit(":", 1)
    # Started with its SuperNode: dialling before the SuperNode listens would back off for seconds.
    if not wait_until_listening(host, int(port), LISTEN_WAIT_S):
        raise SystemExit(f"no SuperNode listened on {runtime_api_address} within {LISTEN_WAIT_S:.0f} s")
    acquirer = runtime_client(
        runtime_api_address, insecure=insecure, root_certificates=certificates, component_name="SuperExec"
    )
    log = logging.getLogger("silocarbon.silo_worker")
    log.info("ready: torch warmed up, energy probe %s", "installed" if host_country else "off")
    while True:
        task = acquire_client_app_task(acquirer)
        if task is not None:
            task_id, token = task
            started = time.perf_counter()
            phases = run_task(runtime_api_address, token, insecure, certificates, client_app)
            log.info("task %d done in %.3f s (%s)", task_id, time.perf_counter() - started,
                     ", ".join(f"{name} {seconds:.3f} s" for name, seconds in phases.items()))
        else:
            time.sleep(poll_interval_s)


def run_task(
    runtime_api_address: str, token: str, insecure: bool, certificates: bytes | None, client_app
) -> dict[str, float]:
    """One ClientApp task, as `flwr-clientapp` runs it, without leaving the process afterwards; the
    seconds each of its steps took (the log shows where a round's time goes)."""
    from flwr.app import Error, Message

    from simulator.flower.flwr_internals import (
        ERROR_CLIENT_APP_RAISED,
        ERROR_LOAD_CLIENT_APP,
        pull_task_input,
        push_reply,
        push_task_output,
        runtime_client,
        start_task_heartbeat,
    )

    phases: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = now - mark
        mark = now

    client = runtime_client(
        runtime_api_address, insecure=insecure, root_certificates=certificates, component_name="flwr-clientapp", token=token
    )
    stop_heartbeat = start_task_heartbeat(client)
    lap("connect")
    context = None
    completed, details = False, "ClientApp task failed before it ran"
    try:
        message, context, app_id = pull_task_input(
            client, first_wait_s=OBJECT_PULL_FIRST_WAIT_S, max_wait_s=OBJECT_PULL_MAX_WAIT_S
        )
        lap("pull")
        if not app_id.startswith(f"{SILOCARBON_APP_PUBLISHER}/"):
            # This process runs the silocarbon ClientApp only; another app's task is refused, not run.
            reply = Message(
                Error(ERROR_LOAD_CLIENT_APP, f"this silo worker runs silocarbon only, not {app_id}"),
                reply_to=message,
            )
            details = f"refused app {app_id}"
        else:
            try:
                reply = client_app(message=message, context=context)
                completed, details = True, ""
            except Exception as error:  # a silo's failure is an error reply, as flwr-clientapp sends
                logging.getLogger(__name__).exception("ClientApp raised")
                details = f"{type(error).__name__}: {error}"
                reply = Message(Error(ERROR_CLIENT_APP_RAISED, details), reply_to=message)
        lap("app")
        push_reply(client, reply, context)
        lap("push")
    finally:
        push_task_output(client, context, completed=completed, details=details)
        stop_heartbeat()
        client.close()
        lap("finish")
    return phases


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as handle:
        return handle.read()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator.deployment.silo_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-api-address", required=True, help="the SuperNode's Runtime API, host:port")
    security = parser.add_mutually_exclusive_group(required=True)
    security.add_argument("--insecure", action="store_true", help="plain HTTP to the SuperNode's Runtime API")
    security.add_argument("--root-certificates", help="CA that signed the Runtime API's TLS certificate")
    parser.add_argument("--host-country", default="", help="ISO alpha-3 country of this host; empty: no energy probe")
    parser.add_argument("--poll-interval-s", type=float, default=DEFAULT_POLL_INTERVAL_S)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("flwr").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    try:
        serve(
            args.runtime_api_address,
            insecure=args.insecure,
            root_certificates=args.root_certificates,
            host_country=args.host_country or None,
            poll_interval_s=args.poll_interval_s,
        )
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
