"""`[training] target_accuracy` with `max_rounds`: each side trains on until it reaches the target;
the equal-budget figures stay those at `rounds`; a side that never reaches it gets no figure."""

from __future__ import annotations

import math

import pytest

from conftest import tiny_scenario
from simulator.scenario.load import load_scenario
from simulator.errors import InputError
from simulator.ledger import Ledger, LedgerRow
from simulator.pipeline import run_scenario
from simulator.results.report import write_report
from simulator.to_target import Checkpointed, side_to_target


def _quick(**changes):
    # tiny: logistic regression on digits, 2 silos, 2 rounds, no momentum (FL 0.72 / 0.82 / 0.85 after
    # rounds 2 / 3 / 4; CL 0.81 / 0.87 after epochs 2 / 3 with seed 0).
    return tiny_scenario(probes__idle_baseline="off", **changes)


def test_cl_reaches_the_target_and_fl_cannot(tmp_path):
    result = run_scenario(_quick(training__target_accuracy=0.86, training__max_rounds=4), tmp_path)
    summary = result.summary.to_json()
    to_target = summary["to_target"]
    assert [r["round"] for r in summary["fl_rounds"]] == [1, 2, 3, 4]  # FL ran to max_rounds
    assert max(r["accuracy"] for r in summary["fl_rounds"]) < 0.86
    fl = to_target["fl"]
    assert fl["reached"] is False and fl["energy_kwh"] is None and fl["wall_s"] is None and fl["round"] is None
    assert fl["steps_run"] == 4 and "did not reach 0.86 in 4 rounds" in fl["note"]
    cl = to_target["cl"]
    assert cl["reached"] is True and cl["round"] == 3 and cl["accuracy"] >= 0.86
    assert [e["epoch"] for e in summary["cl_evaluations"]] == [1, 2, 3]  # CL stopped once it reached it
    cl_rows = [row for row in result.ledger.rows if row.approach == "cl"]
    assert cl["energy_kwh"] == pytest.approx(math.fsum(row.energy_kwh for row in cl_rows))  # all 3 epochs
    pooled = sum(row.num_examples for row in cl_rows if row.phase == "train" and row.round == 1)
    assert cl["sample_updates"] == 3 * pooled
    assert to_target["ratio_cl_over_fl"]["energy_kwh"] is None  # no number invented for FL
    # The equal-budget figures stop at rounds = 2 (CL: 2 epochs), though both sides ran longer.
    assert summary["fl"]["accuracy"] == summary["fl_rounds"][1]["accuracy"]
    assert summary["cl"]["accuracy"] == summary["cl_evaluations"][1]["accuracy"]
    budget = math.fsum(row.energy_kwh for row in cl_rows if row.round <= 2)
    assert summary["cl"]["energy_kwh"] == pytest.approx(budget)
    report = write_report(result.run_dir).markdown.read_text()
    assert "## To test accuracy 0.86" in report and "| energy | kWh | not reached |" in report
    assert "FL did not reach 0.86 in 4 rounds" in report


def test_both_reach_it_and_fl_stops_at_the_round_it_does(tmp_path):
    result = run_scenario(_quick(training__target_accuracy=0.8, training__max_rounds=6), tmp_path)
    summary = result.summary.to_json()
    to_target = summary["to_target"]
    assert to_target["fl"]["round"] == 3 and len(summary["fl_rounds"]) == 3  # not on to 6
    assert to_target["cl"]["round"] == 2 and len(summary["cl_evaluations"]) == 2  # the budget was enough
    fl_rows = [row for row in result.ledger.rows if row.approach == "fl"]
    assert to_target["fl"]["energy_kwh"] == pytest.approx(math.fsum(row.energy_kwh for row in fl_rows))
    assert to_target["fl"]["wall_s"] == pytest.approx(summary["fl_rounds"][2]["elapsed_s"])
    ratio = to_target["ratio_cl_over_fl"]
    assert ratio["energy_kwh"] == pytest.approx(to_target["cl"]["energy_kwh"] / to_target["fl"]["energy_kwh"])
    assert ratio["sample_updates"] == pytest.approx(to_target["cl"]["sample_updates"] / to_target["fl"]["sample_updates"])


