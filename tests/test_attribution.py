"""Process attribution: the arithmetic worked by hand, the process-share windows on real processes,
the host figure kept beside the attributed one through the ledger, the telemetry and an old ledger,
and sample updates with local_epochs > 1 (real runs, real CodeCarbon)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time

import pytest

from simulator.data import build_federated_data
from simulator.errors import InputError
from simulator.ledger import LEDGER_COLUMNS, Ledger, make_row
from simulator.lifecycle.profile import kwh_per_sample_update, profile_from_ledger, profile_from_run_dir
from simulator.pipeline import run_scenario
from simulator.probes.attribution import ProcessShare, ProcessShareProbe, attributed_reading
from simulator.probes.codecarbon_compat import CpuModel
from simulator.probes.energy import METHOD_ABSENT, METHOD_APPORTIONED, METHOD_MODELLED, EnergyReading
from simulator.probes.host_energy import HostEnergyProbe
from simulator.records.measurement import ATTRIBUTION_FIELDS, MeasurementRefused, SiloMeasurement
from tests.conftest import tiny_scenario

ATTRIBUTION_COLUMNS = ("sample_updates", "host_energy_kwh", "host_energy_cpu_kwh", "host_energy_ram_kwh",
                       "host_energy_gpu_kwh", "host_energy_method")
LOAD_MODEL = CpuModel(mode="cpu_load", tdp_w=8.0, threads=2, tracking_mode="process")
RAPL = CpuModel(mode="intel_rapl", tdp_w=100.0, threads=8, tracking_mode="process")


# -- arithmetic, by hand ------------------------------------------------------------------------


def test_load_model_attribution_hand_worked():
    # 8 W TDP / 2 threads = 4 W per busy thread; 9 CPU s -> 36 J = 1e-5 kWh.
    # RAM: host 20 W for 10 s = 200 J; held 10 - 2 s queue wait = 8 s, memory share 5 %:
    # 200 J x 8/10 x 0.05 = 8 J = 8/3.6e6 kWh. GPU as measured.
    host = EnergyReading(10.0, 7.2e-5, 200 / 3.6e6, 1e-4, "measured")
    share = ProcessShare(wall_s=10.0, cpu_s=9.0, host_busy_cpu_s=20.0, memory_share=0.05, queue_wait_s=2.0)
    reading = attributed_reading(host, share, LOAD_MODEL, 1.0)
    assert reading.energy_cpu_kwh == pytest.approx(1e-5, rel=1e-12)
    assert reading.energy_ram_kwh == pytest.approx(8 / 3.6e6, rel=1e-12)
    assert reading.energy_gpu_kwh == 1e-4
    assert reading.method == METHOD_MODELLED  # modelled CPU next to a measured host: the weaker
    assert reading.host is host


def test_measured_cpu_is_split_by_the_share_of_host_busy_time():
    # RAPL: the package drew 0.002 kWh; the process used 3 of the host's 12 busy CPU seconds.
    host = EnergyReading(4.0, 2e-3, 1e-4, None, "measured")
    share = ProcessShare(wall_s=4.0, cpu_s=3.0, host_busy_cpu_s=12.0, memory_share=0.5)
    reading = attributed_reading(host, share, RAPL, 1.0)
    assert reading.energy_cpu_kwh == pytest.approx(5e-4, rel=1e-12)
    assert reading.energy_ram_kwh == pytest.approx(5e-5, rel=1e-12)
    assert reading.energy_gpu_kwh is None  # no GPU: absent, not 0
    assert reading.method == METHOD_APPORTIONED
    # A share above the host's busy time (clock edges) is capped at the host's figure.
    capped = attributed_reading(host, ProcessShare(4.0, 13.0, 12.0, 0.5), RAPL, 1.0)
    assert capped.energy_cpu_kwh == pytest.approx(2e-3, rel=1e-12)


def test_an_absent_host_reading_gives_an_absent_attribution():
    host = EnergyReading(1.0, None, None, None, METHOD_ABSENT)
    reading = attributed_reading(host, ProcessShare(1.0, 1.0, 2.0, 0.1), LOAD_MODEL, 1.0)
    assert reading.energy_kwh is None and reading.method == METHOD_ABSENT


# -- real windows -------------------------------------------------------------------------------


def test_process_share_window_reads_this_process():
    probe = ProcessShareProbe(host_memory_bytes=64 * 1024**3)
    probe.begin("work")
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    share = probe.end("work")
    assert share.cpu_s >= 0.05 and share.wall_s >= share.cpu_s * 0.5
    assert 0 < share.memory_share < 0.5
    assert 0 <= share.queue_wait_s <= share.wall_s
    assert 0 < share.memory_held_s <= share.wall_s


def test_children_count_only_when_asked():
    busy = "import time\nend = time.process_time() + 0.15\nwhile time.process_time() < end: pass"
    probe = ProcessShareProbe(host_memory_bytes=64 * 1024**3)
    for children in (True, False):
        probe.begin("kids", children=children)
        child = subprocess.Popen([sys.executable, "-c", busy + "\ntime.sleep(5)"])
        try:
            time.sleep(0.05)
            deadline = time.monotonic() + 30
            import psutil

            while sum(psutil.Process(child.pid).cpu_times()[:2]) < 0.15 and time.monotonic() < deadline:
                time.sleep(0.05)
            share = probe.end("kids")
        finally:
            child.kill()
            child.wait()
        if children:
            assert share.cpu_s >= 0.14  # the child's busy loop counts
        else:
            assert share.cpu_s < 0.14


def test_host_probe_window_has_both_figures():
    probe = HostEnergyProbe("USA")
    try:
        probe.begin("w")
        time.sleep(0.05)
        reading = probe.end("w")
    finally:
        probe.close()
    assert reading.host is not None and reading.host.method in ("modelled", "measured")
    assert reading.energy_kwh is not None and reading.host.energy_kwh is not None
    # A sleeping process holds a small share of the host's memory: far below the host's RAM energy.
    assert reading.energy_ram_kwh < reading.host.energy_ram_kwh


# -- through a real run: ledger columns, telemetry, local epochs -----------------------------------


@pytest.fixture(scope="module")
def three_epoch_run(tmp_path_factory):
    scenario = tiny_scenario(training__local_epochs=3)
    return scenario, run_scenario(scenario, tmp_path_factory.mktemp("runs"))


def test_local_epochs_3_profile_divides_by_sample_updates(three_epoch_run):
    """FL with 3 local epochs makes 3 x the examples in sample updates; the profile's FL energy and
    time per sample update divide by them (before the fix they divided by the examples: 3x too high)."""
    scenario, result = three_epoch_run
    data = build_federated_data(scenario)
    updates = scenario.training.rounds * scenario.training.local_epochs * sum(len(s.train_y) for s in data.silos)
    fl_silo = [r for r in result.ledger.rows if r.approach == "fl" and r.silo != "server"]
    cl = [r for r in result.ledger.rows if r.approach == "cl"]
    profile = profile_from_ledger(result.ledger, "three epochs")
    assert profile.fl_kwh_per_sample_update == pytest.approx(sum(r.energy_kwh for r in fl_silo) / updates, rel=1e-9)
    assert profile.fl_wall_s_per_sample_update == pytest.approx(sum(r.wall_s for r in fl_silo) / updates, rel=1e-9)
    # CL trains the same number of sample updates (equal budget), one pooled epoch per row.
    assert profile.cl_wall_s_per_sample_update == pytest.approx(sum(r.wall_s for r in cl) / updates, rel=1e-9)


def test_sample_updates_and_host_columns_in_the_ledger(three_epoch_run):
    scenario, result = three_epoch_run
    rows = result.ledger.rows
    train = [r for r in rows if r.approach == "fl" and r.phase == "train"]
    assert train and all(r.sample_updates == 3 * r.num_examples for r in train)
    assert all(r.sample_updates == 0 for r in rows if r.phase != "train")
    assert sum(r.sample_updates for r in train) == sum(r.sample_updates for r in rows if r.approach == "cl")
    for row in rows:  # every window measured both ways on this host
        assert row.host_energy_method == METHOD_MODELLED and row.host_energy_kwh > 0
        assert row.host_energy_kwh == pytest.approx(row.host_energy_cpu_kwh + row.host_energy_ram_kwh, rel=1e-9)
        assert row.energy_method == METHOD_MODELLED and row.energy_kwh > 0
        assert row.co2_kg == pytest.approx(row.energy_kwh * row.intensity_g_per_kwh / 1000, rel=1e-9)
    summary = json.loads((result.run_dir / "summary.json").read_text())
    for approach in ("fl", "cl"):
        assert summary[approach]["host_energy_kwh"] == pytest.approx(
            sum(r.host_energy_kwh for r in rows if r.approach == approach), rel=1e-9)
        assert summary[approach]["sample_updates"] == sum(r.sample_updates for r in rows if r.approach == approach)
    written = Ledger.from_csv(result.run_dir / "ledger.csv")
    assert written.rows == result.ledger.rows and written.records_sample_updates


def test_telemetry_carries_the_attribution_fields(three_epoch_run):
    """What the silo sends reaches the ledger: the silo rows' host figures and sample updates come
    from the measurement record only (the server measures no silo window in the inline runner)."""
    _, result = three_epoch_run
    fl_ledger = Ledger.from_csv(result.run_dir / "fl_ledger.csv")
    silo_rows = [r for r in fl_ledger.rows if r.silo != "server"]
    assert silo_rows and all(r.host_energy_cpu_kwh is not None for r in silo_rows)
    assert all(r.sample_updates > 0 for r in silo_rows if r.phase == "train")


def test_the_measurement_schema_carries_and_checks_the_attribution_fields():
    measurement = SiloMeasurement(silo="paris", wall_s=1.0, cpu_s=0.5, energy_method="modelled", energy_cpu_kwh=1e-7,
                                  sample_updates=300, host_energy_method="modelled", host_energy_cpu_kwh=2e-6,
                                  host_energy_ram_kwh=5e-6)
    record = measurement.to_record()
    assert set(ATTRIBUTION_FIELDS) - {"host-energy-gpu-kwh"} <= set(record)  # absent GPU left out
    back = SiloMeasurement.from_record(record)
    assert back == measurement
    reading = back.reading()
    assert reading.host is not None and reading.host.energy_kwh == pytest.approx(7e-6)
    for key, value in (("sample-updates", -1), ("sample-updates", 2.5), ("host-energy-method", "guessed"),
                       ("host-energy-ram-kwh", 1e9)):
        bad = measurement.to_record()
        bad[key] = value
        with pytest.raises(MeasurementRefused, match=key):
            SiloMeasurement.from_record(bad)


def test_busy_host_figure_and_attributed_figure_differ(three_epoch_run):
    _, result = three_epoch_run
    fl, cl = kwh_per_sample_update(result.ledger, "x")
    fl_host, cl_host = kwh_per_sample_update(result.ledger, "x", figure="host")
    # The whole host (20 W of RAM alone) draws far more than the run's own process is charged.
    assert fl_host > fl > 0 and cl_host > cl > 0


# -- a ledger written before the new columns --------------------------------------------------------


def _old_ledger(folder, result, local_epochs: int | None):
    """The run's ledger as written before sample updates and host figures existed."""
    folder.mkdir()
    old_columns = [c for c in LEDGER_COLUMNS if c not in ATTRIBUTION_COLUMNS]
    with (folder / "ledger.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=old_columns, extrasaction="ignore")
        writer.writeheader()
        for row in result.ledger.rows:
            writer.writerow({c: ("" if getattr(row, c) is None else getattr(row, c)) for c in old_columns})
    if local_epochs is not None:
        (folder / "manifest.json").write_text(json.dumps({"scenario": {"training": {"local_epochs": local_epochs}}}))


def test_an_old_ledger_reads_and_its_run_folder_gives_the_local_epochs(three_epoch_run, tmp_path):
    _, result = three_epoch_run
    _old_ledger(tmp_path / "old", result, local_epochs=3)
    ledger = Ledger.from_csv(tmp_path / "old" / "ledger.csv")
    assert not ledger.records_sample_updates
    assert all(r.host_energy_kwh is None and r.host_energy_method == METHOD_ABSENT for r in ledger.rows)
    with pytest.raises(InputError, match="written before sample updates"):
        profile_from_ledger(ledger, "old")
    from_folder = profile_from_run_dir(tmp_path / "old")
    assert "whole host's" in from_folder.source  # its energy_kwh was the host's figure then
    new = profile_from_ledger(result.ledger, "new")
    assert from_folder.fl_kwh_per_sample_update == pytest.approx(new.fl_kwh_per_sample_update, rel=1e-9)
    assert from_folder.cl_kwh_per_sample_update == pytest.approx(new.cl_kwh_per_sample_update, rel=1e-9)


def test_an_old_ledger_without_its_scenario_is_refused_in_one_line(three_epoch_run, tmp_path):
    _, result = three_epoch_run
    _old_ledger(tmp_path / "bare", result, local_epochs=None)
    with pytest.raises(InputError, match="predates the sample_updates column") as refused:
        profile_from_run_dir(tmp_path / "bare")
    assert "\n" not in str(refused.value)


def test_make_row_without_a_host_reading_leaves_host_columns_absent():
    row = make_row(approach="fl", silo="a", round_number=1, phase="train",
                   energy=EnergyReading(1.0, 1e-6, 1e-7, None, METHOD_MODELLED), cpu_s=1.0, country="FRA")
    assert row.host_energy_kwh is None and row.host_energy_method == METHOD_ABSENT and row.sample_updates == 0
