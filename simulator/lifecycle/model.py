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
from simulator.lifecycle.decision import DecisionFlip, decision_flips
from simulator.lifecycle.factors import FACTOR_NAMES, Factor, FactorSet, load_factors
from simulator.lifecycle.quantities import (
    LifecyclePlan,
    SiloPlan,
    SitePlan,
    build_plan,
    over_lifetimes,
    with_volume_scales,
)
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
    unused_factors,
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
    # Which inputs can flip the FL-vs-CL decision, one at a time, and where (simulator.lifecycle.decision).
    decision: tuple[DecisionFlip, ...] = ()
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
    many variants and need only the stage figures; it also leaves out the decision sensitivity.
    `dataset_features`: the dataset's feature count, needed where a silo does not state
    samples_per_gb (see `build_plan`)."""
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
        break_even=break_even_points(scenario, profile, factors, dataset_features, plan) if sweeps else (),
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
        decision=decision_flips(plan, profile, factors) if sweeps else (),
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
    return intervals([(central_value, drawn)])[0]


def intervals(pairs) -> list[Interval]:
    """interval() of many (central, drawn) pairs with one percentile computation over all of them
    (a draw that is one number counts as that number for every draw: the same percentiles)."""
    pairs = list(pairs)
    length = max(int(np.size(drawn)) for _, drawn in pairs)
    stacked = np.empty((len(pairs), length))
    for row, (_, drawn) in enumerate(pairs):
        stacked[row] = np.asarray(drawn, dtype=float)
    lows, highs = np.percentile(stacked, INTERVAL_PERCENTILES, axis=1)
    found = []
    for (central_value, _), low, high in zip(pairs, lows, highs):
        central_value = float(central_value)
        found.append(Interval(central_value, min(float(low), central_value), max(float(high), central_value)))
    return found


AMOUNT_FIELDS = ("energy_kwh", "co2_kg", "cost_usd")


def _stage_results(rows: list[tuple[str, str, Amount, Amount]]) -> list[StageResult]:
    """(stage, title, central, drawn) rows -> StageResults, every interval in one computation."""
    found = intervals(
        (getattr(central, field), getattr(drawn, field)) for _, _, central, drawn in rows for field in AMOUNT_FIELDS
    )
    return [StageResult(stage, title, *found[3 * index : 3 * index + 3]) for index, (stage, title, _, _) in enumerate(rows)]


def _stage_result(stage: str, title: str, central: Amount, drawn: Amount) -> StageResult:
    return _stage_results([(stage, title, central, drawn)])[0]


def approach_result(name: str, central: StageAmounts, drawn: StageAmounts) -> ApproachResult:
    """One approach's stages and total, each central with its interval over the draws."""
    rows = [(stage, STAGE_TITLES[stage], getattr(central, stage), getattr(drawn, stage)) for stage in STAGES]
    results = _stage_results([*rows, ("total", "total", central.total(), drawn.total())])
    return ApproachResult(name, tuple(results[:-1]), results[-1])


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
    """(FL total, CL total) at the given factor values (arrays where the plan, profile or values are)."""
    return fl_stages(plan, profile, values).total(), cl_stages(plan, profile, values).total()


def break_even_points(
    scenario: Scenario,
    profile: EnergyProfile,
    factors: FactorSet[Factor],
    dataset_features: int | None = None,
    plan: LifecyclePlan | None = None,
) -> tuple[BreakEven, ...]:
    """Where CL and FL cost the same CO2 and the same money (central factors), sweeping the data
    volume (every silo's data x 1e-4 .. 1e4, growth kept) and the lifetime (1 .. max(120, 2 L) months,
    about 60 points); between two swept points the crossing is interpolated linearly. Each sweep is
    one evaluation of the stages over all its points (`with_volume_scales`, `over_lifetimes`)."""
    values = factor_values.central(factors)
    plan = plan or build_plan(scenario, dataset_features=dataset_features)
    base_gb = sum(silo.volumes_gb[0] for silo in plan.silos)
    results: list[BreakEven] = []
    if base_gb > 0:
        scales = np.asarray(VOLUME_SWEEP)
        fl, cl = central_totals(with_volume_scales(plan, scales), profile, values)
        for quantity in ("co2_kg", "cost_usd"):
            results.append(_crossing(
                quantity, "data_gb", "GB of initial data, all silos", scales * base_gb, _difference(cl, fl, quantity, scales),
                log_scale=True,
            ))
    lifetimes = lifetime_sweep(scenario.lifecycle.lifetime_months)
    fl, cl = central_totals(over_lifetimes(scenario, lifetimes, dataset_features), profile, values)
    months = np.asarray(lifetimes, dtype=float)
    for quantity in ("co2_kg", "cost_usd"):
        results.append(_crossing(quantity, "lifetime_months", "months", months, _difference(cl, fl, quantity, months),
                                 log_scale=False))
    return tuple(results)


