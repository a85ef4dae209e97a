"""Grid carbon intensity of a lifecycle site: CodeCarbon's yearly country value, a stated override,
or the mean of an hourly trace.

Order of precedence for a site: `intensity_trace` (mean of its hourly values), then
`intensity_g_per_kwh`, then the region's value where the scenario names a region of a country for
which CodeCarbon bundles regional figures (US states: eGRID; Canadian provinces: energy mix), then
the country's value in CodeCarbon's bundled table (simulator/country_intensity.py, which states its
data year). Regional figures come from CodeCarbon's own `Emissions` computation, so they are exactly
what CodeCarbon would report.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from simulator.errors import InputError
from simulator.country_intensity import country_intensity
from simulator.probes.codecarbon_compat import region_kg_per_kwh, region_names
from simulator.units import GRAMS_PER_KILOGRAM

TRACE_COLUMNS = ("timestamp", "intensity_g_per_kwh")
# Countries whose regions CodeCarbon's bundled data names (and where it uses them offline).
REGIONAL_COUNTRIES = ("USA", "CAN")


@dataclass(frozen=True)
class SiteIntensity:
    site: str
    country: str
    intensity_g_per_kwh: float
    source: str


@dataclass(frozen=True)
class IntensityTrace:
    path: str
    hours: int
    first_utc: datetime
    last_utc: datetime
    mean_g_per_kwh: float


def site_intensity(
    site: str,
    country: str,
    override_g_per_kwh: float | None,
    trace_path: str | None,
    key: str,
    region: str | None = None,
    region_key: str = "region",
) -> SiteIntensity:
    """Resolve one site's intensity; `key` and `region_key` name the scenario keys for errors."""
    if trace_path is not None:
        trace = read_trace(trace_path, f"{key}.intensity_trace")
        return SiteIntensity(
            site,
            country,
            trace.mean_g_per_kwh,
            f"mean of hourly trace {Path(trace.path).name} ({trace.hours} h, "
            f"{trace.first_utc:%Y-%m-%d} to {trace.last_utc:%Y-%m-%d} UTC)",
        )
    if override_g_per_kwh is not None:
        return SiteIntensity(site, country, float(override_g_per_kwh), f"scenario override ({key}.intensity_g_per_kwh)")
    if region is not None and country.upper() in REGIONAL_COUNTRIES:
        return SiteIntensity(site, country, region_intensity_g_per_kwh(country, region, region_key), REGION_SOURCE[country.upper()])
    yearly = country_intensity(country)
    return SiteIntensity(
        site,
        country,
        yearly.intensity_g_per_kwh,
        f"{yearly.source}, data year {yearly.year}",
    )


REGION_SOURCE = {
    "USA": "CodeCarbon 3.3 bundled US state emissions (EPA eGRID2023, data year 2023), via codecarbon's Emissions",
    "CAN": "CodeCarbon 3.3 bundled Canadian province energy mix (year not stated in the file), via codecarbon's Emissions",
}


@lru_cache(maxsize=None)
def known_regions(country: str) -> frozenset[str]:
    """Region names CodeCarbon's bundled data has for a country of REGIONAL_COUNTRIES (lower case)."""
    return region_names(country)


@lru_cache(maxsize=None)
def region_intensity_g_per_kwh(country: str, region: str, key: str) -> float:
    """gCO2e/kWh of a region = CodeCarbon's own emissions for 1 kWh there, x 1000."""
    names = known_regions(country)
    if region.lower() not in names:
        examples = ", ".join(sorted(names)[:4])
        raise InputError(f"key '{key}': CodeCarbon has no region '{region}' for {country.upper()} (e.g. {examples})")
    return region_kg_per_kwh(country, region) * GRAMS_PER_KILOGRAM


@lru_cache(maxsize=64)
def read_trace(path: str, key: str) -> IntensityTrace:
    """Read an hourly trace: header `timestamp,intensity_g_per_kwh`, UTC ISO 8601 timestamps
    (a `Z` or `+00:00` suffix, or none), strictly increasing, values finite and >= 0."""
    file = Path(path).expanduser()
    where = f"key '{key}': trace file '{path}'"
    if not file.is_file():
        raise InputError(f"{where} does not exist")
    try:
        with file.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != TRACE_COLUMNS:
                raise InputError(f"{where}: header must be exactly {','.join(TRACE_COLUMNS)}")
            times: list[datetime] = []
            values: list[float] = []
            for line_number, record in enumerate(reader, start=2):
                times.append(_utc_timestamp(record["timestamp"], f"{where}, line {line_number}"))
                values.append(_intensity(record["intensity_g_per_kwh"], f"{where}, line {line_number}"))
                if len(times) > 1 and times[-1] <= times[-2]:
                    raise InputError(f"{where}, line {line_number}: timestamps must increase strictly")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{where} cannot be read: {error}") from None
    except csv.Error as error:
        raise InputError(f"{where} is not valid CSV: {error}") from None
    if not values:
        raise InputError(f"{where} has no rows")
    return IntensityTrace(str(path), len(values), times[0], times[-1], math.fsum(values) / len(values))


def _utc_timestamp(text: str | None, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}: timestamp {text!r} is not ISO 8601 (e.g. 2025-01-01T00:00:00Z)") from None
    if moment.utcoffset() not in (None, timedelta(0)):
        raise InputError(f"{where}: timestamp {text!r} is not UTC")
    return moment.replace(tzinfo=None)


def _intensity(text: str | None, where: str) -> float:
    try:
        value = float(text or "")
    except ValueError:
        raise InputError(f"{where}: intensity {text!r} is not a number (gCO2e/kWh)") from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{where}: intensity must be finite and >= 0 (got {text!r})")
    return value
