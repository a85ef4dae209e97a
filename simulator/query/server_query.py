"""The server side of federated analytics: send each query to every silo, merge the replies.

`query_federation` works on any Flower Grid; `run_queries_inline` drives it over the inline grid,
wrapped in the measured grid, so each query's bytes and energy become ledger rows (phase `query`,
round = the query's number). `query_pooled` is the centralized alternative: the same statistic on
the pooled copy of the data, measured as one window at the central site.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from flwr.app import Message
from flwr.serverapp import Grid

from simulator.analytics.aggregates import QueryResult, finish, merge_all
from simulator.analytics.silo_query import partials_of_reply, protected_partials, request_content
from simulator.scenario.query_spec import QuerySpec, check_columns
from simulator.scenario.schema import Scenario
from simulator.data import FederatedData, build_federated_data
from simulator.flower.client_app import make_client_app
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.measured_grid import MeasuredGrid
from simulator.ledger import APPROACH_CL, CENTRAL_SILO, Ledger, LedgerRow, make_row
from simulator.lifecycle import LifecycleResult
from simulator.probes.energy import NullEnergyProbe, absent_reading, install_host_probe
from simulator.probes.host_energy import HostEnergyProbe
from simulator.probes.window import WorkWindow

QUERY_MESSAGE_TYPE = "query"
QUERY_PHASE = "query"


class QueryFailedError(RuntimeError):
    """A silo answered a query with an error, or not at all."""


@dataclass(frozen=True)
class FederatedQueryRun:
    results: tuple[QueryResult, ...]
    rows: tuple[LedgerRow, ...]  # approach fl: one row per silo per query, plus the server's


@dataclass(frozen=True)
class CentralizedQueryRun:
    results: tuple[QueryResult, ...]
    rows: tuple[LedgerRow, ...]  # approach cl: the copy (bytes only, round 0) and each pooled query
    copied_bytes: int  # raw bytes every silo would copy to the central site


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


def query_federation(grid: Grid, specs: Sequence[QuerySpec], timeout_s: float | None = None) -> list[QueryResult]:
    """Ask every node of `grid` each query in turn; merge the replies into one result per query."""
    node_ids = sorted(grid.get_node_ids())
    results = []
    for number, spec in enumerate(specs, start=1):
        messages = [
            Message(
                content=request_content(spec.text, number),
                message_type=QUERY_MESSAGE_TYPE,
                dst_node_id=node_id,
                group_id=str(number),
            )
            for node_id in node_ids
        ]
        replies = list(grid.send_and_receive(messages, timeout=timeout_s))
        failed = [reply for reply in replies if reply.has_error()]
        if failed:
            reasons = "; ".join(f"node {reply.metadata.src_node_id}: {reply.error.reason}" for reply in failed)
            raise QueryFailedError(f"query '{spec.text}' failed in {len(failed)} silo(s): {reasons}")
        if len(replies) != len(node_ids):
            raise QueryFailedError(
                f"query '{spec.text}': {len(node_ids) - len(replies)} silo(s) did not reply within {timeout_s} s"
            )
        results.append(finish(spec, merge_all([partials_of_reply(reply.content) for reply in replies])))
    return results


def checked_specs(scenario: Scenario, specs: Sequence[QuerySpec]) -> list[QuerySpec]:
    """Refuse columns the scenario's dataset does not have, before anything runs."""
    num_features = build_federated_data(scenario).dataset.num_features
    for spec in specs:
        check_columns(spec, num_features)
    return list(specs)


def run_queries_inline(scenario: Scenario, specs: Sequence[QuerySpec]) -> FederatedQueryRun:
    """The queries over the inline grid, measured: results and the ledger rows of every exchange."""
    specs = checked_specs(scenario, specs)
    grid = InlineGrid(make_client_app(scenario), len(scenario.silos))
    node_to_silo = {node: scenario.silos[index].name for node, index in grid.node_to_partition.items()}
    measured = MeasuredGrid(
        grid,
        node_to_silo=node_to_silo,
        silo_countries={silo.name: silo.country for silo in scenario.silos},
        server_country=scenario.aggregator_country,
        apportion_host_energy=False,
        min_group_size=scenario.analytics.min_group_size,
    )
    try:
        results = query_federation(measured, specs, timeout_s=scenario.training.round_timeout_s)
    finally:
        grid.close()
    measured.close_server_window()
    return FederatedQueryRun(tuple(results), tuple(measured.rows))


def raw_bytes(data: FederatedData) -> dict[str, int]:
    """Bytes of each silo's raw training data (features and labels as held in memory)."""
    return {silo.name: int(silo.train_x.nbytes + silo.train_y.nbytes) for silo in data.silos}


def query_pooled(scenario: Scenario, specs: Sequence[QuerySpec]) -> CentralizedQueryRun:
    """The centralized alternative: copy every silo's raw data to the central site, query the copy."""
    specs = checked_specs(scenario, specs)
    data = build_federated_data(scenario)
    copied = raw_bytes(data)
    rows = [
        make_row(
            approach=APPROACH_CL,
            silo=silo.name,
            round_number=0,
            phase=QUERY_PHASE,
            energy=absent_reading(0.0),
            cpu_s=0.0,
            country=silo.country,
            bytes_up=copied[silo.name],
            detail="raw training data copied to the central site; its transfer and storage energy "
            "is the lifecycle model's, not measured here",
        )
        for silo in scenario.silos
    ]
    pooled_x, pooled_y = data.pooled_train
    results = []
    for number, spec in enumerate(specs, start=1):
        with WorkWindow(f"cl-query-{number}") as window:
            # The central copy releases under the same rules, as one holder of all the rows.
            result = finish(spec, protected_partials(spec, pooled_x, pooled_y, scenario.analytics.min_group_size))
        results.append(result)
        rows.append(
            make_row(
                approach=APPROACH_CL,
                silo=CENTRAL_SILO,
                round_number=number,
                phase=QUERY_PHASE,
                energy=window.reading,
                cpu_s=window.cpu_s,
                country=scenario.central.country,
                num_examples=int(pooled_y.size),
            )
        )
    return CentralizedQueryRun(tuple(results), tuple(rows), sum(copied.values()))


@contextmanager
def host_energy_probe(scenario: Scenario) -> Iterator[None]:
    """The host's energy probe (as `silocarbon run` installs it) while the queries run, or none when
    probes.energy is false; windows opened meanwhile measure energy, attributed and the host's."""
    probe = HostEnergyProbe(scenario.probes.host_country) if scenario.probes.energy else NullEnergyProbe()
    probe.warm_up()
    install_host_probe(probe)
    try:
        yield
    finally:
        install_host_probe(None)
        probe.close()
