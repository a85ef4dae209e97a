"""Memory and time of `silocarbon run` as the silo count grows (inline runner, synthetic data).

For each silo count (default 8, 16, 32, 64) a scenario file is written: the embedded default
scenario (MLP, FedAvg, 10 rounds, the centralized twin, every probe on) with that many silos cycling
through the default's three countries, equal shares of a seeded synthetic dataset of 250 samples per
silo (20 features, 2 classes), so every silo does the same work whatever the count. Each count runs
as `silocarbon run` in a fresh process, timed from the outside; its peak resident memory comes from
the kernel (`wait4`'s ru_maxrss: the process's high-water mark).

Goal: the 64-silo run completes with peak RSS < 4 GB on a 2-core, 24 GB machine.

Writes results/bench_many_silos/{runs.csv, summary.json}; the last line printed is the largest
count's peak RSS and wall time.

    python -m experiments.bench_many_silos                  # 8, 16, 32, 64 silos (about 3 minutes)
    python -m experiments.bench_many_silos --silos 64
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from experiments.bench_startup import measure, silocarbon_command

RESULTS = Path("results") / "bench_many_silos"
SAMPLES_PER_SILO = 250
COUNTRIES = ("FRA", "DEU", "USA")  # the default scenario's silos, cycled
RSS_GOAL_MB = 4096


def scenario_toml(count: int) -> str:
    silos = "".join(
        f'\n[[silos]]\nname = "silo-{index + 1}"\ncountry = "{COUNTRIES[index % len(COUNTRIES)]}"\n'
        f"share = {1.0 / count!r}\n"
        for index in range(count)
    )
    return (
        f'name = "many-silos-{count}"\nseed = 0\nrunner = "inline"\n\n'
        f'[data]\ndataset = "synthetic"\npartition = "iid"\nsynthetic_samples = {SAMPLES_PER_SILO * count}\n'
        "synthetic_features = 20\nsynthetic_classes = 2\ntest_fraction = 0.2\n\n"
        '[model]\nname = "mlp"\n\n[training]\nrounds = 10\n\n[strategy]\nname = "fedavg"\n'
        f'{silos}\n[central]\ncountry = "USA"\npue = 1.1\n\n[probes]\nhost_country = "USA"\n'
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="No --seeds: a benchmark of memory and time as the silo count grows. Each count is one run "
               "(seed 0) whose peak resident memory is the goal's measure; memory does not depend on the seed.")
    parser.add_argument("--silos", type=int, nargs="+", default=[8, 16, 32, 64], help="silo counts to run")
    args = parser.parse_args(argv)
    if any(count < 1 for count in args.silos):
        parser.error("--silos takes counts >= 1")

    RESULTS.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-many-silos-") as scratch_name:
        scratch = Path(scratch_name)
        for count in args.silos:
            scenario = scratch / f"many-silos-{count}.toml"
            scenario.write_text(scenario_toml(count))
            measured = measure(f"{count}-silos", [*silocarbon_command(), "run", str(scenario), "--runs-dir",
                                                  str(scratch / "runs"), "--quiet"], scratch)
            summary = json.loads((Path(measured["output"].strip().splitlines()[-1]) / "summary.json").read_text())
            row = {
                "silos": count,
                "wall_s": round(measured["wall_s"], 2),
                "cpu_s": round(measured["cpu_s"], 2),
                "peak_rss_mb": round(measured["peak_rss_mb"], 1),
                "load_1min": round(measured["load_1min"], 2),
                "fl_wall_s": round(summary["fl"]["wall_s"], 2),
                "fl_accuracy": round(summary["fl"]["accuracy"], 4),
            }
            rows.append(row)
            print(f"  {count:3d} silos: wall {row['wall_s']:6.1f} s  cpu {row['cpu_s']:6.1f} s  "
                  f"peak RSS {row['peak_rss_mb']:7.1f} MB  (FL {row['fl_wall_s']:.1f} s, accuracy "
                  f"{row['fl_accuracy']:.3f}; load {row['load_1min']:.2f})", flush=True)
    with (RESULTS / "runs.csv").open("w") as file:
        file.write(",".join(rows[0]) + "\n")
        for row in rows:
            file.write(",".join(str(value) for value in row.values()) + "\n")
    largest = max(rows, key=lambda row: row["silos"])
    summary = {"units": "s, MB (peak RSS, MiB)", "cpus": os.cpu_count(), "rss_goal_mb": RSS_GOAL_MB,
               "runs": rows, "load_average_after": list(os.getloadavg())}
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"Results in {RESULTS}/ (runs.csv, summary.json)")
    print(f"{largest['silos']} silos: peak RSS {largest['peak_rss_mb']:.0f} MB (goal < {RSS_GOAL_MB} MB), "
          f"wall {largest['wall_s']:.1f} s, CPU {largest['cpu_s']:.1f} s")


if __name__ == "__main__":
    main()
