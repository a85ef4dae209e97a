"""`evaluate_lifecycle`: scenario + energy profile + factors -> FL vs CL per stage, with intervals,
totals, the CL/FL ratio, break-even points and a sensitivity ranking.

Central values come from the factors' central values. Intervals come from Monte Carlo draws over the
factor intervals (`factors.draw`) and, where the energy profile was measured more than once
(`ProfileSamples`), over the measured energy per sample update as well (`profile_noise`): [low, high]
is the 5th to 95th percentile of the draws, widened where needed to include the central value (a
skewed factor, e.g. network kWh/GB with its central value near its low bound, can put the central
value below the 5th percentile of the draws).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from simulator.lifecycle import factors as factor_values
from simulator.lifecycle.factors import FACTOR_NAMES, Factor, FactorSet, load_factors, with_value
from simulator.lifecycle.quantities import LifecyclePlan, SiloPlan, SitePlan, build_plan
from simulator.lifecycle.profile import EnergyProfile, default_profile
from simulator.lifecycle.profile_noise import ProfileSamples, as_profile_samples
from simulator.lifecycle.stages import (
    STAGE_TITLES,
    STAGES,
    Amount,
    StageAmounts,
    cl_stages,
    fl_stages,
    silo_primary_storage,
)
from simulator.scenario.schema import Scenario


CURRENCY = "USD"
INTERVAL_PERCENTILES = (5.0, 95.0)
INTERVAL_DESCRIPTION = (
    "5th to 95th percentile of {draws} Monte Carlo draws over the factor intervals{noise} "
    "(widened to include the central value where a skewed factor puts it outside)"
)
NOISE_CLAUSE = " and the measured energy per sample update of {runs} runs"
HOST_NOISE_CLAUSE = " with the host's between-invocation noise"
SCALING_RULE = (
    "training energy = measured energy per sample update (the energy attributed to the run's own "
    "processes; FL: silo training + evaluation rows over the silos' training sample updates, i.e. "
    "examples x local epochs; CL: central rows over its training sample updates) x the scenario's "
    "sample updates (retained GB x samples/GB x rounds x local epochs)"
)
VOLUME_SWEEP = tuple(10.0 ** (exponent / 5.0) for exponent in range(-20, 21))  # 1e-4 .. 1e4 x the data, 5 per decade
LIFETIME_SWEEP_POINTS = 60
APPROACHES = ("fl", "cl")


@dataclass(frozen=True)
class Interval:
    central: float
    low: float
    high: float


@dataclass(frozen=True)
class StageResult:
    stage: str
    title: str
    energy_kwh: Interval
    co2_kg: Interval
    cost_usd: Interval


@dataclass(frozen=True)
class ApproachResult:
    approach: str
    stages: tuple[StageResult, ...]
    total: StageResult

    def stage(self, name: str) -> StageResult:
        for result in self.stages:
            if result.stage == name:
                return result
        raise KeyError(f"unknown stage '{name}'; stages: {', '.join(STAGES)}")


@dataclass(frozen=True)
class Ratio:
    """CL total / FL total (None where the FL total is 0)."""

    energy_kwh: Interval | None
    co2_kg: Interval | None
    cost_usd: Interval | None


@dataclass(frozen=True)
class BreakEven:
    quantity: str  # co2_kg | cost_usd
    variable: str  # data_gb (initial data of all silos together) | lifetime_months
    value: float | None  # where the CL and FL totals are equal (central factors); None: no crossing
    unit: str
    swept_from: float
    swept_to: float
    cheaper_below: str | None  # fl | cl: the cheaper approach below the value (or over the whole sweep)
    note: str


@dataclass(frozen=True)
class Sensitivity:
    factor: str
    unit: str
    low: float
    high: float
    fl_co2_swing_kg: float
    cl_co2_swing_kg: float
    fl_cost_swing_usd: float
    cl_cost_swing_usd: float


@dataclass(frozen=True)
class SiteSummary:
    site: str
    country: str
    intensity_g_per_kwh: float
    intensity_source: str
    pue: float | None  # None: the site kind's factor
    site_kind: str
    storage: str
    # Silos only (None for the central site): samples per GB and where that figure comes from.
    samples_per_gb: float | None = None
    samples_per_gb_source: str | None = None


@dataclass(frozen=True)
class LifecycleResult:
    scenario: str
    currency: str
    fl: ApproachResult
    cl: ApproachResult
    ratio_cl_over_fl: Ratio
    # The silos' own data, held alike in both approaches; not part of either total.
    silo_primary_storage: StageResult
    break_even: tuple[BreakEven, ...]
    sensitivity: tuple[Sensitivity, ...]
    profile: EnergyProfile
    sites: tuple[SiteSummary, ...]
    lifetime_months: int
    trainings: int
    runs_per_training: int
    draws: int
    interval: str
    scaling_rule: str
    # How the measured energy profile's own noise (reruns, seeds) enters the intervals (a folder
    # written before it has the default).
    measurement_noise: str = "not recorded (written before measurement noise entered the model)"

    def approach(self, name: str) -> ApproachResult:
        return {"fl": self.fl, "cl": self.cl}[name]

    def to_json(self) -> dict:
        """Plain JSON types, for summary.json["lifecycle"]; units are in the key names."""
        return asdict(self)


def evaluate_lifecycle(
    scenario: Scenario,
    profile: EnergyProfile | ProfileSamples | None = None,
    factors: FactorSet[Factor] | None = None,
    draws: int | None = None,
    sweeps: bool = True,
    dataset_features: int | None = None,
) -> LifecycleResult:
    """The whole lifecycle model. `profile`: from a ledger (`profile_from_ledger`), or several
    measured runs' profiles (`ProfileSamples`, whose noise the draws carry); default: the
    documented default profile. `factors`: default: configs/factors.toml. `draws`: default: the
    scenario's lifecycle.draws; the draws are seeded by the scenario's seed. `sweeps=False` leaves
    out the break-even sweep and the sensitivity ranking (empty tuples) for callers that evaluate
    many variants and need only the stage figures. `dataset_features`: the dataset's feature count,
    needed where a silo does not state samples_per_gb (see `build_plan`)."""
    samples = as_profile_samples(profile or default_profile())
    profile = samples.central
    factors = factors or load_factors()
    count = draws if draws is not None else scenario.lifecycle.draws
    plan = build_plan(scenario, dataset_features=dataset_features)
    central = factor_values.central(factors)
    fl_central, cl_central = fl_stages(plan, profile, central), cl_stages(plan, profile, central)
    sampled = factor_values.draw(factors, count, scenario.seed)
    drawn_profile = samples.draw(count, scenario.seed)  # the profile itself where there is no noise
    fl_drawn, cl_drawn = fl_stages(plan, drawn_profile, sampled), cl_stages(plan, drawn_profile, sampled)
    return LifecycleResult(
        scenario=scenario.name,
        currency=CURRENCY,
        fl=approach_result("fl", fl_central, fl_drawn),
        cl=approach_result("cl", cl_central, cl_drawn),
        ratio_cl_over_fl=_ratio(cl_central.total(), fl_central.total(), cl_drawn.total(), fl_drawn.total()),
        silo_primary_storage=_stage_result(
            "silo_primary_storage",
            "silos' own data (both approaches, not in the totals)",
            silo_primary_storage(plan, central),
            silo_primary_storage(plan, sampled),
        ),
        break_even=break_even_points(scenario, profile, factors, dataset_features) if sweeps else (),
        sensitivity=sensitivity_ranking(plan, profile, factors) if sweeps else (),
        profile=profile,
        measurement_noise=samples.description(),
        sites=(_site_summary(plan.central), *(_site_summary(silo.site, silo) for silo in plan.silos)),
        lifetime_months=plan.lifetime_months,
        trainings=len(plan.training_months),
        runs_per_training=plan.runs_per_training,
        draws=count,
        interval=interval_description(count, samples),
        scaling_rule=SCALING_RULE,
    )


def evaluate_draws(
    plan: LifecyclePlan, profile: EnergyProfile | ProfileSamples, factors: FactorSet[Factor], count: int, seed: int
) -> tuple[StageAmounts, StageAmounts]:
    """Only the Monte Carlo part: (FL, CL) stage amounts as arrays over `count` draws, the factors
    and (for several measured runs) the energy profile drawn together, draw i with draw i."""
    samples = as_profile_samples(profile)
    sampled = factor_values.draw(factors, count, seed)
    drawn_profile = samples.draw(count, seed)
    return fl_stages(plan, drawn_profile, sampled), cl_stages(plan, drawn_profile, sampled)


def interval_description(count: int, samples: ProfileSamples) -> str:
    noise = NOISE_CLAUSE.format(runs=samples.count) if samples.has_noise else ""
    if samples.host_noise is not None:
        noise += HOST_NOISE_CLAUSE
    return INTERVAL_DESCRIPTION.format(draws=count, noise=noise)


def interval(central_value, drawn) -> Interval:
    """[5th, 95th] percentile of the draws, widened to include the central value."""
    central_value = float(central_value)
    values = np.broadcast_to(np.asarray(drawn, dtype=float), np.shape(drawn) or (1,))
    low, high = np.percentile(values, INTERVAL_PERCENTILES)
    return Interval(central_value, min(float(low), central_value), max(float(high), central_value))


def _stage_result(stage: str, title: str, central: Amount, drawn: Amount) -> StageResult:
    return StageResult(
        stage,
        title,
        interval(central.energy_kwh, drawn.energy_kwh),
        interval(central.co2_kg, drawn.co2_kg),
        interval(central.cost_usd, drawn.cost_usd),
    )


def approach_result(name: str, central: StageAmounts, drawn: StageAmounts) -> ApproachResult:
    """One approach's stages and total, each central with its interval over the draws."""
    stages = tuple(
        _stage_result(stage, STAGE_TITLES[stage], getattr(central, stage), getattr(drawn, stage)) for stage in STAGES
    )
    return ApproachResult(name, stages, _stage_result("total", "total", central.total(), drawn.total()))


