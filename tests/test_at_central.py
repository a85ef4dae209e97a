"""A silo whose data already sits at the central site, and the one place the aggregator's CO2 is charged."""

from __future__ import annotations

import pytest
from conftest import tiny_scenario

from simulator.errors import InputError
from simulator.flower.runners import run_inline
from simulator.lifecycle import build_plan, load_factors
from simulator.lifecycle.factors import central
from simulator.lifecycle.profile import default_profile
from simulator.lifecycle.stages import (
    cl_stages, egress_price, fl_stages, ingest, link_intensity, network_transfer, silo_primary_storage,
)
from simulator.country_intensity import country_intensity

SILOS = [{"name": "paris", "country": "FRA", "share": 0.5}, {"name": "virginia", "country": "USA", "share": 0.5}]


def _plan(virginia_at_central: bool):
    scenario = tiny_scenario(
        silos=SILOS,
        lifecycle={
            "lifetime_months": 12,
            "silos": [
                {"name": "paris", "data_gb": 50.0, "samples_per_gb": 1e6},
                {"name": "virginia", "data_gb": 200.0, "samples_per_gb": 1e6, "at_central": virginia_at_central},
            ],
        },
    )
    return build_plan(scenario)


def test_a_silo_at_the_central_site_ships_and_copies_nothing_and_talks_over_no_network():
    f, profile = central(load_factors()), default_profile()
    apart, together = _plan(False), _plan(True)
    virginia = apart.silos[1]
    assert (together.silos[1].shipped_gb, together.silos[1].central_gb_months) == (0.0, 0.0)

    def link(gb: float):
        return network_transfer(gb, f.network_kwh_per_gb, f.wire_overhead_fraction,
                                link_intensity(virginia, apart.central), egress_price(apart, f))

    cl_apart, cl_together = cl_stages(apart, profile, f), cl_stages(together, profile, f)
    fl_apart, fl_together = fl_stages(apart, profile, f), fl_stages(together, profile, f)
    # CL: Virginia's data is neither moved, nor landed by the ingest pipeline, nor stored twice.
    def landed(plan):
        return ingest(sum(silo.shipped_gb for silo in plan.silos), plan.central, f).co2_kg

    assert cl_together.data_transfer.co2_kg == pytest.approx(
        cl_apart.data_transfer.co2_kg - link(virginia.shipped_gb).co2_kg - (landed(apart) - landed(together))
    )
    assert landed(together) < landed(apart)
    central_gb_months = apart.silos[0].central_gb_months + virginia.central_gb_months
    assert cl_together.data_storage.co2_kg == pytest.approx(
        cl_apart.data_storage.co2_kg * apart.silos[0].central_gb_months / central_gb_months
    )
    # FL: Virginia's model updates reach the aggregator at the same site, over no network.
    # Both silos send the same bytes, so each link's CO2 is in proportion to its intensity.
    paris_link, virginia_link = link_intensity(apart.silos[0], apart.central), link_intensity(virginia, apart.central)
    assert fl_together.communication.co2_kg == pytest.approx(
        fl_apart.communication.co2_kg * paris_link / (paris_link + virginia_link)
    )
    assert fl_together.communication.cost_usd == pytest.approx(fl_apart.communication.cost_usd / 2)
    # Everything else is as it was: the silos' own storage, the training.
    assert silo_primary_storage(together, f) == silo_primary_storage(apart, f)
    assert (fl_together.training, cl_together.training) == (fl_apart.training, cl_apart.training)


def test_a_silo_cannot_be_at_a_central_site_on_another_grid():
    scenario = tiny_scenario(silos=SILOS, lifecycle={"silos": [{"name": "paris", "at_central": True, "samples_per_gb": 1e6}]})
    with pytest.raises(InputError, match=r"key 'lifecycle.silos.paris.at_central': silo 'paris' is in FRA but the central site is in USA"):
        build_plan(scenario, dataset_features=64)


def test_the_servers_rows_are_charged_to_the_central_site_not_the_simulation_host(tmp_path):
    scenario = tiny_scenario(central={"country": "FRA", "pue": 1.1}, probes={"host_country": "DEU"})
    rows = run_inline(scenario, tmp_path).ledger.rows
    server = [row for row in rows if row.silo == "server"]
    assert server and {row.country for row in server} == {"FRA"}
    assert {row.intensity_g_per_kwh for row in server} == {country_intensity("FRA").intensity_g_per_kwh}
    assert {row.country for row in rows if row.silo == "virginia"} == {"USA"}
