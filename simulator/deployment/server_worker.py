"""The run's ServerApp process, started with the SuperLink instead of after the run is submitted.

With `--isolation subprocess` (Flower's default) a SuperLink starts a SuperExec, which starts
`flwr-serverapp` once a run is submitted; that process then imports Flower, torch and the app while
every silo waits. The deployment runner starts its SuperLink with `--isolation process` and this
worker beside it: the imports happen while the SuperLink and the silos start; the worker then asks
the SuperLink's Runtime API for the run's ServerApp task, as Flower's SuperExec does, runs it with
Flower's own ServerApp runtime (what `flwr-serverapp --token` runs: the app package is installed and
the ServerApp loaded from it, here already imported), and exits with the task's status.

Run: `python -m simulator.deployment.server_worker --runtime-api-address HOST:PORT
[--insecure | --root-certificates CA.pem] [--host-country FRA]`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

import simulator  # noqa: F401  (telemetry off before Flower loads)

TASK_POLL_S = 0.05  # the SuperLink is local; a poll is one small request
LISTEN_WAIT_S = 600.0  # the runner's own start-up limit ends the run sooner


def serve(
    runtime_api_address: str, *, root_certificates: str | None, host_country: str | None, poll_s: float = TASK_POLL_S
) -> None:
    import simulator.flower.server_app  # noqa: F401  (the ServerApp Flower will load: imported now)
    from simulator.flower.flwr_internals import load_server_app_runtime
    from simulator.probes.energy import install_host_probe
    from simulator.probes.host_energy import HostEnergyProbe

    load_server_app_runtime()
    probe = None
    if host_country:
        # The ServerApp measures its host with the probe it finds installed (else it starts its own).
        probe = HostEnergyProbe(host_country)
        probe.warm_up()
        install_host_probe(probe)
    try:
        _serve(runtime_api_address, root_certificates, poll_s)
    finally:  # Flower's runtime ends the process with SystemExit; the probe's thread must not outlive it
        if probe is not None:
            install_host_probe(None)
            probe.close()


def _serve(runtime_api_address: str, root_certificates: str | None, poll_s: float) -> None:
    from simulator.deployment.processes import wait_until_listening
    from simulator.flower.flwr_internals import acquire_server_app_task, run_server_app_task, runtime_client
    from simulator.training import warm_up_torch

    warm_up_torch()  # also freezes start-up objects out of the collector Flower runs per reply
    certificates = None if root_certificates is None else _read(root_certificates)
    host, port = runtime_api_address.rsplit(":", 1)
    log = logging.getLogger("silocarbon.server_worker")
    log.info("ready: ServerApp imported; waiting for the SuperLink at %s", runtime_api_address)
    if not wait_until_listening(host, int(port), LISTEN_WAIT_S):
        raise SystemExit(f"no SuperLink listened on {runtime_api_address} within {LISTEN_WAIT_S:.0f} s")
    client = runtime_client(
        runtime_api_address, insecure=certificates is None, root_certificates=certificates, component_name="SuperExec"
    )
    try:
        while (task := acquire_server_app_task(client)) is None:
            time.sleep(poll_s)
    finally:
        client.close()
    task_id, token = task
    log.info("task %d acquired: running the ServerApp", task_id)
    run_server_app_task(runtime_api_address, token, certificates)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator.deployment.server_worker",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-api-address", required=True, help="the SuperLink's Runtime API, host:port")
    security = parser.add_mutually_exclusive_group(required=True)
    security.add_argument("--insecure", action="store_true", help="plain HTTP to the SuperLink")
    security.add_argument("--root-certificates", help="CA that signed the SuperLink's TLS certificate")
    parser.add_argument("--host-country", default="", help="ISO alpha-3 country of this host; empty: no energy probe")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    try:
        serve(
            args.runtime_api_address,
            root_certificates=None if args.insecure else args.root_certificates,
            host_country=args.host_country or None,
        )
    except KeyboardInterrupt:
        sys.exit(130)
    except SystemExit as ended:  # how Flower's runtime ends a task, with the task's status
        # The task's outcome is pushed and the run folder written: leave now. The interpreter's own
        # exit (torch's library finalizers) can take seconds on a busy host, and the run waits for it.
        code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    main()
