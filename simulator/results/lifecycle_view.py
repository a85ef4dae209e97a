"""The lifecycle results of a run, arranged for the report and `compare`: FL and CL side by side per stage.

The lifecycle model (simulator.lifecycle) writes `LifecycleResult` under summary["lifecycle"], and
the run folder's reader gives it back as that same record; this module computes nothing, it only
pairs each stage's FL and CL figures, so a report can be made from any saved run folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.lifecycle.decision import DecisionFlip
from simulator.lifecycle.model import BreakEven, Interval, LifecycleResult, Sensitivity, SiteSummary, StageResult


@dataclass(frozen=True)
class StageValue:
    """One lifecycle stage's value for both approaches, in the unit the figure states."""

    stage: str
    fl: float
    cl: float


@dataclass(frozen=True)
class TotalRange:
    """The interval of one panel's FL and CL totals, drawn as whiskers on the stacked bars."""

    fl_low: float
    fl_high: float
    cl_low: float
    cl_high: float


@dataclass(frozen=True)
class StageFigures:
    stage: str
    title: str
    fl_energy_kwh: Interval
    cl_energy_kwh: Interval
    fl_co2_kg: Interval
    cl_co2_kg: Interval
    fl_cost: Interval
    cl_cost: Interval


@dataclass(frozen=True)
class LifecycleView:
    currency: str
    stages: tuple[StageFigures, ...]
    total: StageFigures
    ratio_co2: Interval | None
    ratio_cost: Interval | None
    sites: tuple[SiteSummary, ...]
    break_even: tuple[BreakEven, ...]
    sensitivity: tuple[Sensitivity, ...]
    lifetime_months: int
    trainings: int
    runs_per_training: int
    interval: str
    scaling_rule: str
    profile_source: str
    profile_energy_method: str
    measurement_noise: str
    decision: tuple[DecisionFlip, ...] = ()  # the decision sensitivity (empty for older run folders)

    @property
    def total_fl_co2_kg(self) -> float:
        return self.total.fl_co2_kg.central

    @property
    def total_cl_co2_kg(self) -> float:
        return self.total.cl_co2_kg.central

    def figure_totals(self) -> list[TotalRange]:
        """The totals' intervals, in the order of `figure_panels`."""
        t = self.total
        return [TotalRange(t.fl_co2_kg.low, t.fl_co2_kg.high, t.cl_co2_kg.low, t.cl_co2_kg.high),
                TotalRange(t.fl_energy_kwh.low, t.fl_energy_kwh.high, t.cl_energy_kwh.low, t.cl_energy_kwh.high),
                TotalRange(t.fl_cost.low, t.fl_cost.high, t.cl_cost.low, t.cl_cost.high)]

    def figure_panels(self) -> list[tuple[str, list[StageValue]]]:
        return [
            ("kg CO2e", [StageValue(s.title, s.fl_co2_kg.central, s.cl_co2_kg.central) for s in self.stages]),
            ("kWh", [StageValue(s.title, s.fl_energy_kwh.central, s.cl_energy_kwh.central) for s in self.stages]),
            (self.currency, [StageValue(s.title, s.fl_cost.central, s.cl_cost.central) for s in self.stages]),
        ]


def lifecycle_view(result: LifecycleResult | None) -> LifecycleView | None:
    """None when the run has no lifecycle results (a run made before the model existed)."""
    if result is None:
        return None
    cl_stages = {stage.stage: stage for stage in result.cl.stages}
    return LifecycleView(
        currency=result.currency,
        stages=tuple(_stage(fl, cl_stages[fl.stage]) for fl in result.fl.stages),
        total=_stage(result.fl.total, result.cl.total),
        ratio_co2=result.ratio_cl_over_fl.co2_kg,
        ratio_cost=result.ratio_cl_over_fl.cost_usd,
        sites=result.sites,
        break_even=result.break_even,
        sensitivity=result.sensitivity,
        lifetime_months=result.lifetime_months,
        trainings=result.trainings,
        runs_per_training=result.runs_per_training,
        interval=result.interval,
        scaling_rule=result.scaling_rule,
        profile_source=result.profile.source,
        profile_energy_method=result.profile.energy_method,
        measurement_noise=result.measurement_noise,
        decision=result.decision,
    )


def _stage(fl: StageResult, cl: StageResult) -> StageFigures:
    return StageFigures(
        stage=fl.stage,
        title=fl.title,
        fl_energy_kwh=fl.energy_kwh,
        cl_energy_kwh=cl.energy_kwh,
        fl_co2_kg=fl.co2_kg,
        cl_co2_kg=cl.co2_kg,
        fl_cost=fl.cost_usd,
        cl_cost=cl.cost_usd,
    )