def lifetime_sweep(lifetime_months: int) -> list[int]:
    """1 .. max(120, 2 L) months, about LIFETIME_SWEEP_POINTS of them."""
    longest = max(120, 2 * lifetime_months)
    return list(range(1, longest + 1, max(1, longest // LIFETIME_SWEEP_POINTS)))


def _difference(cl: Amount, fl: Amount, quantity: str, points: np.ndarray) -> np.ndarray:
    """CL - FL of one quantity at every point (a quantity constant over the sweep is broadcast)."""
    return np.broadcast_to(np.asarray(getattr(cl, quantity) - getattr(fl, quantity), dtype=float), points.shape)


def _crossing(quantity: str, variable: str, unit: str, xs, differences, log_scale: bool) -> BreakEven:
    """The first sign change of CL - FL along the sweep, interpolated linearly (in log x for volume)."""
    xs = [float(x) for x in xs]
    differences = [float(difference) for difference in differences]
    for index in range(1, len(xs)):
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


# --- Sensitivity ----------------------------------------------------------------------------------------


def varied_factors(plan: LifecyclePlan, factors: FactorSet[Factor]) -> list[str]:
    """Factors with an interval (low < high) that the plan's stages read."""
    unused = unused_factors(plan)
    return [
        name for name in FACTOR_NAMES
        if getattr(factors, name).low != getattr(factors, name).high and name not in unused
    ]


def sensitivity_ranking(
    plan: LifecyclePlan, profile: EnergyProfile, factors: FactorSet[Factor]
) -> tuple[Sensitivity, ...]:
    """One factor at a time from its low to its high bound, the others central: the swing of each
    total. Ranked by the FL plus CL CO2 swing; factors with low = high are left out. All bounds are
    evaluated in one pass (`one_at_a_time`: point 2i is factor i's low bound, 2i + 1 its high one)."""
    names = varied_factors(plan, factors)
    if not names:
        return ()
    points = [(name, bound) for name in names for bound in (getattr(factors, name).low, getattr(factors, name).high)]
    fl, cl = central_totals(plan, profile, one_at_a_time(factors, points))

    swings = {
        (approach, quantity): np.abs(np.diff(
            np.broadcast_to(np.asarray(getattr(amount, quantity), dtype=float), (len(points),)).reshape(-1, 2), axis=1
        ))[:, 0]
        for approach, amount in (("fl", fl), ("cl", cl))
        for quantity in ("co2_kg", "cost_usd")
    }
    entries = [
        Sensitivity(
            name,
            getattr(factors, name).unit,
            getattr(factors, name).low,
            getattr(factors, name).high,
            float(swings["fl", "co2_kg"][index]),
            float(swings["cl", "co2_kg"][index]),
            float(swings["fl", "cost_usd"][index]),
            float(swings["cl", "cost_usd"][index]),
        )
        for index, name in enumerate(names)
    ]
    return tuple(sorted(entries, key=lambda entry: -(entry.fl_co2_swing_kg + entry.cl_co2_swing_kg)))


def one_at_a_time(factors: FactorSet[Factor], points: list[tuple[str, float]]) -> FactorSet[np.ndarray]:
    """Factor values for a batch of points: point k sets factor points[k][0] to points[k][1] and
    keeps every other factor central (arrays of len(points))."""
    centrals = factor_values.central(factors)
    values = {name: np.full(len(points), getattr(centrals, name)) for name in FACTOR_NAMES}
    for index, (name, value) in enumerate(points):
        values[name][index] = value
    return FactorSet(**values)
