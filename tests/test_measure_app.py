"""Measuring a user's own Flower app (`silocarbon run --app`): the shipped quickstart-style example end
to end, a plain ServerApp with its own loop, the cold start kept out of the windows, and refusals."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
import torch
from conftest import REPO_ROOT, run_cli, tiny_scenario

from simulator.errors import InputError
from simulator.flower.app_loading import load_flower_apps
from simulator.flower.measured_app import run_app_federation
from simulator.ledger import Ledger

EXAMPLE = REPO_ROOT / "examples" / "quickstart-digits"
COLD_START_S = 0.8


def test_the_example_app_end_to_end_writes_the_run_folder_and_lifecycle(tmp_path):
    done = run_cli(
        "run", str(EXAMPLE / "scenario.toml"), "--app", str(EXAMPLE), "--run-config", "num-server-rounds=2",
        "--runs-dir", "runs", "--quiet", cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["app"]["serverapp"] == "digitsexample.server_app:app"
    assert manifest["app"]["run_config"]["num-server-rounds"] == 2
    ledger = Ledger.from_csv(run_dir / "ledger.csv")
    silo_rows = [row for row in ledger.rows if row.approach == "fl" and row.silo != "server"]
    assert {(row.silo, row.round, row.phase) for row in silo_rows} == {
        (silo, round_number, phase)
        for silo in ("paris", "frankfurt", "virginia")
        for round_number in (1, 2)
        for phase in ("train", "evaluate")
    }
    assert {row.status for row in silo_rows} == {"ok"} and {row.energy_method for row in silo_rows} == {"modelled"}
    # The app trains with its own loop: a train row made num-examples x the run config's local-epochs (1).
    assert manifest["app"]["local_epochs"] == 1
    trained = [row for row in ledger.rows if row.phase == "train" and row.silo != "server"]
    assert all(row.sample_updates == row.num_examples > 0 for row in trained)
    assert all(row.host_energy_kwh is not None for row in trained)  # the host's figure beside the attributed one
    central = [row for row in ledger.rows if row.approach == "cl"]
    assert [(row.round, row.phase) for row in central] == [(1, "train"), (1, "evaluate"), (2, "train"), (2, "evaluate")]
    # The twin trains on all the data: as many samples per round as the three silos together.
    for round_number in (1, 2):
        silos = sum(row.num_examples for row in silo_rows if row.round == round_number and row.phase == "train")
        assert central[2 * (round_number - 1)].num_examples == silos
    summary = json.loads((run_dir / "summary.json").read_text())
    assert 0.0 < summary["fl"]["accuracy"] <= 1.0 and 0.0 < summary["cl"]["accuracy"] <= 1.0
    assert [entry["round"] for entry in summary["fl_rounds"]] == [1, 2]
    assert summary["lifecycle"]["profile"]["source"] == f"run folder {run_dir.name}"
    assert torch.load(run_dir / "final_model.pt", weights_only=True).keys() == torch.load(
        run_dir / "cl_model.pt", weights_only=True
    ).keys()
    assert "digitsexample.client_app:app" in (run_dir / "report.html").read_text()

    manifest["status"] = "failed"  # as if killed: still nothing to resume, since the strategy is the app's
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    resumed = run_cli("resume", str(run_dir), cwd=tmp_path)
    assert resumed.returncode == 2 and "silocarbon run --app" in resumed.stderr


def _example_scenario():
    silos = [{"name": name, "country": "FRA"} for name in ("paris", "frankfurt", "virginia")]
    return tiny_scenario(
        silos=silos, data__partition="iid", lifecycle__silos=[{"name": s["name"], "samples_per_gb": 1e6} for s in silos]
    )


def test_the_rehearsal_changes_nothing_the_app_computes(tmp_path):
    apps = load_flower_apps(str(EXAMPLE), ["num-server-rounds=2"])
    states = []
    for warm_up in (True, False):
        folder = tmp_path / str(warm_up)
        folder.mkdir()
        states.append(run_app_federation(apps, _example_scenario(), folder, warm_up=warm_up).outcome.final_state)
    for key, value in states[0].items():
        torch.testing.assert_close(states[1][key], value, rtol=0, atol=0)


COLD_START_APP = f'''
import time
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
import numpy as np

client = ClientApp()
_started = False
seen_by_server = []


def _cold_start():
    global _started
    if not _started:
        time.sleep({COLD_START_S})  # a data download, a model build: once per process
        _started = True


@client.train()
def train(message: Message, context: Context) -> Message:
    _cold_start()
    arrays = message.content["arrays"]
    metrics = MetricRecord({{"num-examples": 10, "loss": 1.0}})
    return Message(RecordDict({{"arrays": arrays, "metrics": metrics}}), reply_to=message)


server = ServerApp()


@server.main()
def main(grid: Grid, context: Context) -> None:
    # A plain loop of its own, no strategy: push, then pull.
    arrays = ArrayRecord([np.zeros(4, dtype=np.float32)])
    for round_number in (1, 2):
        content = RecordDict({{"arrays": arrays, "config": ConfigRecord({{"server-round": round_number}})}})
        ids = grid.push_messages([grid.create_message(content, "train", node, str(round_number))
                                  for node in grid.get_node_ids()])
        replies = list(grid.pull_messages(ids))
        seen_by_server.extend(sorted(reply.content.keys()) for reply in replies)
'''


@pytest.fixture
def cold_start_app(tmp_path, monkeypatch):
    (tmp_path / "coldstart.py").write_text(textwrap.dedent(COLD_START_APP))
    monkeypatch.chdir(tmp_path)
    yield lambda: load_flower_apps("coldstart:client,coldstart:server")
    sys.modules.pop("coldstart", None)


@pytest.mark.parametrize("warm_up", [True, False])
def test_a_plain_serverapp_keeps_its_rows_and_the_cold_start_stays_outside_the_windows(
    tmp_path, cold_start_app, warm_up
):
    apps = cold_start_app()
    scenario = tiny_scenario(probes__energy=False)
    outcome = run_app_federation(apps, scenario, tmp_path, warm_up=warm_up).outcome
    rows = [row for row in outcome.ledger.rows if row.silo != "server"]
    assert [(row.silo, row.round, row.phase, row.bytes_up > 0) for row in rows] == [
        ("paris", 1, "train", True), ("virginia", 1, "train", True),
        ("paris", 2, "train", True), ("virginia", 2, "train", True),
    ]
    assert {row.sample_updates for row in rows} == {10}  # num-examples x 1: the app states no local-epochs
    # The measurement record never reached the app, and nothing was dropped on the way.
    assert sys.modules["coldstart"].seen_by_server == [["arrays", "metrics"]] * 4
    first = rows[0].wall_s
    if warm_up:
        assert first < COLD_START_S  # paid in the rehearsal, before the window
    else:
        assert first >= COLD_START_S  # without the rehearsal the first window holds it


def test_refusals_name_the_app_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="--app 'nowhere'"):
        load_flower_apps("nowhere")
    with pytest.raises(InputError, match="module 'no_such_module' cannot be imported"):
        load_flower_apps("no_such_module:app,no_such_module:server")
    (tmp_path / "wrongkind.py").write_text("client = 1\nserver = 2\n")
    with pytest.raises(InputError, match="'wrongkind:client' is a int, not a Flower ClientApp"):
        load_flower_apps("wrongkind:client,wrongkind:server")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    with pytest.raises(InputError, match=r"needs \[tool.flwr.app.components\]"):
        load_flower_apps(str(tmp_path / "folder"))
    done = run_cli("run", "--app", str(EXAMPLE), cwd=tmp_path)  # the default scenario states no samples_per_gb
    assert done.returncode == 2 and "samples_per_gb" in done.stderr and "Traceback" not in done.stderr


def test_an_apps_replies_may_name_their_own_metrics_within_bounds():
    import numpy as np
    from flwr.app import ArrayRecord, ConfigRecord, MetricRecord, RecordDict

    from simulator.flower.reply_check import MAX_APP_METRICS, reply_problem

    sent = RecordDict({"arrays": ArrayRecord([np.zeros(3, dtype=np.float32)]), "config": ConfigRecord({"lr": 0.1})})

    def reply(metrics: dict) -> RecordDict:
        return RecordDict({"arrays": ArrayRecord([np.zeros(3, dtype=np.float32)]), "metrics": MetricRecord(metrics)})

    own = reply({"num-examples": 5, "train_loss": 0.3})
    assert reply_problem("train", sent, own, app_metrics=True) is None
    assert "not one a train reply may carry" in reply_problem("train", sent, own)  # silocarbon's own contract
    many = reply({"num-examples": 5, **{f"m{index}": 0.0 for index in range(MAX_APP_METRICS)}})
    assert "at most" in reply_problem("train", sent, many, app_metrics=True)
    listed = reply({"num-examples": 5, "rows": [1.0, 2.0]})
    assert "only scalar numbers" in reply_problem("train", sent, listed, app_metrics=True)


STOPPED_APP = """
import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

