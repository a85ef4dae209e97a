"""Federated analytics: every federated statistic equals the same statistic on the pooled data of
the silos that disclose the group (a silo with fewer than k rows of a group withholds it).

The silos' data come from the real split (`build_federated_data`); the queries travel through the
real Flower ClientApp on the inline grid, wrapped in the measured grid. References are computed
independently with the standard library (`statistics` and `math.fsum` round the exact result once,
as the federated merge does) and NumPy, applying the disclosure rules by hand.
"""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli, tiny_scenario, tiny_scenario_dict
from simulator.analytics.aggregates import (
    ALL_GROUP,
    Histogram,
    QuantileBound,
    finish,
    local_partials,
    merge_all,
    partial_to_record,
    quantile_bound,
)
from simulator.analytics.exact import exact_sum, exact_sum_of_squares
from simulator.query.server_query import run_queries_inline
from simulator.scenario.query_spec import parse_spec
from simulator.scenario.load import validate_scenario
from simulator.data import build_federated_data
from simulator.errors import InputError
from simulator.flower.payload import payload_bytes
from flwr.app import RecordDict

# Real, continuous features (standardized breast-cancer measurements) split with label skew over
# three silos, so some silos lack some labels and sums are far from exactly representable.
SKEWED = dict(
    data__dataset="breast_cancer",
    data__partition="dirichlet",
    data__alpha=0.3,
    silos=[
        {"name": "paris", "country": "FRA"},
        {"name": "virginia", "country": "USA"},
        {"name": "mumbai", "country": "IND"},
    ],
    probes__energy=False,
)

SPECS = [
    "count",
    "count by label",
    "sum:feature_3",
    "mean:feature_3",
    "mean:feature_7 by label",
    "variance:feature_0",
    "variance:feature_12 by label",
    "histogram:feature_2:-2:2:16",
    "histogram:feature_4:-1:1:5 by label",
    "quantile:feature_1:-3:3:12:0,0.1,0.25,0.5,0.75,0.9,1",
    "quantile:feature_9:-2:2:8:0.5 by label",
    "quantile:feature_1:-10:10:4:0.25,0.5,0.75",  # coarse bins: no cell withheld, each bound one bin
]
K = 10  # the default minimum group size


@pytest.fixture(scope="module")
def federated():
    scenario = tiny_scenario(**SKEWED)
    specs = [parse_spec(text) for text in SPECS]
    run = run_queries_inline(scenario, specs)
    return scenario, build_federated_data(scenario), run


def silo_groups(features, labels, spec):
    """One silo's column, whole or split by label, computed here without the analytics code."""
    column = labels.astype(np.float64) if spec.column in (None, "label") else features[:, int(spec.column[8:])].astype(np.float64)
    if spec.group_by is None:
        return {ALL_GROUP: column}
    return {f"label={int(label)}": column[labels == label] for label in np.unique(labels)}


def disclosed_groups(data, spec):
    """Per group: the values of every silo holding at least K of its rows, each such silo's values
    apart, and the number of silos that withhold it."""
    groups: dict[str, tuple[list, int]] = {}
    for silo in data.silos:
        for name, values in silo_groups(silo.train_x, silo.train_y, spec).items():
            parts, withheld = groups.get(name, ([], 0))
            groups[name] = (parts + [values], withheld) if values.size >= K else (parts, withheld + 1)
    order = sorted(groups, key=lambda name: (name != ALL_GROUP, float(name.partition("=")[2] or 0)))
    return {name: groups[name] for name in order}


def thresholded_histogram(values, edges):
    """Bins, below, above of one silo, cells under K sent as 0."""
    counts, _ = np.histogram(values, bins=edges)
    cells = [*counts.tolist(), int(np.sum(values < edges[0])), int(np.sum(values > edges[-1]))]
    return np.asarray([c if c >= K else 0 for c in cells])


def test_silos_really_differ(federated):
    _, data, _ = federated
    label_sets = [set(np.unique(silo.train_y).tolist()) for silo in data.silos]
    sizes = [silo.train_y.size for silo in data.silos]
    assert len(set(sizes)) == len(sizes)
    assert all(len(labels) >= 1 for labels in label_sets)


