"""A Grid wrapper on the server side that turns every exchange into ledger rows.

It sizes what the server sends and what arrives (never the silo's word), screens every reply
against its message type's contract (reply_check.py), reads each silo's measurement from its reply
(a `SiloMeasurement`), times the server's
own work between exchanges (aggregation and coordination), and, where silos run concurrently on this
host (the `ray` runner), splits the energy over the exchange between the silos and the server by
their CPU time, and GPU energy by GPU time (rows labelled `apportioned`): the attributed figure (this
process and Ray's worker processes) and the whole host's, each summing to its own total. A silo that
declares hardware the host lacks gets energy modelled from that profile; its host columns keep what
this host drew.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from flwr.app import Error, Message, RecordDict
from flwr.serverapp import Grid

from simulator.analytics.disclosure import DEFAULT_MIN_GROUP_SIZE
from simulator.flower.flwr_internals import ERROR_CLIENT_APP_RAISED
from simulator.flower.payload import FAILURE_KEY, MEASUREMENT_KEY, payload_bytes
from simulator.flower.wrapped_grid import WrappedGrid
from simulator.flower.reply_check import TELEMETRY_KEYS, reply_problem
from simulator.ledger import APPROACH_FL, SERVER_SILO, LedgerRow, host_reading, make_row
from simulator.probes.apportion import SiloWork, apportion
from simulator.probes.energy import EnergyReading, absent_reading, host_probe
from simulator.probes.silo_hardware import modelled_reading
from simulator.scenario.hardware import HardwareProfile
from simulator.probes.window import WorkWindow
from simulator.records.kinds import HARDWARE_DECLARED, HARDWARE_HOST, EnergyHardware
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.measurement import MeasurementRefused, SiloMeasurement, bounded_silo_text
from simulator.stopping import raise_if_stopped

SERVER_PHASE_AFTER = {"train": "aggregate", "evaluate": "coordinate", "query": "coordinate"}
# How `_failure_of` begins the reason of a reply whose silo raised after its (measured) work.
SILO_FAILED = "silo failed: "


class MeasuredGrid(WrappedGrid):
    def __init__(
        self,
        inner: Grid,
        *,
        node_to_silo: dict[int, str] | None,
        silo_countries: dict[str, str],
        server_country: str,
        apportion_host_energy: bool,
        modelled_silos: dict[str, HardwareProfile] | None = None,
        reply_poll_s: float | None = None,
        on_rows: Callable[[list[LedgerRow]], None] | None = None,
        observer: RunObserver = NULL_OBSERVER,
        min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
        app_metrics: bool = False,
    ):
        super().__init__(inner)
        # A user's own ClientApp: its replies' metrics go by its own names (see reply_check).
        self._app_metrics = app_metrics
        # Pull replies every `reply_poll_s` seconds instead of the inner grid's own pace (Flower's
        # deployed grid waits 3 s between pulls); None keeps the inner grid's send_and_receive.
        self._reply_poll_s = reply_poll_s
        # Called with every row so far after each exchange, so a run cut short keeps its ledger.
        self._on_rows = on_rows
        self._node_to_silo = dict(node_to_silo or {})
        self._silo_order = list(silo_countries)
        self._silo_countries = silo_countries
        self._server_country = server_country
        self._apportion = apportion_host_energy
        self._gpu_s: dict[str, float] = {}  # silo -> GPU seconds of its reply in the current exchange
        self._modelled_silos = dict(modelled_silos or {})
        self._observer = observer
        # Analytics replies must respect this minimum group size (simulator/analytics/disclosure.py).
        self._min_group_size = min_group_size
        self.rows: list[LedgerRow] = []
        # The model's array dtypes (name -> dtype), which a silo's reply may carry (see reply_check).
        self.model_dtypes: dict[str, str] = {}
        self._server_window: tuple[WorkWindow, int, str] | None = None

    def get_node_ids(self) -> Iterable[int]:
        # Sorted: Flower's sampling then depends only on the seeded `random` state.
        return sorted(self._inner.get_node_ids())

    def silo_of_node(self, node_id: int) -> str | None:
        """The silo name of a node, once known (from the runner or a first reply); None before."""
        return self._node_to_silo.get(node_id)

    # -- measured exchange ------------------------------------------------------------------
    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        """One exchange. The messages may be of more than one kind (a round's evaluation travelling
        with the next round's training): each message and its reply give a row of its own phase and
        round, grouped in the order sent."""
        messages = list(messages)
        self.close_server_window()
        if not messages:
            return []
        groups = _groups(messages)
        bytes_down = [payload_bytes(m.content) for m in messages]
        for (round_number, phase), positions in groups.items():
            self._observer.exchange_started(round_number, phase, len(positions))
        # Concurrent silos on this host: one window over the whole exchange, split afterwards.
        # Concurrent silos run in Ray's worker processes, this process's children: the attributed
        # figure of the exchange counts them.
        label = "+".join(f"{round_number}-{phase}" for round_number, phase in groups)
        with WorkWindow(f"exchange-{label}", measure_energy=self._apportion, children=self._apportion) as exchange:
            replies = self._exchange(messages, timeout)

        # Every message has its id now (the inner grid gives them as it pushes).
        position_of = {m.metadata.message_id: position for position, m in enumerate(messages)}
        answered: dict[int, Message] = {}
        for reply in replies:
            self._silo_of(reply)  # learn which silo a node is (from its measurement) before ordering
            position = position_of.get(reply.metadata.reply_to_message_id)
            if position is not None and position not in answered:
                answered[position] = reply
        result: list[Message] = []
        silo_rows: list[LedgerRow] = []
        for (round_number, phase), positions in groups.items():
            for position in sorted(positions, key=lambda p: self._index_of_node(messages[p].metadata.dst_node_id)):
                sent = messages[position]
                reply = answered.get(position)
                if reply is None:
                    silo_rows.append(
                        self._missing_row(sent.metadata.dst_node_id, round_number, phase, bytes_down[position], timeout)
                    )
                    continue
                failure = self._failure_of(reply, sent)
                silo_rows.append(self._silo_row(reply, round_number, phase, bytes_down[position], failure))
                # A failed or refused reply reaches the strategy as an error reply, never with its content.
                result.append(reply if failure is None or reply.has_error() else _error_reply(sent, failure))
        last_round, last_phase = list(groups)[-1]
        if self._apportion and host_probe() is not None:
            silo_rows = self._apportioned(silo_rows, exchange.reading, exchange.cpu_s, last_round, last_phase)
        silo_rows = [self._modelled(row) for row in silo_rows]
        self.rows.extend(silo_rows)
        if self._on_rows is not None:
            self._on_rows(list(self.rows))
        self._open_server_window(SERVER_PHASE_AFTER.get(last_phase, "coordinate"), last_round)
        return result

    def _exchange(self, messages: list[Message], timeout: float | None) -> list[Message]:
        """The inner grid's replies; the observer hears of each silo as its reply arrives."""
        kind = {id(m): _kind(m) for m in messages}
        if self._reply_poll_s is not None:
            return self._polled_exchange(messages, timeout)
        if getattr(self._inner, "answers_one_at_a_time", False) and self._observer is not NULL_OBSERVER:
            # Silos answer in turn anyway: sending one message at a time changes nothing measured
            # and lets a progress bar move per silo.
            replies = []
            for message in messages:
                answered = list(self._inner.send_and_receive([message], timeout=timeout))
                replies.extend(answered)
                for reply in answered:
                    self._observer.silo_finished(*kind[id(message)], self._silo_of(reply))
            return replies
        replies = list(self._inner.send_and_receive(messages, timeout=timeout))
        sent_kind = {m.metadata.message_id: kind[id(m)] for m in messages}
        for reply in replies:
            if reply.metadata.reply_to_message_id in sent_kind:
                self._observer.silo_finished(*sent_kind[reply.metadata.reply_to_message_id], self._silo_of(reply))
        return replies

    def _polled_exchange(self, messages: list[Message], timeout: float | None) -> list[Message]:
        kinds = [_kind(m) for m in messages]
        ids = list(self._inner.push_messages(messages))
        kind_of = {message_id: kind for message_id, kind in zip(ids, kinds) if message_id is not None}
        pending = set(kind_of)
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while pending:
            raise_if_stopped()  # in Flower's ServerApp thread (ray) the signal cannot reach us otherwise
            arrived = [reply for reply in self._inner.pull_messages(pending)
                       if reply.metadata.reply_to_message_id in pending]
            replies.extend(arrived)
            for reply in arrived:
                pending.discard(reply.metadata.reply_to_message_id)
                self._observer.silo_finished(*kind_of[reply.metadata.reply_to_message_id], self._silo_of(reply))
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                break
            time.sleep(self._reply_poll_s)
        return replies

    def close_server_window(self) -> None:
        if self._server_window is None:
            return
        window, round_number, phase = self._server_window
        self._server_window = None
        reading = window.end()
        self.rows.append(
            make_row(
                approach=APPROACH_FL,
                silo=SERVER_SILO,
                round_number=round_number,
                phase=phase,
                energy=reading,
                cpu_s=window.cpu_s,
                country=self._server_country,
            )
        )

    def _open_server_window(self, phase: str, round_number: int) -> None:
        window = WorkWindow(f"server-{round_number}-{phase}").begin()
        self._server_window = (window, round_number, phase)

    # -- rows ------------------------------------------------------------------------------
    def _index_of_node(self, node_id: int) -> int:
        silo = self._node_to_silo.get(node_id)
        return self._silo_order.index(silo) if silo in self._silo_order else len(self._silo_order)

    def _silo_of(self, reply: Message) -> str:
        """The silo of a reply's node: from the runner, else learnt from a first valid measurement
        that names one of the scenario's silos not yet claimed by another node."""
        node_id = reply.metadata.src_node_id
        if node_id not in self._node_to_silo and not reply.has_error() and MEASUREMENT_KEY in reply.content:
            measurement = _measurement_of(reply.content)
            claimed = set(self._node_to_silo.values())
            if measurement is not None and measurement.silo in self._silo_countries and measurement.silo not in claimed:
                self._node_to_silo[node_id] = measurement.silo
        return self._node_to_silo.get(node_id, f"node-{node_id}")

    def _failure_of(self, reply: Message, original: Message) -> str | None:
        """Why a content reply to `original` is refused (it breaks its message type's contract) or
        failed (the silo raised); None for an accepted reply."""
        if reply.has_error():
            return None
        if reply.metadata.src_node_id != original.metadata.dst_node_id:
            return f"reply refused: from node {reply.metadata.src_node_id}, sent to {original.metadata.dst_node_id}"
        problem = reply_problem(
            original.metadata.message_type, original.content, reply.content, self.model_dtypes,
            min_group_size=self._min_group_size, app_metrics=self._app_metrics,
        )
        if problem is None and MEASUREMENT_KEY in reply.content:
            named = SiloMeasurement.from_record(reply.content[MEASUREMENT_KEY]).silo
            expected = self._silo_of(reply)
            if named != expected:
                problem = f"the measurement names silo '{named}'; this reply comes from '{expected}'"
        if problem is not None:
            return f"reply refused: {problem}"
        if FAILURE_KEY in reply.content:
            return f"{SILO_FAILED}{reply.content[FAILURE_KEY]['reason']}"
        return None

    def _silo_row(
        self, reply: Message, round_number: int, phase: str, down: int, failure: str | None = None
    ) -> LedgerRow:
        silo = self._silo_of(reply)
        country = self._silo_countries.get(silo, self._server_country)
        if reply.has_error():
            reason = bounded_silo_text(reply.error.reason)
            return make_row(
                approach=APPROACH_FL,
                silo=silo,
                round_number=round_number,
                phase=phase,
                energy=absent_reading(0.0),
                cpu_s=0.0,
                country=country,
                bytes_down=down,
                bytes_up_telemetry=len(reply.error.reason or ""),
                status="failed",
                detail=f"error reply: {reason}",
                failure="error_reply",
            )
        # Counted here, from what arrived: the app's payload, and our telemetry beside it.
        bytes_up = payload_bytes(reply.content)
        telemetry_bytes = sum(reply.content[key].count_bytes() for key in TELEMETRY_KEYS if key in reply.content)
        # A refused reply's measurement is not trusted either: its energy is unknown.
        raised_after_work = failure is not None and failure.startswith(SILO_FAILED)
        measurement = _measurement_of(reply.content) if failure is None or raised_after_work else None
        reply.content.pop(MEASUREMENT_KEY, None)
        if measurement is None:
            energy, cpu_s = absent_reading(0.0), 0.0
        else:
            energy = measurement.reading()
            cpu_s = measurement.cpu_s
            self._gpu_s[silo] = measurement.gpu_s
        num_examples = 0
        if failure is None:
            for record in reply.content.metric_records.values():
                num_examples = int(record.get("num-examples", 0))
        return make_row(
            approach=APPROACH_FL,
            silo=silo,
            round_number=round_number,
            phase=phase,
            energy=energy,
            cpu_s=cpu_s,
            country=country,
            bytes_down=down,
            bytes_up=bytes_up,
            bytes_up_telemetry=telemetry_bytes,
            num_examples=num_examples,
            sample_updates=0 if measurement is None else measurement.sample_updates,
            status="ok" if failure is None else "failed",
            detail=failure if failure is not None else _measurement_detail(measurement),
            # A failure reply (the silo raised after its measured work) or one the screening refused.
            failure="none" if failure is None else "raised" if raised_after_work else "refused",
        )

    def _missing_row(self, node_id: int, round_number: int, phase: str, down: int, timeout: float | None) -> LedgerRow:
        silo = self._node_to_silo.get(node_id, f"node-{node_id}")
        return make_row(
            approach=APPROACH_FL,
            silo=silo,
            round_number=round_number,
            phase=phase,
            energy=absent_reading(timeout or 0.0),  # the server's wait for it; its energy is unknown
            cpu_s=0.0,
            country=self._silo_countries.get(silo, self._server_country),
            bytes_down=down,
            status="failed",
            detail=f"no reply within the round timeout ({timeout} s)",
            failure="no_reply",
        )

    def _apportioned(
        self, rows: list[LedgerRow], host: EnergyReading, server_cpu_s: float, round_number: int, phase: str
    ) -> list[LedgerRow]:
        """Split the host's energy over the exchange by CPU (and GPU) seconds; the server keeps the rest."""
        work = [SiloWork(row.wall_s, row.cpu_s, self._gpu_s.pop(row.silo, 0.0)) for row in rows]
        split = apportion(host, work, server_cpu_s)
        result = [
            _with_energy(row, reading, "host energy split by CPU (and GPU) time between concurrent silos")
            for row, reading in zip(rows, split.silos)
        ]
        result.append(
            make_row(
                approach=APPROACH_FL,
                silo=SERVER_SILO,
                round_number=round_number,
                phase="wait",
                energy=split.remainder,
                cpu_s=server_cpu_s,
                country=self._server_country,
                detail=f"host energy during the {phase} exchange not attributed to a silo's CPU or GPU time",
            )
        )
        return result

    def _modelled(self, row: LedgerRow) -> LedgerRow:
        profile = self._modelled_silos.get(row.silo)
        if profile is None or row.status != "ok":
            return row
        detail = (
            f"modelled on the silo's declared hardware for {row.wall_s / profile.relative_speed:.4g} s "
            f"(measured {row.wall_s:.4g} s / relative speed {profile.relative_speed:g}); {profile.sources}"
        )
        # The declared hardware's figure replaces the attributed one; the host columns keep what
        # this host drew while the silo's work ran on it.
        modelled = replace(modelled_reading(profile, row.wall_s), host=host_reading(row))
        return _with_energy(row, modelled, detail, HARDWARE_DECLARED)


def _error_reply(original: Message, reason: str) -> Message:
    return Message(Error(ERROR_CLIENT_APP_RAISED, reason), reply_to=original)


def _kind(message: Message) -> tuple[int, str]:
    """(round, phase) of a message the server sends."""
    return _round_of(message.content), message.metadata.message_type.split(".")[0]


def _groups(messages: list[Message]) -> dict[tuple[int, str], list[int]]:
    """Positions of the messages by (round, phase), in the order their first message was sent."""
    groups: dict[tuple[int, str], list[int]] = {}
    for position, message in enumerate(messages):
        groups.setdefault(_kind(message), []).append(position)
    return groups


def _with_energy(
    row: LedgerRow, reading: EnergyReading, detail: str, energy_hardware: EnergyHardware = HARDWARE_HOST
) -> LedgerRow:
    host = None if reading.host is None else replace(reading.host, wall_s=row.wall_s)
    return make_row(
        approach=row.approach,
        silo=row.silo,
        round_number=row.round,
        phase=row.phase,
        energy=EnergyReading(row.wall_s, reading.energy_cpu_kwh, reading.energy_ram_kwh, reading.energy_gpu_kwh,
                             reading.method, host),
        cpu_s=row.cpu_s,
        country=row.country,
        bytes_down=row.bytes_down,
        bytes_up=row.bytes_up,
        bytes_up_telemetry=row.bytes_up_telemetry,
        num_examples=row.num_examples,
        sample_updates=row.sample_updates,
        status=row.status,
        detail="; ".join(part for part in (row.detail, detail) if part),
        energy_hardware=energy_hardware,
        failure=row.failure,
    )


def _measurement_of(content: RecordDict) -> SiloMeasurement | None:
    """The reply's measurement, or None when it has none or one that does not fit the schema."""
    if MEASUREMENT_KEY not in content:
        return None
    try:
        return SiloMeasurement.from_record(content[MEASUREMENT_KEY])
    except (MeasurementRefused, TypeError):
        return None


def _measurement_detail(measurement: SiloMeasurement | None) -> str:
    if measurement is None or measurement.held_back_s is None:
        return ""
    return f"straggler: reply held back {measurement.held_back_s:.3f} s"


def _round_of(content: RecordDict) -> int:
    for record in content.config_records.values():
        if "server-round" in record:
            return int(record["server-round"])
    return 0
