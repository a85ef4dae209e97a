"""The lifecycle part of summary.json, read back into typed rows for the report.

The lifecycle model writes its results under summary["lifecycle"]; this module only reads them (it
computes nothing), so a report can be made from any saved run folder.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.results.figures import StageValue


@dataclass(frozen=True)
class Interval:
    central: float
    low: float
    high: float


@dataclass(frozen=True)
class StageFigures:
    stage: str
    fl_energy_kwh: Interval
    cl_energy_kwh: Interval
    fl_co2_kg: Interval
    cl_co2_kg: Interval
    fl_cost_usd: Interval
    cl_cost_usd: Interval


@dataclass(frozen=True)
class FactorUsed:
    name: str
    value: float
    unit: str
    low: float
    high: float
    source: str
    year: str


@dataclass(frozen=True)
class LifecycleView:
    stages: tuple[StageFigures, ...]
    factors: tuple[FactorUsed, ...]

    @property
    def total_fl_co2_kg(self) -> float:
        return sum(stage.fl_co2_kg.central for stage in self.stages)

    @property
    def total_cl_co2_kg(self) -> float:
        return sum(stage.cl_co2_kg.central for stage in self.stages)

    def figure_panels(self) -> list[tuple[str, list[StageValue]]]:
        return [
            ("kg CO2e", [StageValue(s.stage, s.fl_co2_kg.central, s.cl_co2_kg.central) for s in self.stages]),
            ("kWh", [StageValue(s.stage, s.fl_energy_kwh.central, s.cl_energy_kwh.central) for s in self.stages]),
            ("USD", [StageValue(s.stage, s.fl_cost_usd.central, s.cl_cost_usd.central) for s in self.stages]),
        ]


def lifecycle_view(raw: dict | None) -> LifecycleView | None:
    """None when the run has no lifecycle results (a run made before the model existed)."""
    if not raw:
        return None
    return LifecycleView(stages=(), factors=())
