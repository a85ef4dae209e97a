"""The planner's cost lines: they add up to each application's totals, split FL's training into the
silos and the aggregator, and the plan names the lines that decide when it costs more than
centralizing everything."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from conftest import REPO_ROOT
from simulator.lifecycle import default_profile
from simulator.lifecycle.stages import STAGES
from simulator.planner import terminal
from simulator.planner.cost_lines import AGGREGATOR_LINE, COST_LINES_LEFT_OUT, deciding_lines
from simulator.planner.export import plan_csv_text
from simulator.planner.federate_or_centralize import FEDERATE, plan_inventory
from simulator.planner.inventory import Inventory

SHIPPED = REPO_ROOT / "configs" / "enterprise_inventory.toml"


def shipped_snapshot():
    with Inventory(":memory:") as inventory:
        inventory.import_toml(SHIPPED)
        return inventory.snapshot()


@pytest.fixture(scope="module")
def federating_plan():
    """FL's sample updates as cheap as CL's and ten times the default MLP's (a heavier model), so
    training weighs and the planner federates an ML application too (its aggregator then enters the
    plan's money)."""
    measured = default_profile()
    kwh = 10 * measured.cl_kwh_per_sample_update
    even = replace(measured, fl_kwh_per_sample_update=kwh, cl_kwh_per_sample_update=kwh,
                   fl_wall_s_per_sample_update=measured.cl_wall_s_per_sample_update)
    return plan_inventory(shipped_snapshot(), even, draws=200)


def test_cost_lines_add_up_to_every_applications_totals(federating_plan):
    plan = federating_plan
    for application in plan.applications:
        lines = [line for line in plan.cost_lines if line.application == application.application]
        assert {line.stage for line in lines} == set(STAGES)
        assert sum(line.fl_per_year for line in lines) == pytest.approx(application.federated.total.cost_usd.central, rel=1e-9)
        assert sum(line.cl_per_year for line in lines) == pytest.approx(application.centralized.total.cost_usd.central, rel=1e-9)
        assert all(line.federated == (application.recommendation == FEDERATE) for line in lines)
        aggregator = [line for line in lines if line.line == AGGREGATOR_LINE]
        # The aggregator is FL's alone, and an ML application has one in training and in retraining.
        assert all(line.cl_per_year == 0 for line in aggregator)
        assert len(aggregator) == 2
        if application.kind == "ml":
            assert aggregator[0].fl_per_year > 0
        else:  # an analytics application trains nothing
            assert all(line.fl_per_year == 0 for line in aggregator)


def test_the_plan_names_the_lines_that_make_it_cost_more(federating_plan, capsys):
    plan = federating_plan
    assert any(a.kind == "ml" and a.recommendation == FEDERATE for a in plan.applications)
    deciding = deciding_lines(plan.cost_lines)
    assert all(line.federated and line.cl_minus_fl_per_year < 0 for line in deciding)
    assert [line.cl_minus_fl_per_year for line in deciding] == sorted(line.cl_minus_fl_per_year for line in deciding)
    if deciding:  # no other federated line costs FL more against CL than the last one named
        others = [line for line in plan.cost_lines if line.federated and line not in deciding]
        assert all(line.cl_minus_fl_per_year >= deciding[-1].cl_minus_fl_per_year for line in others)
    terminal.print_plan(plan, breakdown=True)
    printed = capsys.readouterr().out
    assert "Cost per application, stage and line" in printed and AGGREGATOR_LINE[:30] in printed
    assert "Left out on both sides" in printed and COST_LINES_LEFT_OUT[0][:30] in printed
    if plan.totals.cost_saved_usd_per_year.central < 0:
        assert deciding and "the lines that decide it" in printed and deciding[0].application in printed
    else:
        assert "the lines that decide it" not in printed


def test_the_plan_csv_carries_each_stages_cost(federating_plan):
    first, *_ = csv.DictReader(io.StringIO(plan_csv_text(federating_plan)))
    for approach in ("fl", "cl"):
        assert all(f"{approach}_{stage}_cost_usd" in first for stage in STAGES)
    total = sum(float(first[f"fl_{stage}_cost_usd"]) for stage in STAGES)
    assert total == pytest.approx(float(first["fl_cost_usd_central"]), rel=1e-9)
