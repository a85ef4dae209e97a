"""The strategy comparison: its arithmetic by hand, and a tiny real run writing every output."""

from __future__ import annotations

import csv

import pytest

from experiments.compare_strategies import (
    main,
    pareto_front,
    rounds_to_target,
    run_cost_usd,
    shipped_prices,
    work_weighted_intensity,
)


def test_rounds_to_target():
    assert rounds_to_target([0.5, None, 0.86, 0.9], 0.85) == 3
    assert rounds_to_target([0.5, 0.84], 0.85) is None


def test_run_cost_by_hand():
    # 2e9 bytes x 0.09 USD/GB = 0.18 USD; 1800 s = 0.5 h x 0.0816 USD/h = 0.0408 USD
    assert run_cost_usd(2_000_000_000, 1800.0, 0.09, 0.0816) == pytest.approx(0.2208)


def test_prices_come_from_the_shipped_factors_with_their_sources():
    prices = shipped_prices()
    assert prices.egress_usd_per_gb == 0.09 and prices.compute_usd_per_hour == 0.0816
    assert "AWS" in prices.sources and "USD per GB" in prices.sources


def test_work_weighted_intensity_by_hand():
    # (100 x 30 + 300 x 700) / 400 = 213000 / 400 = 532.5
    assert work_weighted_intensity([(100, 30.0), (300, 700.0)]) == pytest.approx(532.5)


def test_pareto_front():
    points = {"a": (0.9, 10.0), "b": (0.8, 5.0), "c": (0.85, 12.0), "d": (0.9, 11.0), "e": (0.7, 5.0)}
    # c is beaten by a (more accurate, less CO2); d by a (same accuracy, more CO2); e by b.
    assert pareto_front(points) == ["b", "a"]


def test_tiny_comparison_writes_table_markdown_and_figure(tmp_path):
    out = tmp_path / "out"
    assert main(["--seeds", "1", "--rounds", "2", "--strategies", "fedavg,carbon_aware", "--out", str(out)]) == 0
    with (out / "table.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["variant"], r["skew"]) for r in rows} == {
        (v, s) for v in ("fedavg", "carbon_aware") for s in ("iid", "dirichlet-0.3")
    }
    aware = {r["skew"]: r for r in rows if r["variant"] == "carbon_aware"}
    fedavg = {r["skew"]: r for r in rows if r["variant"] == "fedavg"}
    # 6 silos, half train per round: 6 silo-rounds in 2 rounds against FedAvg's 12.
    assert aware["iid"]["silo_train_rounds"] == "6" and fedavg["iid"]["silo_train_rounds"] == "12"
    assert float(aware["iid"]["train_grid_g_per_kwh"]) < float(fedavg["iid"]["train_grid_g_per_kwh"])
    markdown = (out / "table.md").read_text()
    assert "carbon_aware emits" in markdown and "percentage points" in markdown and "Wall time" in markdown
    assert "USD per GB" in markdown and "USD per hour" in markdown and "price_egress_internet_usd_per_gb" in markdown
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_variant_exits_2(capsys):
    assert main(["--strategies", "fedavg,nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err
