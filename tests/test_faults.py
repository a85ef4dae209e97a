"""Silo faults in real runs: a crash, a hang past the round timeout, a straggler, dropouts, and the
minimum of answering silos. Each failure is a ledger row with its reason; failed work still counts."""

from __future__ import annotations

import json
import time

import pytest

from simulator.flower.faults import dropout_draw, drops_out, straggle_delay_s
from simulator.flower.round_loop import FederationStopped, answering_silos_needed
from simulator.scenario.schema import SiloFaults
from simulator.pipeline import run_scenario
from simulator.results.run_dir import MANIFEST
from tests.conftest import run_cli, tiny_scenario

THREE_SILOS = [
    {"name": "paris", "country": "FRA", "share": 0.4},
    {"name": "berlin", "country": "DEU", "share": 0.3},
    {"name": "virginia", "country": "USA", "share": 0.3},
]


def _fl_silo_rows(result, silo: str):
    return [row for row in result.ledger.rows if row.approach == "fl" and row.silo == silo]


def test_crash_in_round_2_of_one_silo_out_of_3_is_recorded_and_its_energy_counted(tmp_path):
    scenario = tiny_scenario(silos=THREE_SILOS, faults={"min_silos": 2, "silo": {"berlin": {"crash_rounds": [2]}}})
    result = run_scenario(scenario, tmp_path)

    assert json.loads((result.run_dir / MANIFEST).read_text())["status"] == "complete"
    assert [r.round for r in result.fl.rounds] == [1, 2]
    failed = [row for row in _fl_silo_rows(result, "berlin") if row.status == "failed"]
    assert [(row.round, row.phase) for row in failed] == [(2, "train"), (2, "evaluate")]
    crash = failed[0]
    assert "crashed in round 2" in crash.detail
    # The silo trained before it crashed: that work was measured and stays in the totals.
    assert crash.cpu_s > 0 and crash.wall_s > 0
    assert crash.energy_kwh is not None and crash.energy_kwh > 0
    assert crash.bytes_up == 0  # nothing reached the server
    others = [row for s in ("paris", "virginia") for row in _fl_silo_rows(result, s)]
    assert all(row.status == "ok" for row in others)


def test_a_hung_silo_is_dropped_at_the_round_timeout_and_the_run_completes(tmp_path):
    timeout_s, hang_s = 3.0, 60.0
    scenario = tiny_scenario(
        silos=THREE_SILOS,
        training__rounds=1,
        training__round_timeout_s=timeout_s,
        probes__energy=False,
        faults={"silo": {"virginia": {"hang_rounds": [1], "hang_s": hang_s}}},
    )
    result = run_scenario(scenario, tmp_path)

    hung = _fl_silo_rows(result, "virginia")
    assert [(row.phase, row.status) for row in hung] == [("train", "failed"), ("evaluate", "failed")]
    assert all("no reply within the round timeout (3.0 s)" in row.detail for row in hung)
    assert all(row.wall_s == timeout_s and row.energy_method == "absent" for row in hung)
    # Waiting out the hang would take a minute per phase; the server stopped waiting at each timeout.
    assert result.fl.wall_s < hang_s / 2
    assert result.fl.accuracy is not None
    assert all(row.status == "ok" for s in ("paris", "berlin") for row in _fl_silo_rows(result, s))
    assert json.loads((result.run_dir / MANIFEST).read_text())["status"] == "complete"


def test_a_straggler_replies_late_and_says_so(tmp_path):
    scenario = tiny_scenario(training__rounds=1, probes__energy=False, faults={"silo": {"paris": {"slowdown": 4.0}}})
    result = run_scenario(scenario, tmp_path)
    rows = _fl_silo_rows(result, "paris")
    assert all(row.status == "ok" and "straggler: reply held back" in row.detail for row in rows)


