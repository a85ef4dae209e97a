"""The typed records that cross module boundaries: written and read as the same types, the JSON keys on
disk unchanged, older folders still readable, keys from other versions kept."""

from __future__ import annotations

import pytest

from simulator.errors import InputError
from simulator.ledger import LEDGER_COLUMNS, Ledger
from simulator.records.kinds import ENERGY_METHODS, PHASES, RUN_STATUSES
from simulator.records.run import ApproachSummary, Manifest, RoundRecord, RunSummary, record_from_json

APPROACH = {"accuracy": 0.9, "energy_kwh": 1e-4, "co2_kg": 2e-5, "bytes_down": 10, "bytes_up": 20, "wall_s": 1.5,
            "cpu_s": 1.2, "energy_methods": ["modelled"], "energy_above_idle_kwh": None, "idle_energy_kwh": None}


def test_the_vocabularies_are_closed_and_complete():
    assert ENERGY_METHODS == ("measured", "modelled", "apportioned", "absent")
    assert set(PHASES) == {"train", "evaluate", "aggregate", "coordinate", "wait", "query"}
    assert RUN_STATUSES == ("running", "complete", "failed", "interrupted")


def test_a_summary_reads_back_to_the_same_record_and_keeps_keys_it_does_not_know(tmp_path):
    raw = {"fl": APPROACH, "cl": APPROACH, "fl_rounds": [{"round": 1, "accuracy": 0.5, "train_loss": 1.0,
                                                          "eval_loss": 0.9}],
           "timing_s": {"total": 3.0}, "host_energy_kwh": 0.25}  # a key from a newer version
    summary = record_from_json(RunSummary, raw, tmp_path / "summary.json")
    assert summary.fl == ApproachSummary(**APPROACH) and summary.fl_rounds == (RoundRecord(round=1, accuracy=0.5,
                                                                                           train_loss=1.0, eval_loss=0.9),)
    written = summary.to_json()
    assert written["host_energy_kwh"] == 0.25
    assert RunSummary.model_validate(written) == summary
    assert set(written) == {"units", "fl", "cl", "idle_baseline", "fl_rounds", "timing_s", "lifecycle", "cl_evaluations",
                            "to_target", "host_energy_kwh"}


def test_an_older_summary_reads_with_its_missing_fields_absent(tmp_path):
    old = {key: APPROACH[key] for key in ("accuracy", "energy_kwh", "co2_kg", "bytes_down", "bytes_up", "wall_s")}
    summary = record_from_json(RunSummary, {"fl": old, "cl": old}, tmp_path / "summary.json")
    assert summary.fl.cpu_s is None and summary.fl.energy_methods == () and summary.timing_s.total is None
    assert summary.lifecycle is None and summary.idle_baseline is None


def test_a_wrong_value_is_refused_naming_the_file_and_key(tmp_path):
    with pytest.raises(InputError, match=r"summary.json lacks an expected field or holds a wrong value \(key 'fl.energy_methods.0'"):
        record_from_json(RunSummary, {"fl": {**APPROACH, "energy_methods": ["guessed"]}, "cl": APPROACH},
                         tmp_path / "summary.json")


def test_a_manifest_writes_optional_keys_only_once_they_apply():
    manifest = Manifest(scenario={"name": "s"}, seed=3, runner="inline", status="running")
    assert set(manifest.to_json()) == {"scenario", "seed", "runner", "versions", "host", "status"}
    failed = manifest.updated(status="failed", failure="RuntimeError: x")
    assert failed.to_json()["failure"] == "RuntimeError: x"
    again = failed.updated(status="running", failure=None, resumed=[{"at_utc": "t", "after_round": 1}])
    assert "failure" not in again.to_json() and again.resumed[0].after_round == 1
    with pytest.raises(ValueError):
        manifest.updated(status="paused")


def test_the_first_manifests_seed_and_runner_come_from_their_scenario():
    manifest = Manifest.model_validate({"scenario": {"seed": 7, "runner": "ray"}, "status": "complete"})
    assert (manifest.seed, manifest.runner) == (7, "ray")


def _ledger_text(columns: list[str], detail: str, method: str = "modelled") -> str:
    values = {"approach": "fl", "silo": "paris", "round": "1", "phase": "train", "wall_s": "1.0", "cpu_s": "0.5",
              "energy_kwh": "1e-06", "energy_cpu_kwh": "1e-06", "energy_ram_kwh": "", "energy_gpu_kwh": "",
              "energy_method": method, "country": "FRA", "intensity_g_per_kwh": "56.0", "co2_kg": "5.6e-08",
              "bytes_down": "10", "bytes_up": "20", "num_examples": "3", "status": "ok", "detail": detail,
              "energy_hardware": "host", "bytes_up_telemetry": "7", "sample_updates": "3", "host_energy_kwh": "",
              "host_energy_cpu_kwh": "", "host_energy_ram_kwh": "", "host_energy_gpu_kwh": "",
              "host_energy_method": "absent", "failure": "none"}
    return ",".join(columns) + "\n" + ",".join(values[column] for column in columns) + "\n"


def test_a_ledger_from_before_the_energy_hardware_column_still_reads(tmp_path):
    older = [column for column in LEDGER_COLUMNS if column not in ("energy_hardware", "failure")]
    path = tmp_path / "ledger.csv"
    path.write_text(_ledger_text(older, "modelled on the silo's declared hardware for 1 s"))
    assert Ledger.from_csv(path).rows[0].energy_hardware == "declared"
    path.write_text(_ledger_text(older, ""))
    assert Ledger.from_csv(path).rows[0].energy_hardware == "host"
    path.write_text(_ledger_text(list(LEDGER_COLUMNS), "modelled on the silo's declared hardware (a note)"))
    assert Ledger.from_csv(path).rows[0].energy_hardware == "host"  # the column decides, not the note


def test_a_ledger_from_before_the_telemetry_column_reads_it_as_zero(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(_ledger_text([column for column in LEDGER_COLUMNS if column != "bytes_up_telemetry"], ""))
    assert Ledger.from_csv(path).rows[0].bytes_up_telemetry == 0
    path.write_text(_ledger_text(list(LEDGER_COLUMNS), ""))
    assert Ledger.from_csv(path).rows[0].bytes_up_telemetry == 7


def test_a_ledger_value_outside_its_vocabulary_is_refused_naming_the_column(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text(_ledger_text(list(LEDGER_COLUMNS), "", method="estimated"))
    with pytest.raises(ValueError, match="column energy_method: 'estimated' is not one of measured | modelled"):
        Ledger.from_csv(path)
