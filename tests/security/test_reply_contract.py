"""Issue 13, item 1: a silo's reply holds exactly what its message type allows; bytes are the server's count.

Hostile silos (real ClientApps on the inline grid, real training) try to carry raw rows out in the
records the old screening skipped: 150 scalar metrics, an extra MetricRecord, and our own
measurement record (raw bytes, CSV text, a lie about the bytes sent). Each reply must be refused
before the strategy sees it, recorded as a failed row with the reason, and still counted in bytes.
"""

from __future__ import annotations

import numpy as np
import pytest
from flwr.app import Message, MetricRecord
from flwr.clientapp import ClientApp

from conftest import tiny_scenario
from simulator.data import build_federated_data
from simulator.flower.client_app import make_client_app
from simulator.flower.inline_grid import InlineGrid
from simulator.flower.payload import MEASUREMENT_KEY, payload_bytes
from simulator.flower.server_app import run_federation

HOSTILE = 1  # partition index of the hostile silo


def _raw_rows(scenario, count: int) -> np.ndarray:
    return build_federated_data(scenario).silos[HOSTILE].train_x[:count]


def _many_metrics(reply, scenario):
    for index, value in enumerate(_raw_rows(scenario, 3).ravel()[:150]):
        reply.content["metrics"][f"row-{index}"] = float(value)


def _extra_metric_record(reply, scenario):
    reply.content["stats"] = MetricRecord({f"x{i}": float(v) for i, v in enumerate(_raw_rows(scenario, 1).ravel())})


def _measurement_bytes(reply, scenario):
    reply.content[MEASUREMENT_KEY]["rows"] = _raw_rows(scenario, 5).tobytes()


def _measurement_csv(reply, scenario):
    rows = _raw_rows(scenario, 5)
    reply.content[MEASUREMENT_KEY]["detail"] = "\n".join(",".join(f"{v:g}" for v in row) for row in rows)


def _measurement_lies_about_bytes(reply, scenario):
    reply.content[MEASUREMENT_KEY]["bytes-up"] = 1


TAMPERINGS = {
    "150 scalar metrics holding raw rows": _many_metrics,
    "an extra MetricRecord": _extra_metric_record,
    "raw bytes in the measurement record": _measurement_bytes,
    "CSV text in the measurement record": _measurement_csv,
    "a measurement claiming 1 byte sent": _measurement_lies_about_bytes,
}


def _hostile_app(scenario, tamper) -> ClientApp:
    honest = make_client_app(scenario)
    app = ClientApp()

    @app.train()
    def train(message: Message, context) -> Message:
        reply = honest(message, context)
        if int(context.node_config["partition-id"]) == HOSTILE and not reply.has_error():
            tamper(reply, scenario)
        return reply

    @app.evaluate()
    def evaluate(message: Message, context) -> Message:
        return honest(message, context)

    return app


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_a_hostile_reply_is_refused_recorded_and_counted(tmp_path, name):
    scenario = tiny_scenario(probes__energy=False, training__rounds=1)
    grid = InlineGrid(_hostile_app(scenario, TAMPERINGS[name]), len(scenario.silos))
    node_to_silo = {node: scenario.silos[index].name for node, index in grid.node_to_partition.items()}
    outcome = run_federation(grid, scenario, tmp_path, node_to_silo=node_to_silo)

    hostile, honest = scenario.silos[HOSTILE].name, scenario.silos[0].name
    refused = [r for r in outcome.ledger.rows if r.silo == hostile and r.phase == "train"]
    assert [r.status for r in refused] == ["failed"], name
    assert refused[0].detail.startswith("reply refused: "), refused[0].detail
    assert refused[0].num_examples == 0  # nothing of a refused reply is believed
    accepted = [r for r in outcome.ledger.rows if r.silo == honest and r.phase == "train"]
    assert [r.status for r in accepted] == ["ok"]
    # Bytes are the server's count of what arrived: the hostile reply carried at least the model.
    assert refused[0].bytes_up >= accepted[0].bytes_up > 1
    assert all(r.bytes_up_telemetry > 0 for r in (*refused, *accepted))
    assert set(outcome.final_state) == {"weight", "bias"}


def test_bytes_up_is_counted_by_the_server_and_telemetry_has_its_own_column(tmp_path):
    scenario = tiny_scenario(probes__energy=False, training__rounds=1)
    sizes: dict[int, tuple[int, int]] = {}
    honest = make_client_app(scenario)
    app = ClientApp()

    @app.train()
    def train(message: Message, context) -> Message:
        reply = honest(message, context)
        telemetry = reply.content[MEASUREMENT_KEY].count_bytes()
        sizes[int(context.node_config["partition-id"])] = (payload_bytes(reply.content), telemetry)
        return reply

    @app.evaluate()
    def evaluate(message: Message, context) -> Message:
        return honest(message, context)

    grid = InlineGrid(app, len(scenario.silos))
    node_to_silo = {node: scenario.silos[index].name for node, index in grid.node_to_partition.items()}
    outcome = run_federation(grid, scenario, tmp_path, node_to_silo=node_to_silo)
    for index, silo in enumerate(scenario.silos):
        (row,) = [r for r in outcome.ledger.rows if r.silo == silo.name and r.phase == "train"]
        assert (row.bytes_up, row.bytes_up_telemetry) == sizes[index]
    assert "bytes_up_telemetry" in (tmp_path / "fl_ledger.csv").read_text().splitlines()[0]


def test_the_measurement_record_has_a_strict_schema():
    from flwr.app import ConfigRecord

    from simulator.records.measurement import MeasurementRefused, SiloMeasurement

    measurement = SiloMeasurement("paris", 1.5, 1.2, "modelled", energy_cpu_kwh=2e-6, held_back_s=0.25)
    record = measurement.to_record()
    assert "energy-gpu-kwh" not in record  # absent stays absent
    assert SiloMeasurement.from_record(record) == measurement
    for change, reason in (
        ({"detail": "a,b,c\n1,2,3"}, "unknown keys detail"),
        ({"rows": b"\x00\x01"}, "unknown keys rows"),
        ({"wall-s": "1.5"}, "'wall-s' must be a number"),
        ({"cpu-s": -1.0}, "'cpu-s' = -1.0 is outside"),
        ({"energy-cpu-kwh": float("nan")}, "'energy-cpu-kwh' = nan is outside"),
        ({"energy-method": "trust me"}, "'energy-method' must be one of"),
        ({"silo": "../x"}, "'silo' is not a silo name"),
    ):
        with pytest.raises(MeasurementRefused, match=reason):
            SiloMeasurement.from_record(ConfigRecord({**dict(record), **change}))
    missing = dict(record)
    del missing["wall-s"]
    with pytest.raises(MeasurementRefused, match="lacks 'wall-s'"):
        SiloMeasurement.from_record(ConfigRecord(missing))
