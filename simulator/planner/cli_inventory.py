"""`silocarbon inventory ...`: import, list and add entries (registered by simulator/cli.py).

Kept light at import time: the command line loads it on every start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

inventory_app = typer.Typer(
    help="The enterprise inventory (SQLite): sites, datasets, applications.", no_args_is_help=True
)
add_app = typer.Typer(help="Add one entry (refused, database unchanged, if it is invalid).", no_args_is_help=True)
inventory_app.add_typer(add_app, name="add")

InventoryOption = Annotated[
    Optional[Path],
    typer.Option(
        "--inventory",
        help="Inventory database (default: $SILOCARBON_INVENTORY, else ./silocarbon_inventory.sqlite).",
        show_default=False,
    ),
]


def _open(option: Path | None, *, must_exist: bool = False):
    from simulator.planner.inventory import Inventory, inventory_path

    return Inventory(inventory_path(option), must_exist=must_exist)


def _add_one(option: Path | None, model, raw: dict, where: str) -> None:
    from simulator.planner.entries import validated

    entry = validated(model, {key: value for key, value in raw.items() if value is not None}, where)
    with _open(option) as inventory:
        inventory.add([entry])
        print(f"added {where} to {inventory.path}")


@inventory_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="Inventory TOML file (see configs/enterprise_inventory.toml).")],
    inventory: InventoryOption = None,
) -> None:
    """Add every site, dataset and application of a TOML file, all or nothing."""
    from simulator.planner.inventory import read_inventory_toml

    company, entries = read_inventory_toml(file)  # validated before the database is touched
    with _open(inventory) as store:
        store.add(entries, company)
        print(f"imported {len(entries)} entries from {file} into {store.path}")


@inventory_app.command("list")
def list_entries(inventory: InventoryOption = None) -> None:
    """Show the inventory's sites, datasets and applications."""
    from simulator.planner.terminal import print_inventory

    with _open(inventory, must_exist=True) as store:
        print_inventory(store.snapshot(), store.path)


@add_app.command("site")
def add_site(
    name: Annotated[str, typer.Argument(help="Site name.")],
    country: Annotated[str, typer.Option(help="ISO 3166 alpha-3 country code of the site's grid.")],
    pue: Annotated[float, typer.Option(help="Power usage effectiveness of the facility (>= 1).")],
    storage: Annotated[str, typer.Option(help="Storage: hdd | ssd | object (object storage on HDD).")] = "hdd",
    region: Annotated[Optional[str], typer.Option(help="Region label, e.g. eu-west-3.")] = None,
    inventory: InventoryOption = None,
) -> None:
    """Add a site (a silo's data centre)."""
    from simulator.planner.entries import Site

    raw = {"name": name, "country": country, "pue": pue, "storage": storage, "region": region}
    _add_one(inventory, Site, raw, f"site '{name}'")


@add_app.command("dataset")
def add_dataset(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    site: Annotated[str, typer.Option(help="Site that holds the data.")],
    size_gb: Annotated[float, typer.Option("--size-gb", help="Stored now, GB (1e9 bytes).")],
    monthly_growth: Annotated[
        float, typer.Option("--monthly-growth", help="Fraction added per month, compounded (0.05 = 5 %).")
    ] = 0.0,
    retention_months: Annotated[int, typer.Option("--retention-months", help="Months a copy is kept.")] = 12,
    inventory: InventoryOption = None,
) -> None:
    """Add a dataset kept at one site."""
    from simulator.planner.entries import Dataset

    raw = {"name": name, "site": site, "size_gb": size_gb, "monthly_growth": monthly_growth,
           "retention_months": retention_months}
    _add_one(inventory, Dataset, raw, f"dataset '{name}'")


@add_app.command("application")
def add_application(
    name: Annotated[str, typer.Argument(help="Application name.")],
    kind: Annotated[str, typer.Option(help="analytics | ml.")],
    datasets: Annotated[str, typer.Option(help="Comma-separated dataset names it reads.")],
    runs_per_month: Annotated[Optional[float], typer.Option("--runs-per-month", help="analytics: runs per month.")] = None,
    model_size_mb: Annotated[Optional[float], typer.Option("--model-size-mb", help="ml: model size, MB.")] = None,
    retrains_per_year: Annotated[Optional[float], typer.Option("--retrains-per-year", help="ml: trainings a year.")] = None,
    rounds: Annotated[Optional[int], typer.Option(help="ml: FL rounds per training.")] = None,
    inventory: InventoryOption = None,
) -> None:
    """Add an analytics workload or an ML model."""
    from simulator.planner.entries import Application

    raw = {
        "name": name, "kind": kind, "datasets": [part.strip() for part in datasets.split(",") if part.strip()],
        "runs_per_month": runs_per_month, "model_size_mb": model_size_mb,
        "retrains_per_year": retrains_per_year, "rounds": rounds,
    }
    _add_one(inventory, Application, raw, f"application '{name}'")


@add_app.command("central")
def set_central(
    site: Annotated[str, typer.Argument(help="Site where the centralized alternative keeps its copy.")],
    inventory: InventoryOption = None,
) -> None:
    """Choose the site of the central data lake."""
    from simulator.planner.entries import Central

    _add_one(inventory, Central, {"site": site}, "central")
