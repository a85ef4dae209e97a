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


def test_the_kernel_cpu_model_is_what_py_cpuinfo_and_codecarbon_would_find():
    """CodeCarbon gets the CPU's model name from the kernel (saving py-cpuinfo's 1.2 s subprocess); on
    this host that is py-cpuinfo's own `brand_raw`, CodeCarbon reads the name through `get_cpu_info`,
    and its CPU power table finds the same TDP either way."""
    import subprocess
    import sys

    import cpuinfo
    from codecarbon.core import util

    kernel = compat.kernel_cpu_model()
    if kernel is None:
        pytest.skip("this host's kernel reports no CPU model name: CodeCarbon asks py-cpuinfo as before")
    # py-cpuinfo's real answer and the TDP CodeCarbon finds with it, in a process where nothing replaced it
    untouched = (
        "import cpuinfo\n"
        "from codecarbon import OfflineEmissionsTracker\n"
        "from simulator.probes.codecarbon_compat import cpu_model\n"
        "tracker = OfflineEmissionsTracker(country_iso_code='USA', output_methods=[], log_level='error',\n"
        "                                  allow_multiple_runs=True, tracking_mode='process')\n"
        "print(cpu_model(tracker).tdp_w)\n"
        "print(cpuinfo.get_cpu_info()['brand_raw'])\n"
    )
    tdp_line, real = subprocess.run([sys.executable, "-c", untouched], capture_output=True, text=True,
                                    check=True).stdout.strip().splitlines()[-2:]
    assert kernel == real
    compat.offline_tracker("USA")
    assert getattr(cpuinfo.get_cpu_info, "silocarbon_kernel_model", False)
    util.detect_cpu_model.cache_clear()
    assert util.detect_cpu_model() == real  # CodeCarbon still asks `cpuinfo.get_cpu_info` and reads brand_raw
    tracker = compat.offline_tracker("USA", "process")
    assert str(compat.cpu_model(tracker).tdp_w) == tdp_line


def test_kernel_cpu_model_reads_the_model_name_line(tmp_path):
    cpuinfo_file = tmp_path / "cpuinfo"
    cpuinfo_file.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz\n")
    assert compat.kernel_cpu_model(cpuinfo_file) == "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz"
    (tmp_path / "arm").write_text("processor\t: 0\nBogoMIPS\t: 48.00\nCPU implementer\t: 0x41\n")
    assert compat.kernel_cpu_model(tmp_path / "arm") is None
    assert compat.kernel_cpu_model(tmp_path / "absent") is None
