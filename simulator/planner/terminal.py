"""What `silocarbon inventory list` and `silocarbon plan` print (rich tables, units on every number)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.planner.inventory import InventorySnapshot

console = Console()


def print_inventory(snapshot: InventorySnapshot, path: Path) -> None:
    central = snapshot.central.site if snapshot.central else "(not set)"
    console.print(f"Inventory {path}: {snapshot.company or '(company not named)'}; central data lake site: {central}")
    sites = Table(title="Sites")
    for column in ("name", "country", "region", "PUE", "storage"):
        sites.add_column(column)
    for site in snapshot.sites:
        sites.add_row(site.name, site.country, site.region or "", f"{site.pue:g}", site.storage)
    console.print(sites)
    datasets = Table(title="Datasets")
    for column in ("name", "site", "size (GB)", "growth (%/month, compounded)", "retention (months)"):
        datasets.add_column(column)
    for dataset in snapshot.datasets:
        datasets.add_row(dataset.name, dataset.site, f"{dataset.size_gb:,.0f}", f"{dataset.monthly_growth * 100:g}",
                         str(dataset.retention_months))
    console.print(datasets)
    applications = Table(title="Applications")
    for column in ("name", "kind", "datasets", "workload"):
        applications.add_column(column)
    for application in snapshot.applications:
        if application.kind == "analytics":
            workload = f"{application.runs_per_month:g} runs/month"
        else:
            workload = (f"model {application.model_size_mb:g} MB, {application.retrains_per_year:g} trainings/year, "
                        f"{application.rounds} rounds each")
        applications.add_row(application.name, application.kind, ", ".join(application.datasets), workload)
    console.print(applications)
