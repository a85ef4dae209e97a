"""Runners: the same ServerApp and ClientApp on different engines.

- inline: one process, silos one after another; each silo's energy comes from its own window.
- ray: Flower's Simulation Engine; silos run concurrently and the host's energy is apportioned.
- deployment: Flower's Deployment Engine, a SuperLink and one SuperNode per silo (simulator.deployment).
"""

from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

from simulator.scenario.schema import Scenario
from simulator.flower.client_app import make_client_app
from simulator.flower.faults import release_waiting_silos
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.server_app import run_federation
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.run import FederationOutcome
from simulator.stopping import stop_deferred, take_back_signals

# How long the inline runner lets silo calls it stopped waiting for finish before it returns.
STRAY_CALL_WAIT_S = 300.0
# Ray on a small host: one CPU per silo actor, no dashboard, logs kept out of the terminal.
RAY_CLIENT_CPUS = 1
RAY_REPLY_POLL_S = 0.1  # flwr InMemoryGrid's own pull_interval default


def run_inline(scenario: Scenario, run_dir: Path, observer: RunObserver = NULL_OBSERVER) -> FederationOutcome:
    grid = InlineGrid(make_client_app(scenario), len(scenario.silos))
    node_to_silo = {node: scenario.silos[index].name for node, index in grid.node_to_partition.items()}
    try:
        return run_federation(grid, scenario, run_dir, node_to_silo=node_to_silo, apportion_host_energy=False,
                              observer=observer)
    finally:
        release_waiting_silos()  # injected hangs and delays end now; real work is let finish
        grid.wait_for_stray_calls(STRAY_CALL_WAIT_S)
        grid.close()


def run_ray(scenario: Scenario, run_dir: Path, observer: RunObserver = NULL_OBSERVER) -> FederationOutcome:
    from flwr.simulation import run_simulation

    from simulator.flower.server_app import make_server_app
    from simulator.results.run_dir import read_federation_outcome

    # Our own reply polling, at the pace of Flower's in-memory grid (0.1 s), so a stop signal ends
    # the ServerApp thread between two polls instead of after the round timeout.
    server_app = make_server_app(scenario, run_dir, apportion_host_energy=True, observer=observer,
                                 reply_poll_s=RAY_REPLY_POLL_S)
    backend_config = {
        "client_resources": {"num_cpus": RAY_CLIENT_CPUS, "num_gpus": 0.0},
        "init_args": {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR},
    }
    # Our ServerApp thread ends the run on a stop; Flower shuts Ray down.
    with engine_notices_filtered(), stop_deferred():
        _start_ray(backend_config["init_args"])
        run_simulation(
            server_app=server_app,
            client_app=make_client_app(scenario),
            num_supernodes=len(scenario.silos),
            backend_config=backend_config,
        )
    return read_federation_outcome(run_dir)


# Two notices every ray run printed, each about a choice made here on purpose; every other warning
# of Flower and Ray still shows.
# Flower 1.42 deprecates `run_simulation` in favour of `flwr run`: the runner drives the Simulation
# Engine in-process to measure it, and `flwr run` is the separate route (README).
FLOWER_RUN_SIMULATION_DEPRECATED = "`run_simulation` function is deprecated"
# Ray 2.55 announces that it will stop hiding GPUs from actors that ask for none; the runner gives
# silo actors no GPU and wants them hidden (today's behaviour, kept).
RAY_ACCELERATOR_OVERRIDE_TIP = "Tip: In future versions of Ray, Ray will no longer override accelerator"


class _DropMessage(logging.Filter):
    def __init__(self, fragment: str):
        super().__init__()
        self._fragment = fragment

    def filter(self, record: logging.LogRecord) -> bool:
        return self._fragment not in record.getMessage()


@contextmanager
def engine_notices_filtered():
    flower_filter = _DropMessage(FLOWER_RUN_SIMULATION_DEPRECATED)
    logging.getLogger("flwr").addFilter(flower_filter)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=re.escape(RAY_ACCELERATOR_OVERRIDE_TIP), category=FutureWarning)
            yield
    finally:
        logging.getLogger("flwr").removeFilter(flower_filter)


def _start_ray(init_args: dict) -> None:
    """Start Ray as Flower's RayBackend.init_ray would (Flower skips its own start when Ray is up),
    then take Ctrl-C and SIGTERM back: ray.init installs SIGTERM handlers of its own, one of which
    aborts the process, so a SIGTERM could not end the run cleanly."""
    import os
    import sys

    import ray

    if not ray.is_initialized():
        # As Flower does: Ray's worker processes inherit the environment, not this sys.path.
        pythonpath = os.pathsep.join([*sys.path, *filter(None, [os.environ.get("PYTHONPATH")])])
        os.environ["PYTHONPATH"] = pythonpath
        ray.init(runtime_env={"env_vars": {"PYTHONPATH": pythonpath}}, **{"include_dashboard": False, **init_args})
    take_back_signals()


def run_federated(scenario: Scenario, run_dir: Path, observer: RunObserver = NULL_OBSERVER) -> FederationOutcome:
    if scenario.runner == "inline":
        return run_inline(scenario, run_dir, observer)
    if scenario.runner == "ray":
        return run_ray(scenario, run_dir, observer)
    if scenario.runner == "deployment":
        from simulator.deployment.runner import run_deployment

        return run_deployment(scenario, run_dir, observer=observer).federation
    from simulator.errors import InputError

    raise InputError(f"key 'runner': unknown runner '{scenario.runner}'; allowed: inline | ray | deployment")
