"""What a whole `silocarbon run` costs next to a plain PyTorch script doing the same training.

Every measurement is a fresh process timed from the outside, start to exit (imports, set-up, training,
result files, report, interpreter shut-down), run side by side in groups:

- `run`: `silocarbon run` on the embedded default scenario (3 silos x 10 rounds of FedAvg on the
  digits, the centralized twin, every probe on, report written), output to a file as in a script;
- `yardstick`: `experiments.plain_pytorch_yardstick`, the same data, the same FL training and CL
  training, the same sample updates and seeds, one torch thread, digits loaded as a plain script
  does (scikit-learn's `load_digits`); it reaches the same accuracies, which are checked;
- `yardstick_file`: the same yardstick reading the digits' CSV with NumPy as silocarbon does, so
  the table also shows the ratio without scikit-learn's import on the yardstick's side;
- `ray` (unless `--no-ray`): `silocarbon run --set runner=ray`, the same scenario on Flower's
  Simulation Engine;
- `run_probes_off` (with `--probes-off`): `silocarbon run --set probes.energy=false`, to show what
  starting the energy probe (CodeCarbon) costs the whole process.

The order inside each group rotates, so drift in the machine's load hits every kind alike. Ratios are
taken inside a group (run / yardstick, ray / run) and their median over groups is reported, with the
load average before every process. Goals: run / yardstick <= 1.0, ray / run >= 5.

Writes results/bench_startup/{processes.csv, groups.csv, summary.json}; the last line printed is the
median whole-process wall ratio run / yardstick.

    python -m experiments.bench_startup                  # 5 groups with ray (about 5 minutes on 2 cores)
    python -m experiments.bench_startup --no-ray --groups 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path("results") / "bench_startup"
RUN_GOAL = 1.0  # run / yardstick, whole process
RAY_GOAL = 5.0  # ray / inline run, whole process
# The default scenario's accuracies (seed 0); the yardstick must reach the same to count as the same work.
ACCURACY_TOLERANCE = 1e-3


def silocarbon_command() -> list[str]:
    """The console script a user runs, next to this interpreter (else `python -m simulator`)."""
    script = Path(sys.executable).with_name("silocarbon")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "simulator"]


def commands(runs_dir: Path) -> dict[str, list[str]]:
    run = [*silocarbon_command(), "run", "--runs-dir", str(runs_dir)]
    yardstick = [sys.executable, "-m", "experiments.plain_pytorch_yardstick"]
    return {
        "run": run,
        "yardstick": yardstick,
        "yardstick_file": [*yardstick, "--digits", "file"],
        "ray": [*run, "--set", "runner=ray"],
        "run_probes_off": [*run, "--set", "probes.energy=false"],
    }


def measure(kind: str, command: list[str], scratch: Path) -> dict:
    """One process, start to exit: wall time, CPU time (its own and its reaped children's), peak RSS."""
    load_1min = os.getloadavg()[0]
    output = scratch / f"{kind}.out"
    with output.open("w") as sink:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=dict(os.environ))
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    text = output.read_text()
    if process.returncode != 0:
        raise SystemExit(f"bench_startup: {kind} failed ({process.returncode}):\n{text[-2000:]}")
    return {
        "kind": kind,
        "wall_s": wall_s,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # Linux reports KiB
        "load_1min": load_1min,
        "output": text,
    }


