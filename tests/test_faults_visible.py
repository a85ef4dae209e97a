"""Faults are shown where users look: the terminal's table, the report, and the lifecycle uses the
rows that were measured (the failed replies without energy left out, said so)."""

from __future__ import annotations

import json

import tomli_w
from conftest import run_cli, tiny_scenario_dict

from simulator.ledger import Ledger, make_row
from simulator.probes.energy import absent_reading
from simulator.results.faults import fault_events

FOUR_SILOS = [
    {"name": "paris", "country": "FRA", "share": 0.3},
    {"name": "berlin", "country": "DEU", "share": 0.3},
    {"name": "virginia", "country": "USA", "share": 0.2},
    {"name": "lisbon", "country": "PRT", "share": 0.2},
]


def test_a_run_with_faults_shows_them_and_keeps_its_measured_profile(tmp_path):
    raw = tiny_scenario_dict(
        silos=FOUR_SILOS,
        training__round_timeout_s=1.0,
        faults={
            "min_silos": 2,
            "silo": {
                "berlin": {"crash_rounds": [2]},
                "virginia": {"hang_rounds": [1], "hang_s": 2.0},
                "lisbon": {"dropout": 1.0},
            },
        },
    )
    (tmp_path / "faulty.toml").write_text(tomli_w.dumps(raw))
    done = run_cli("run", "faulty.toml", cwd=tmp_path, env={"COLUMNS": "220"})
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Faults: 8 failed silo replies (4 error_reply, 2 no_reply, 2 raised) in rounds 1, 2" in out
    faults_table = out[out.index("Faults:"): out.index("FL wall")]
    lines = [line for line in faults_table.splitlines() if line.startswith("│")]
    assert any("berlin" in line and "raised after its work" in line and "crashed in round 2" in line for line in lines)
    assert any("virginia" in line and "no reply within the round timeout" in line for line in lines)
    assert any("lisbon" in line and "dropped out of round 1" in line for line in lines)

    (run_dir,) = (tmp_path / "runs").iterdir()
    report = (run_dir / "report.html").read_text()
    assert "<h2>Faults</h2>" in report and "dropped out of round 2" in report
    assert "## Faults" in (run_dir / "report.md").read_text()
    source = json.loads((run_dir / "summary.json").read_text())["lifecycle"]["profile"]["source"]
    assert source == f"run folder {run_dir.name} (6 failed rows without energy left out)"

    estimated = run_cli("estimate", "faulty.toml", "--ledger", str(run_dir), cwd=tmp_path, env={"COLUMNS": "220"})
    assert estimated.returncode == 0, estimated.stderr
    assert f"Energy profile: run folder {run_dir.name} (6 failed rows without energy left out)" in estimated.stdout


def test_fault_events_are_the_failed_federation_rows_by_round_and_silo():
    def row(silo, round_number, status="ok", failure="none", detail=""):
        return make_row(approach="fl", silo=silo, round_number=round_number, phase="train",
                        energy=absent_reading(1.0), cpu_s=0.0, country="FRA", status=status, failure=failure,
                        detail=detail)

    ledger = Ledger([
        row("b", 2, "failed", "refused", "reply refused: unexpected array record 'x'"),
        row("a", 1),
        row("a", 2, "failed", "error_reply", "error reply: boom [2]"),
    ])
    events = fault_events(ledger.rows)
    assert [(event.silo, event.round, event.failure, event.reason) for event in events] == [
        ("a", 2, "error_reply", "boom [2]"),
        ("b", 2, "refused", "unexpected array record 'x'"),
    ]


def test_a_ledger_from_before_the_failure_column_reads_each_kind_from_its_reason(tmp_path):
    rows = [
        make_row(approach="fl", silo="a", round_number=1, phase="train", energy=absent_reading(1.0), cpu_s=0.0,
                 country="FRA", status="failed", failure=failure, detail=detail)
        for failure, detail in (("raised", "silo failed: boom"), ("error_reply", "error reply: x"),
                                ("no_reply", "no reply within the round timeout (2.0 s)"),
                                ("refused", "reply refused: y"), ("interrupted", "interrupted: the run stopped"))
    ]
    text = Ledger(rows).to_csv_text()
    header, *lines = text.splitlines()
    columns = header.split(",")
    cut = columns.index("failure")
    older = "\n".join(",".join(line.split(",")[:cut] + line.split(",")[cut + 1:]) for line in [header, *lines]) + "\n"
    (tmp_path / "ledger.csv").write_text(older)
    assert [row.failure for row in Ledger.from_csv(tmp_path / "ledger.csv").rows] == [row.failure for row in rows]


def test_a_failed_row_must_say_how_it_failed():
    import pytest

    with pytest.raises(ValueError, match="status 'failed' cannot have failure 'none'"):
        make_row(approach="fl", silo="a", round_number=1, phase="train", energy=absent_reading(1.0), cpu_s=0.0,
                 country="FRA", status="failed")