client = ClientApp()


@client.train()
def train(message, context):
    metrics = MetricRecord({"num-examples": 10})
    return Message(RecordDict({"arrays": message.content["arrays"], "metrics": metrics}), reply_to=message)


server = ServerApp()


@server.main()
def main(grid: Grid, context: Context) -> None:
    content = RecordDict({"arrays": ArrayRecord([np.zeros(4, dtype=np.float32)]),
                          "config": ConfigRecord({"server-round": 1})})
    grid.send_and_receive([grid.create_message(content, "train", node, "1") for node in grid.get_node_ids()])
    raise KeyboardInterrupt  # as Ctrl-C would, during round 2
"""


def test_a_stopped_app_run_is_marked_interrupted_and_says_it_cannot_be_resumed(tmp_path, monkeypatch):
    from simulator.app_pipeline import run_app
    from simulator.results.run_lock import hold_run_folder
    from simulator.stopping import RunInterrupted

    (tmp_path / "stoppedapp.py").write_text(STOPPED_APP)
    monkeypatch.chdir(tmp_path)
    try:
        apps = load_flower_apps("stoppedapp:client,stoppedapp:server")
        scenario = tiny_scenario(
            probes__energy=False, lifecycle__silos=[{"name": name, "samples_per_gb": 1e6} for name in ("paris", "virginia")]
        )
        with pytest.raises(RunInterrupted) as stopped:
            run_app(apps, scenario, tmp_path / "runs")
    finally:
        sys.modules.pop("stoppedapp", None)
    assert stopped.value.exit_status == 130 and "silocarbon run --app" in str(stopped.value)
    (run_dir,) = (tmp_path / "runs").iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["interruption"]["signal"] == "SIGINT"
    journaled = Ledger.from_csv(run_dir / "fl_ledger.csv").rows
    assert {(row.silo, row.round) for row in journaled if row.silo != "server"} == {("paris", 1), ("virginia", 1)}
    with hold_run_folder(run_dir):  # the lock went with the run
        pass
