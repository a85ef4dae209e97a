"""`silocarbon estimate`: the lifecycle model from a scenario, without training anything.

The energy profile comes from a saved run folder (`--ledger RUN_DIR`, its ledger.csv), a group of
seeds (`--ledger GROUP_DIR`: every member's profile, their noise drawn into the intervals) or,
without one, from the profile the scenario names (`[lifecycle] profile`: a shipped model profile
such as `resnet18`, or a file), else the documented default profile; the result says which.
`--factors FILE` replaces the shipped factors file (same layout, every factor present).
"""

from __future__ import annotations

from pathlib import Path

from simulator.data.registry import dataset_features_for_lifecycle
from simulator.lifecycle.factors import load_factors
from simulator.lifecycle.model import LifecycleResult, evaluate_lifecycle
from simulator.lifecycle.profile import EnergyProfile, profile_from_run_dir, scenario_profile
from simulator.lifecycle.profile_noise import ProfileSamples
from simulator.scenario.load import load_scenario


def estimate(
    scenario_path: Path | None,
    overrides: list[str],
    ledger_dir: Path | None = None,
    draws: int | None = None,
    factors_path: Path | None = None,
    profile: EnergyProfile | ProfileSamples | None = None,
) -> LifecycleResult:
    """`profile` (a group's measured profiles, say) stands in for `ledger_dir` when given."""
    scenario = load_scenario(scenario_path, overrides)
    if profile is None:
        profile = profile_from_run_dir(ledger_dir) if ledger_dir is not None else scenario_profile(scenario)
    return evaluate_lifecycle(
        scenario, profile, load_factors(factors_path), draws=draws, dataset_features=dataset_features_for_lifecycle(scenario)
    )
