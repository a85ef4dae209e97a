"""Every lifecycle stage against the formula worked out here, by hand, from the same factors.

The scenario is small enough to follow on paper: two silos (Paris on the French grid, growing 10 %
a month; Virginia on the US grid, flat), a central site in the US, 4 months of life, retraining every
2 months, one tuning trial, a 3-month retention. The expected figures below are written out step by
step without calling the lifecycle package's formulas.
"""

from __future__ import annotations

import math

import pytest
from conftest import tiny_scenario

from simulator.lifecycle import EnergyProfile, evaluate_lifecycle, load_factors
from simulator.country_intensity import country_intensity

REL = 1e-9
H = 730.0  # hours per month

PROFILE = EnergyProfile(
    fl_kwh_per_sample_update=2e-9,
    cl_kwh_per_sample_update=1e-9,
    fl_wall_s_per_sample_update=2e-4,
    cl_wall_s_per_sample_update=1e-4,
    server_kwh_per_silo_round=5e-6,
    bytes_per_silo_round=1e6,
    energy_method="modelled",
    source="hand-made test profile",
)


def worked_scenario():
    return tiny_scenario(
        central={"country": "USA"},  # no stated PUE: the hyperscale factor applies
        lifecycle={
            "lifetime_months": 4,
            "retrain_every_months": 2,
            "tuning_trials": 1,
            "exploration_queries_per_month": 10,
            "exploration_gb_per_query": 2,
            "inference_requests_per_month": 1000,
            "served_at": "silos",
            "transfer_pricing": "internet",
            "server_vcpus": 4,
            "central": {"storage": "object", "site_kind": "hyperscale", "retention_months": 3},
            "silos": [
                {"name": "paris", "data_gb": 100, "monthly_growth": 0.1, "samples_per_gb": 1e6,
                 "storage": "ssd", "site_kind": "industry_average"},
                {"name": "virginia", "data_gb": 50, "samples_per_gb": 2e6, "storage": "hdd", "pue": 1.3,
                 "instance": "gpu"},
            ],
        },
    )


@pytest.fixture(scope="module")
def worked():
    factors = load_factors()
    result = evaluate_lifecycle(worked_scenario(), PROFILE, factors, draws=200)
    f = {name: getattr(factors, name).central for name in factors.__dataclass_fields__}
    return result, f


