"""How much the energy probes distort what they measure.

Two figures, each from runs side by side in fresh processes (`python -m simulator run`), alternating
probes on (`[probes] energy = true`: CodeCarbon + NVML windows, idle baseline) and off
(`[probes] energy = false`: no tracker is started at all):

1. Training-dominated scenario (the synthetic dataset sized so that training takes >= 20 s on a
   2-core machine at --scale 1): the median over pairs of the wall-time ratio on/off of
   `run_scenario`'s end-to-end time (`summary.json` timing_s.total). Goal: <= 1.03.
2. Fixed start-up cost on the default scenario: median over pairs of (on - off) end-to-end time,
   next to what the probe itself reports it cost the caller (blocking start-up wait, time inside
   begin/end). CodeCarbon's first start (about 1.2 s) overlaps with set-up. Goal: <= 0.3 s.

Writes results/bench_overhead/{pairs.csv, startup_pairs.csv, summary.json}; the last line printed is
the median on/off wall-time ratio of the training-dominated pairs. Timings are only meaningful on a
quiet machine: other load in either run of a pair shows up in the ratio.

    python -m experiments.bench_overhead                 # the full benchmark (about 10 minutes)
    python -m experiments.bench_overhead --scale 0.05 --pairs 1 --startup-pairs 1   # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from simulator.records.run import RunSummary

RESULTS = Path("results") / "bench_overhead"
# Sized (at --scale 1) so that FL + CL training takes more than 20 s on a 2-core machine (about 25 s
# measured here with one torch thread per process): 3 silos,
# an MLP over 64 synthetic features, every sample seen 2 x 5 times in FL and again in CL.
TRAINING_SAMPLES = 260_000
TRAINING_OVERRIDES = (
    "name=bench-overhead",
    "data.dataset=synthetic",
    "data.synthetic_features=64",
    "data.synthetic_classes=4",
    "model.name=mlp",
    "training.rounds=5",
    "training.local_epochs=2",
    "training.batch_size=64",
)
MINIMUM_TRAINING_S = 20.0


def run_once(overrides: list[str], probes_on: bool, runs_dir: Path) -> dict:
    """One `silocarbon run` in a fresh process; its summary's timings and the process's own wall time."""
    arguments = [sys.executable, "-m", "simulator", "run", "--quiet", "--runs-dir", str(runs_dir)]
    for override in [*overrides, f"probes.energy={'true' if probes_on else 'false'}"]:
        arguments += ["--set", override]
    started = time.perf_counter()
    completed = subprocess.run(arguments, capture_output=True, text=True, env=dict(os.environ))
    process_s = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"bench_overhead: run failed ({completed.returncode}): {completed.stderr.strip()}")
    run_dir = Path(completed.stdout.strip().splitlines()[-1])
    summary = RunSummary.model_validate_json((run_dir / "summary.json").read_text())
    timing = summary.timing_s
    return {
        "probes": "on" if probes_on else "off",
        "end_to_end_s": timing.total,
        "process_s": process_s,
        "training_s": timing.fl_silo_train + timing.cl_total,
        "probe_startup_s": timing.probe_startup,
        "probe_startup_blocking_s": timing.probe_startup_blocking,
        "probe_windows_s": timing.probe_windows,
        "fl_energy_kwh": summary.fl.energy_kwh,
    }


def alternate_pairs(overrides: list[str], pairs: int, runs_dir: Path, label: str) -> pd.DataFrame:
    """`pairs` on/off pairs, the order flipped every pair so drift in machine load hits both sides."""
    rows = []
    for pair in range(1, pairs + 1):
        order = (True, False) if pair % 2 else (False, True)
        for probes_on in order:
            row = {"pair": pair, **run_once(overrides, probes_on, runs_dir)}
            rows.append(row)
            print(f"  {label} pair {pair}: probes {row['probes']:3s} end-to-end {row['end_to_end_s']:.3f} s",
                  flush=True)
    return pd.DataFrame(rows)


def paired(frame: pd.DataFrame) -> pd.DataFrame:
    on = frame[frame["probes"] == "on"].set_index("pair")
    off = frame[frame["probes"] == "off"].set_index("pair")
    return pd.DataFrame(
        {
            "on_s": on["end_to_end_s"],
            "off_s": off["end_to_end_s"],
            "ratio_on_off": on["end_to_end_s"] / off["end_to_end_s"],
            "added_s": on["end_to_end_s"] - off["end_to_end_s"],
        }
    ).reset_index()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="No --seeds: a benchmark of the probes' cost. Both runs of a pair do identical work (one "
               "scenario, one seed), so their ratio is the probes' alone; its spread over pairs is printed.")
    parser.add_argument("--pairs", type=int, default=5, help="training-dominated on/off pairs (>= 1; 5 by default)")
    parser.add_argument("--startup-pairs", type=int, default=5, help="default-scenario on/off pairs")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the training-dominated dataset size (1 = >= 20 s of training)")
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.startup_pairs < 1 or not 0 < args.scale <= 10:
        parser.error("--pairs and --startup-pairs must be >= 1 and --scale in (0, 10]")

    RESULTS.mkdir(parents=True, exist_ok=True)
    samples = max(200, int(TRAINING_SAMPLES * args.scale))
    training = [*TRAINING_OVERRIDES, f"data.synthetic_samples={samples}"]
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as scratch:
        runs_dir = Path(scratch)
        print(f"Start-up cost on the default scenario: {args.startup_pairs} on/off pairs", flush=True)
        startup = alternate_pairs(["name=bench-startup"], args.startup_pairs, runs_dir, "default")
        print(f"Training-dominated scenario ({samples} synthetic samples): {args.pairs} on/off pairs", flush=True)
        training_runs = alternate_pairs(training, args.pairs, runs_dir, "training")

    startup.to_csv(RESULTS / "startup_pairs.csv", index=False)
    training_runs.to_csv(RESULTS / "pairs.csv", index=False)
    startup_pairs, training_pairs = paired(startup), paired(training_runs)
    on_startup = startup[startup["probes"] == "on"]
    result = {
        "units": "s, except ratio (on/off, dimensionless)",
        "machine_note": "2-core host shared with other work unless stated otherwise; both runs of a pair alternate",
        "scale": args.scale,
        "synthetic_samples": samples,
        "training_pairs": len(training_pairs),
        "median_training_s": float(training_runs["training_s"].median()),
        "training_at_least_20_s": bool(training_runs["training_s"].median() >= MINIMUM_TRAINING_S),
        "median_ratio_on_off": float(training_pairs["ratio_on_off"].median()),
        "ratio_goal": 1.03,
        "startup_pairs": len(startup_pairs),
        "median_startup_added_s": float(startup_pairs["added_s"].median()),
        "startup_goal_s": 0.3,
        "median_probe_startup_s": float(on_startup["probe_startup_s"].median()),
        "median_probe_startup_blocking_s": float(on_startup["probe_startup_blocking_s"].median()),
        "median_probe_windows_s": float(on_startup["probe_windows_s"].median()),
    }
    (RESULTS / "summary.json").write_text(json.dumps(result, indent=2) + "\n")

    print(f"\nDefault scenario, {len(startup_pairs)} pairs (fresh processes, end-to-end run_scenario time):")
    print(startup_pairs.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"probes' start-up added to the default run: median {result['median_startup_added_s']:+.3f} s "
          f"(goal <= 0.3 s); the probe reports CodeCarbon start {result['median_probe_startup_s']:.3f} s "
          f"overlapped, of which {result['median_probe_startup_blocking_s']:.3f} s blocking, "
          f"{result['median_probe_windows_s']:.3f} s inside its windows' begin/end")
    print(f"\nTraining-dominated scenario, {len(training_pairs)} pairs "
          f"(median training {result['median_training_s']:.1f} s; >= 20 s needs --scale 1):")
    print(training_pairs.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"Results in {RESULTS}/ (pairs.csv, startup_pairs.csv, summary.json)")
    print(f"median wall-time ratio (probes on / off): {result['median_ratio_on_off']:.4f}")


if __name__ == "__main__":
    main()
