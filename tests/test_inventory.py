"""The SQLite inventory: persists across processes; refused entries leave it unchanged."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from conftest import REPO_ROOT, run_cli
from simulator.errors import InputError
from simulator.planner.entries import Dataset, Site
from simulator.planner.inventory import Inventory, read_inventory_toml

SHIPPED = REPO_ROOT / "configs" / "enterprise_inventory.toml"


def dump(path: Path) -> list[str]:
    """Every row of every table, as SQL text: equal dumps mean an unchanged database."""
    with sqlite3.connect(path) as db:
        return list(db.iterdump())


def test_shipped_inventory_has_several_continents_and_both_kinds_of_application():
    company, entries = read_inventory_toml(SHIPPED)
    sites = [e for e in entries if isinstance(e, Site)]
    applications = [e for e in entries if type(e).__name__ == "Application"]
    assert company and len({site.country for site in sites}) >= 5
    assert {site.country for site in sites} >= {"FRA", "USA", "BRA", "IND", "JPN"}  # 4 continents
    assert len(applications) >= 5 and {a.kind for a in applications} == {"analytics", "ml"}
    assert len([e for e in entries if isinstance(e, Dataset)]) >= 3


def test_inventory_persists_across_processes(tmp_path):
    imported = run_cli("inventory", "import", str(SHIPPED), "--inventory", "inv.sqlite", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    added = run_cli("inventory", "add", "site", "london", "--country", "GBR", "--pue", "1.25", "--storage", "ssd",
                    "--inventory", "inv.sqlite", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    listed = run_cli("inventory", "list", "--inventory", "inv.sqlite", cwd=tmp_path, env={"COLUMNS": "200"})
    assert listed.returncode == 0, listed.stderr
    assert "london" in listed.stdout and "recommender" in listed.stdout and "Example Retail Group" in listed.stdout
    # A fresh process (this one) reads what the others wrote.
    with Inventory(tmp_path / "inv.sqlite", must_exist=True) as inventory:
        snapshot = inventory.snapshot()
    assert snapshot.site("london").pue == 1.25 and snapshot.central.site == "virginia"
    assert len(snapshot.applications) == 6


def test_default_location_and_environment_variable(tmp_path):
    done = run_cli("inventory", "add", "site", "oslo", "--country", "NOR", "--pue", "1.1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "silocarbon_inventory.sqlite").is_file()
    other = tmp_path / "elsewhere.sqlite"
    done = run_cli("inventory", "add", "site", "oslo", "--country", "NOR", "--pue", "1.1", cwd=tmp_path,
                   env={"SILOCARBON_INVENTORY": str(other)})
    assert done.returncode == 0 and other.is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["dataset", "logs", "--site", "atlantis", "--size-gb", "10"], "unknown site 'atlantis'"),
        (["dataset", "logs", "--site", "paris", "--size-gb", "-5"], "key 'size_gb'"),
        (["dataset", "sales-eu", "--site", "paris", "--size-gb", "5"], "dataset 'sales-eu' already exists"),
        (["site", "paris", "--country", "FRA", "--pue", "1.2"], "site 'paris' already exists"),
        (["site", "lima", "--country", "XXX", "--pue", "1.2"], "unknown country code 'XXX'"),
        (["application", "churn", "--kind", "ml", "--datasets", "sales-eu,nope", "--model-size-mb", "3",
          "--retrains-per-year", "2", "--rounds", "5"], "unknown dataset 'nope'"),
        (["application", "churn", "--kind", "ml", "--datasets", "sales-eu"], "a ml application needs"),
    ],
)
def test_refused_entries_leave_the_database_unchanged(tmp_path, args, message):
    database = tmp_path / "inv.sqlite"
    with Inventory(database) as inventory:
        inventory.import_toml(SHIPPED)
    before = dump(database)
    refused = run_cli("inventory", "add", *args, "--inventory", str(database), cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and message in refused.stderr, refused.stderr
    assert dump(database) == before


def test_a_bad_entry_in_an_import_rolls_the_whole_file_back(tmp_path):
    database = tmp_path / "inv.sqlite"
    with Inventory(database) as inventory:
        inventory.add([Site(name="oslo", country="NOR", pue=1.1)])
    before = dump(database)
    # Valid sites and datasets first, then a dataset on an unknown site: nothing of the file may stay.
    text = SHIPPED.read_text() + '\n[[datasets]]\nname = "orphan"\nsite = "atlantis"\nsize_gb = 1\n'
    broken = tmp_path / "broken.toml"
    broken.write_text(text)
    with Inventory(database) as inventory:
        with pytest.raises(InputError, match="dataset 'orphan': unknown site 'atlantis'"):
            inventory.import_toml(broken)
    assert dump(database) == before
    # The same through the command line, from another process.
    refused = run_cli("inventory", "import", str(broken), "--inventory", str(database), cwd=tmp_path)
    assert refused.returncode == 2 and dump(database) == before


def test_duplicates_inside_one_file_and_bad_values_are_refused(tmp_path):
    duplicate = tmp_path / "dup.toml"
    duplicate.write_text(
        '[[sites]]\nname = "a"\ncountry = "FRA"\npue = 1.2\n[[sites]]\nname = "a"\ncountry = "DEU"\npue = 1.3\n'
    )
    with Inventory(":memory:") as inventory:
        with pytest.raises(InputError, match="site 'a' already exists"):
            inventory.import_toml(duplicate)
        assert inventory.snapshot().sites == ()
    unknown_key = tmp_path / "key.toml"
    unknown_key.write_text('[[sites]]\nname = "a"\ncountry = "FRA"\npue = 1.2\ncolour = "red"\n')
    with pytest.raises(InputError, match=r"sites\[0\] 'a': unknown key 'colour'; allowed: name, country"):
        read_inventory_toml(unknown_key)


def test_a_database_that_is_not_an_inventory_is_refused(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    refused = run_cli("inventory", "list", "--inventory", str(junk), cwd=tmp_path)
    assert refused.returncode == 2 and "not a silocarbon inventory" in refused.stderr


def test_copying_the_database_file_copies_the_inventory(tmp_path):
    original = tmp_path / "a.sqlite"
    with Inventory(original) as inventory:
        inventory.import_toml(SHIPPED)
    shutil.copy(original, tmp_path / "b.sqlite")
    with Inventory(tmp_path / "b.sqlite") as copy, Inventory(original) as source:
        assert copy.snapshot() == source.snapshot()
