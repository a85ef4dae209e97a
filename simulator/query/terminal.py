"""What `silocarbon query` prints: the results, then what each approach moved and used."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from simulator.analytics.aggregates import GroupResult, QuantileBound, QueryResult
from simulator.query.server_query import QueryComparison
from simulator.scenario.query_spec import QuerySpec
from simulator.ledger import APPROACH_FL, SERVER_SILO, LedgerRow
from simulator.lifecycle import load_factors
from simulator.terminal import make_console

console = make_console()


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
    print_lifecycle_alternative(comparison)


def print_lifecycle_alternative(comparison: QueryComparison) -> None:
    """The lifecycle model's figures for the scenario's data volumes: copying (CL) against querying
    in place (FL). Modelled, not measured: the table says so."""
    result = comparison.lifecycle
    config = comparison.scenario.lifecycle
    table = Table(
        title=(
            f"Lifecycle model (not measured): the scenario's [lifecycle] data over {result.lifetime_months} months, "
            f"central value [low, high]"
        )
    )
    for column in ("stage", "approach", "energy (kWh)", "CO2 (kg CO2e)", f"cost ({result.currency})"):
        table.add_column(column)
    rows = [
        (result.cl.stage("data_transfer"), "centralized: copy every silo's data"),
        (result.cl.stage("data_storage"), "centralized: keep the central copy"),
        (result.fl.stage("data_transfer"), "federated: no copy"),
        (result.cl.stage("exploration"), "centralized: queries scan the copy"),
        (result.fl.stage("exploration"), "federated: queries scan in the silos, aggregates travel"),
    ]
    for stage, approach in rows:
        table.add_row(stage.title, approach, _interval(stage.energy_kwh), _interval(stage.co2_kg), _interval(stage.cost_usd))
    console.print(table)
    silo_rows = [row for row in comparison.federated.rows if row.silo != SERVER_SILO]
    measured = sum(row.bytes_up for row in silo_rows) / max(1, len(silo_rows))
    factors = load_factors()
    console.print(
        (f"Exploration assumes {config.exploration_queries_per_month:g} queries/month of "
        f"{config.exploration_gb_per_query:g} GB each and {factors.analytics_result_bytes.central:g} bytes of "
        f"results per silo and query (factor analytics_result_bytes, [{factors.analytics_result_bytes.low:g}, "
        f"{factors.analytics_result_bytes.high:g}]); measured here: {measured:,.0f} bytes per silo and query.")
    )


def describe(result: GroupResult, spec: QuerySpec) -> str:
    """A group's result as text, with what each number is and what the disclosure rules withheld."""
    withheld = (
        f" ({result.suppressed_silos} silo(s) withheld this group: fewer rows there than the minimum group size)"
        if result.suppressed_silos
        else ""
    )
    if spec.kind == "count":
        return f"{result.count} rows{withheld}"
    if result.count == 0:
        return f"no rows{withheld}"
    if spec.kind == "variance":
        sample = "n/a" if result.sample_variance is None else f"{result.sample_variance:.10g}"
        return f"population {result.value:.10g}; sample {sample}{withheld}"
    if spec.kind == "histogram":
        assert result.histogram is not None
        histogram = result.histogram
        cells = f"; {histogram.withheld} rows in cells withheld" if histogram.withheld else ""
        return f"bins {list(histogram.counts)}; below {histogram.below}, above {histogram.above}{cells}{withheld}"
    if spec.kind == "quantile":
        return "; ".join(_bound_text(bound) for bound in result.quantiles) + withheld
    return f"{result.value:.10g}{withheld}"


def _bound_text(bound: QuantileBound) -> str:
    low = "-inf" if bound.low is None else f"{bound.low:.6g}"
    high = "+inf" if bound.high is None else f"{bound.high:.6g}"
    estimate = "" if bound.estimate is None else f" ~{bound.estimate:.6g}"
    return f"q{bound.q:g} in [{low}, {high}]{estimate}"


def agree(federated: QueryResult, centralized: QueryResult) -> list[bool]:
    """Per group: whether the federated result equals the pooled one (it differs where a silo
    withheld a group or a cell that the pooled copy holds enough rows to release)."""
    pooled = {group.group: group for group in centralized.groups}
    return [pooled.get(group.group) == group for group in federated.groups]


def rows_total(rows: Sequence[LedgerRow], attribute: str) -> float | None:
    values = [getattr(row, attribute) for row in rows if getattr(row, attribute) is not None]
    return sum(values) if values else None


def _interval(value) -> str:
    return f"{value.central:.4g} [{value.low:.4g}, {value.high:.4g}]"


def _number(value: float | None) -> str:
    return "absent" if value is None else f"{value:.4g}"