def accuracies(measured: dict) -> tuple[float, float]:
    """(FL, CL) test accuracy from a yardstick's last line or a run's summary.json."""
    if measured["kind"].startswith("yardstick"):
        words = measured["output"].split()
        return float(words[words.index("FL") + 2]), float(words[words.index("CL") + 2])
    run_dir = next(line.split(":", 1)[1].strip() for line in measured["output"].splitlines()
                   if line.startswith("Run folder:"))
    summary = json.loads((Path(run_dir) / "summary.json").read_text())
    return summary["fl"]["accuracy"], summary["cl"]["accuracy"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="No --seeds: a benchmark of whole-process speed. Every process of a kind does identical work "
               "(the default scenario, seed 0, and the yardstick reaching the same accuracies, which is checked), "
               "so the spread over groups is the machine's; the median over groups is printed.")
    parser.add_argument("--groups", type=int, default=5, help="side-by-side groups (>= 5 for the reported median)")
    parser.add_argument("--no-ray", action="store_true", help="leave out the ray runner (its runs take ~30 s each)")
    parser.add_argument("--probes-off", action="store_true", help="add runs without the energy probe")
    args = parser.parse_args(argv)
    if args.groups < 1:
        parser.error("--groups must be >= 1")
    kinds = ["run", "yardstick", "yardstick_file"] + ([] if args.no_ray else ["ray"])
    kinds += ["run_probes_off"] if args.probes_off else []

    RESULTS.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          f"({os.cpu_count()} CPUs); {args.groups} groups of {', '.join(kinds)}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as scratch_name:
        scratch = Path(scratch_name)
        runs_dir = scratch / "runs"
        by_kind = commands(runs_dir)
        for group in range(1, args.groups + 1):
            shift = (group - 1) % len(kinds)
            for kind in kinds[shift:] + kinds[:shift]:
                measured = measure(kind, by_kind[kind], scratch)
                measured["fl_accuracy"], measured["cl_accuracy"] = accuracies(measured)
                rows.append({"group": group, **measured})
                print(f"  group {group}: {kind:14s} wall {measured['wall_s']:6.2f} s  cpu {measured['cpu_s']:6.2f} s  "
                      f"peak RSS {measured['peak_rss_mb']:5.0f} MB  load {measured['load_1min']:.2f}", flush=True)
            shutil.rmtree(runs_dir, ignore_errors=True)  # keep the scratch folder small

    groups = []
    for group in range(1, args.groups + 1):
        wall = {row["kind"]: row["wall_s"] for row in rows if row["group"] == group}
        groups.append({
            "group": group,
            **{f"{kind}_wall_s": wall[kind] for kind in kinds},
            "run_over_yardstick": wall["run"] / wall["yardstick"],
            "run_over_yardstick_file": wall["run"] / wall["yardstick_file"],
            **({"ray_over_run": wall["ray"] / wall["run"]} if "ray" in wall else {}),
            **({"probes_on_minus_off_s": wall["run"] - wall["run_probes_off"]} if "run_probes_off" in wall else {}),
        })
    reference = next(row for row in rows if row["kind"] == "run")
    same_work = all(
        abs(row["fl_accuracy"] - reference["fl_accuracy"]) <= ACCURACY_TOLERANCE
        and abs(row["cl_accuracy"] - reference["cl_accuracy"]) <= ACCURACY_TOLERANCE
        for row in rows
    )
    load_after = os.getloadavg()

    def median_of(key: str, kind_rows: str | None = None) -> float:
        if kind_rows is not None:
            return statistics.median(row[key] for row in rows if row["kind"] == kind_rows)
        return statistics.median(group[key] for group in groups)

    summary = {
        "units": "s (wall and CPU of the whole process), MB (peak RSS), ratios dimensionless",
        "groups": args.groups,
        "cpus": os.cpu_count(),
        "load_average_before": list(load_before),
        "load_average_after": list(load_after),
        "load_1min_median_at_process_start": statistics.median(row["load_1min"] for row in rows),
        "same_accuracies": same_work,
        "median_wall_s": {kind: median_of("wall_s", kind) for kind in kinds},
        "median_cpu_s": {kind: median_of("cpu_s", kind) for kind in kinds},
        "median_peak_rss_mb": {kind: median_of("peak_rss_mb", kind) for kind in kinds},
        "median_run_over_yardstick": median_of("run_over_yardstick"),
        "median_run_over_yardstick_file": median_of("run_over_yardstick_file"),
        "run_goal": RUN_GOAL,
        **({"median_ray_over_run": median_of("ray_over_run"), "ray_goal": RAY_GOAL} if "ray" in kinds else {}),
        **({"median_probes_on_minus_off_s": median_of("probes_on_minus_off_s")} if args.probes_off else {}),
    }
    with (RESULTS / "processes.csv").open("w") as file:
        columns = ["group", "kind", "wall_s", "cpu_s", "peak_rss_mb", "load_1min", "fl_accuracy", "cl_accuracy"]
        file.write(",".join(columns) + "\n")
        for row in rows:
            file.write(",".join(str(row[column]) for column in columns) + "\n")
    with (RESULTS / "groups.csv").open("w") as file:
        file.write(",".join(groups[0]) + "\n")
        for group in groups:
            file.write(",".join(f"{value:.4f}" if isinstance(value, float) else str(value) for value in group.values()) + "\n")
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    print(f"\nmedians over {args.groups} groups (whole process, wall / CPU s):")
    for kind in kinds:
        print(f"  {kind:14s} {summary['median_wall_s'][kind]:6.2f} / {summary['median_cpu_s'][kind]:6.2f}  "
              f"peak RSS {summary['median_peak_rss_mb'][kind]:.0f} MB")
    print(f"same FL and CL accuracies in every process: {same_work}")
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
          f"median 1-min load at process starts {summary['load_1min_median_at_process_start']:.2f}")
    print(f"median run / yardstick reading the file with NumPy: {summary['median_run_over_yardstick_file']:.3f}")
    if args.probes_off:
        print(f"median wall the energy probe adds to the run (on - off): {summary['median_probes_on_minus_off_s']:.2f} s")
    if "ray" in kinds:
        print(f"median wall ratio ray / inline run: {summary['median_ray_over_run']:.2f} (goal >= {RAY_GOAL:g})")
    print(f"Results in {RESULTS}/ (processes.csv, groups.csv, summary.json)")
    print(f"median whole-process wall ratio run / yardstick: {summary['median_run_over_yardstick']:.3f} "
          f"(goal <= {RUN_GOAL:g})")


if __name__ == "__main__":
    main()