def test_too_few_answering_silos_stop_the_run_with_one_line_and_a_failed_folder(tmp_path):
    scenario_file = tmp_path / "two.toml"
    scenario_file.write_text(
        'name = "stops"\n[model]\nname = "logreg"\n[training]\nrounds = 2\n[probes]\nenergy = false\n'
        '[[silos]]\nname = "a"\ncountry = "FRA"\nshare = 0.5\n[[silos]]\nname = "b"\ncountry = "USA"\nshare = 0.5\n'
        '[faults]\nmin_silos = 2\n[faults.silo.b]\ncrash_rounds = [1]\n'
    )
    done = run_cli("run", str(scenario_file), "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "FederationStopped: round 1 (train): 1 of 2 silos answered" in done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / MANIFEST).read_text())
    assert manifest["status"] == "failed" and "min_silos = 2" in manifest["failure"]
    ledger_text = (run_dir / "fl_ledger.csv").read_text()
    assert "crashed in round 1" in ledger_text


def test_dropout_draws_depend_only_on_seed_silo_and_round():
    draws = [dropout_draw(0, 1, r) for r in range(1, 2001)]
    assert draws == [dropout_draw(0, 1, r) for r in range(1, 2001)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert draws != [dropout_draw(1, 1, r) for r in range(1, 2001)]
    # 2000 draws against p = 0.25: the share that drops out is within 3 standard deviations
    # (sqrt(0.25 * 0.75 / 2000) = 0.0097) of 0.25.
    faults = SiloFaults(dropout=0.25)
    share = sum(drops_out(faults, 0, 1, r) for r in range(1, 2001)) / 2000
    assert abs(share - 0.25) < 3 * 0.0097
    assert not any(drops_out(SiloFaults(), 0, 1, r) for r in range(1, 100))


def test_dropouts_are_recorded_and_the_same_in_every_run(tmp_path):
    scenario = tiny_scenario(training__rounds=4, probes__energy=False, faults={"silo": {"virginia": {"dropout": 0.5}}})
    first = run_scenario(scenario, tmp_path / "a")
    second = run_scenario(scenario, tmp_path / "b")
    expected = [r for r in range(1, 5) if drops_out(SiloFaults(dropout=0.5), 0, 1, r)]
    for result in (first, second):
        dropped = sorted({row.round for row in _fl_silo_rows(result, "virginia") if row.status == "failed"})
        assert dropped == expected
        assert all("dropped out of round" in row.detail for row in _fl_silo_rows(result, "virginia")
                   if row.status == "failed")
    assert expected, "seed 0 should drop virginia at least once in 4 rounds at p = 0.5"


def test_straggle_delay_and_needed_answers_by_hand():
    assert straggle_delay_s(0.5, 3.0) == pytest.approx(1.0)  # (3 - 1) x 0.5 s
    assert straggle_delay_s(0.5, 1.0) == 0.0
    assert answering_silos_needed(2, 3) == 2
    assert answering_silos_needed(3, 2) == 2  # a strategy that asks 2 silos cannot need 3
    assert issubclass(FederationStopped, RuntimeError)


def test_inline_grid_stops_waiting_at_the_timeout_and_drops_the_late_reply():
    import threading

    from flwr.app import ConfigRecord, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp

    from simulator.flower.inline_grid import FIRST_NODE_ID, InlineGrid

    release = threading.Event()
    app = ClientApp()

    @app.train()
    def train(message, context):
        if int(context.node_config["partition-id"]) == 0:
            release.wait(30)  # silo 0 is stuck until the test lets it go
        return Message(RecordDict({"metrics": MetricRecord({"n": 1})}), reply_to=message)

    grid = InlineGrid(app, num_silos=2)
    messages = [Message(RecordDict({"config": ConfigRecord({"server-round": 1})}), dst_node_id=node,
                        message_type="train") for node in grid.get_node_ids()]
    started = time.perf_counter()
    replies = list(grid.send_and_receive(messages, timeout=0.3))
    waited_s = time.perf_counter() - started
    assert [reply.metadata.src_node_id for reply in replies] == [FIRST_NODE_ID + 1]
    assert 0.3 <= waited_s < 10
    release.set()
    grid.wait_for_stray_calls(10)
    assert grid.running_stray_calls == 0  # the stuck silo's thread ended once its call returned
    grid.close()
