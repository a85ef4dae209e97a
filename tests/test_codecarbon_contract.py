"""The CodeCarbon names silocarbon relies on (simulator/probes/codecarbon_compat.py), checked against the
installed CodeCarbon: when an upgrade moves one, these fail loudly instead of a wrong method label or a
0 W idle power. Real trackers, real hardware detection; nothing mocked."""

from __future__ import annotations

import time

import psutil
import pytest

from simulator.probes import codecarbon_compat as compat
from simulator.units import KWH_PER_JOULE


@pytest.fixture(scope="module")
def trackers():
    return compat.offline_tracker("USA", "machine"), compat.offline_tracker("USA", "process")


def test_cpu_model_fields_exist_and_make_sense(trackers):
    machine, process = trackers
    for tracker, mode in ((machine, "machine"), (process, "process")):
        model = compat.cpu_model(tracker)
        assert model.tracking_mode == mode
        assert model.mode == compat.LOAD_MODEL_MODE or model.mode in compat.MEASURING_CPU_MODES or model.mode == "constant"
        assert model.threads == psutil.cpu_count()
        assert model.tdp_w is None or model.tdp_w > 0
    assert compat.cpu_model(machine).tdp_w == compat.cpu_model(process).tdp_w


def test_ram_and_memory_of_the_host(trackers):
    machine, _ = trackers
    assert compat.ram_power_w(machine) > 0
    assert compat.host_memory_bytes(machine) == pytest.approx(psutil.virtual_memory().total, rel=1e-6)
    cpu_w, ram_w = compat.idle_power_w(machine)
    assert cpu_w == pytest.approx(compat.cpu_model(machine).tdp_w * compat.MACHINE_IDLE_LOAD_FACTOR)
    assert ram_w == compat.ram_power_w(machine)


def test_a_missing_name_raises_instead_of_guessing():
    class NotATracker:
        def get_detected_hardware(self):
            return {}

    with pytest.raises(compat.CodeCarbonContractError, match="_hardware"):
        compat.cpu_model(NotATracker())

    class CpuWithoutTdp:
        _mode, _cpu_count, _tracking_mode = "cpu_load", 2, "machine"

    CpuWithoutTdp.__name__ = "CPU"
    tracker = NotATracker()
    tracker._hardware = [CpuWithoutTdp()]
    with pytest.raises(compat.CodeCarbonContractError, match="'_tdp'"):
        compat.cpu_model(tracker)


def _busy(cpu_seconds: float) -> None:
    end = time.process_time() + cpu_seconds
    while time.process_time() < end:
        pass


@pytest.mark.skipif(compat.cpu_model(compat.offline_tracker("USA", "process")).mode != compat.LOAD_MODEL_MODE,
                    reason="CodeCarbon measures this CPU (RAPL): its process mode is not the load model")
def test_process_mode_is_tdp_over_threads_per_cpu_second_beside_a_machine_window(trackers):
    """CodeCarbon's own process-mode task window, with a machine-mode window open around it (as two
    trackers side by side in one process), charges TDP / threads joules per CPU second of the process:
    the model the attributed figure applies at nanosecond resolution. Its CPU seconds are psutil's,
    read here the same way, so only the timing of the two reads differs."""
    machine, process = trackers
    model = compat.cpu_model(process)
    me = psutil.Process()
    machine.start_task("contract-machine")
    process.start_task("contract-process")
    before = me.cpu_times()
    _busy(0.6)
    after = me.cpu_times()
    data = process.stop_task("contract-process")
    around = machine.stop_task("contract-machine")
    cpu_s = (after.user + after.system) - (before.user + before.system)
    assert data.cpu_energy == pytest.approx(model.watts_per_busy_thread * cpu_s * KWH_PER_JOULE, rel=0.05, abs=4e-9)
    # The machine window around it still reports the host: RAM at the machine's constant power.
    assert around.ram_energy == pytest.approx(compat.ram_power_w(machine) * around.duration * KWH_PER_JOULE, rel=0.05)


def test_bundled_grid_tables():
    assert compat.energy_mix_file().is_file()
    assert "virginia" in compat.region_names("USA") and "ontario" in compat.region_names("CAN")
    assert 0 < compat.region_kg_per_kwh("USA", "virginia") < 2
