"""How a ServerApp or ClientApp started by Flower itself (`flwr run`, SuperNodes) finds its scenario
and run folder: from the run config keys `scenario-toml` (the scenario itself, so that silos on
other machines need no shared file), else `scenario-path`, and `run-dir` (empty: the embedded
default scenario, and a new folder under ./runs)."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from simulator.scenario.schema import Scenario
from simulator.scenario.load import load_scenario, validate_scenario

SCENARIO_PATH_KEY = "scenario-path"
SCENARIO_TOML_KEY = "scenario-toml"
RUN_DIR_KEY = "run-dir"


def scenario_from_run_config(run_config: dict) -> Scenario:
    text = str(run_config.get(SCENARIO_TOML_KEY, "") or "")
    if text:
        return _parse(text)
    return _load(str(run_config.get(SCENARIO_PATH_KEY, "") or ""))


def scenario_toml(scenario: Scenario) -> str:
    """The scenario as TOML text that `scenario_from_run_config` reads back to an equal Scenario."""
    import tomli_w

    return tomli_w.dumps(_without_none(scenario.model_dump(mode="json")))


def _without_none(value):
    # TOML has no null: an absent key takes the schema's default, which is None for these fields.
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


@lru_cache(maxsize=4)
def _load(path: str) -> Scenario:
    return load_scenario(Path(path) if path else None)


@lru_cache(maxsize=4)
def _parse(text: str) -> Scenario:
    return validate_scenario(tomllib.loads(text), SCENARIO_TOML_KEY)
