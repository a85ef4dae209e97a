"""Grid carbon intensity per country, from CodeCarbon's bundled energy mix.

Source: CodeCarbon 3.3 package data `data/private_infra/global_energy_mix.json` (Our World in Data /
Ember, life-cycle gCO2e per kWh; each entry states its data year). Using CodeCarbon's own table keeps
our CO2 identical to what CodeCarbon reports for the same energy and country.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from simulator.probes.codecarbon_compat import energy_mix_file

from simulator.units import GRAMS_PER_KILOGRAM


@dataclass(frozen=True)
class CountryIntensity:
    country: str
    country_name: str
    intensity_g_per_kwh: float
    year: int
    source: str


@lru_cache(maxsize=1)
def _energy_mix() -> dict[str, dict]:
    # Located by the package's path without importing codecarbon (a 0.1 s import we may not need
    # in processes that only validate a scenario).
    return json.loads(energy_mix_file().read_text())


@lru_cache(maxsize=1)
def known_country_codes() -> frozenset[str]:
    return frozenset(code for code, entry in _energy_mix().items() if "carbon_intensity" in entry)


@lru_cache(maxsize=None)
def country_intensity(country: str) -> CountryIntensity:
    entry = _energy_mix()[country.upper()]
    return CountryIntensity(
        country=country.upper(),
        country_name=str(entry.get("country_name", country.upper())),
        intensity_g_per_kwh=float(entry["carbon_intensity"]),
        year=int(entry.get("year", 0)),
        source="CodeCarbon 3.3 bundled global_energy_mix.json (Our World in Data / Ember)",
    )


def co2_kg(energy_kwh, intensity_g_per_kwh):
    """kg CO2e = kWh x gCO2e/kWh / 1000 (works on floats and numpy arrays); the one CO2 formula of
    the project, for a ledger row's window as for a lifecycle stage."""
    return energy_kwh * intensity_g_per_kwh / GRAMS_PER_KILOGRAM
