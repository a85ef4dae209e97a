"""Issue 13, names as data, for the planner: an inventory's site, dataset and application names follow
the scenario's name rule (simulator/names.py: pattern and 64 characters), checked when they are added;
the company's free-text name and a site's region are shown as text, never as markup; a database
holding what `add` refuses is refused in one line when read."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import run_cli
from simulator.errors import InputError
from simulator.planner.entries import Application, Dataset, Site, validated
from simulator.planner.inventory import Inventory, read_inventory_toml

HOSTILE_NAMES = ["../PWNED", "..", ".", "a/b", "<script>alert(1)</script>", "[bold]x[/bold]", "x" * 65, ""]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_entry_names_are_refused_for_every_kind_of_entry(name):
    for model, raw in (
        (Site, {"name": name, "country": "FRA", "pue": 1.2}),
        (Dataset, {"name": name, "site": "paris", "size_gb": 1.0}),
        (Application, {"name": name, "kind": "analytics", "datasets": ["sales"], "runs_per_month": 1.0}),
        (Dataset, {"name": "sales", "site": name, "size_gb": 1.0}),  # references follow the rule too
        (Application, {"name": "bi", "kind": "analytics", "datasets": [name], "runs_per_month": 1.0}),
    ):
        with pytest.raises(InputError, match="A-Za-z0-9_.-"):
            validated(model, raw, "entry")
    assert validated(Site, {"name": "x" * 64, "country": "FRA", "pue": 1.2}, "site").name == "x" * 64


def test_a_long_dataset_name_is_refused_when_added_not_when_planned(tmp_path):
    added = run_cli("inventory", "add", "site", "paris", "--country", "FRA", "--pue", "1.2",
                    "--inventory", "inv.sqlite", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    long_name = run_cli("inventory", "add", "dataset", "d" * 65, "--site", "paris", "--size-gb", "1",
                        "--inventory", "inv.sqlite", cwd=tmp_path)
    assert long_name.returncode == 2 and long_name.stderr.count("\n") == 1 and "64 characters" in long_name.stderr
    assert "Traceback" not in long_name.stderr


COMPANY_INVENTORY = """[company]
name = {company}

[[sites]]
name = "paris"
country = "FRA"
pue = 1.2
region = "[/]"
"""


def test_company_name_and_region_are_shown_as_text_and_bounded(tmp_path):
    (tmp_path / "inv.toml").write_text(COMPANY_INVENTORY.format(company='"[/][link=file:///etc]ACME <b>&</b>"'))
    imported = run_cli("inventory", "import", "inv.toml", "--inventory", "inv.sqlite", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    listed = run_cli("inventory", "list", "--inventory", "inv.sqlite", cwd=tmp_path, env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr  # rich markup in it used to raise MarkupError
    assert "[/][link=file:///etc]ACME <b>&</b>" in listed.stdout and "[/]" in listed.stdout
    for company in ('"x\\ny"', '"' + "c" * 101 + '"', '"\\u0007bell"'):
        (tmp_path / "bad.toml").write_text(COMPANY_INVENTORY.format(company=company))
        with pytest.raises(InputError, match=r"\[company\] name must be printable text of 1 to 100"):
            read_inventory_toml(tmp_path / "bad.toml")


def test_a_database_holding_a_hostile_name_is_refused_when_read(tmp_path):
    path = tmp_path / "inv.sqlite"
    with Inventory(path) as inventory:
        inventory.add([validated(Site, {"name": "paris", "country": "FRA", "pue": 1.2}, "site")])
    with sqlite3.connect(path) as db:  # written by hand (or by an older version without the length limit)
        db.execute("INSERT INTO sites (name, country, region, pue, storage) VALUES (?, 'USA', NULL, 1.1, 'hdd')",
                   ("../" * 30,))
    listed = run_cli("inventory", "list", "--inventory", "inv.sqlite", cwd=tmp_path)
    assert listed.returncode == 2 and listed.stderr.count("\n") == 1
    assert "sites row 2" in listed.stderr and "key 'name'" in listed.stderr


def test_the_plan_sections_show_the_company_as_text():
    from types import SimpleNamespace

    from simulator.planner.export import plan_section_html, plan_section_markdown

    hostile = "<img src=x onerror=alert(1)> | x"
    totals = SimpleNamespace(federated_applications=0, centralized_applications=0, central_copies_avoided_tb=0.0,
                             co2_saved_kg_per_year=_interval(), cost_saved_usd_per_year=_interval())
    plan = SimpleNamespace(company=hostile, currency="USD", totals=totals, horizon_months=12, central_site="hub",
                           interval="5th-95th percentile", applications=(), profile_source="default",
                           assumptions=())
    markdown = plan_section_markdown(plan)
    assert "<img" not in markdown and "&lt;img src=x onerror=alert(1)&gt; \\| x" in markdown
    assert "<img" not in plan_section_html(plan) and "&lt;img" in plan_section_html(plan)


def _interval():
    from simulator.lifecycle.model import Interval

    return Interval(1.0, 0.5, 2.0)
