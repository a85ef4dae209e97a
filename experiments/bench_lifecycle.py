"""How long the lifecycle model takes for one scenario, and what vectorising its sweeps gained.

    python -m experiments.bench_lifecycle [--repeats N]

For the embedded default scenario (3 silos) and a 50-silo scenario (20 trainings over 60 months),
times, side by side in this one run:
- the whole `evaluate_lifecycle` (10,000 Monte Carlo draws, break-even sweeps, sensitivity ranking,
  decision sensitivity): median of the repeats, against the goal of <= 0.2 s per scenario;
- the break-even sweeps and the sensitivity ranking as the model evaluates them now (every point of a
  sweep in one pass over arrays) and point by point (one plan and one evaluation per swept point and
  per factor bound, as before the sweeps were vectorised), checking that both give the same numbers;
- the Monte Carlo part alone (draws, stages over the draws, intervals).
The last line says whether the goal is met, in wall time and in this process's CPU time (on a shared
host other jobs stretch the wall time; the CPU time is the work itself). Writes
results/bench_lifecycle/bench_lifecycle.json.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from pathlib import Path

import simulator  # noqa: F401  (telemetry off before anything else loads)
from simulator.data.registry import dataset_features_for_lifecycle
from simulator.scenario.load import load_scenario, validate_scenario
from simulator.lifecycle import build_plan, default_profile, evaluate_lifecycle, load_factors
from simulator.lifecycle import factors as factor_values
from simulator.lifecycle.factors import FACTOR_NAMES, with_value
from simulator.lifecycle.model import (
    VOLUME_SWEEP,
    _crossing,
    break_even_points,
    central_totals,
    evaluate_draws,
    interval,
    lifetime_sweep,
    sensitivity_ranking,
)
from simulator.lifecycle.stages import STAGES, unused_factors
from simulator.results.atomic import write_json_atomic

SILOS = 50
DRAWS = 10_000
REPEATS = 5
GOAL_S = 0.2  # one scenario's whole lifecycle evaluation
COUNTRIES = ("FRA", "DEU", "USA", "GBR", "SWE", "POL", "IND", "JPN", "CAN", "NLD")
OUTPUT = Path("results") / "bench_lifecycle"
RELATIVE_TOLERANCE = 1e-9  # vectorised and point-by-point sweeps differ only by the rounding of a product


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


# --- The sweeps point by point (the way they were computed before vectorising) ------------------------


def point_by_point_break_even(scenario, profile, factors, features=None):
    """One plan and one central evaluation per swept point, then the same crossing rule."""
    values = factor_values.central(factors)
    base_plan = build_plan(scenario, dataset_features=features)
    base_gb = sum(silo.volumes_gb[0] for silo in base_plan.silos)
    results = []
    if base_gb > 0:
        points = [(scale * base_gb, central_totals(build_plan(scenario, volume_scale=scale, dataset_features=features),
                                                   profile, values))
                  for scale in VOLUME_SWEEP]
        for quantity in ("co2_kg", "cost_usd"):
            results.append(_crossing(quantity, "data_gb", "GB of initial data, all silos", *_differences(points, quantity),
                                     log_scale=True))
    points = [(float(months), central_totals(build_plan(scenario, lifetime_months=months, dataset_features=features),
                                             profile, values))
              for months in lifetime_sweep(scenario.lifecycle.lifetime_months)]
    for quantity in ("co2_kg", "cost_usd"):
        results.append(_crossing(quantity, "lifetime_months", "months", *_differences(points, quantity), log_scale=False))
    return tuple(results)


def _differences(points, quantity):
    return [x for x, _ in points], [float(getattr(cl, quantity)) - float(getattr(fl, quantity)) for _, (fl, cl) in points]


def point_by_point_sensitivity(plan, profile, factors):
    """Two central evaluations per factor (its low and its high bound): the swings, unsorted."""
    centrals = factor_values.central(factors)
    swings = {}
    for name in FACTOR_NAMES:
        factor = getattr(factors, name)
        if factor.low == factor.high or name in unused_factors(plan):
            continue
        fl_low, cl_low = central_totals(plan, profile, with_value(centrals, name, factor.low))
        fl_high, cl_high = central_totals(plan, profile, with_value(centrals, name, factor.high))
        swings[name] = (abs(float(fl_high.co2_kg) - float(fl_low.co2_kg)), abs(float(cl_high.co2_kg) - float(cl_low.co2_kg)),
                        abs(float(fl_high.cost_usd) - float(fl_low.cost_usd)), abs(float(cl_high.cost_usd) - float(cl_low.cost_usd)))
    return swings


def same_results(vectorised_break_even, reference_break_even, vectorised_sensitivity, reference_sensitivity) -> bool:
    def close(a, b) -> bool:
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-12)

    for new, old in zip(vectorised_break_even, reference_break_even, strict=True):
        if (new.quantity, new.variable, new.cheaper_below) != (old.quantity, old.variable, old.cheaper_below):
            return False
        if not close(new.value, old.value):
            return False
    if {entry.factor for entry in vectorised_sensitivity} != set(reference_sensitivity):
        return False
    return all(
        all(close(a, b) for a, b in zip(
            (entry.fl_co2_swing_kg, entry.cl_co2_swing_kg, entry.fl_cost_swing_usd, entry.cl_cost_swing_usd),
            reference_sensitivity[entry.factor],
        ))
        for entry in vectorised_sensitivity
    )


# --- Timing ------------------------------------------------------------------------------------------------


def median_time(function, repeats: int, cpu: list | None = None) -> tuple[float, object]:
    """Median wall seconds of `repeats` calls after a warm-up (first-call costs: the dataset read for
    samples per GB, imports); the median CPU seconds of this process go into `cpu` when given."""
    result = function()
    timings, cpu_timings = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = function()
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - started_cpu)
    if cpu is not None:
        cpu.append(statistics.median(cpu_timings))
    return statistics.median(timings), result


def draws_and_intervals(plan, profile, factors) -> None:
    fl, cl = evaluate_draws(plan, profile, factors, DRAWS, seed=0)
    for stages in (fl, cl):
        for stage in STAGES:
            amount = getattr(stages, stage)
            for quantity in (amount.energy_kwh, amount.co2_kg, amount.cost_usd):
                interval(0.0, quantity)


def bench_scenario(label: str, scenario, profile, factors, repeats: int) -> dict:
    features = dataset_features_for_lifecycle(scenario)  # read once, as a run has it from its data
    plan = build_plan(scenario, dataset_features=features)
    full_cpu: list[float] = []
    full_s, _ = median_time(
        lambda: evaluate_lifecycle(scenario, profile, factors, draws=DRAWS, dataset_features=features), repeats, full_cpu
    )
    sweeps_s, vectorised = median_time(
        lambda: (break_even_points(scenario, profile, factors, features, plan), sensitivity_ranking(plan, profile, factors)),
        repeats,
    )
    reference_s, reference = median_time(
        lambda: (point_by_point_break_even(scenario, profile, factors, features),
                 point_by_point_sensitivity(plan, profile, factors)),
        repeats,
    )
    draws_s, _ = median_time(lambda: draws_and_intervals(plan, profile, factors), repeats)
    equal = same_results(vectorised[0], reference[0], vectorised[1], reference[1])
    print(f"{label}: whole evaluate_lifecycle median {full_s:.3f} s wall, {full_cpu[0]:.3f} s CPU (goal <= {GOAL_S} s: "
          f"{'met' if full_s <= GOAL_S else 'NOT met'} in wall time); break-even sweeps + sensitivity {sweeps_s:.3f} s vectorised vs "
          f"{reference_s:.3f} s point by point (ratio {reference_s / sweeps_s:.1f}x, same results: {'yes' if equal else 'NO'}); "
          f"{DRAWS:,} draws with intervals {draws_s:.3f} s")
    return {"scenario": label, "silos": len(scenario.silos), "trainings": len(plan.training_months),
            "full_evaluate_s": full_s, "full_evaluate_cpu_s": full_cpu[0], "sweeps_vectorised_s": sweeps_s, "sweeps_point_by_point_s": reference_s,
            "same_results": equal, "draws_and_intervals_s": draws_s, "goal_met": full_s <= GOAL_S}


NO_SEEDS = ("No --seeds: a benchmark of the lifecycle model's speed on fixed inputs (the default energy "
            "profile, no training); no measured quantity for a seed to vary, and its figures are seconds.")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m experiments.bench_lifecycle", description=__doc__.split("\n")[0],
                                     epilog=NO_SEEDS)
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed repeats per measurement (median)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    profile, factors = default_profile(), load_factors()
    load_before = os.getloadavg()[0]
    rows = [
        bench_scenario("default scenario (3 silos)", load_scenario(None, []), profile, factors, args.repeats),
        bench_scenario(f"{SILOS}-silo scenario", fifty_silo_scenario(), profile, factors, args.repeats),
    ]
    load_after = os.getloadavg()[0]
    print(f"Machine: {os.cpu_count()} CPUs, 1-minute load average {load_before:.2f} before and {load_after:.2f} after "
          "(other jobs share this machine: the times are upper bounds)")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    write_json_atomic(OUTPUT / "bench_lifecycle.json", {
        "draws": DRAWS, "repeats": args.repeats, "goal_s": GOAL_S, "scenarios": rows,
        "load_average_1min": [load_before, load_after], "cpus": os.cpu_count(),
    })
    print(f"Wrote {OUTPUT / 'bench_lifecycle.json'}")
    verdicts = "; ".join(
        f"{row['scenario']} {row['full_evaluate_s']:.3f} s wall ({'met' if row['full_evaluate_s'] <= GOAL_S else 'NOT met'}), "
        f"{row['full_evaluate_cpu_s']:.3f} s CPU ({'met' if row['full_evaluate_cpu_s'] <= GOAL_S else 'NOT met'})"
        for row in rows
    )
    print(f"Lifecycle evaluation of one scenario, goal <= {GOAL_S} s (medians; CPU time is this process's own work, "
          f"which other jobs do not inflate): {verdicts}")
    return rows


if __name__ == "__main__":
    main()
