"""`silocarbon query SCENARIO [SPEC ...]`: federated queries next to the centralized alternative.

The federated side runs through Flower (inline grid, measured); the centralized side copies the raw
data (bytes counted, not moved) and runs the same statistic on the pooled copy, measured. Specs come
from the command line, or from the scenario's `[[queries]]` when none are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from simulator.query.server_query import QueryComparison, host_energy_probe, query_pooled, run_queries_inline
from simulator.query.terminal import print_comparison
from simulator.scenario.query_spec import QuerySpec, parse_spec
from simulator.scenario.schema import Scenario
from simulator.scenario.load import load_scenario
from simulator.data.registry import dataset_features_for_lifecycle
from simulator.errors import InputError
from simulator.lifecycle import evaluate_lifecycle


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
    lifecycle = evaluate_lifecycle(scenario, sweeps=False, dataset_features=dataset_features_for_lifecycle(scenario))
    return QueryComparison(scenario, federated, centralized, lifecycle)


def run_query_command(
    scenario_path: Path | None, spec_texts: Sequence[str], overrides: Sequence[str], ledger_csv: Path | None
) -> QueryComparison:
    scenario = load_scenario(scenario_path, list(overrides))
    specs = specs_to_run(scenario, spec_texts)
    comparison = compare_queries(scenario, specs)
    if ledger_csv is not None:
        ledger_csv.write_text(comparison.ledger.to_csv_text())
    print_comparison(comparison)
    return comparison
