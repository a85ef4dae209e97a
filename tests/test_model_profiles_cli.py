"""Shipped model profiles through the commands (`[lifecycle] profile`, `plan --profile`), the decision
sensitivity in `estimate` and in the report, and hostile profile input refused in one line."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli, tiny_scenario

from simulator.errors import InputError
from simulator.lifecycle.profile import load_profile, profile_from_run_dir, read_profile_file, shipped_profile_names
from simulator.pipeline import run_scenario
from simulator.results.report import DECISION_FIGURE, write_report


def test_the_shipped_model_profiles_load_and_state_their_sample_size():
    assert {"default", "resnet18", "transformer"} <= set(shipped_profile_names())
    resnet, transformer = load_profile("resnet18"), load_profile("transformer")
    assert resnet.sample_bytes == 3 * 32 * 32 * 4 + 8 and transformer.sample_bytes == 1024 * 4 + 8
    # The payload per silo-round is the model's down + up + evaluation down (three copies of its weights).
    assert 3 * 44.6e6 < resnet.bytes_per_silo_round < 3 * 44.8e6
    assert resnet.fl_kwh_per_sample_update > 0 and "resnet18" in resnet.source


def test_estimate_with_a_named_profile_prints_what_could_flip_the_decision(tmp_path):
    done = run_cli("estimate", "--set", 'lifecycle.profile="resnet18"', cwd=tmp_path, env={"COLUMNS": "220"})
    assert done.returncode == 0, done.stderr
    assert "energy profile of resnet18" in done.stdout
    assert "What could flip the decision on CO2" in done.stdout and "What could flip the decision on money" in done.stdout
    assert "network_kwh_per_gb" in done.stdout and "range [low, high]" in done.stdout


@pytest.mark.parametrize("value", ['"nope"', '"../../etc/passwd"', '"profile.txt"'])
def test_a_profile_that_names_nothing_is_refused_naming_the_key(tmp_path, value):
    for command in ("estimate", "validate", "run"):
        done = run_cli(command, "--set", f"lifecycle.profile={value}", cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert "lifecycle.profile" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()  # refused before any run folder is made


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("fl_kwh_per_sample_update = 1.0\n", "lacks"),
        ("not toml [", "not valid TOML"),
        ("\n".join(f"{k} = -1.0" for k in ("fl_kwh_per_sample_update", "cl_kwh_per_sample_update",
                                              "fl_wall_s_per_sample_update", "cl_wall_s_per_sample_update",
                                              "server_kwh_per_silo_round", "bytes_per_silo_round"))
         + '\nenergy_method = "x"\nsource = "y"\n', "finite number >= 0"),
        ("\n".join(f"{k} = 1.0" for k in ("fl_kwh_per_sample_update", "cl_kwh_per_sample_update",
                                             "fl_wall_s_per_sample_update", "cl_wall_s_per_sample_update",
                                             "server_kwh_per_silo_round", "bytes_per_silo_round"))
         + '\nenergy_method = ""\nsource = "y"\n', "non-empty text"),
    ],
)
def test_a_malformed_profile_file_is_refused(tmp_path, content, named):
    path = tmp_path / "mine.toml"
    path.write_text(content)
    with pytest.raises(InputError, match=named):
        read_profile_file(path, "lifecycle.profile")


def test_plan_takes_a_shipped_profile_and_refuses_two_profiles(tmp_path):
    from conftest import REPO_ROOT

    imported = run_cli("inventory", "import", str(REPO_ROOT / "configs" / "enterprise_inventory.toml"), cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    done = run_cli("plan", "--profile", "resnet18", "--csv", "plan.csv", cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "energy profile of resnet18" in " ".join(done.stdout.split())
    both = run_cli("plan", "--profile", "resnet18", "--ledger", str(tmp_path), cwd=tmp_path)
    assert both.returncode == 2 and "give one of them" in both.stderr
    unknown = run_cli("plan", "--profile", "nope", cwd=tmp_path)
    assert unknown.returncode == 2 and "--profile" in unknown.stderr


def test_the_report_draws_the_decision_sensitivity(tmp_path):
    result = run_scenario(tiny_scenario(), tmp_path / "runs")
    decision = json.loads((result.run_dir / "summary.json").read_text())["lifecycle"]["decision"]
    assert decision and {row["quantity"] for row in decision} == {"co2_kg", "cost_usd"}
    files = write_report(result.run_dir)
    assert any(path.name == DECISION_FIGURE for path in files.figures)
    html, markdown = files.html.read_text(), files.markdown.read_text()
    assert "What could flip the FL-vs-CL decision" in html and "decision flips at" in html
    assert f"report_files/{DECISION_FIGURE}" in markdown


def test_model_profiles_writes_a_profile_that_the_lifecycle_model_reads(tmp_path):
    from experiments import model_profiles

    model_profiles.main(["--models", "transformer", "--rounds", "1", "--samples", "30", "--results", str(tmp_path)])
    written = tmp_path / "model_profiles" / "energy_profile_transformer.toml"
    profile = read_profile_file(written, "test")
    assert profile.energy_method == "modelled" and profile.sample_bytes == 1024 * 4 + 8
    assert profile.fl_kwh_per_sample_update > 0 and profile.cl_kwh_per_sample_update > 0
    # The attributed figure (the run's own process), with the whole host's stated beside it.
    run_folder = next((tmp_path / "model_profiles" / "runs").iterdir())
    from_run = profile_from_run_dir(run_folder)
    assert profile.fl_kwh_per_sample_update == pytest.approx(from_run.fl_kwh_per_sample_update, rel=1e-3)
    assert profile.cl_kwh_per_sample_update == pytest.approx(from_run.cl_kwh_per_sample_update, rel=1e-3)
    text = written.read_text()
    for fact in ("# Command: python -m experiments.model_profiles --models transformer --rounds 1 --samples 30",
                 "# Machine:", "# Date:", "Load average", "attributed to the run's own process",
                 "The whole host's figure in the same windows"):
        assert fact in text, fact
    assert str(tmp_path) not in text  # no local path in a file meant to be shipped
