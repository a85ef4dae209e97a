"""How a ServerApp or ClientApp started by Flower itself (`flwr run`, SuperNodes) finds its scenario
and run folder: from the run config keys `scenario-path` and `run-dir` (empty: the embedded
default scenario, and a new folder under ./runs)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from simulator.config import Scenario, load_scenario

SCENARIO_PATH_KEY = "scenario-path"
RUN_DIR_KEY = "run-dir"


def scenario_from_run_config(run_config: dict) -> Scenario:
    return _load(str(run_config.get(SCENARIO_PATH_KEY, "") or ""))


@lru_cache(maxsize=4)
def _load(path: str) -> Scenario:
    return load_scenario(Path(path) if path else None)
