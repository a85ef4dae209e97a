"""Scenario variants for the experiments (measuring them: experiments.seeds).

A variant is the base scenario's plain form with a few keys changed, validated again through the
same schema as a scenario file, so an experiment can never build a scenario a user could not write.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

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
