"""The lifecycle model end to end: a real (tiny) run puts it into summary.json, `silocarbon estimate`
reproduces it from the saved ledger, and bad input is refused in one line with exit status 2."""

from __future__ import annotations

import json

import pytest
from conftest import REPO_ROOT, run_cli, tiny_scenario, tiny_scenario_dict

from simulator.data.registry import dataset_features_for_lifecycle
from simulator.errors import InputError
from simulator.lifecycle import evaluate_lifecycle, load_factors, profile_from_run_dir
from simulator.lifecycle.site_intensity import read_trace
from simulator.pipeline import run_scenario

TRACE = REPO_ROOT / "tests" / "data" / "intensity_trace_synthetic.csv"
LIFECYCLE = {"lifetime_months": 12, "silos": [{"name": "paris", "data_gb": 500, "monthly_growth": 0.05}]}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    return run_scenario(tiny_scenario(lifecycle=LIFECYCLE), runs)


def test_run_writes_the_lifecycle_into_its_summary(tiny_run):
    summary = json.loads((tiny_run.run_dir / "summary.json").read_text())
    lifecycle = summary["lifecycle"]
    assert lifecycle["currency"] == "USD"
    assert lifecycle["profile"]["source"] == f"run folder {tiny_run.run_dir.name}"
    assert lifecycle["profile"]["energy_method"] == "modelled"
    stages = [stage["stage"] for stage in lifecycle["cl"]["stages"]]
    assert stages == ["data_transfer", "data_storage", "exploration", "training", "communication", "deployment"]
    # The measured bytes per silo-round are the ledger's FL payload bytes over silos x rounds.
    fl_bytes = summary["fl"]["bytes_down"] + summary["fl"]["bytes_up"]
    assert lifecycle["profile"]["bytes_per_silo_round"] == pytest.approx(fl_bytes / (2 * 2))
    assert lifecycle["cl"]["stages"][0]["co2_kg"]["central"] > 0


def test_estimate_from_the_saved_ledger_reproduces_the_run(tiny_run, tmp_path):
    scenario_file = tmp_path / "tiny.json"
    scenario_file.write_text(json.dumps(tiny_scenario_dict(lifecycle=LIFECYCLE)))
    done = run_cli("estimate", str(scenario_file), "--ledger", str(tiny_run.run_dir), cwd=tmp_path,
                   env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "data transfer" in done.stdout and "CL / FL" in done.stdout
    total = tiny_run.lifecycle.cl.total.co2_kg.central
    assert f"{total:.3g}" in done.stdout
    again = evaluate_lifecycle(
        tiny_run.scenario, profile_from_run_dir(tiny_run.run_dir), dataset_features=dataset_features_for_lifecycle(tiny_run.scenario)
    )
    assert again == tiny_run.summary.lifecycle  # same scenario, seed and ledger: same figures


def test_estimate_without_a_ledger_says_it_uses_the_default_profile(tmp_path):
    done = run_cli("estimate", cwd=tmp_path, env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "default energy profile" in done.stdout


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("lifecycle.lifetime_months=0", "lifecycle.lifetime_months"),
        ("lifecycle.central.storage=tape", "lifecycle.central.storage"),
        ("lifecycle.served_at=moon", "lifecycle.served_at"),
        ("lifecycle.central.intensity_trace=\"missing.csv\"", "lifecycle.central.intensity_trace"),
        ("lifecycle.colour=1", "lifecycle.colour"),
    ],
)
def test_bad_lifecycle_values_are_one_line_naming_the_key(capsys, override, named):
    status, stderr = _main_in_process(capsys, "estimate", "--set", override)
    lines = stderr.strip().splitlines()
    assert status == 2 and len(lines) == 1 and named in lines[0], stderr


def test_estimate_refuses_a_broken_factors_file(capsys, tmp_path):
    broken = tmp_path / "factors.toml"
    broken.write_text((REPO_ROOT / "configs" / "factors.toml").read_text().replace("[pue_hyperscale]", "[pue_hyperscal]"))
    status, stderr = _main_in_process(capsys, "estimate", "--factors", str(broken))
    assert status == 2 and "unknown factor 'pue_hyperscal'" in stderr and len(stderr.strip().splitlines()) == 1


def test_estimate_refuses_a_folder_without_a_ledger(capsys, tmp_path):
    status, stderr = _main_in_process(capsys, "estimate", "--ledger", str(tmp_path))
    assert status == 2 and "ledger.csv" in stderr


def _main_in_process(capsys, *args: str) -> tuple[int, str]:
    """The real command's entry point (exit status and stderr), without a new interpreter."""
    from simulator.cli import main

    with pytest.raises(SystemExit) as finished:
        main(list(args))
    return finished.value.code, capsys.readouterr().err


def test_unknown_lifecycle_silo_is_refused():
    raw = tiny_scenario_dict(lifecycle={"silos": [{"name": "tokyo"}]})
    from simulator.scenario.load import validate_scenario

    with pytest.raises(InputError, match=r"lifecycle\.silos\.0\.name.*tokyo.*paris, virginia"):
        validate_scenario(raw, "tiny")


def test_an_hourly_trace_replaces_the_yearly_intensity():
    trace = read_trace(str(TRACE), "lifecycle.central.intensity_trace")
    assert trace.hours == 24
    assert trace.mean_g_per_kwh == pytest.approx(111.5, rel=1e-12)  # 100, 101, ..., 123 g/kWh
    scenario = tiny_scenario(lifecycle={"central": {"intensity_trace": str(TRACE)}}, central={"country": "USA", "pue": 1.1})
    result = evaluate_lifecycle(scenario, draws=100, sweeps=False, dataset_features=dataset_features_for_lifecycle(scenario))
    training = result.cl.stage("training")
    assert training.co2_kg.central == pytest.approx(training.energy_kwh.central * 111.5 / 1000, rel=1e-12)
    assert "hourly trace" in result.sites[0].intensity_source


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,value\n2025-01-01T00:00:00Z,1\n", "header"),
        ("timestamp,intensity_g_per_kwh\n2025-01-01T00:00:00+02:00,1\n", "not UTC"),
        ("timestamp,intensity_g_per_kwh\n2025-01-01T01:00:00Z,1\n2025-01-01T00:00:00Z,1\n", "increase"),
        ("timestamp,intensity_g_per_kwh\n2025-01-01T00:00:00Z,-3\n", ">= 0"),
        ("timestamp,intensity_g_per_kwh\n", "no rows"),
    ],
)
def test_bad_traces_are_refused_naming_key_and_line(tmp_path, content, message):
    bad = tmp_path / "trace.csv"
    bad.write_text(content)
    with pytest.raises(InputError, match=message) as refused:
        read_trace(str(bad), "lifecycle.silos.paris.intensity_trace")
    assert "lifecycle.silos.paris.intensity_trace" in str(refused.value)


def test_factors_file_is_checked(tmp_path):
    factors = load_factors()
    for name in factors.__dataclass_fields__:
        factor = getattr(factors, name)
        assert factor.low <= factor.central <= factor.high and factor.source and factor.unit and factor.year >= 2000
    broken = tmp_path / "factors.toml"
    text = (REPO_ROOT / "configs" / "factors.toml").read_text()
    broken.write_text(text.replace("value = 0.0019\nlow = 0.001", "value = 0.0001\nlow = 0.001"))
    with pytest.raises(InputError, match="network_kwh_per_gb.*low <= value <= high"):
        load_factors(broken)