@pytest.mark.parametrize("index", range(len(SPECS)), ids=SPECS)
def test_federated_statistic_equals_pooled_statistic(federated, index):
    _, data, run = federated
    result = run.results[index]
    spec = result.spec
    expected = disclosed_groups(data, spec)
    assert [group.group for group in result.groups] == list(expected)
    for group in result.groups:
        parts, withheld_by = expected[group.group]
        assert group.suppressed_silos == withheld_by
        values = np.concatenate(parts) if parts else np.zeros(0)
        as_floats = values.tolist()
        assert group.count == len(as_floats)
        if not as_floats:
            assert group.value is None and not group.quantiles
            continue
        if spec.kind == "sum":
            assert group.value == math.fsum(as_floats)
        elif spec.kind == "mean":
            assert group.value == statistics.mean(as_floats)
        elif spec.kind == "variance":
            assert group.value == statistics.pvariance(as_floats)
            assert group.sample_variance == statistics.variance(as_floats)
        elif spec.kind == "histogram":
            edges = np.asarray(spec.bin_edges())
            cells = sum(thresholded_histogram(part, edges) for part in parts)
            assert group.histogram.counts == tuple(cells[:-2].tolist())
            assert (group.histogram.below, group.histogram.above) == (cells[-2], cells[-1])
            assert group.histogram.withheld == len(as_floats) - int(cells.sum())
        elif spec.kind == "quantile":
            # Guaranteed bounds: the true q-quantile (rank max(1, ceil(q n))) lies between the edges
            # reported; where no cell was withheld they are the two edges of its bin.
            ordered = np.sort(values)
            edges = list(spec.bin_edges())
            withheld = len(as_floats) - int(sum(thresholded_histogram(part, np.asarray(edges)) for part in parts).sum())
            for bound in group.quantiles:
                true = ordered[max(1, math.ceil(bound.q * ordered.size)) - 1]
                assert bound.low is None or bound.low <= true, (bound, true)
                assert bound.high is None or true <= bound.high, (bound, true)
                if withheld == 0 and bound.low is not None and bound.high is not None:
                    assert edges.index(bound.high) == edges.index(bound.low) + 1
                    assert bound.low <= bound.estimate <= bound.high
                assert true not in (bound.low, bound.high, bound.estimate)  # bin edges and interpolations, not rows


def test_query_bytes_in_the_ledger_are_the_aggregates_not_the_data(federated):
    scenario, data, run = federated
    index = SPECS.index("mean:feature_3")
    spec = run.results[index].spec
    rows = [row for row in run.rows if row.round == index + 1 and row.silo != "server"]
    assert [row.phase for row in rows] == ["query"] * len(scenario.silos)
    for row, silo in zip(rows, data.silos):
        partial = local_partials(spec, silo.train_x, silo.train_y)[ALL_GROUP]
        # By hand, Flower's record sizes: key 'count' (5) + an int (8); key 'sum' (3) + the exact sum's text.
        assert row.bytes_up == 5 + 8 + 3 + len(str(partial.total))
        assert row.bytes_up == payload_bytes(RecordDict({"group:all": partial_to_record(partial)}))
        # The request is the spec text and the query number: 'spec' + text, 'server-round' + an int.
        assert row.bytes_down == 4 + len(spec.text) + len("server-round") + 8
    # The aggregate does not grow with the data: the largest silo sends under 1 % of its raw bytes.
    largest = max(range(len(data.silos)), key=lambda i: data.silos[i].train_y.size)
    assert rows[largest].bytes_up < (data.silos[largest].train_x.nbytes + data.silos[largest].train_y.nbytes) / 100
    # Every silo row of every query is in the ledger, and none carries data-sized payloads.
    silo_rows = [row for row in run.rows if row.silo != "server"]
    assert len(silo_rows) == len(SPECS) * len(scenario.silos)
    biggest_silo = max(silo.train_x.nbytes for silo in data.silos)
    assert max(row.bytes_up for row in silo_rows) < biggest_silo