def _row(approach, silo, round_number, phase, energy, examples, sample_updates=0, status="ok"):
    return LedgerRow(approach, silo, round_number, phase, 1.0, 0.5, energy, energy, None, None, "modelled", "FRA",
                     56.0, energy * 0.05, 0, 0, examples, status=status, sample_updates=sample_updates)


def test_side_to_target_by_hand():
    ledger = Ledger([
        _row("fl", "a", 1, "train", 1.0, 100, 200), _row("fl", "a", 1, "evaluate", 0.5, 20),
        _row("fl", "server", 1, "aggregate", 0.25, 0),
        _row("fl", "a", 2, "train", 2.0, 100, 200), _row("fl", "a", 2, "evaluate", 0.5, 20),
        _row("fl", "a", 3, "train", 4.0, 100, 200),
    ])
    points = [Checkpointed(1, 0.5, 1.0), Checkpointed(2, 0.9, 2.5), Checkpointed(3, 0.95, 4.0)]
    side = side_to_target("fl", points, ledger, 0.9)
    # Rounds 1 and 2: 1 + 0.5 + 0.25 + 2 + 0.5 kWh; 2 x 200 sample updates (100 examples x 2 local epochs).
    assert (side.reached, side.round, side.energy_kwh, side.sample_updates, side.wall_s) == (True, 2, 4.25, 400, 2.5)
    missed = side_to_target("fl", points, ledger, 0.99)
    assert (missed.reached, missed.energy_kwh, missed.best_accuracy) == (False, None, 0.95)


def test_sample_updates_to_target_are_what_the_silos_trained_not_examples_times_epochs():
    """The ledger's sample_updates, not num_examples x local_epochs: `num-examples` is the weight FedAvg
    gives a reply, and a failed reply's work trained nothing the model kept. Examples x local epochs
    (the accounting before) gives 100 x 2 + 300 x 2 = 800 here."""
    ledger = Ledger([
        # a silo whose window was cut short mid-epoch: 150 sample updates of its 100 examples x 2 epochs
        _row("fl", "a", 1, "train", 1.0, 100, 150),
        # a silo that claims 300 examples as its weight but trained 40 rows twice
        _row("fl", "b", 1, "train", 1.0, 300, 80),
        # trained, then its reply failed: energy spent (counted), no update kept (not counted)
        _row("fl", "c", 1, "train", 1.0, 0, 200, status="failed"),
        _row("cl", "central", 1, "train", 2.0, 500, 500), _row("cl", "central", 2, "train", 2.0, 500, 500),
    ])
    fl = side_to_target("fl", [Checkpointed(1, 0.9, 1.0)], ledger, 0.9)
    assert (fl.sample_updates, fl.energy_kwh) == (230, 3.0)
    cl = side_to_target("cl", [Checkpointed(1, 0.5, 1.0), Checkpointed(2, 0.91, 2.0)], ledger, 0.9)
    assert cl.sample_updates == 1000


def test_to_target_sample_updates_match_the_ledger_with_local_epochs(tmp_path):
    result = run_scenario(_quick(training__local_epochs=3, training__target_accuracy=0.8, training__max_rounds=4),
                          tmp_path)
    to_target = result.summary.to_json()["to_target"]
    assert to_target["fl"]["reached"], to_target["fl"]["note"]
    reached = to_target["fl"]["round"]
    trained = [row for row in result.ledger.rows if row.approach == "fl" and row.phase == "train"
               and row.status == "ok" and row.round <= reached]
    assert to_target["fl"]["sample_updates"] == sum(row.sample_updates for row in trained)
    # 3 local epochs over each silo's examples, every round, as the ledger counted them as they ran.
    assert to_target["fl"]["sample_updates"] == 3 * sum(row.num_examples for row in trained)


def test_max_rounds_is_checked(tmp_path):
    with pytest.raises(InputError, match="training.max_rounds' needs 'training.target_accuracy'"):
        load_scenario(None, ["training.max_rounds=20"])
    with pytest.raises(InputError, match="fewer than training.rounds"):
        load_scenario(None, ["training.target_accuracy=0.9", "training.max_rounds=3"])
    with pytest.raises(InputError, match="target_accuracy"):
        load_scenario(None, ["training.target_accuracy=1.5"])
    assert load_scenario(None, ["training.target_accuracy=0.9"]).training.last_round == 10  # default: rounds
