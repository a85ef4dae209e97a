"""The lifecycle model's CO2 for an energy and a country equals what CodeCarbon itself computes
(its own Emissions class over its own bundled DataSource; nothing is mocked)."""

from __future__ import annotations

import pytest
from codecarbon.core.emissions import Emissions
from codecarbon.core.units import Energy
from codecarbon.external.geography import GeoMetadata
from codecarbon.input import DataSource
from conftest import tiny_scenario
from test_lifecycle_stages import PROFILE

from simulator.lifecycle import evaluate_lifecycle
from simulator.lifecycle.site_intensity import site_intensity
from simulator.lifecycle.stages import compute

DIGITS_FEATURES = 64  # scikit-learn's digits: 8 x 8 pixels

COUNTRIES = ["FRA", "DEU", "USA", "SWE", "POL", "IND", "JPN", "GBR"]


def codecarbon_kg(energy_kwh: float, country: str) -> float:
    return Emissions(DataSource()).get_private_infra_emissions(Energy(kWh=energy_kwh), GeoMetadata(country_iso_code=country))


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("energy_kwh", [1e-6, 0.37, 1234.5])
def test_energy_times_intensity_equals_codecarbon(country, energy_kwh):
    intensity = site_intensity("site", country, None, None, "lifecycle.silos.site").intensity_g_per_kwh
    # PUE 1: the device energy is the energy charged to the grid.
    ours = compute(energy_kwh, 0.0, 1.0, intensity, 0.0).co2_kg
    assert ours == pytest.approx(codecarbon_kg(energy_kwh, country), rel=1e-12)


@pytest.mark.parametrize("country", ["FRA", "IND"])
def test_a_stage_of_the_result_matches_codecarbon_for_its_energy(country):
    """CL training runs at the central site: its kWh (PUE included) x the country's intensity is
    exactly CodeCarbon's figure for that kWh in that country."""
    scenario = tiny_scenario(central={"country": country, "pue": 1.2})
    result = evaluate_lifecycle(scenario, PROFILE, draws=100, sweeps=False, dataset_features=DIGITS_FEATURES)
    training = result.cl.stage("training")
    assert training.energy_kwh.central > 0
    assert training.co2_kg.central == pytest.approx(codecarbon_kg(training.energy_kwh.central, country), rel=1e-12)


@pytest.mark.parametrize(("country", "region"), [("USA", "virginia"), ("USA", "California"), ("CAN", "ontario")])
def test_a_named_region_uses_codecarbons_regional_figure(country, region):
    scenario = tiny_scenario(
        silos=[{"name": "paris", "country": "FRA", "share": 0.6}, {"name": "site", "country": country, "region": region, "share": 0.4}],
        lifecycle={"served_at": "silos", "silos": [{"name": "site", "data_gb": 10, "samples_per_gb": 1e5}]},
    )
    result = evaluate_lifecycle(scenario, PROFILE, draws=100, sweeps=False, dataset_features=DIGITS_FEATURES)
    site = next(s for s in result.sites if s.site == "site")
    assert site.intensity_g_per_kwh != pytest.approx(
        site_intensity("x", country, None, None, "k").intensity_g_per_kwh, rel=1e-3
    )  # the regional figure, not the national one
    expected = Emissions(DataSource()).get_private_infra_emissions(
        Energy(kWh=3.25), GeoMetadata(country_iso_code=country, region=region)
    )
    assert compute(3.25, 0.0, 1.0, site.intensity_g_per_kwh, 0.0).co2_kg == pytest.approx(expected, rel=1e-12)


def test_an_unknown_region_is_refused_naming_the_key():
    from simulator.errors import InputError
    from simulator.lifecycle import build_plan

    scenario = tiny_scenario(
        silos=[{"name": "paris", "country": "FRA", "share": 0.6}, {"name": "va", "country": "USA", "region": "atlantis", "share": 0.4}]
    )
    with pytest.raises(InputError, match=r"silos\.1\.region.*atlantis"):
        build_plan(scenario, dataset_features=DIGITS_FEATURES)
