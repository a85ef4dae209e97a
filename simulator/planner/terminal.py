"""What `silocarbon inventory list` and `silocarbon plan` print (rich tables, units on every number)."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from simulator.planner.cost_lines import COST_LINES_LEFT_OUT, COST_LINES_MODELLED, deciding_lines
from simulator.planner.inventory import InventorySnapshot
from simulator.terminal import make_console

console = make_console()


def print_inventory(snapshot: InventorySnapshot, path: Path) -> None:
    central = snapshot.central.site if snapshot.central else "(not set)"
    # The company's name is free text: shown as written, never read as rich markup (make_console has it off).
    company = snapshot.company if snapshot.company else "(company not named)"
    console.print(f"Inventory {path}: {company}; central data lake site: {central}")
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


def print_plan(plan, breakdown: bool = False) -> None:
    """The plan as rich tables: per application, then the company totals and the assumptions."""
    from simulator.planner.export import interval_text, verdict

    currency = plan.currency
    title = (f"Federate or centralize{f' - {plan.company}' if plan.company else ''}: lifecycle over the first "
             f"{plan.horizon_months} months, central site {plan.central_site}")
    table = Table(title=title)
    for column in (
        "application", "kind", "federated CO2 (kg CO2e)", "centralized CO2 (kg CO2e)",
        f"federated cost ({currency})", f"centralized cost ({currency})", "recommendation",
    ):
        table.add_column(column)
    for application in plan.applications:
        table.add_row(
            application.application,
            application.kind,
            interval_text(application.federated.total.co2_kg),
            interval_text(application.centralized.total.co2_kg),
            interval_text(application.federated.total.cost_usd),
            interval_text(application.centralized.total.cost_usd),
            verdict(application),
        )
    console.print(table)
    totals = plan.totals
    console.print(
        f"Company totals ({totals.federated_applications} federated, {totals.centralized_applications} "
        f"centralized) against centralizing everything, each dataset copied once: central copies avoided "
        f"{totals.central_copies_avoided_tb:,.3g} TB; CO2 saved {interval_text(totals.co2_saved_kg_per_year)} "
        f"kg CO2e per year; money saved {interval_text(totals.cost_saved_usd_per_year)} {currency} per year."
    )
    console.print(f"Intervals: {plan.interval}. Energy profile: {plan.profile_source}.")
    console.print("Assumptions: " + "; ".join(plan.assumptions) + ".")
    if breakdown:
        print_cost_lines(plan)
    deciding = deciding_lines(plan.cost_lines) if totals.cost_saved_usd_per_year.central < 0 else []
    if deciding:
        console.print(
            "The plan costs more than centralizing everything; the lines that decide it (CL - FL per year, central "
            "factors): " + "; ".join(f"{line.application}, {line.stage_title}, {line.line}: "
                                     f"{line.cl_minus_fl_per_year:,.0f} {currency}" for line in deciding)
            + ("." if breakdown else ". Every line: silocarbon plan --breakdown.")
        )
    console.print("Cost modelled: " + "; ".join(COST_LINES_MODELLED) + ". Left out on both sides: "
                  + "; ".join(COST_LINES_LEFT_OUT) + ".")


def print_cost_lines(plan) -> None:
    """Every cost line: per application, stage and line, FL and CL per year at central factors."""
    currency = plan.currency
    table = Table(title=f"Cost per application, stage and line ({currency} per year, central factors)")
    for column in ("application", "plan", "stage", "line", f"FL ({currency}/yr)", f"CL ({currency}/yr)",
                   f"CL - FL ({currency}/yr)"):
        table.add_column(column)
    for line in plan.cost_lines:
        if line.fl_per_year == 0 and line.cl_per_year == 0:
            continue
        table.add_row(line.application, "federate" if line.federated else "centralize", line.stage_title,
                      line.line, *(_usd(value) for value in (line.fl_per_year, line.cl_per_year,
                                                                      line.cl_minus_fl_per_year)))
    console.print(table)


def _usd(value: float) -> str:
    """Whole units, without a '-0' for a difference that rounds to nothing."""
    return f"{value:,.0f}" if abs(value) >= 0.5 else "0"
