"""What `silocarbon query` prints: the results, then what each approach moved and used."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from simulator.analytics.command import QueryComparison, agree, describe, rows_total
from simulator.ledger import APPROACH_FL, SERVER_SILO

console = Console()


def print_comparison(comparison: QueryComparison) -> None:
    federated, centralized = comparison.federated, comparison.centralized
    results = Table(title=f"{comparison.scenario.name}: federated queries (computed in the silos, merged by the server)")
    for column in ("#", "query", "group", "federated result", "= pooled copy"):
        results.add_column(column)
    for number, (fed, pooled) in enumerate(zip(federated.results, centralized.results), start=1):
        for group, same in zip(fed.groups, agree(fed, pooled)):
            results.add_row(str(number), fed.spec.text, group.group, describe(group, fed.spec), "yes" if same else "no")
    console.print(results)

    fl_rows = [row for row in federated.rows if row.approach == APPROACH_FL]
    silo_rows = [row for row in fl_rows if row.silo != SERVER_SILO]
    cl_query_rows = [row for row in centralized.rows if row.round > 0]
    costs = Table(title="What each approach moved and used (measured on this host)")
    for column in ("quantity", "unit", "federated", "centralized: copy, then query"):
        costs.add_column(column)
    costs.add_row(
        "bytes leaving the silos",
        "bytes",
        f"{sum(row.bytes_up for row in silo_rows):,} (aggregates)",
        f"{centralized.copied_bytes:,} (raw training data)",
    )
    costs.add_row("bytes sent to the silos", "bytes", f"{sum(row.bytes_down for row in silo_rows):,} (query specs)", "0")
    costs.add_row("query energy", "kWh", _number(rows_total(fl_rows, "energy_kwh")),
                  _number(rows_total(cl_query_rows, "energy_kwh")))
    costs.add_row("query CO2 (energy x grid intensity, no PUE)", "kg CO2e", _number(rows_total(fl_rows, "co2_kg")),
                  _number(rows_total(cl_query_rows, "co2_kg")))
    costs.add_row("energy method", "", ", ".join(sorted({row.energy_method for row in fl_rows})),
                  ", ".join(sorted({row.energy_method for row in cl_query_rows})))
    console.print(costs)


def _number(value: float | None) -> str:
    return "absent" if value is None else f"{value:.4g}"
