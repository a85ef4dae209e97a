"""The enterprise planner: a recommendation per application, totals that the lifecycle model gives
again when the application is written out as a scenario by hand, and company totals that count a
shared dataset's copy once."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from conftest import REPO_ROOT, run_cli
from simulator.scenario.load import validate_scenario
from simulator.data.registry import dataset_features_for_lifecycle
from simulator.errors import InputError
from simulator.lifecycle import default_profile, evaluate_lifecycle
from simulator.lifecycle.profile import EnergyProfile
from simulator.planner.entries import Application, Central, Dataset, Site
from simulator.planner.export import CSV_COLUMNS, plan_csv_text, plan_section_html, plan_section_markdown
from simulator.planner.inventory import Inventory
from simulator.planner.federate_or_centralize import CENTRALIZE, DEFAULT_DRAWS, FEDERATE, plan_inventory, training_schedule

SHIPPED = REPO_ROOT / "configs" / "enterprise_inventory.toml"


@pytest.fixture(scope="module")
def shipped_plan():
    with Inventory(":memory:") as inventory:
        inventory.import_toml(SHIPPED)
        snapshot = inventory.snapshot()
    return snapshot, plan_inventory(snapshot)


def test_plan_command_prints_a_recommendation_per_application(tmp_path):
    assert run_cli("inventory", "import", str(SHIPPED), "--inventory", "inv.sqlite", cwd=tmp_path).returncode == 0
    done = run_cli("plan", "--inventory", "inv.sqlite", "--csv", "plan.csv", "--breakdown", cwd=tmp_path,
                   env={"COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    names = ["weekly-sales-dashboard", "hourly-sensor-health", "monthly-ticket-report", "demand-forecast",
             "recommender", "ticket-routing"]
    lines = done.stdout.splitlines()
    for name in names:
        row = next(line for line in lines if f" {name} " in line)
        assert "federate (" in row or "centralize (" in row, row
        assert "decides" in row
    assert "Company totals" in done.stdout and "TB" in done.stdout and "kg CO2e per year" in done.stdout
    assert "Cost per application, stage and line" in done.stdout and "Left out on both sides" in done.stdout
    rows = list(csv.DictReader((tmp_path / "plan.csv").open()))
    assert [row["application"] for row in rows] == names
    assert {row["recommendation"] for row in rows} <= {FEDERATE, CENTRALIZE}
    # No inventory: one line, exit status 2.
    missing = run_cli("plan", "--inventory", "nothing.sqlite", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr and missing.stderr.count("\n") == 1


# The shipped inventory's mumbai site and virginia central site, written out by hand.
MUMBAI = {"name": "support-tickets-in", "country": "IND"}
CENTRAL = {"country": "USA", "pue": 1.135}


def hand_scenario(name: str, lifecycle: dict, rounds: int) -> object:
    raw = {
        "name": name,
        "data": {"dataset": "digits", "partition": "iid"},
        "training": {"rounds": rounds, "local_epochs": 1},
        "silos": [MUMBAI],
        "central": CENTRAL,
        "lifecycle": {
            "lifetime_months": 12,
            "inference_requests_per_month": 0.0,
            "central": {"storage": "hdd", "pue": 1.135, "retention_months": 36},
            "silos": [{"name": "support-tickets-in", "data_gb": 800, "monthly_growth": 0.04, "storage": "ssd",
                       "pue": 1.58}],
            **lifecycle,
        },
    }
    return validate_scenario(raw, "hand")


def test_ml_application_totals_are_the_lifecycle_models(shipped_plan):
    snapshot, plan = shipped_plan
    application = next(a for a in plan.applications if a.application == "ticket-routing")
    # ticket-routing: 250 MB model, 2 trainings a year (months 0 and 6), 10 rounds, no queries.
    scenario = hand_scenario(
        "ticket-routing",
        {"retrain_every_months": 6, "exploration_queries_per_month": 0.0},
        rounds=10,
    )
    profile = replace(default_profile(), bytes_per_silo_round=2 * 250e6)
    expected = evaluate_lifecycle(
        scenario, profile, draws=DEFAULT_DRAWS, sweeps=False, dataset_features=dataset_features_for_lifecycle(scenario)
    )
    assert application.federated.total == expected.fl.total
    assert application.centralized.total == expected.cl.total
    assert application.federated.stages == expected.fl.stages


def test_analytics_application_totals_are_the_lifecycle_models(shipped_plan):
    _, plan = shipped_plan
    application = next(a for a in plan.applications if a.application == "monthly-ticket-report")
    # monthly-ticket-report: one run a month scanning the 800 GB dataset; no model.
    scenario = hand_scenario(
        "monthly-ticket-report",
        {"retrain_every_months": 0, "tuning_trials": 0, "exploration_queries_per_month": 1.0,
         "exploration_gb_per_query": 800.0},
        rounds=1,
    )
    no_model = EnergyProfile(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "none", "no model")
    expected = evaluate_lifecycle(
        scenario, no_model, draws=DEFAULT_DRAWS, sweeps=False, dataset_features=dataset_features_for_lifecycle(scenario)
    )
    assert application.federated.total == expected.fl.total
    assert application.centralized.total == expected.cl.total
    # The copy's transfer and storage are what federating saves here.
    assert application.recommendation == FEDERATE
    assert application.deciding_stage in ("data_transfer", "data_storage")


def test_every_application_gets_a_recommendation_and_a_deciding_stage(shipped_plan):
    _, plan = shipped_plan
    assert len(plan.applications) == 6
    for application in plan.applications:
        saving = application.co2_saving_kg
        assert saving.low <= saving.central <= saving.high
        assert application.recommendation == (FEDERATE if saving.central > 0 else CENTRALIZE)
        federated = application.federated.stage(application.deciding_stage).co2_kg.central
        centralized = application.centralized.stage(application.deciding_stage).co2_kg.central
        assert (centralized > federated) == (application.recommendation == FEDERATE)


def small_inventory(second_kind: str) -> Inventory:
    inventory = Inventory(":memory:")
    inventory.add(
        [
            Site(name="paris", country="FRA", pue=1.2, storage="hdd"),
            Site(name="tokyo", country="JPN", pue=1.4, storage="ssd"),
            Site(name="virginia", country="USA", pue=1.1, storage="object"),
            Dataset(name="shared", site="paris", size_gb=2000, monthly_growth=0.02, retention_months=12),
            Dataset(name="logs", site="tokyo", size_gb=500, retention_months=6),
            Dataset(name="local", site="virginia", size_gb=300),
            Application(name="a", kind="analytics", datasets=("shared", "local"), runs_per_month=30),
            Application(name="b", kind="analytics", datasets=("shared", "logs"), runs_per_month=4)
            if second_kind == "analytics"
            else Application(name="b", kind="ml", datasets=("logs",), model_size_mb=2000,
                             retrains_per_year=52, rounds=200),
            Central(site="virginia"),
        ],
        "Small Co",
    )
    return inventory


def test_company_totals_count_a_shared_copy_once():
    with small_inventory("analytics") as inventory:
        snapshot = inventory.snapshot()
    plan = plan_inventory(snapshot)
    a, b = plan.applications
    assert a.recommendation == b.recommendation == FEDERATE
    # Both federate: the company saves each application's saving, minus the shared dataset's copy,
    # which both per-application alternatives count but one central lake would hold once.
    shared_copy = _copy_co2(snapshot, "shared")
    expected = a.co2_saving_kg.central + b.co2_saving_kg.central - shared_copy
    assert plan.totals.co2_saved_kg_per_year.central == pytest.approx(expected, rel=1e-9)
    # 'local' sits at the central site: no copy to avoid. shared: 2000 GB growing 2 %/month for 12 months.
    assert plan.totals.central_copies_avoided_tb == pytest.approx((2000 * 1.02**11 + 500) / 1000, rel=1e-12)
    assert plan.totals.datasets_copied == ()


def _copy_co2(snapshot, dataset: str) -> float:
    """CO2 of one dataset's central copy (transfer + storage): an application reading only it, alone."""
    reader = Application(name="reader", kind="analytics", datasets=(dataset,), runs_per_month=1)
    single = plan_inventory(replace(snapshot, applications=(reader,))).applications[0]
    return single.centralized.stage("data_transfer").co2_kg.central + single.centralized.stage("data_storage").co2_kg.central


