"""`silocarbon query SCENARIO [SPEC ...]`: federated queries next to the centralized alternative.

The federated side runs through Flower (inline grid, measured); the centralized side copies the raw
data (bytes counted, not moved) and runs the same statistic on the pooled copy, measured. Specs come
from the command line, or from the scenario's `[[queries]]` when none are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from simulator.analytics.aggregates import GroupResult, QuantileBound, QueryResult
from simulator.analytics.server_query import (
    CentralizedQueryRun,
    FederatedQueryRun,
    host_energy_probe,
    query_pooled,
    run_queries_inline,
)
from simulator.analytics.spec import QuerySpec, parse_spec
from simulator.config import Scenario, load_scenario
from simulator.errors import InputError
from simulator.ledger import Ledger, LedgerRow
from simulator.lifecycle import LifecycleResult, evaluate_lifecycle


@dataclass(frozen=True)
class QueryComparison:
    scenario: Scenario
    federated: FederatedQueryRun
    centralized: CentralizedQueryRun
    # The lifecycle model's view of the scenario's [lifecycle] section (its data volumes and lifetime):
    # what copying the data costs (CL data transfer and storage) and analytics both ways.
    lifecycle: LifecycleResult

    @property
    def ledger(self) -> Ledger:
        return Ledger([*self.federated.rows, *self.centralized.rows])


def specs_to_run(scenario: Scenario, spec_texts: Sequence[str]) -> list[QuerySpec]:
    if spec_texts:
        return [parse_spec(text) for text in spec_texts]
    if scenario.queries:
        return [parse_spec(query.spec) for query in scenario.queries]
    raise InputError(
        "query: no SPEC given and the scenario has no [[queries]]; give one, e.g. 'mean:feature_3' or "
        "'histogram:feature_2:0:1:10 by label'"
    )


def compare_queries(scenario: Scenario, specs: Sequence[QuerySpec]) -> QueryComparison:
    with host_energy_probe(scenario):
        federated = run_queries_inline(scenario, specs)
        centralized = query_pooled(scenario, specs)
    lifecycle = evaluate_lifecycle(scenario, sweeps=False)
    return QueryComparison(scenario, federated, centralized, lifecycle)


def run_query_command(
    scenario_path: Path | None, spec_texts: Sequence[str], overrides: Sequence[str], ledger_csv: Path | None
) -> QueryComparison:
    from simulator.analytics.terminal import print_comparison

    scenario = load_scenario(scenario_path, list(overrides))
    specs = specs_to_run(scenario, spec_texts)
    comparison = compare_queries(scenario, specs)
    if ledger_csv is not None:
        ledger_csv.write_text(comparison.ledger.to_csv_text())
    print_comparison(comparison)
    return comparison


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
