"""The energy profile from a ledger, worked out by hand from a small hand-made ledger."""

from __future__ import annotations

import pytest

from simulator.errors import InputError
from simulator.ledger import Ledger, LedgerRow
from simulator.lifecycle.profile import default_profile, lifecycle_profile_of_run, profile_from_ledger


def row(approach, silo, round_number, phase, energy, wall, samples=0, down=0, up=0, method="modelled", epochs=1):
    return LedgerRow(
        approach=approach, silo=silo, round=round_number, phase=phase, wall_s=wall, cpu_s=wall,
        energy_kwh=energy, energy_cpu_kwh=None, energy_ram_kwh=None, energy_gpu_kwh=None,
        energy_method=method, country="FRA", intensity_g_per_kwh=56.0, co2_kg=None,
        bytes_down=down, bytes_up=up, num_examples=samples,
        sample_updates=samples * epochs if phase == "train" else 0,
    )


def hand_ledger(energy=1.0):
    rows = []
    for round_number in (1, 2):
        rows += [
            row("fl", "a", round_number, "train", 4e-6 * energy, 0.4, samples=100, down=1000, up=1000),
            row("fl", "b", round_number, "train", 2e-6 * energy, 0.2, samples=50, down=1000, up=1000),
            row("fl", "a", round_number, "evaluate", 1e-7 * energy, 0.01, samples=20, down=1000, up=10),
            row("fl", "b", round_number, "evaluate", 1e-7 * energy, 0.01, samples=10, down=1000, up=10),
            row("fl", "server", round_number, "aggregate", 2e-8 * energy, 0.001),
        ]
    rows += [row("cl", "central", epoch, "train", 3e-6 * energy, 0.1, samples=150, method="measured") for epoch in (1, 2)]
    rows.append(row("cl", "central", 2, "evaluate", 1e-8 * energy, 0.01, samples=30, method="measured"))
    return Ledger(rows)


def test_profile_from_a_hand_made_ledger():
    profile = profile_from_ledger(hand_ledger(), "hand")
    # FL silo rows: 2 x (4e-6 + 2e-6 + 1e-7 + 1e-7) = 1.24e-5 kWh over 2 x 150 = 300 training samples.
    assert profile.fl_kwh_per_sample_update == pytest.approx(1.24e-5 / 300, rel=1e-12)
    # Wall: 2 x (0.4 + 0.2 + 0.01 + 0.01) = 1.24 s over 300.
    assert profile.fl_wall_s_per_sample_update == pytest.approx(1.24 / 300, rel=1e-12)
    # CL rows: 2 x 3e-6 + 1e-8 = 6.01e-6 kWh over 300 training samples; 0.21 s.
    assert profile.cl_kwh_per_sample_update == pytest.approx(6.01e-6 / 300, rel=1e-12)
    assert profile.cl_wall_s_per_sample_update == pytest.approx(0.21 / 300, rel=1e-12)
    # Server: 2 x 2e-8 kWh over 2 silos x 2 rounds.
    assert profile.server_kwh_per_silo_round == pytest.approx(4e-8 / 4, rel=1e-12)
    # Bytes: per round 2000 + 2000 + 1010 + 1010 = 6020, twice, over 2 silos x 2 rounds.
    assert profile.bytes_per_silo_round == pytest.approx(12040 / 4, rel=1e-12)
    assert profile.energy_method == "measured, modelled"
    assert profile.source == "hand"


def test_absent_energy_is_refused_by_estimate_and_replaced_by_the_default_in_a_run():
    ledger = Ledger([replace_energy(r) for r in hand_ledger().rows])
    with pytest.raises(InputError, match="energy is absent"):
        profile_from_ledger(ledger, "run folder x")
    fallback = lifecycle_profile_of_run(ledger, "x")
    assert fallback.fl_kwh_per_sample_update == default_profile().fl_kwh_per_sample_update
    assert "recorded no energy" in fallback.source


def test_a_measured_ledger_is_used_as_measured():
    profile = lifecycle_profile_of_run(hand_ledger(energy=2.0), "y")
    assert profile.source == "run folder y"
    assert profile.fl_kwh_per_sample_update == pytest.approx(2 * 1.24e-5 / 300, rel=1e-12)


def replace_energy(original: LedgerRow) -> LedgerRow:
    from dataclasses import replace

    return replace(original, energy_kwh=None, energy_method="absent")


def test_fl_with_three_local_epochs_divides_by_its_sample_updates():
    """Hand-worked: silo a trains 100 examples x 3 local epochs = 300 sample updates per round."""
    rows = [row("fl", "a", r, "train", 3e-6, 0.3, samples=100, epochs=3) for r in (1, 2)]
    rows += [row("cl", "central", e, "train", 1e-6, 0.1, samples=100) for e in range(1, 7)]
    profile = profile_from_ledger(Ledger(rows), "hand")
    # FL: 2 x 3e-6 kWh over 2 x 300 updates = 1e-8; CL: 6 x 1e-6 over 6 x 100 = 1e-8: equal per update.
    assert profile.fl_kwh_per_sample_update == pytest.approx(1e-8, rel=1e-12)
    assert profile.cl_kwh_per_sample_update == pytest.approx(1e-8, rel=1e-12)
    assert profile.fl_wall_s_per_sample_update == pytest.approx(0.6 / 600, rel=1e-12)
