"""Scenario variants for the experiments, and the one measured run each experiment starts from.

A variant is the base scenario's plain form with a few keys changed, validated again through the
same schema as a scenario file, so an experiment can never build a scenario a user could not write.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from simulator.scenario.schema import Scenario
from simulator.scenario.load import validate_scenario


def raw_of(scenario: Scenario) -> dict:
    return copy.deepcopy(scenario.model_dump(mode="json", exclude_none=True))


def lifecycle_silo(raw: dict, name: str) -> dict:
    """The [[lifecycle.silos]] entry of a silo, created (with the defaults) when the scenario has none."""
    silos = raw.setdefault("lifecycle", {}).setdefault("silos", [])
    for entry in silos:
        if entry["name"] == name:
            return entry
    entry = {"name": name}
    silos.append(entry)
    return entry


def with_data_scale(scenario: Scenario, factor: float) -> Scenario:
    """Every silo's initial data volume times `factor` (growth, retention and all else unchanged)."""
    raw = raw_of(scenario)
    for silo in raw["silos"]:
        entry = lifecycle_silo(raw, silo["name"])
        entry["data_gb"] = float(entry.get("data_gb", 100.0)) * factor
    return validate_scenario(raw, f"{scenario.name} x{factor:g} data")


def with_retention(scenario: Scenario, months: int) -> Scenario:
    """The central copy keeps each byte for `months` months."""
    raw = raw_of(scenario)
    raw.setdefault("lifecycle", {}).setdefault("central", {})["retention_months"] = int(months)
    return validate_scenario(raw, f"{scenario.name} retention {months}")


def with_silo_count(scenario: Scenario, count: int) -> Scenario:
    """`count` silos, made by cycling through the base scenario's silos (each new silo a copy of one,
    renamed, with that silo's country, lifecycle settings and data volume), data shares equal."""
    raw = raw_of(scenario)
    base_silos = raw["silos"]
    base_lifecycle = {entry["name"]: entry for entry in raw.get("lifecycle", {}).get("silos", [])}
    silos, lifecycle_silos = [], []
    for index in range(count):
        template = base_silos[index % len(base_silos)]
        name = f"{template['name']}-{index + 1}"
        silos.append({**template, "name": name, "share": 1.0 / count})
        settings = base_lifecycle.get(template["name"])
        if settings is not None:
            lifecycle_silos.append({**settings, "name": name})
    raw["silos"] = silos
    raw.setdefault("lifecycle", {})["silos"] = lifecycle_silos
    return validate_scenario(raw, f"{scenario.name} with {count} silos")


def with_grids(scenario: Scenario, silo_countries: Sequence[str], central_country: str) -> Scenario:
    """Silos moved to the given countries (cycled over the silos) and the central site to another.
    A site's own intensity override or trace is dropped: the site now draws from its new grid."""
    raw = raw_of(scenario)
    for index, silo in enumerate(raw["silos"]):
        silo["country"] = silo_countries[index % len(silo_countries)]
        silo.pop("region", None)
        entry = lifecycle_silo(raw, silo["name"])
        entry.pop("intensity_g_per_kwh", None)
        entry.pop("intensity_trace", None)
    raw["central"]["country"] = central_country
    raw["central"].pop("region", None)
    central = raw.setdefault("lifecycle", {}).setdefault("central", {})
    central.pop("intensity_g_per_kwh", None)
    central.pop("intensity_trace", None)
    return validate_scenario(raw, f"{scenario.name} silos {'/'.join(silo_countries)} central {central_country}")


def total_initial_data_gb(scenario: Scenario) -> float:
    """GB held by all silos at month 0 (a silo without lifecycle settings has the schema's default)."""
    from simulator.scenario.lifecycle import LifecycleSiloConfig

    listed = {silo.name: silo.data_gb for silo in scenario.lifecycle.silos}
    return sum(listed.get(silo.name, LifecycleSiloConfig(name=silo.name).data_gb) for silo in scenario.silos)


@dataclass(frozen=True)
class MeasuredRun:
    run_dir: Path
    profile: object  # simulator.lifecycle.EnergyProfile
    fl_accuracy: float | None
    cl_accuracy: float | None


def median_profile(profiles: list):
    """Field-by-field median of measured energy profiles (numbers); methods and sources listed.

    Why a median: on a shared host CodeCarbon models CPU energy from the load of the whole machine, so
    other jobs leak into a window of a few milliseconds; one run's energy per sample update can be
    several times another's. The median of a few runs keeps one disturbed run from deciding a result.
    """
    from dataclasses import fields
    from statistics import median

    from simulator.lifecycle import EnergyProfile

    values = {}
    for field in fields(EnergyProfile):
        items = [getattr(profile, field.name) for profile in profiles]
        if field.name == "energy_method":
            values[field.name] = ", ".join(sorted({part for item in items for part in item.split(", ")}))
        elif field.name == "source":
            values[field.name] = f"median of {len(profiles)} measured runs ({'; '.join(items)})"
        elif any(item is None for item in items):  # an optional figure some runs lack
            values[field.name] = None
        else:
            values[field.name] = float(median(items))
    return EnergyProfile(**values)


def profile_rows(runs: list[MeasuredRun], label: str = "repeat") -> list[dict]:
    """One table row per measured run: its profile's numbers with their units."""
    return [
        {
            label: index + 1,
            "run folder": run.run_dir.name,
            "FL kWh per sample update": run.profile.fl_kwh_per_sample_update,
            "CL kWh per sample update": run.profile.cl_kwh_per_sample_update,
            "FL / CL per sample update": run.profile.fl_kwh_per_sample_update / run.profile.cl_kwh_per_sample_update,
            "server kWh per silo-round": run.profile.server_kwh_per_silo_round,
            "payload bytes per silo-round": run.profile.bytes_per_silo_round,
            "FL accuracy": run.fl_accuracy,
            "CL accuracy": run.cl_accuracy,
            "energy method": run.profile.energy_method,
        }
        for index, run in enumerate(runs)
    ]


def measure_repeated(scenario: Scenario, runs_root: Path, repeats: int) -> tuple[list[MeasuredRun], object]:
    """`repeats` measured runs of the same scenario and seed, and the median of their profiles."""
    runs = []
    for index in range(repeats):
        run = measure(scenario, runs_root)
        print(f"  measured run {index + 1}/{repeats}: FL {run.profile.fl_kwh_per_sample_update:.3g} kWh per sample "
              f"update, CL {run.profile.cl_kwh_per_sample_update:.3g} ({run.profile.energy_method}); {run.run_dir.name}")
        runs.append(run)
    return runs, median_profile([run.profile for run in runs])


def quiet_libraries() -> None:
    """Flower logs every round at INFO and CodeCarbon its warnings; the experiments print their own
    tables. Set after Flower is imported (it sets its logger's level when it loads)."""
    import logging

    import flwr  # noqa: F401

    logging.getLogger("flwr").setLevel(logging.WARNING)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)


def measure(scenario: Scenario, runs_root: Path) -> MeasuredRun:
    """Train the scenario's federation and its centralized twin for real (Flower, torch, CodeCarbon),
    and turn the ledger into the lifecycle model's energy profile."""
    from simulator.lifecycle import profile_from_ledger
    from simulator.pipeline import run_scenario

    quiet_libraries()
    result = run_scenario(scenario, runs_root)
    profile = profile_from_ledger(result.ledger, f"run folder {result.run_dir.name}")
    return MeasuredRun(result.run_dir, profile, result.summary.fl.accuracy, result.summary.cl.accuracy)
