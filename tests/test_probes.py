"""Probes: the window life cycle, absent hardware, apportioning, modelled silo hardware, idle baseline,
and the CodeCarbon-compatible emissions.csv. Real CodeCarbon, real NVML (absent here), real Flower."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from codecarbon.output_methods.emissions_data import EmissionsData

from simulator.scenario.load import validate_scenario
from simulator.errors import InputError
from simulator.pipeline import run_scenario
from simulator.probes.apportion import SiloWork, apportion
from simulator.probes.base import UnknownWindowError
from simulator.probes.energy import (
    METHOD_ABSENT,
    METHOD_APPORTIONED,
    METHOD_MEASURED,
    METHOD_MODELLED,
    EnergyReading,
    NullEnergyProbe,
    combined_method,
)
from simulator.probes.host_energy import HostEnergyProbe
from simulator.probes.idle import energy_above_idle_kwh, host_covered_wall_s, idle_energy_kwh
from simulator.probes.nvml import NvmlGpuProbe
from simulator.probes.process import ProcessProbe
from simulator.probes.silo_hardware import modelled_reading
from simulator.scenario.hardware import HardwareProfile
from simulator.results.host import gpu_names
from tests.conftest import tiny_scenario, tiny_scenario_dict

# -- life cycle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_probe", [NullEnergyProbe, ProcessProbe, NvmlGpuProbe, lambda: HostEnergyProbe("USA")],
    ids=["null", "process", "nvml", "host"],
)
def test_ending_an_unknown_window_names_it(make_probe):
    probe = make_probe()
    probe.begin("silo-a")
    probe.end("silo-a")
    with pytest.raises(UnknownWindowError, match="'silo-a'"):
        probe.end("silo-a")  # already ended
    with pytest.raises(UnknownWindowError, match="'never-begun'"):
        probe.end("never-begun")
    probe.close()


def test_process_probe_counts_cpu_time_and_no_gpu_time_on_cpu():
    import numpy as np
    import torch

    from simulator.training import train_epochs

    probe = ProcessProbe()
    probe.begin("work")
    stats = train_epochs(torch.nn.Linear(4, 2), np.ones((64, 4), np.float32), np.zeros(64, np.int64), epochs=3,
                         batch_size=8, learning_rate=0.1, momentum=0.0, seed=0, device=torch.device("cpu"))
    reading = probe.end("work")
    assert stats.sample_updates == 192
    assert reading.cpu_s > 0 and reading.wall_s > 0 and reading.rss_end_bytes > 0
    assert reading.gpu_s == 0.0  # trained on the CPU: no GPU seconds to split GPU energy by


# -- absent hardware --------------------------------------------------------------------------


@pytest.mark.skipif(bool(gpu_names()), reason="this host has an NVIDIA GPU; the absent case needs a host without")
def test_missing_gpu_gives_absent_not_zero():
    probe = NvmlGpuProbe()  # real NVML: on this host the driver library is missing
    assert not probe.available
    assert "NVML" in probe.absent_reason or "nvml" in probe.absent_reason
    probe.begin("train")
    reading = probe.end("train")
    assert reading.method == METHOD_ABSENT
    assert reading.energy_gpu_kwh is None
    assert reading.energy_per_gpu_kwh == ()
    assert probe.power_now_w() is None
    probe.close()


def test_combined_method_is_the_weakest_present_part():
    assert combined_method(METHOD_MODELLED, METHOD_ABSENT) == METHOD_MODELLED
    assert combined_method(METHOD_MEASURED, METHOD_MEASURED) == METHOD_MEASURED
    assert combined_method(METHOD_MODELLED, METHOD_MEASURED) == METHOD_MODELLED
    assert combined_method(METHOD_ABSENT, METHOD_ABSENT) == METHOD_ABSENT


# -- arithmetic, against answers worked out by hand -----------------------------------------------


def test_apportion_by_cpu_and_gpu_time_hand_worked():
    host = EnergyReading(wall_s=10.0, energy_cpu_kwh=8.0, energy_ram_kwh=4.0, energy_gpu_kwh=6.0, method=METHOD_MODELLED)
    # CPU seconds 2 + 1 + server 1 = 4 -> shares 1/2, 1/4, rest 1/4.
    # GPU seconds 3 + 1 = 4 (the server used no GPU) -> shares 3/4, 1/4, rest 0.
    split = apportion(host, [SiloWork(5.0, 2.0, 3.0), SiloWork(4.0, 1.0, 1.0)], server_cpu_s=1.0)
    first, second = split.silos
    assert (first.energy_cpu_kwh, first.energy_ram_kwh, first.energy_gpu_kwh) == (4.0, 2.0, 4.5)
    assert (second.energy_cpu_kwh, second.energy_ram_kwh, second.energy_gpu_kwh) == (2.0, 1.0, 1.5)
    rest = split.remainder
    assert (rest.energy_cpu_kwh, rest.energy_ram_kwh, rest.energy_gpu_kwh) == (2.0, 1.0, 0.0)
    assert {first.method, second.method, rest.method} == {METHOD_APPORTIONED}
    assert first.wall_s == 5.0 and rest.wall_s == 10.0


def test_apportion_keeps_absent_parts_absent():
    host = EnergyReading(1.0, 2.0, 1.0, None, METHOD_MODELLED)
    split = apportion(host, [SiloWork(1.0, 1.0, 0.0)], server_cpu_s=1.0)
    assert split.silos[0].energy_gpu_kwh is None and split.remainder.energy_gpu_kwh is None
    assert split.silos[0].energy_cpu_kwh == 1.0


def test_modelled_silo_hardware_hand_worked():
    # 36 s measured, 4x faster hardware -> 9 s. CPU 100 W x 9 s = 900 J = 2.5e-4 kWh;
    # A100 407 W x 9 s = 3663 J = 1.0175e-3 kWh; RAM not declared -> absent.
    profile = HardwareProfile(100.0, "A100", 407.0, None, 4.0, "test")
    reading = modelled_reading(profile, 36.0)
    assert reading.energy_cpu_kwh == pytest.approx(2.5e-4, rel=1e-12)
    assert reading.energy_gpu_kwh == pytest.approx(1.0175e-3, rel=1e-12)
    assert reading.energy_ram_kwh is None
    assert reading.method == METHOD_MODELLED


def test_idle_arithmetic_hand_worked():
    # 20 W for 90 s = 1800 J = 5e-4 kWh.
    assert idle_energy_kwh(20.0, 90.0) == pytest.approx(5e-4, rel=1e-12)
    assert energy_above_idle_kwh(1e-3, 20.0, 90.0) == pytest.approx(5e-4, rel=1e-12)
    assert energy_above_idle_kwh(None, 20.0, 90.0) is None
    assert energy_above_idle_kwh(1e-3, None, 90.0) is None


def test_host_time_covered_counts_a_concurrent_exchange_once():
    def row(silo, method, wall_s, energy=1.0):
        return type("Row", (), {"silo": silo, "host_energy_method": method, "wall_s": wall_s,
                                "host_energy_kwh": energy})

    rows = [row("a", METHOD_APPORTIONED, 3.0), row("b", METHOD_APPORTIONED, 2.5), row("server", METHOD_APPORTIONED, 4.0),
            row("server", METHOD_MODELLED, 0.5), row("c", METHOD_ABSENT, 9.0, None),
            row("d", METHOD_MODELLED, 7.0)]  # e.g. a silo modelled on declared hardware: the host still drew
    assert host_covered_wall_s(rows) == 11.5


# -- scenario schema --------------------------------------------------------------------------


def test_silo_hardware_refuses_an_unknown_gpu_without_power():
    raw = tiny_scenario_dict()
    raw["silos"][0]["hardware"] = {"cpu_power_w": 50, "gpu_model": "H900"}
    with pytest.raises(InputError, match="silos.0.hardware.*H900.*T4 \\| V100 \\| A100 \\| A10G"):
        validate_scenario(raw, "s.toml")
    raw["silos"][0]["hardware"] = {"gpu_model": "T4"}
    with pytest.raises(InputError, match="cpu_power_w"):
        validate_scenario(raw, "s.toml")


# -- a real run: modelled silo hardware, idle baseline, emissions.csv --------------------------------


def test_mixed_silo_hardware_run_and_codecarbon_emissions_csv(tmp_path):
    raw = tiny_scenario_dict()
    # A GPU silo in Germany and a CPU-only silo in France; this host has neither.
    raw["silos"][0].update(country="DEU", hardware={"cpu_vcpus": 8, "gpu_model": "A10G", "relative_speed": 5.0})
    raw["silos"][1].update(country="FRA", hardware={"cpu_power_w": 45.0})
    result = run_scenario(validate_scenario(raw, "mixed"), tmp_path)
    silo_rows = [row for row in result.ledger.rows if row.approach == "fl" and row.silo != "server"]
    assert silo_rows and all(row.energy_method == METHOD_MODELLED for row in silo_rows)
    gpu_silo = [row for row in silo_rows if row.silo == "paris"]
    cpu_silo = [row for row in silo_rows if row.silo == "virginia"]
    for row in gpu_silo:  # 8 vCPU x 3.5 W + A10G 153 W, for a fifth of the measured time
        assert row.energy_gpu_kwh == pytest.approx(153.0 * row.wall_s / 5.0 / 3.6e6, rel=1e-9)
        assert row.energy_cpu_kwh == pytest.approx(28.0 * row.wall_s / 5.0 / 3.6e6, rel=1e-9)
        assert row.country == "DEU" and "A10G" in row.detail
    for row in cpu_silo:
        assert row.energy_gpu_kwh is None  # a CPU-only silo: absent, not 0
        assert row.energy_cpu_kwh == pytest.approx(45.0 * row.wall_s / 3.6e6, rel=1e-9)
    # Rows measured on this GPU-less host carry no GPU figure at all.
    assert all(row.energy_gpu_kwh is None for row in result.ledger.rows if row.energy_method == METHOD_MODELLED
               and row.silo in ("server", "central"))

    # The modelled silos' host columns keep what this host drew while their work ran on it.
    assert all(row.host_energy_method == METHOD_MODELLED and row.host_energy_kwh > 0 for row in silo_rows)

    summary = json.loads((result.run_dir / "summary.json").read_text())
    idle = summary["idle_baseline"]
    assert idle["power_w"] > 0 and idle["method"] in (METHOD_MODELLED, METHOD_MEASURED) and idle["how"]
    # Idle power is the host's: it applies over every window the host figure covers (the modelled
    # silos' included), and is taken from the host figure.
    fl_s = sum(row.wall_s for row in result.ledger.rows if row.approach == "fl")
    assert summary["fl"]["idle_energy_kwh"] == pytest.approx(idle["power_w"] * fl_s / 3.6e6, rel=1e-9)
    for approach in ("fl", "cl"):
        above = summary[approach]["energy_above_idle_kwh"]
        assert above == pytest.approx(summary[approach]["host_energy_kwh"] - summary[approach]["idle_energy_kwh"])

    emissions = pd.read_csv(result.run_dir / "emissions.csv")
    assert list(emissions.columns) == [field.name for field in dataclasses.fields(EmissionsData)]
    assert len(emissions) == len(result.ledger.rows)
    ledger = pd.read_csv(result.run_dir / "ledger.csv")
    assert emissions["emissions"].sum() == pytest.approx(ledger["co2_kg"].sum(), rel=1e-9)
    assert emissions["energy_consumed"].sum() == pytest.approx(ledger["energy_kwh"].sum(), rel=1e-9)
    assert emissions["gpu_energy"].sum() == pytest.approx(ledger["energy_gpu_kwh"].sum(), rel=1e-9)
    assert emissions["duration"].sum() == pytest.approx(ledger["wall_s"].sum(), rel=1e-9)
    assert set(emissions["country_iso_code"]) == {"DEU", "FRA", "USA"}


# -- concurrent silos (ray): apportioned rows sum to the host total ---------------------------------


class RecordingProbe:
    """Any probe with the begin/end life cycle can be installed; this one keeps each window's reading."""

    def __init__(self, inner):
        self.inner = inner
        self.readings: dict[str, EnergyReading] = {}

    def begin(self, key: str, *, children: bool = False) -> None:
        self.inner.begin(key, children=children)

    def end(self, key: str) -> EnergyReading:
        self.readings[key] = self.inner.end(key)
        return self.readings[key]


