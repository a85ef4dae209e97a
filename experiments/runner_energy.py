"""Per-silo energy of the same scenario on the `inline` runner (silos one after another, each in its
own window) and the `ray` runner (silos concurrent, the host's energy apportioned by CPU time),
side by side, once per seed. The two need not agree: inline windows hold one silo's work on an
otherwise quiet process, while ray's exchange windows include Ray's own workers and the server's
waiting.

    python -m experiments.runner_energy [SCENARIO] [--set k=v ...] [--seeds 0..4]   # default: the embedded default

Each seed runs inline then ray (alternating, so the host's changing load falls on both alike; Ray's
start and stop cost several seconds per run: five seeds take about two minutes). Writes
results/runner_energy/per_silo.csv: per silo and runner, energy (kWh), CPU and wall seconds as the
mean with its Student t 95 % interval over the seeds, and the per-seed values in per_seed.csv.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

import simulator  # noqa: F401  (telemetry off before Flower or Ray load)
from experiments.seeds import DEFAULT_SEEDS, add_seeds_argument
from simulator.scenario.load import load_scenario
from simulator.intervals import mean_interval
from simulator.pipeline import run_scenario

RESULTS = Path("results") / "runner_energy"


def per_silo(result) -> pd.DataFrame:
    rows = [row for row in result.ledger.rows if row.approach == "fl"]
    frame = pd.DataFrame([vars(row) for row in rows])
    return frame.groupby("silo").agg(
        energy_kwh=("energy_kwh", "sum"), cpu_s=("cpu_s", "sum"), wall_s=("wall_s", "sum"),
        methods=("energy_method", lambda m: ",".join(sorted(set(m)))),
    )


def summarize(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per silo and runner: each quantity's mean with its Student t 95 % interval over the seeds."""
    rows = []
    for (silo, runner), part in per_seed.groupby(["silo", "runner"], sort=True):
        row = {"silo": silo, "runner": runner, "seeds": len(part)}
        for column in ("energy_kwh", "cpu_s", "wall_s"):
            interval = mean_interval(list(part[column]), floor=0.0)
            row[column], row[f"{column} 95% low"], row[f"{column} 95% high"] = interval.centre, interval.low, interval.high
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    add_seeds_argument(parser, DEFAULT_SEEDS)
    args = parser.parse_args(argv)
    logging.getLogger("flwr").setLevel(logging.WARNING)  # Flower logs every round at INFO
    RESULTS.mkdir(parents=True, exist_ok=True)
    frames = []
    for seed in args.seeds:
        for runner in ("inline", "ray"):
            scenario = load_scenario(args.scenario, [*args.overrides, f"runner={runner}", f"seed={seed}"])
            frame = per_silo(run_scenario(scenario, RESULTS / "runs")).reset_index()
            frames.append(frame.assign(runner=runner, seed=seed))
    per_seed = pd.concat(frames, ignore_index=True)
    per_seed.to_csv(RESULTS / "per_seed.csv", index=False)
    table = summarize(per_seed)
    table.to_csv(RESULTS / "per_silo.csv", index=False)
    print(f"FL energy per silo (kWh), CPU s and wall s, inline vs ray, mean and 95 % interval over seeds "
          f"{', '.join(map(str, args.seeds))} (server: aggregation + waiting):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"Wrote {RESULTS / 'per_silo.csv'} and {RESULTS / 'per_seed.csv'}")


if __name__ == "__main__":
    main()