def expected_figures(f: dict) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(approach, stage) -> (kWh, kg CO2e, USD), worked out step by step."""
    i_fra = country_intensity("FRA").intensity_g_per_kwh
    i_usa = country_intensity("USA").intensity_g_per_kwh
    link_paris = (i_fra + i_usa) / 2
    link_virginia = i_usa
    pue_paris, pue_virginia, pue_central = f["pue_industry_average"], 1.3, f["pue_hyperscale"]
    egress = f["price_egress_internet_usd_per_gb"]
    wire = 1 + f["wire_overhead_fraction"]
    k_net = f["network_kwh_per_gb"]

    # Volumes: Paris 100, 110, 121, 133.1 GB; Virginia 50 GB each month.
    # Central window (3-month retention): Paris 100, 110, 121, 33.1; Virginia 50, 50, 50, 0.
    figures = {}

    # Data transfer (CL): Paris ships 133.1 GB, Virginia 50 GB; the central pipeline lands all 183.1 GB.
    kwh = 133.1 * wire * k_net + 50 * wire * k_net
    co2 = 133.1 * wire * k_net * link_paris / 1000 + 50 * wire * k_net * link_virginia / 1000
    ingest_vcpu_h = 183.1 / f["ingest_gb_per_vcpu_hour"]
    ingest_kwh = ingest_vcpu_h * f["server_watts_per_vcpu_max"] / 1000 * pue_central
    figures[("cl", "data_transfer")] = (
        kwh + ingest_kwh,
        co2 + ingest_kwh * i_usa / 1000,
        (133.1 + 50) * wire * egress + ingest_vcpu_h / 2 * f["price_cpu_instance_usd_per_hour"],
    )
    figures[("fl", "data_transfer")] = (0.0, 0.0, 0.0)

    # Data storage (CL): 364.1 + 150 GB-months in object storage (HDD media, 3 copies) at the centre.
    gbm = (100 + 110 + 121 + 33.1) + (50 + 50 + 50 + 0)
    kwh = gbm / 1000 * H * f["storage_hdd_wh_per_tb_hour"] / 1000 * f["replication_object"] * pue_central
    figures[("cl", "data_storage")] = (kwh, kwh * i_usa / 1000, gbm * f["price_storage_object_usd_per_gb_month"])
    figures[("fl", "data_storage")] = (0.0, 0.0, 0.0)

    # Exploration: 10 queries x 2 GB x 4 months = 80 GB scanned.
    vcpu_h = 80 / f["scan_gb_per_vcpu_hour"]
    kwh = vcpu_h * f["server_watts_per_vcpu_max"] / 1000 * pue_central
    figures[("cl", "exploration")] = (kwh, kwh * i_usa / 1000, vcpu_h / 2 * f["price_cpu_instance_usd_per_hour"])
    share_paris, share_virginia = 100 / 150, 50 / 150
    scan_paris = 80 * share_paris / f["scan_gb_per_vcpu_hour"]
    scan_virginia = 80 * share_virginia / f["scan_gb_per_vcpu_hour"]
    kwh_paris = scan_paris * f["server_watts_per_vcpu_max"] / 1000 * pue_paris
    kwh_virginia = scan_virginia * f["server_watts_per_vcpu_max"] / 1000 * pue_virginia
    result_gb = 10 * 4 * f["analytics_result_bytes"] / 1e9  # per silo
    net_kwh = result_gb * wire * k_net
    figures[("fl", "exploration")] = (
        kwh_paris + kwh_virginia + 2 * net_kwh,
        kwh_paris * i_fra / 1000 + kwh_virginia * i_usa / 1000 + net_kwh * (link_paris + link_virginia) / 1000,
        (scan_paris + scan_virginia) / 2 * f["price_cpu_instance_usd_per_hour"] + 2 * result_gb * wire * egress,
    )

    def fl_training(paris_gb: float, virginia_gb: float):
        # 2 rounds x 1 local epoch; 2 runs (1 tuning trial + the final run).
        u_paris, u_virginia = paris_gb * 1e6 * 2, virginia_gb * 2e6 * 2
        kwh_p = u_paris * 2 * 2e-9 * pue_paris
        kwh_v = u_virginia * 2 * 2e-9 * pue_virginia
        wait_s = max(u_paris, u_virginia) * 2e-4
        server_device = 5e-6 * 2 * 2 + 4 * f["server_watts_per_vcpu_idle"] * wait_s / 3.6e6
        kwh_s = server_device * 2 * pue_central
        usd = (
            u_paris * 2 * 2e-4 / 3600 * f["price_cpu_instance_usd_per_hour"]
            + u_virginia * 2 * 2e-4 / 3600 * f["price_gpu_instance_usd_per_hour"]
            + wait_s * 2 / 3600 * f["price_cpu_instance_usd_per_hour"]
        )
        co2 = kwh_p * i_fra / 1000 + kwh_v * i_usa / 1000 + kwh_s * i_usa / 1000
        return kwh_p + kwh_v + kwh_s, co2, usd

    def cl_training(paris_gb: float, virginia_gb: float):
        updates = paris_gb * 1e6 * 2 + virginia_gb * 2e6 * 2
        kwh = updates * 2 * 1e-9 * pue_central
        return kwh, kwh * i_usa / 1000, updates * 2 * 1e-4 / 3600 * f["price_cpu_instance_usd_per_hour"]

    # Training at month 0 on 100 and 50 GB; retraining at month 2 on 121 and 50 GB.
    figures[("fl", "training")] = fl_training(100, 50)
    figures[("cl", "training")] = cl_training(100, 50)

    # Communication: 2 trainings x 2 runs x 2 rounds x 1e6 bytes per silo.
    gb = 1e6 * 2 * 4 / 1e9
    figures[("fl", "communication")] = (
        2 * gb * wire * k_net,
        gb * wire * k_net * (link_paris + link_virginia) / 1000,
        2 * gb * wire * egress,
    )
    figures[("cl", "communication")] = (0.0, 0.0, 0.0)

    # Deployment: 4000 requests served at the silos (2/3 Paris, 1/3 Virginia) + the month-2 retraining.
    ratio = f["inference_to_training_energy_ratio"]
    kwh_each = ratio * (2e-9 + 1e-9) / 2
    hours_each = ratio * (2e-4 + 1e-4) / 2 / 3600
    inf_kwh_p = 4000 * share_paris * kwh_each * pue_paris
    inf_kwh_v = 4000 * share_virginia * kwh_each * pue_virginia
    inference = (
        inf_kwh_p + inf_kwh_v,
        inf_kwh_p * i_fra / 1000 + inf_kwh_v * i_usa / 1000,
        4000 * share_paris * hours_each * f["price_cpu_instance_usd_per_hour"]
        + 4000 * share_virginia * hours_each * f["price_gpu_instance_usd_per_hour"],
    )
    for approach, retrain in (("fl", fl_training(121, 50)), ("cl", cl_training(121, 50))):
        figures[(approach, "deployment")] = tuple(a + b for a, b in zip(inference, retrain))
    return figures


STAGE_NAMES = ("data_transfer", "data_storage", "exploration", "training", "communication", "deployment")


@pytest.mark.parametrize("approach", ["fl", "cl"])
@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_stage_equals_hand_worked_formula(worked, approach, stage):
    result, f = worked
    kwh, co2, usd = expected_figures(f)[(approach, stage)]
    got = result.approach(approach).stage(stage)
    assert got.energy_kwh.central == pytest.approx(kwh, rel=REL, abs=0.0)
    assert got.co2_kg.central == pytest.approx(co2, rel=REL, abs=0.0)
    assert got.cost_usd.central == pytest.approx(usd, rel=REL, abs=0.0)


@pytest.mark.parametrize("approach", ["fl", "cl"])
def test_totals_are_the_sum_of_the_stages(worked, approach):
    result, f = worked
    expected = expected_figures(f)
    totals = [math.fsum(expected[(approach, stage)][i] for stage in STAGE_NAMES) for i in range(3)]
    total = result.approach(approach).total
    assert total.energy_kwh.central == pytest.approx(totals[0], rel=REL)
    assert total.co2_kg.central == pytest.approx(totals[1], rel=REL)
    assert total.cost_usd.central == pytest.approx(totals[2], rel=REL)
    assert result.ratio_cl_over_fl.co2_kg.central == pytest.approx(
        result.cl.total.co2_kg.central / result.fl.total.co2_kg.central, rel=REL
    )


def test_nonzero_stages_are_really_exercised(worked):
    """Guard against a vacuous comparison: the worked scenario gives every stage that should cost
    something a positive figure."""
    result, _ = worked
    for approach, stage in [("cl", "data_transfer"), ("cl", "data_storage"), ("fl", "communication")]:
        assert result.approach(approach).stage(stage).co2_kg.central > 0
    for stage in ("exploration", "training", "deployment"):
        assert result.fl.stage(stage).cost_usd.central > 0 and result.cl.stage(stage).cost_usd.central > 0
