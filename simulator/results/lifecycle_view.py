"""The lifecycle part of summary.json, read back into typed rows for the report and `compare`.

The lifecycle model (simulator.lifecycle) writes `LifecycleResult.to_json()` under
summary["lifecycle"]; this module only reads that JSON (it computes nothing), so a report can be
made from any saved run folder, also one written before a change to the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.errors import InputError
from simulator.lifecycle.model import Interval
from simulator.results.figures import StageValue


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
class SiteIntensity:
    site: str
    country: str
    intensity_g_per_kwh: float
    source: str
    pue: str
    storage: str


@dataclass(frozen=True)
class BreakEvenLine:
    quantity: str
    variable: str
    note: str


@dataclass(frozen=True)
class SensitivityLine:
    factor: str
    unit: str
    low: float
    high: float
    fl_co2_swing_kg: float
    cl_co2_swing_kg: float


@dataclass(frozen=True)
class DecisionLine:
    """One input of the decision sensitivity (simulator.lifecycle.decision.DecisionFlip), as saved."""

    quantity: str  # co2_kg | cost_usd
    input: str
    unit: str
    central: float
    low: float | None
    high: float | None
    margin_central: float  # CL - FL (positive: FL costs less)
    margin_low: float | None
    margin_high: float | None
    flip_value: float | None
    flips_within_range: bool


@dataclass(frozen=True)
class LifecycleView:
    currency: str
    stages: tuple[StageFigures, ...]
    total: StageFigures
    ratio_co2: Interval | None
    ratio_cost: Interval | None
    sites: tuple[SiteIntensity, ...]
    break_even: tuple[BreakEvenLine, ...]
    sensitivity: tuple[SensitivityLine, ...]
    lifetime_months: int
    trainings: int
    runs_per_training: int
    interval: str
    scaling_rule: str
    profile_source: str
    profile_energy_method: str
    decision: tuple[DecisionLine, ...] = ()

    @property
    def total_fl_co2_kg(self) -> float:
        return self.total.fl_co2_kg.central

    @property
    def total_cl_co2_kg(self) -> float:
        return self.total.cl_co2_kg.central

    def figure_panels(self) -> list[tuple[str, list[StageValue]]]:
        return [
            ("kg CO2e", [StageValue(s.title, s.fl_co2_kg.central, s.cl_co2_kg.central) for s in self.stages]),
            ("kWh", [StageValue(s.title, s.fl_energy_kwh.central, s.cl_energy_kwh.central) for s in self.stages]),
            (self.currency, [StageValue(s.title, s.fl_cost.central, s.cl_cost.central) for s in self.stages]),
        ]


def lifecycle_view(raw: dict | None) -> LifecycleView | None:
    """None when the run has no lifecycle results (a run made before the model existed)."""
    if not raw:
        return None
    try:
        fl_stages = {stage["stage"]: stage for stage in raw["fl"]["stages"]}
        cl_stages = {stage["stage"]: stage for stage in raw["cl"]["stages"]}
        stages = tuple(_stage(fl_stages[name], cl_stages[name]) for name in fl_stages)
        ratio = raw.get("ratio_cl_over_fl") or {}
        profile = raw.get("profile") or {}
        return LifecycleView(
            currency=str(raw.get("currency", "USD")),
            stages=stages,
            total=_stage(raw["fl"]["total"], raw["cl"]["total"]),
            ratio_co2=_interval(ratio["co2_kg"]) if ratio.get("co2_kg") else None,
            ratio_cost=_interval(ratio["cost_usd"]) if ratio.get("cost_usd") else None,
            sites=tuple(
                SiteIntensity(
                    site=str(site["site"]),
                    country=str(site["country"]),
                    intensity_g_per_kwh=float(site["intensity_g_per_kwh"]),
                    source=str(site["intensity_source"]),
                    pue="site kind factor" if site.get("pue") is None else f"{float(site['pue']):g}",
                    storage=str(site.get("storage", "")),
                )
                for site in raw.get("sites", [])
            ),
            break_even=tuple(
                BreakEvenLine(str(point["quantity"]), str(point["variable"]), str(point["note"]))
                for point in raw.get("break_even", [])
            ),
            sensitivity=tuple(
                SensitivityLine(
                    factor=str(entry["factor"]),
                    unit=str(entry["unit"]),
                    low=float(entry["low"]),
                    high=float(entry["high"]),
                    fl_co2_swing_kg=float(entry["fl_co2_swing_kg"]),
                    cl_co2_swing_kg=float(entry["cl_co2_swing_kg"]),
                )
                for entry in raw.get("sensitivity", [])
            ),
            lifetime_months=int(raw["lifetime_months"]),
            trainings=int(raw["trainings"]),
            runs_per_training=int(raw["runs_per_training"]),
            interval=str(raw.get("interval", "")),
            scaling_rule=str(raw.get("scaling_rule", "")),
            profile_source=str(profile.get("source", "")),
            profile_energy_method=str(profile.get("energy_method", "")),
            decision=tuple(_decision_line(entry) for entry in raw.get("decision", [])),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InputError(f"summary.json: the 'lifecycle' part lacks an expected field ({error})") from None


def _decision_line(raw: dict) -> DecisionLine:
    def number(key: str) -> float | None:
        return None if raw.get(key) is None else float(raw[key])

    return DecisionLine(
        quantity=str(raw["quantity"]),
        input=str(raw["input"]),
        unit=str(raw["unit"]),
        central=float(raw["central"]),
        low=number("low"),
        high=number("high"),
        margin_central=float(raw["margin_central"]),
        margin_low=number("margin_low"),
        margin_high=number("margin_high"),
        flip_value=number("flip_value"),
        flips_within_range=bool(raw["flips_within_range"]),
    )


def _interval(raw: dict) -> Interval:
    return Interval(float(raw["central"]), float(raw["low"]), float(raw["high"]))


def _stage(fl: dict, cl: dict) -> StageFigures:
    return StageFigures(
        stage=str(fl["stage"]),
        title=str(fl.get("title", fl["stage"])),
        fl_energy_kwh=_interval(fl["energy_kwh"]),
        cl_energy_kwh=_interval(cl["energy_kwh"]),
        fl_co2_kg=_interval(fl["co2_kg"]),
        cl_co2_kg=_interval(cl["co2_kg"]),
        fl_cost=_interval(fl["cost_usd"]),
        cl_cost=_interval(cl["cost_usd"]),
    )
