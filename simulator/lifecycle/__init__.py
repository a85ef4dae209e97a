"""The lifecycle model: a run's measured ledger + a scenario's [lifecycle] section -> FL vs CL per
stage (data transfer, data storage, exploration, training, communication, deployment) in kWh,
kg CO2e and USD, each central with [low, high].

Public API:
    evaluate_lifecycle(scenario, profile=None, factors=None, draws=None) -> LifecycleResult
    profile_from_ledger(ledger, source) / profile_from_run_dir(run_dir) / default_profile() /
    load_profile(name_or_path) -> EnergyProfile
    load_factors(path=None) -> FactorSet[Factor]
    build_plan(scenario) -> LifecyclePlan; the stage functions live in simulator.lifecycle.stages.
"""

from simulator.lifecycle.factors import Factor, FactorSet, load_factors
from simulator.lifecycle.model import (
    ApproachResult,
    BreakEven,
    Interval,
    LifecycleResult,
    Ratio,
    Sensitivity,
    SiteSummary,
    StageResult,
    evaluate_lifecycle,
)
from simulator.lifecycle.quantities import LifecyclePlan, build_plan
from simulator.lifecycle.profile import (
    EnergyProfile,
    default_profile,
    load_profile,
    profile_from_ledger,
    profile_from_run_dir,
)
from simulator.lifecycle.stages import STAGES, Amount, StageAmounts

__all__ = [
    "STAGES",
    "Amount",
    "ApproachResult",
    "BreakEven",
    "EnergyProfile",
    "Factor",
    "FactorSet",
    "Interval",
    "LifecyclePlan",
    "LifecycleResult",
    "Ratio",
    "Sensitivity",
    "SiteSummary",
    "StageAmounts",
    "StageResult",
    "build_plan",
    "default_profile",
    "evaluate_lifecycle",
    "load_factors",
    "load_profile",
    "profile_from_ledger",
    "profile_from_run_dir",
]
