"""Carbon-aware selection and SCAFFOLD: arithmetic against hand-worked answers, then a real run."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import tiny_scenario
from simulator.errors import InputError
from simulator.flower.runners import run_inline
from simulator.country_intensity import country_intensity
from strategies.carbon_aware import choose_silos, read_hourly_trace, simulated_hour
from strategies.scaffold import server_control_update, server_model_update, silo_control_update

INTENSITY = {"oslo": 30.0, "paris": 56.0, "berlin": 381.0, "warsaw": 662.0}


def test_cleanest_silos_train_until_the_fairness_floor_calls_the_others():
    last: dict[str, int] = {}
    chosen = []
    for round_number in range(1, 7):
        picked = choose_silos(INTENSITY, last, round_number, count=2, fairness_rounds=3)
        last.update({silo: round_number for silo in picked})
        chosen.append(picked)
    # Rounds 1-2: the two cleanest. Round 3: berlin and warsaw have not trained in rounds 1-2, so
    # both are due and fill the round. Rounds 4-5: cleanest again; round 6: the dirty ones again.
    assert chosen == [
        ["oslo", "paris"], ["oslo", "paris"], ["berlin", "warsaw"],
        ["oslo", "paris"], ["oslo", "paris"], ["berlin", "warsaw"],
    ]


def test_due_silos_exceed_the_count_all_train():
    picked = choose_silos(INTENSITY, {"oslo": 5}, round_number=5, count=1, fairness_rounds=2)
    assert picked == ["paris", "berlin", "warsaw"]


def test_fairness_of_one_round_trains_everyone():
    assert choose_silos(INTENSITY, {}, 1, count=1, fairness_rounds=1) == ["oslo", "paris", "berlin", "warsaw"]


def test_hourly_trace_is_read_at_the_simulated_hour(tmp_path):
    trace_file = tmp_path / "trace.csv"
    trace_file.write_text("hour,country,intensity_g_per_kwh\n0,FRA,50\n1,FRA,500\n0,DEU,300\n1,DEU,100\n")
    trace = read_hourly_trace(trace_file)
    assert simulated_hour(3, start_hour=0, round_hours=0.5) == 1
    assert trace.at("FRA", 1) == 500.0 and trace.at("DEU", 1) == 100.0 and trace.at("FRA", 2) == 50.0


def test_bad_trace_is_refused_naming_the_key(tmp_path):
    trace_file = tmp_path / "trace.csv"
    trace_file.write_text("hour,zone,value\n0,FRA,50\n")
    with pytest.raises(InputError, match="strategy.intensity_trace"):
        read_hourly_trace(trace_file)


def trained_by_round(outcome) -> dict[int, list[str]]:
    rounds: dict[int, list[str]] = {}
    for row in outcome.ledger.rows:
        if row.phase == "train" and row.silo != "server":
            rounds.setdefault(row.round, []).append(row.silo)
    return {r: sorted(silos) for r, silos in rounds.items()}


def test_carbon_aware_run_trains_clean_silos_and_everyone_within_k_rounds(tmp_path):
    countries = {"oslo": "NOR", "paris": "FRA", "berlin": "DEU", "warsaw": "POL"}
    silos = [{"name": n, "country": c, "share": 0.25} for n, c in countries.items()]
    scenario = tiny_scenario(strategy={"name": "carbon_aware", "fraction_train": 0.5, "fairness_rounds": 3},
                             silos=silos, training__rounds=3)
    outcome = run_inline(scenario, tmp_path)
    ranked = sorted(countries, key=lambda s: country_intensity(countries[s]).intensity_g_per_kwh)
    clean, dirty = sorted(ranked[:2]), sorted(ranked[2:])
    assert trained_by_round(outcome) == {1: clean, 2: clean, 3: dirty}
    # Every silo still evaluates every round.
    assert all(len([r for r in outcome.ledger.rows if r.phase == "evaluate" and r.round == n]) == 4
               for n in (1, 2, 3))


def test_carbon_aware_follows_an_hourly_trace(tmp_path):
    trace_file = tmp_path / "trace.csv"
    trace_file.write_text("hour,country,intensity_g_per_kwh\n0,FRA,50\n1,FRA,500\n0,USA,300\n1,USA,100\n")
    scenario = tiny_scenario(strategy={"name": "carbon_aware", "fraction_train": 0.5, "fairness_rounds": 5,
                                       "intensity_trace": str(trace_file)})
    outcome = run_inline(scenario, tmp_path / "run")
    assert trained_by_round(outcome) == {1: ["paris"], 2: ["virginia"]}


def test_scaffold_silo_control_update_by_hand():
    silo = {"w": np.array([0.5, -1.0])}
    server = {"w": np.array([0.25, 0.25])}
    start = {"w": np.array([1.0, 1.0])}
    trained = {"w": np.array([0.8, 1.2])}
    # c_i - c + (x - y) / (K lr) with K = 4, lr = 0.1: [0.5 - 0.25 + 0.2 / 0.4, -1 - 0.25 - 0.2 / 0.4]
    updated = silo_control_update(silo, server, start, trained, steps=4, learning_rate=0.1)
    np.testing.assert_allclose(updated["w"], [0.75, -1.75])


def test_scaffold_server_updates_by_hand():
    model = {"w": np.array([1.0, 2.0])}
    silo_models = [{"w": np.array([2.0, 2.0])}, {"w": np.array([0.0, 4.0])}]
    # mean change: ([1, 0] + [-1, 2]) / 2 = [0, 1]; eta_g = 0.5 -> [1, 2.5]
    np.testing.assert_allclose(server_model_update(model, silo_models, 0.5)["w"], [1.0, 2.5])
    control = {"w": np.array([0.0, 1.0])}
    deltas = [{"w": np.array([1.0, 1.0])}, {"w": np.array([3.0, -1.0])}]
    # c + sum(deltas) / N with N = 4 silos (2 sampled): [0 + 4/4, 1 + 0/4]
    np.testing.assert_allclose(server_control_update(control, deltas, 4)["w"], [1.0, 1.0])
