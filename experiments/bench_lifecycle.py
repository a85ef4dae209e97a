"""How long the lifecycle model's uncertainty takes: 10,000 Monte Carlo draws of a 50-silo scenario.

    python -m experiments.bench_lifecycle

Times the draw of every factor plus both approaches' six stages over the draws plus the
[5th, 95th] percentile intervals of every stage (what `evaluate_lifecycle` does besides its central
evaluation and its sweeps), five times, and prints the median and the fastest next to the goal
(< 1 s). The full `evaluate_lifecycle` (with break-even sweep and sensitivity ranking) is timed once
for reference. Writes results/bench_lifecycle/bench_lifecycle.json.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import simulator  # noqa: F401  (telemetry off before anything else loads)
from simulator.data.registry import dataset_features_for_lifecycle
from simulator.scenario.load import validate_scenario
from simulator.lifecycle import build_plan, default_profile, evaluate_lifecycle, load_factors
from simulator.lifecycle.model import evaluate_draws, interval
from simulator.lifecycle.stages import STAGES
from simulator.results.atomic import write_json_atomic

SILOS = 50
DRAWS = 10_000
REPEATS = 5
GOAL_S = 1.0
COUNTRIES = ("FRA", "DEU", "USA", "GBR", "SWE", "POL", "IND", "JPN", "CAN", "NLD")
OUTPUT = Path("results") / "bench_lifecycle"


def fifty_silo_scenario():
    silos = [{"name": f"silo{index:02d}", "country": COUNTRIES[index % len(COUNTRIES)], "share": 1.0} for index in range(SILOS)]
    lifecycle_silos = [
        {"name": silo["name"], "data_gb": 200.0 + 40.0 * index, "monthly_growth": 0.01 * (index % 4),
         "samples_per_gb": 5e4, "storage": ("ssd", "hdd", "object")[index % 3],
         "site_kind": ("hyperscale", "industry_average")[index % 2]}
        for index, silo in enumerate(silos)
    ]
    raw = {
        "name": "bench50",
        "data": {"dataset": "digits", "partition": "iid"},
        "silos": silos,
        "central": {"country": "USA"},
        "lifecycle": {"lifetime_months": 60, "retrain_every_months": 3, "tuning_trials": 4,
                      "served_at": "silos", "central": {"retention_months": 24}, "silos": lifecycle_silos},
    }
    return validate_scenario(raw, "bench50")


def draws_and_intervals(plan, profile, factors) -> None:
    fl, cl = evaluate_draws(plan, profile, factors, DRAWS, seed=0)
    for stages in (fl, cl):
        for stage in STAGES:
            amount = getattr(stages, stage)
            for quantity in (amount.energy_kwh, amount.co2_kg, amount.cost_usd):
                interval(0.0, quantity)


NO_SEEDS = ("No --seeds: a benchmark of the lifecycle model's speed on fixed inputs (the default energy "
            "profile, no training); no measured quantity for a seed to vary, and its figures are seconds.")


def main(argv: list[str] | None = None) -> None:
    import argparse

    argparse.ArgumentParser(prog="python -m experiments.bench_lifecycle", description=__doc__.split("\n")[0],
                            epilog=NO_SEEDS).parse_args(argv)
    scenario = fifty_silo_scenario()
    profile, factors = default_profile(), load_factors()
    features = dataset_features_for_lifecycle(scenario)
    plan = build_plan(scenario, dataset_features=features)
    draws_and_intervals(plan, profile, factors)  # warm-up: imports and first-call costs
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        draws_and_intervals(plan, profile, factors)
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    evaluate_lifecycle(scenario, profile, factors, draws=DRAWS, dataset_features=features)
    full_s = time.perf_counter() - started
    median_s = statistics.median(timings)
    load_1min = os.getloadavg()[0]
    print(f"{DRAWS:,} uncertainty draws of a {SILOS}-silo scenario ({len(plan.training_months)} trainings over "
          f"{plan.lifetime_months} months): median {median_s:.3f} s, fastest {min(timings):.3f} s over {REPEATS} "
          f"repeats; goal < {GOAL_S:.0f} s: {'met' if median_s < GOAL_S else 'NOT met'} "
          f"(median / goal = {median_s / GOAL_S:.2f})")
    print(f"Full evaluate_lifecycle with break-even sweep and sensitivity ranking: {full_s:.2f} s")
    print(f"Machine: {os.cpu_count()} CPUs, 1-minute load average {load_1min:.2f} while measuring "
          "(other jobs share this machine, so the figures are upper bounds)")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    write_json_atomic(OUTPUT / "bench_lifecycle.json", {
        "silos": SILOS, "draws": DRAWS, "repeats": REPEATS, "timings_s": timings, "median_s": median_s,
        "goal_s": GOAL_S, "full_evaluate_s": full_s, "load_average_1min": load_1min, "cpus": os.cpu_count(),
    })
    print(f"Wrote {OUTPUT / 'bench_lifecycle.json'}")


if __name__ == "__main__":
    main()