def _ratio(cl_central: Amount, fl_central: Amount, cl_drawn: Amount, fl_drawn: Amount) -> Ratio:
    def one(field: str) -> Interval | None:
        denominator_central = float(getattr(fl_central, field))
        denominator = np.asarray(getattr(fl_drawn, field), dtype=float)
        if denominator_central <= 0 or np.any(denominator <= 0):
            return None
        return interval(float(getattr(cl_central, field)) / denominator_central, getattr(cl_drawn, field) / denominator)

    return Ratio(one("energy_kwh"), one("co2_kg"), one("cost_usd"))


def _site_summary(site: SitePlan, silo: SiloPlan | None = None) -> SiteSummary:
    return SiteSummary(
        site.name,
        site.country,
        site.intensity_g_per_kwh,
        site.intensity_source,
        site.pue,
        site.site_kind,
        site.storage,
        silo.samples_per_gb if silo is not None else None,
        silo.samples_per_gb_source if silo is not None else None,
    )


# --- Break-even sweep -----------------------------------------------------------------------------------


def central_totals(plan: LifecyclePlan, profile: EnergyProfile, values: FactorSet) -> tuple[Amount, Amount]:
    """(FL total, CL total) at the given factor values."""
    return fl_stages(plan, profile, values).total(), cl_stages(plan, profile, values).total()