def test_ray_apportioned_silo_rows_sum_to_the_host_total(tmp_path):
    from simulator.flower.runners import run_federated
    from simulator.probes.energy import install_host_probe

    host = HostEnergyProbe("USA")
    probe = RecordingProbe(host)
    install_host_probe(probe)
    try:
        outcome = run_federated(tiny_scenario(runner="ray"), tmp_path)
    finally:
        install_host_probe(None)
        host.close()
    exchanges = {key: r for key, r in probe.readings.items() if key.startswith("exchange-")}
    assert len(exchanges) == 4  # 2 rounds x (train, evaluate)
    rows = outcome.ledger.rows
    for key, reading in exchanges.items():
        _, round_text, phase = key.split("-")
        silo_rows = [r for r in rows if r.silo != "server" and r.round == int(round_text) and r.phase == phase]
        wait_rows = [r for r in rows if r.silo == "server" and r.phase == "wait" and r.round == int(round_text)
                     and f"the {phase} exchange" in r.detail]
        assert len(silo_rows) == 2 and len(wait_rows) == 1
        assert all(r.energy_method == METHOD_APPORTIONED for r in silo_rows + wait_rows)
        assert reading.energy_kwh > 0 and reading.host is not None and reading.host.energy_kwh > 0
        parts = silo_rows + wait_rows
        # Attributed (this process and Ray's workers) and host figures: each split sums to its total.
        assert sum(r.energy_kwh for r in parts) == pytest.approx(reading.energy_kwh, rel=1e-9)
        assert sum(r.energy_cpu_kwh for r in parts) == pytest.approx(reading.energy_cpu_kwh, rel=1e-9)
        assert sum(r.host_energy_kwh for r in parts) == pytest.approx(reading.host.energy_kwh, rel=1e-9)
        assert sum(r.host_energy_cpu_kwh for r in parts) == pytest.approx(reading.host.energy_cpu_kwh, rel=1e-9)
        assert sum(r.host_energy_ram_kwh for r in parts) == pytest.approx(reading.host.energy_ram_kwh, rel=1e-9)
        assert all(r.host_energy_method == METHOD_APPORTIONED for r in parts)
        assert all(r.energy_gpu_kwh is None for r in parts)  # no GPU here: absent, not 0
        assert all(r.energy_kwh > 0 for r in silo_rows)  # each silo used CPU time, so each got a share
        # Each silo trained in a Ray worker: its sample updates still reach its row.
        if phase == "train":
            assert all(r.sample_updates > 0 for r in silo_rows)