def test_a_centralized_application_keeps_its_datasets_copied():
    # b trains in Tokyo (a dirtier grid and PUE than the central site) and exchanges a 2 GB model
    # 200 rounds x 5 runs x 52 trainings a year: centralizing wins; its dataset stays copied.
    with small_inventory("ml") as inventory:
        plan = plan_inventory(inventory.snapshot())
    a, b = plan.applications
    assert (a.recommendation, b.recommendation) == (FEDERATE, CENTRALIZE)
    assert plan.totals.datasets_copied == ("logs",)
    assert plan.totals.central_copies_avoided_tb == pytest.approx(2000 * 1.02**11 / 1000, rel=1e-12)
    assert (plan.totals.federated_applications, plan.totals.centralized_applications) == (1, 1)


@pytest.mark.parametrize(
    "per_year, months",
    [(0, (0,)), (2, (0, 6)), (4, (0, 3, 6, 9)), (12, tuple(range(12))), (24, tuple(m for m in range(12) for _ in (0, 1)))],
)
def test_training_schedule(per_year, months):
    application = Application(name="m", kind="ml", datasets=("d",), model_size_mb=1, retrains_per_year=per_year, rounds=1)
    assert training_schedule(application, 12) == months


def test_weekly_retraining_gives_52_trainings_in_a_year():
    application = Application(name="m", kind="ml", datasets=("d",), model_size_mb=1, retrains_per_year=52, rounds=1)
    schedule = training_schedule(application, 12)
    assert len(schedule) == 52 and schedule[0] == 0 and schedule[-1] == 11


