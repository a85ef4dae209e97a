"""Issue 13, item 2: no raw value of a silo's column is recoverable from any allowed query.

An attacker who may send any query spec tries quantiles, min, max, fine histograms and group-by on a
scenario with a small silo. Every number that comes back is compared with the raw values of the
queried column: none may equal a value that fewer than k rows share. Specs the tool refuses count
as blocked (the tool said no, in one line). A silo that breaks the rules in its reply is refused.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from flwr.app import ConfigRecord, Message
from flwr.clientapp import ClientApp

from conftest import run_cli, tiny_scenario
from simulator.query.server_query import QueryFailedError, query_federation, run_queries_inline
from simulator.scenario.query_spec import parse_spec
from simulator.data import build_federated_data
from simulator.errors import InputError
from simulator.flower.client_app import make_client_app
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.measured_grid import MeasuredGrid

K = 10  # the default minimum group size
# Standardised breast-cancer measurements (continuous, so a returned number equal to a row's value is
# no coincidence); the third silo holds about 14 training rows, some labels only a few.
SMALL_SILO = dict(
    data__dataset="breast_cancer",
    data__partition="shares",
    silos=[
        {"name": "paris", "country": "FRA", "share": 0.87},
        {"name": "virginia", "country": "USA", "share": 0.1},
        {"name": "tiny-clinic", "country": "DEU", "share": 0.03},
    ],
    probes__energy=False,
)
COLUMNS = ("feature_0", "feature_7", "feature_21")
ATTACKS = [
    form.format(c=column)
    for column in COLUMNS
    for form in (
        "quantile:{c}:0,0.01,0.5,0.99,1",  # the old KLL form: its items are raw values
        "quantile:{c}:0,0.01,0.5,0.99,1 by label",
        "quantile:{c}:-4:4:100:0,0.01,0.5,0.99,1",
        "quantile:{c}:-4:4:100:0,0.5,1 by label",
        "min:{c}",
        "max:{c}",
        "max:{c} by label",
        "histogram:{c}:-4:4:100",
        "histogram:{c}:-4:4:10000",
        "histogram:{c}:-0.5:0.5:100 by label",
        "mean:{c} by label",
        "sum:{c} by label",
        "variance:{c} by label",
        "count by label",
    )
]


def _numbers(result) -> list[float]:
    """Every number a query result holds."""
    numbers: list[float] = []
    for group in result.groups:
        numbers.append(group.count)
        numbers += [value for value in (group.value, group.sample_variance) if value is not None]
        histogram = group.histogram
        if histogram is not None:
            numbers += [*histogram.counts, histogram.below, histogram.above, getattr(histogram, "withheld", 0)]
        for item in group.quantiles:
            # (q, value) pairs before; bounds now.
            parts = item if isinstance(item, tuple) else (item.low, item.high, item.estimate)
            numbers += [value for value in parts if value is not None]
    return numbers


def test_an_attacker_recovers_no_raw_value_from_any_allowed_query():
    scenario = tiny_scenario(**SMALL_SILO)
    data = build_federated_data(scenario)
    small = data.silos[2]
    assert small.train_y.size < 2 * K  # the silo under attack is small indeed
    allowed, blocked = [], []
    for text in ATTACKS:
        try:
            allowed.append(parse_spec(text))
        except InputError:
            blocked.append(text)
    run = run_queries_inline(scenario, allowed)
    features, _ = data.pooled_train
    for result in run.results:
        column = result.spec.column
        raw = features[:, int(column[len("feature_"):])] if column and column != "label" else None
        if raw is None:
            continue
        shared = Counter(raw.tolist())
        rare = {value for value, rows in shared.items() if rows < K}
        leaked = [number for number in _numbers(result) if number in rare]
        assert not leaked, f"{result.spec.text} returned raw values {leaked[:3]}"
    assert any(text.startswith("min:") for text in blocked) and any(text.startswith("max:") for text in blocked)
    assert "histogram:feature_0:-4:4:10000" in blocked  # the bin count is capped


def test_small_groups_and_cells_never_leave_the_small_silo():
    scenario = tiny_scenario(**SMALL_SILO)
    run = run_queries_inline(scenario, [parse_spec("count by label"), parse_spec("histogram:feature_0:-4:4:40")])
    counts, histogram = run.results
    labels = build_federated_data(scenario).silos[2].train_y
    small_labels = [int(label) for label in np.unique(labels) if np.sum(labels == label) < K]
    assert small_labels  # the tiny silo holds fewer than K rows of some label...
    for label in small_labels:  # ...and withholds that group (the others disclose theirs)
        assert counts.group(f"label={label}").suppressed_silos == 1
    assert all(count == 0 or count >= K for count in histogram.groups[0].histogram.counts)
    assert histogram.groups[0].histogram.withheld > 0


def _app_replying(scenario, forged: dict) -> ClientApp:
    """The honest ClientApp, except that silo 2 answers queries with `forged` fields in its group."""
    honest = make_client_app(scenario)
    app = ClientApp()

    @app.query()
    def query(message: Message, context) -> Message:
        reply = honest(message, context)
        if int(context.node_config["partition-id"]) == 2 and not reply.has_error():
            for key in [key for key in reply.content.config_records if key.startswith("group:")]:
                reply.content[key] = ConfigRecord(forged)
        return reply

    return app


@pytest.mark.parametrize(
    "forged",
    [
        {"count": 3, "sum": "5/2"},  # a group under K rows
        {"count": 14, "sum": "5/2", "max": 1.2345},  # a raw value beside the aggregate
        {"count": 14, "sum": "0.1,0.2,0.3\n0.4,0.5,0.6"},  # CSV text where an exact sum goes
    ],
    ids=["small-group", "extra-field", "csv-text"],
)
def test_a_silo_breaking_the_rules_is_refused(forged):
    scenario = tiny_scenario(**SMALL_SILO)
    grid = InlineGrid(_app_replying(scenario, forged), len(scenario.silos))
    measured = MeasuredGrid(
        grid,
        node_to_silo={node: scenario.silos[index].name for node, index in grid.node_to_partition.items()},
        silo_countries={silo.name: silo.country for silo in scenario.silos},
        server_country="USA",
        apportion_host_energy=False,
    )
    try:
        with pytest.raises(QueryFailedError, match="reply refused"):
            query_federation(measured, [parse_spec("mean:feature_0")], timeout_s=30)
    finally:
        grid.close()
    refused = [row for row in measured.rows if row.silo == "tiny-clinic"]
    assert [row.status for row in refused] == ["failed"] and "reply refused" in refused[0].detail


@pytest.mark.parametrize("value", ["0", "1"])
def test_the_minimum_group_size_cannot_be_switched_off(tmp_path, value):
    done = run_cli("validate", "--set", f"analytics.min_group_size={value}", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "key 'analytics.min_group_size'" in done.stderr
    assert "greater than or equal to 2" in done.stderr