def test_server_merges_in_the_ledger_after_each_query(federated):
    _, _, run = federated
    server_rows = [row for row in run.rows if row.silo == "server"]
    assert [row.round for row in server_rows] == list(range(1, len(SPECS) + 1))
    assert {row.bytes_up for row in server_rows} == {0}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=40))
def test_exact_sums_equal_rational_arithmetic(values):
    array = np.asarray(values, dtype=np.float64)
    assert exact_sum(array) == sum((Fraction(v) for v in values), Fraction(0))
    assert exact_sum_of_squares(array) == sum((Fraction(v) ** 2 for v in values), Fraction(0))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=1, max_size=60),
    st.lists(st.integers(0, 3), min_size=1, max_size=8),
)
def test_merging_any_split_gives_the_whole(values, cut_points):
    features = np.asarray(values, dtype=np.float32).reshape(-1, 1)
    labels = np.arange(len(values)) % 3
    cuts = sorted({min(c * len(values) // 4, len(values)) for c in cut_points})
    pieces = [(features[a:b], labels[a:b]) for a, b in zip([0, *cuts], [*cuts, len(values)])]
    for text in ("sum:feature_0", "mean:feature_0 by label", "variance:feature_0",
                 "histogram:feature_0:-1000:1000:7", "count by label"):
        spec = parse_spec(text)
        whole = finish(spec, merge_all([local_partials(spec, features, labels)]))
        merged = finish(spec, merge_all([local_partials(spec, x, y) for x, y in pieces if y.size]))
        assert merged == whole, text


def test_worked_example_by_hand():
    # Silo A holds 1, 2, 3 and silo B holds 4, 10: n = 5, sum = 20, mean = 4,
    # sum of squares = 1 + 4 + 9 + 16 + 100 = 130, population variance = 130/5 - 16 = 10, sample 12.5.
    spec = parse_spec("variance:feature_0")
    silo_a = local_partials(spec, np.array([[1.0], [2.0], [3.0]]), np.zeros(3))
    silo_b = local_partials(spec, np.array([[4.0], [10.0]]), np.zeros(2))
    result = finish(spec, merge_all([silo_a, silo_b])).group(ALL_GROUP)
    assert (result.count, result.value, result.sample_variance) == (5, 10.0, 12.5)


def test_quantile_bounds_worked_by_hand():
    # Edges 0, 1, 2, 3 with 2, 5, 3 rows: the median (rank 5 of 10) lies in [1, 2], 2.5 rows into a
    # bin of 5 (the half-row centring each rank): 1 + 2.5 / 5 = 1.5.
    histogram = Histogram((0.0, 1.0, 2.0, 3.0), (2, 5, 3), below=0, above=0)
    assert quantile_bound(histogram, 10, 0.5) == QuantileBound(0.5, 1.0, 2.0, 1.5)
    # Two rows withheld (anywhere): the median still lies in [1, 2], but no estimate inside the bin.
    withheld = Histogram((0.0, 1.0, 2.0, 3.0), (2, 5, 1), below=0, above=0, withheld=2)
    assert quantile_bound(withheld, 10, 0.5) == QuantileBound(0.5, 1.0, 2.0, None)
    # The maximum (q = 1, rank 10) with those two rows possibly above HIGH: unbounded above.
    assert quantile_bound(withheld, 10, 1.0) == QuantileBound(1.0, 2.0, None, None)


@pytest.mark.parametrize(
    "text, problem",
    [
        ("median:feature_1", "unknown statistic 'median'"),
        ("mean", "mean takes exactly one COLUMN"),
        ("mean:height", "unknown column 'height'"),
        ("histogram:feature_1:1:0:10", "LOW (1.0) must be below HIGH (0.0)"),
        ("histogram:feature_1:0:1:zero", "BINS 'zero' is not a whole number"),
        ("quantile:feature_1:0:1:4:1.5", "every Q must lie in [0, 1]"),
        ("quantile:feature_1:0.5", "quantile takes COLUMN:LOW:HIGH:BINS:Q[,Q...]"),
        ("histogram:feature_1:0:1:101", "BINS must be between 1 and 100"),
        ("min:feature_1", "'min' is refused: it is one row's own value"),
        ("max:feature_1 by label", "'max' is refused"),
        ("mean:feature_1 by silo", "cannot group by 'silo'"),
    ],
)
def test_bad_specs_are_refused_in_one_line_naming_the_forms(text, problem):
    with pytest.raises(InputError) as refused:
        parse_spec(text)
    message = str(refused.value)
    assert "\n" not in message and problem in message
    assert "histogram:COLUMN:LOW:HIGH:BINS" in message and f"'{text}'" in message


@pytest.mark.parametrize("text", SPECS)
def test_canonical_text_parses_back_to_the_same_spec(text):
    spec = parse_spec(text)
    assert parse_spec(spec.text) == spec


def test_scenario_queries_section_is_validated():
    raw = tiny_scenario_dict()
    raw["queries"] = [{"spec": "mean:feature_3"}, {"spec": "quantile:feature_0:0:16:8:0.5 by label"}]
    scenario = validate_scenario(raw, "tiny")
    assert [query.spec for query in scenario.queries] == ["mean:feature_3", "quantile:feature_0:0.0:16.0:8:0.5 by label"]
    raw["queries"].append({"spec": "mode:feature_0"})
    with pytest.raises(InputError, match=r"key 'queries\.2\.spec': query spec 'mode:feature_0'"):
        validate_scenario(raw, "tiny")


def test_query_command_runs_scenario_queries_and_refuses_bad_specs(tmp_path):
    scenario_file = tmp_path / "tiny.toml"
    scenario_file.write_text(
        'name = "tiny"\n[model]\nname = "logreg"\n[probes]\nenergy = false\n'
        '[[silos]]\nname = "paris"\ncountry = "FRA"\nshare = 0.6\n'
        '[[silos]]\nname = "virginia"\ncountry = "USA"\nshare = 0.4\n'
        '[[queries]]\nspec = "mean:feature_3"\n'
    )
    done = run_cli("query", str(scenario_file), "--ledger-csv", "ledger.csv", cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "mean:feature_3" in done.stdout and "raw training data" in done.stdout
    assert "Lifecycle model (not measured)" in done.stdout and "copy every silo's data" in done.stdout
    ledger_lines = (tmp_path / "ledger.csv").read_text().splitlines()
    assert sum(",query," in line and line.startswith("fl,") for line in ledger_lines) == 2
    refused = run_cli("query", str(scenario_file), "histogram:feature_2:0:1", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "histogram takes COLUMN:LOW:HIGH:BINS" in refused.stderr


def test_query_energy_is_measured_per_silo_and_the_centralized_copy_is_counted():
    from simulator.query.command import compare_queries

    scenario = tiny_scenario()  # probes on: CodeCarbon's offline tracker, modelled CPU on this host
    comparison = compare_queries(scenario, [parse_spec("variance:feature_10 by label")])
    silo_rows = [row for row in comparison.federated.rows if row.silo != "server"]
    assert {row.silo for row in silo_rows} == {"paris", "virginia"}
    assert all(row.energy_method in ("measured", "modelled") and row.energy_kwh > 0 for row in silo_rows)
    assert all(row.co2_kg > 0 and row.country == silo.country for row, silo in zip(silo_rows, scenario.silos))
    data = build_federated_data(scenario)
    copy_rows = [row for row in comparison.centralized.rows if row.round == 0]
    assert sum(row.bytes_up for row in copy_rows) == comparison.centralized.copied_bytes
    assert comparison.centralized.copied_bytes == sum(s.train_x.nbytes + s.train_y.nbytes for s in data.silos)
    assert comparison.federated.results == comparison.centralized.results
    # Next to it, the lifecycle model's centralized alternative for the scenario's data: copying and
    # keeping the copy cost something, federating copies nothing.
    lifecycle = comparison.lifecycle
    assert lifecycle.cl.stage("data_transfer").co2_kg.central > 0
    assert lifecycle.cl.stage("data_storage").co2_kg.central > 0
    assert lifecycle.fl.stage("data_transfer").co2_kg.central == 0