def test_csv_and_markdown_section(shipped_plan):
    _, plan = shipped_plan
    rows = list(csv.DictReader(io.StringIO(plan_csv_text(plan))))
    assert len(rows) == 6 and list(rows[0]) == list(CSV_COLUMNS)
    first = plan.applications[0]
    assert float(rows[0]["fl_co2_kg_central"]) == first.federated.total.co2_kg.central
    markdown = plan_section_markdown(plan)
    assert markdown.startswith("## Enterprise plan: federate or centralize (Example Retail Group)")
    for application in plan.applications:
        assert f"| {application.application} | {application.kind} |" in markdown
    assert "kg CO2e per year" in markdown and "central copies avoided" in markdown
    html = plan_section_html(plan)
    assert html.startswith('<section class="enterprise-plan">') and html.count("<tr>") == 1 + len(plan.applications)
    for application in plan.applications:
        assert f"<td>{application.application}</td>" in html


def test_html_section_escapes_names():
    with small_inventory("analytics") as inventory:
        snapshot = inventory.snapshot()
    plan = plan_inventory(replace(snapshot, company="R&D <lab>"))
    assert "R&amp;D &lt;lab&gt;" in plan_section_html(plan)


def test_plan_refuses_an_inventory_without_a_central_site():
    with Inventory(":memory:") as inventory:
        inventory.add([Site(name="paris", country="FRA", pue=1.2), Dataset(name="d", site="paris", size_gb=1),
                       Application(name="a", kind="analytics", datasets=("d",), runs_per_month=1)])
        snapshot = inventory.snapshot()
    with pytest.raises(InputError, match="no central site"):
        plan_inventory(snapshot)
