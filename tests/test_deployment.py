"""The deployment runner: real SuperLink, SuperNodes and ClientApp workers on loopback.

The two run tests (marker `deployment`, part of the default run and of CI) start real processes,
about a minute each on a small shared machine; the others start nothing.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest
import torch
from conftest import RecordingObserver, run_cli, tiny_scenario
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from flwr.app import Context, Message, RecordDict
from flwr.cli.supernode.register import try_load_public_key
from flwr.common.config import parse_config_args

from simulator.deployment.certs import generate_credentials
from simulator.analytics.silo_query import partials_of_reply, request_content
from simulator.data import build_federated_data
from simulator.deployment.commands import deployment_plan, render_plan, silo_node_config
from simulator.flower.client_app import app as deployed_client_app
from simulator.flower.flwr_internals import set_task_identity
from simulator.flower.scenario_source import SCENARIO_TOML_KEY, scenario_toml
from simulator.scenario.schema import Scenario
from simulator.errors import InputError
from simulator.deployment.byte_relay import WireCount
from simulator.deployment.record import DEPLOYMENT_FILE, wire_of_silos
from simulator.deployment.runner import LOG_DIR, run_deployment
from simulator.deployment.processes import DeploymentError, running_pids
from simulator.flower.runners import run_inline
from simulator.ledger import Ledger, LedgerRow, make_row
from simulator.probes.energy import absent_reading

RUN_TIMEOUT_S = 900


@pytest.mark.deployment
@pytest.mark.timeout(RUN_TIMEOUT_S)
def test_tls_authenticated_loopback_run_equals_inline_and_leaves_no_process(tmp_path):
    scenario = tiny_scenario(runner="deployment")  # TLS and SuperNode authentication are the defaults
    assert scenario.deployment.tls and scenario.deployment.authenticate_supernodes
    deployed_dir, inline_dir = tmp_path / "deployed", tmp_path / "inline"
    deployed_dir.mkdir()
    inline_dir.mkdir()

    heard = RecordingObserver()
    outcome = run_deployment(scenario, deployed_dir, observer=heard)
    inline = run_inline(tiny_scenario(), inline_dir)

    for key, value in inline.final_state.items():
        torch.testing.assert_close(outcome.federation.final_state[key], value, atol=1e-5, rtol=0)
    # Every process started, and every process they started (SuperExec, ServerApp), is gone.
    assert len(outcome.pids) >= 6  # SuperLink, 2 SuperNodes, 2 workers, and at least the ServerApp
    assert running_pids(outcome.pids) == set()

    superlink_log = (deployed_dir / LOG_DIR / "superlink.log").read_text()
    assert "https://127.0.0.1" in superlink_log  # TLS on
    assert "authentication is disabled" not in superlink_log
    assert superlink_log.count("RegisterNode] Created node_id") == 2  # both SuperNodes' keys registered

    silo_rows = [row for row in outcome.federation.ledger.rows if row.silo != "server"]
    assert len(silo_rows) == 2 * 2 * 2  # silos x rounds x (train, evaluate)
    assert {row.status for row in silo_rows} == {"ok"}
    # Each silo's own worker measured it (a probe installed there), not the runner's process.
    assert {row.energy_method for row in silo_rows} <= {"modelled", "measured"}
    # ... with both figures: the worker's attributed energy and its host's, and the sample updates.
    assert all(row.energy_kwh is not None and row.host_energy_kwh is not None for row in silo_rows)
    assert {row.host_energy_method for row in silo_rows} <= {"modelled", "measured"}
    assert all(row.energy_kwh > 0 and row.host_energy_kwh > 0 for row in silo_rows if row.phase == "train")
    inline_rows = [row for row in inline.ledger.rows if row.silo != "server"]
    assert sorted((r.silo, r.round, r.phase, r.sample_updates) for r in silo_rows) == sorted(
        (r.silo, r.round, r.phase, r.sample_updates) for r in inline_rows
    )
    assert sum(row.sample_updates for row in silo_rows if row.phase == "train") > 0

    # Round progress as the inline runner reports it, read from the ServerApp's ledger journal.
    assert heard.events[0] == ("federation", 2, ("paris", "virginia"))
    assert heard.events[-1] == ("federation done",)
    exchanges = [event[1:3] for event in heard.events if event[0] == "exchange"]
    assert exchanges == [(1, "train"), (1, "evaluate"), (2, "train"), (2, "evaluate")]
    assert sorted(event[1:] for event in heard.events if event[0] == "silo") == sorted(
        (round_number, phase, silo) for round_number, phase in exchanges for silo in ("paris", "virginia")
    )

    record = json.loads((deployed_dir / DEPLOYMENT_FILE).read_text())
    assert record["tls"] and record["authenticated_supernodes"]
    assert record["exchanges_per_round"] == 1  # a round's evaluation travels with the next round's training
    assert {silo["silo"] for silo in record["wire"]} == {"paris", "virginia"}
    for silo in outcome.wire:
        assert silo.wire_up_bytes > silo.payload_up_bytes > 0
        assert silo.wire_down_bytes > silo.payload_down_bytes > 0


@pytest.mark.deployment
@pytest.mark.timeout(RUN_TIMEOUT_S)
def test_supernode_killed_mid_run_ends_with_one_message_and_keeps_the_ledger(tmp_path):
    scenario = tiny_scenario(
        runner="deployment",
        training__rounds=4,
        deployment__tls=False,
        deployment__authenticate_supernodes=False,
    )
    watched: dict = {}

    def kill_virginia_after_round_one(supervisor) -> None:
        watched["supervisor"] = supervisor
        victim = next(started for started in supervisor.started if started.role == "supernode virginia")
        partial = tmp_path / "fl_ledger.csv"

        def wait_then_kill() -> None:
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while time.monotonic() < deadline:
                if partial.is_file() and ",virginia,1,evaluate," in partial.read_text():
                    watched["killed_pid"] = victim.pid
                    os.kill(victim.pid, signal.SIGKILL)
                    return
                time.sleep(0.05)

        threading.Thread(target=wait_then_kill, daemon=True).start()

    with pytest.raises(DeploymentError) as caught:
        run_deployment(scenario, tmp_path, on_submitted=kill_virginia_after_round_one)

    message = str(caught.value)
    assert "\n" not in message
    assert f"supernode virginia (pid {watched['killed_pid']}) stopped with exit status -9" in message
    kept = Ledger.from_csv(tmp_path / "ledger.csv").rows
    assert {(row.silo, row.round, row.phase) for row in kept} >= {
        ("paris", 1, "train"),
        ("virginia", 1, "train"),
        ("paris", 1, "evaluate"),
        ("virginia", 1, "evaluate"),
    }
    assert max(row.round for row in kept) < scenario.training.rounds
    assert running_pids(watched["supervisor"].pids) == set()


def test_wire_to_payload_per_silo_from_the_ledger():
    def row(silo: str, down: int, up: int) -> LedgerRow:
        return make_row(
            approach="fl", silo=silo, round_number=1, phase="train", energy=absent_reading(0.0), cpu_s=0.0,
            country="USA", bytes_down=down, bytes_up=up,
        )

    ledger = Ledger([row("paris", 1000, 900), row("paris", 1000, 100), row("server", 0, 0), row("virginia", 500, 500)])
    wire = wire_of_silos(
        ledger, {"paris": WireCount(to_superlink_bytes=3000, from_superlink_bytes=5000, connections=2)}
    )
    (paris,) = wire
    # payload: down 1000 + 1000 = 2000, up 900 + 100 = 1000; wire 3000 + 5000 = 8000; 8000 / 3000
    assert (paris.payload_down_bytes, paris.payload_up_bytes) == (2000, 1000)
    assert paris.wire_to_payload == pytest.approx(8000 / 3000)
    # without a 2000-byte app download: (8000 - 2000) / 3000 = 2
    assert paris.wire_to_payload_after_app_download(2000) == pytest.approx(2.0)


def test_certificates_and_supernode_keys_are_what_flower_accepts(tmp_path):
    made = generate_credentials(tmp_path, ["127.0.0.1", "superlink.example.org"], ["paris", "virginia"])
    ca = x509.load_pem_x509_certificate(made.ca_cert.read_bytes())
    server = x509.load_pem_x509_certificate(made.server_cert.read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["superlink.example.org"]
    for keys in made.supernodes:
        assert try_load_public_key(keys.public_key)  # Flower's own check (`flwr supernode register`)
        load_ssh_private_key(keys.private_key.read_bytes(), password=None)  # as flower-supernode loads it
        assert oct(keys.private_key.stat().st_mode & 0o777) == "0o600"


def test_plan_names_every_silo_with_its_node_config():
    scenario = tiny_scenario()
    text = render_plan(deployment_plan(scenario, "tiny.toml", "superlink.example.org", 9093, "certs"))
    assert "flower-superlink --disable-runtime-dependency-installation" in text
    assert "--enable-supernode-auth" in text
    assert "--node-config 'partition-id=0 num-partitions=2 min-group-size=10'" in text
    assert "--node-config 'partition-id=1 num-partitions=2 min-group-size=10'" in text
    assert "flwr supernode register certs/supernodes/virginia.pub silocarbon" in text
    assert "--set deployment.superlink=superlink.example.org:9093" in text


# digits: the small silo holds a few rows of each label (groups under the default k = 10)
SMALL_SILO = dict(silos=[{"name": "paris", "country": "FRA", "share": 0.97},
                         {"name": "tiny-clinic", "country": "DEU", "share": 0.03}], probes__energy=False)


def _count_by_label_in_deployed_silo(node_config: dict, submitted: Scenario) -> dict:
    """What the deployed ClientApp (the one a silo worker runs: the scenario comes from the run
    config) of the silo named in `node_config` answers to `count by label`."""
    context = Context(
        run_id=1, node_id=7, node_config=node_config, state=RecordDict(),
        run_config={SCENARIO_TOML_KEY: scenario_toml(submitted)},
    )
    set_task_identity(task_id=1, run_id=1, node_id=1)  # the sender, as the SuperLink's message carries it
    message = Message(content=request_content("count by label", 1), dst_node_id=7, message_type="query")
    reply = deployed_client_app(message, context)
    assert not reply.has_error(), reply.error
    return partials_of_reply(reply.content)


def test_deployed_silos_hold_the_scenarios_minimum_group_size_even_if_the_run_config_lowers_it():
    scenario = tiny_scenario(**SMALL_SILO)  # k = 10
    k = scenario.analytics.min_group_size
    lowered = tiny_scenario(**SMALL_SILO, analytics__min_group_size=2)  # what a hostile submitter could send
    small = len(scenario.silos) - 1
    labels = build_federated_data(scenario).silos[small].train_y
    rare = [int(label) for label in np.unique(labels) if 2 <= np.sum(labels == label) < k]
    assert rare  # the small silo holds a group the lowered rule would release
    # The node config the runner and the plan give the silo's SuperNode, as flower-supernode parses it.
    node_config = parse_config_args([silo_node_config(scenario, small)])
    assert node_config == {"partition-id": small, "num-partitions": 2, "min-group-size": k}
    held = _count_by_label_in_deployed_silo(node_config, lowered)
    assert all(held[f"label={label}"].suppressed_silos == 1 for label in rare)
    # Without the silo's own floor the run config alone decides: the small group would leave the silo.
    released = _count_by_label_in_deployed_silo({"partition-id": small, "num-partitions": 2}, lowered)
    assert all(released[f"label={label}"].count == np.sum(labels == label) for label in rare)


def test_supernode_authentication_without_tls_is_refused_naming_the_key():
    with pytest.raises(InputError, match="deployment"):
        tiny_scenario(runner="deployment", deployment__tls=False)


def test_attaching_with_tls_needs_the_ca_and_says_which_key(tmp_path):
    scenario = tiny_scenario(runner="deployment", deployment__superlink="127.0.0.1:9")
    with pytest.raises(InputError, match="deployment.certs_dir"):
        run_deployment(scenario, tmp_path)


def test_deploy_commands_refuse_a_missing_scenario_with_status_2(tmp_path):
    result = run_cli("deploy", "plan", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "missing.toml" in result.stderr
    made = run_cli("deploy", "certs", str(tmp_path / "certs"), "--host", "10.0.0.5", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "certs" / "supernodes" / "paris.key").is_file()  # the default scenario's silos