def break_even_points(
    scenario: Scenario, profile: EnergyProfile, factors: FactorSet[Factor], dataset_features: int | None = None
) -> tuple[BreakEven, ...]:
    """Where CL and FL cost the same CO2 and the same money (central factors), sweeping the data
    volume (every silo's data x 1e-4 .. 1e4, growth kept) and the lifetime (1 .. max(120, 2 L) months,
    about 60 points); between two swept points the crossing is interpolated linearly."""
    values = factor_values.central(factors)
    base_gb = sum(silo.data_gb for silo in _listed_or_default_silos(scenario))
    results: list[BreakEven] = []
    if base_gb > 0:
        volume_points = [
            (scale * base_gb, central_totals(build_plan(scenario, volume_scale=scale, dataset_features=dataset_features), profile, values))
            for scale in VOLUME_SWEEP
        ]
        for quantity in ("co2_kg", "cost_usd"):
            results.append(_crossing(quantity, "data_gb", "GB of initial data, all silos", volume_points, log_scale=True))
    longest = max(120, 2 * scenario.lifecycle.lifetime_months)
    step = max(1, longest // LIFETIME_SWEEP_POINTS)
    lifetime_points = [
        (float(months), central_totals(build_plan(scenario, lifetime_months=months, dataset_features=dataset_features), profile, values))
        for months in range(1, longest + 1, step)
    ]
    for quantity in ("co2_kg", "cost_usd"):
        results.append(_crossing(quantity, "lifetime_months", "months", lifetime_points, log_scale=False))
    return tuple(results)


def _crossing(quantity: str, variable: str, unit: str, points, log_scale: bool) -> BreakEven:
    """The first sign change of CL - FL along the sweep, interpolated linearly (in log x for volume)."""
    xs = [x for x, _ in points]
    differences = [float(getattr(cl, quantity)) - float(getattr(fl, quantity)) for _, (fl, cl) in points]
    for index in range(1, len(points)):
        before, after = differences[index - 1], differences[index]
        if before * after < 0 or (before == 0 and after != 0):
            x0, x1 = (math.log(xs[index - 1]), math.log(xs[index])) if log_scale else (xs[index - 1], xs[index])
            x = x0 + before / (before - after) * (x1 - x0)
            value = math.exp(x) if log_scale else x
            cheaper = "fl" if after > 0 else "cl"  # the approach that is cheaper just above the value
            below = "CL" if cheaper == "fl" else "FL"
            return BreakEven(
                quantity, variable, value, unit, xs[0], xs[-1], below.lower(),
                f"below about {value:.4g} {unit} {below} costs less {_label(quantity)}; above it, {cheaper.upper()} does",
            )
    if all(difference == 0 for difference in differences):
        return BreakEven(
            quantity, variable, None, unit, xs[0], xs[-1], None,
            f"CL and FL cost the same {_label(quantity)} between {xs[0]:.4g} and {xs[-1]:.4g} {unit}",
        )
    cheaper = "cl" if max(differences) <= 0 else "fl"
    return BreakEven(
        quantity, variable, None, unit, xs[0], xs[-1], cheaper,
        f"no break-even between {xs[0]:.4g} and {xs[-1]:.4g} {unit}: {cheaper.upper()} costs less "
        f"{_label(quantity)} throughout",
    )


def _label(quantity: str) -> str:
    return "CO2" if quantity == "co2_kg" else "money"


def _listed_or_default_silos(scenario: Scenario):
    from simulator.scenario.lifecycle import LifecycleSiloConfig

    listed = {silo.name: silo for silo in scenario.lifecycle.silos}
    return [listed.get(silo.name) or LifecycleSiloConfig(name=silo.name) for silo in scenario.silos]


# --- Sensitivity ----------------------------------------------------------------------------------------


def sensitivity_ranking(
    plan: LifecyclePlan, profile: EnergyProfile, factors: FactorSet[Factor]
) -> tuple[Sensitivity, ...]:
    """One factor at a time from its low to its high bound, the others central: the swing of each
    total. Ranked by the FL plus CL CO2 swing; factors with low = high are left out."""
    centrals = factor_values.central(factors)
    entries = []
    for name in FACTOR_NAMES:
        factor: Factor = getattr(factors, name)
        if factor.low == factor.high:
            continue
        fl_low, cl_low = central_totals(plan, profile, with_value(centrals, name, factor.low))
        fl_high, cl_high = central_totals(plan, profile, with_value(centrals, name, factor.high))
        entries.append(
            Sensitivity(
                name,
                factor.unit,
                factor.low,
                factor.high,
                abs(float(fl_high.co2_kg) - float(fl_low.co2_kg)),
                abs(float(cl_high.co2_kg) - float(cl_low.co2_kg)),
                abs(float(fl_high.cost_usd) - float(fl_low.cost_usd)),
                abs(float(cl_high.cost_usd) - float(cl_low.cost_usd)),
            )
        )
    return tuple(sorted(entries, key=lambda entry: -(entry.fl_co2_swing_kg + entry.cl_co2_swing_kg)))
