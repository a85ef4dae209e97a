"""How much a busy host moves the measured energy per sample update: attributed vs whole-host figure.

Runs the default job (`python -m simulator run`, the embedded default scenario) K times in fresh
processes, every second run beside a CPU-heavy background process that this benchmark starts itself
(one thread per CPU core, each busy in NumPy; bounded by its own deadline and ended by PID as soon as
the run ends, also on Ctrl-C or an error). Each run's ledger gives the FL and the CL energy per
sample update (as the lifecycle profile counts it: FL silo rows over the FL sample updates, central
rows over the CL sample updates) twice:

- attributed (`energy_kwh`): the run's own process, CodeCarbon's process-mode model (see
  simulator/probes/attribution.py); what CO2, profiles and claims use;
- host (`host_energy_kwh`): the whole machine over the same windows, CodeCarbon's machine mode.

The run is a sibling of the background process, never its parent: CodeCarbon's process mode counts
a process's children, and the background load must not be the run's own work.

Prints each run, then the coefficient of variation (sample standard deviation / mean) of each
figure over the K runs (all of them, the quiet ones, the busy ones), with the FL / CL ratio, the
attributed figure's CPU and RAM parts and the process's CPU and wall seconds; the last line is the
larger of the attributed figure's two CVs (goal <= 0.10). Writes results/bench_noise/{runs,cv}.{csv,md} and
summary.json.

    python -m experiments.bench_noise              # 8 runs, alternating quiet / busy (3 to 12 minutes)
    python -m experiments.bench_noise --runs 12
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from experiments.output import ExperimentOutput
from simulator.ledger import Ledger
from simulator.lifecycle.profile import kwh_per_sample_update, profile_from_ledger

GOAL_CV = 0.10
MINIMUM_RUNS = 8
# Upper bound on one background process's life, s: it ends itself even if this benchmark is killed
# with SIGKILL and cannot end it.
BACKGROUND_LIMIT_S = 300.0
# Seconds the background load runs before the job starts, so the job starts on a loaded host.
BACKGROUND_LEAD_S = 0.5

# One thread per core, each applying NumPy ufuncs to a 1M-element array: the loops release the GIL,
# so the threads keep every core busy. It stops at its deadline (argv[1] seconds) at the latest.
BACKGROUND_SOURCE = """
import sys, threading, time
import numpy as np
deadline = time.monotonic() + float(sys.argv[1])
def burn():
    x = np.random.default_rng(0).random(1_000_000)
    out = np.empty_like(x)
    while time.monotonic() < deadline:
        np.exp(x, out=out)
        np.sqrt(out, out=out)
threads = [threading.Thread(target=burn, daemon=True) for _ in range(int(sys.argv[2]))]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""


@contextmanager
def background_load(threads: int, limit_s: float = BACKGROUND_LIMIT_S) -> Iterator[subprocess.Popen]:
    """A CPU-heavy process for the duration of the block: started here, ended here by its PID."""
    process = subprocess.Popen(
        [sys.executable, "-c", BACKGROUND_SOURCE, str(limit_s), str(threads)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(BACKGROUND_LEAD_S)
        yield process
    finally:
        end_process(process)


def end_process(process: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Terminate a process we started, by its PID, and wait for it; kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_job(runs_dir: Path, index: int) -> Path:
    """One run of the default scenario in a fresh process; its run folder."""
    arguments = [sys.executable, "-m", "simulator", "run", "--quiet", "--runs-dir", str(runs_dir),
                 "--set", f"name=bench-noise-{index}"]
    env = dict(os.environ, CODECARBON_LOG_LEVEL="error")
    job = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        stdout, stderr = job.communicate()
    finally:
        end_process(job)  # on Ctrl-C or an error here: the job does not outlive the benchmark
    if job.returncode != 0:
        raise SystemExit(f"bench_noise: run {index} failed ({job.returncode}): {stderr.strip()[-2000:]}")
    return Path(stdout.strip().splitlines()[-1])


def measure(run_dir: Path) -> dict:
    """The run's FL and CL energy per sample update, attributed and host, with the attributed parts."""
    ledger = Ledger.from_csv(run_dir / "ledger.csv")
    fl, cl = kwh_per_sample_update(ledger, run_dir.name)
    fl_host, cl_host = kwh_per_sample_update(ledger, run_dir.name, figure="host")
    profile = profile_from_ledger(ledger, run_dir.name)
    summary = json.loads((run_dir / "summary.json").read_text())
    fl_updates, cl_updates = summary["fl"]["sample_updates"], summary["cl"]["sample_updates"]

    def part(approach: str, column: str) -> float:
        rows = [r for r in ledger.select(approach=approach) if r.silo != "server"]
        updates = sum(r.sample_updates for r in rows if r.phase == "train" and r.status == "ok")
        return sum(getattr(r, column) or 0.0 for r in rows) / updates

    return {
        "fl_kwh_per_update": fl,
        "cl_kwh_per_update": cl,
        # What claim (a) of paper_findings decides on: FL's energy per sample update over CL's.
        "fl_over_cl": fl / cl,
        "host_fl_over_cl": fl_host / cl_host,
        # What the cost half of claim (a) follows: the profile's FL wall time per sample update over CL's.
        "wall_fl_over_cl": profile.fl_wall_s_per_sample_update / profile.cl_wall_s_per_sample_update,
        "fl_host_kwh_per_update": fl_host,
        "cl_host_kwh_per_update": cl_host,
        "fl_cpu_kwh_per_update": part("fl", "energy_cpu_kwh"),
        "fl_ram_kwh_per_update": part("fl", "energy_ram_kwh"),
        "cl_cpu_kwh_per_update": part("cl", "energy_cpu_kwh"),
        "cl_ram_kwh_per_update": part("cl", "energy_ram_kwh"),
        "fl_cpu_s_per_update": part("fl", "cpu_s"),
        "cl_cpu_s_per_update": part("cl", "cpu_s"),
        "fl_wall_s_per_update": part("fl", "wall_s"),
        "cl_wall_s_per_update": part("cl", "wall_s"),
        "fl_accuracy": summary["fl"]["accuracy"],
        # The lifecycle profile's other figures, and the FL and CL figures pooled (the default
        # energy profile's form, configs/energy_profile_default.toml).
        "pooled_kwh_per_update": (fl * fl_updates + cl * cl_updates) / (fl_updates + cl_updates),
        "pooled_wall_s_per_update": (profile.fl_wall_s_per_sample_update * fl_updates
                                     + profile.cl_wall_s_per_sample_update * cl_updates) / (fl_updates + cl_updates),
        "server_kwh_per_silo_round": profile.server_kwh_per_silo_round,
        "bytes_per_silo_round": profile.bytes_per_silo_round,
    }


def coefficient_of_variation(values: pd.Series) -> float:
    """Sample standard deviation over the mean (dimensionless)."""
    return float(values.std(ddof=1) / values.mean())


CV_ROWS = (
    ("attributed (energy_kwh)", "FL", "fl_kwh_per_update"),
    ("attributed (energy_kwh)", "CL", "cl_kwh_per_update"),
    ("host (host_energy_kwh)", "FL", "fl_host_kwh_per_update"),
    ("host (host_energy_kwh)", "CL", "cl_host_kwh_per_update"),
    ("FL / CL ratio, attributed", "FL/CL", "fl_over_cl"),
    ("FL / CL ratio, host", "FL/CL", "host_fl_over_cl"),
    ("FL / CL ratio, wall seconds (profile)", "FL/CL", "wall_fl_over_cl"),
    ("attributed, CPU part", "FL", "fl_cpu_kwh_per_update"),
    ("attributed, CPU part", "CL", "cl_cpu_kwh_per_update"),
    ("attributed, RAM part", "FL", "fl_ram_kwh_per_update"),
    ("attributed, RAM part", "CL", "cl_ram_kwh_per_update"),
    ("process CPU seconds", "FL", "fl_cpu_s_per_update"),
    ("process CPU seconds", "CL", "cl_cpu_s_per_update"),
    ("wall seconds", "FL", "fl_wall_s_per_update"),
    ("wall seconds", "CL", "cl_wall_s_per_update"),
)


def _unit(column: str) -> str:
    if column.endswith("_over_cl"):
        return "ratio"
    return "s per sample update" if column.endswith("_s_per_update") else "kWh per sample update"


def cv_table(runs: pd.DataFrame) -> pd.DataFrame:
    quiet, busy = runs[runs["background"] == "quiet"], runs[runs["background"] == "busy"]

    def within(group: pd.DataFrame, column: str) -> float:
        return coefficient_of_variation(group[column]) if len(group) >= 2 else float("nan")

    return pd.DataFrame(
        [
            {
                "figure": figure,
                "approach": approach,
                "mean": float(runs[column].mean()),
                "unit": _unit(column),
                "cv_quiet_and_busy": coefficient_of_variation(runs[column]),
                "cv_quiet_runs": within(quiet, column),
                "cv_busy_runs": within(busy, column),
                "busy_over_quiet_mean": float(busy[column].mean() / quiet[column].mean()),
            }
            for figure, approach, column in CV_ROWS
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="No --seeds: a benchmark of the host's noise. Every run does identical work (the default "
               "scenario and its seed), so what varies between runs is the host alone; another seed per run "
               "would mix the seed's own variation in.")
    parser.add_argument("--runs", type=int, default=MINIMUM_RUNS,
                        help=f"runs of the default job, alternating quiet / busy (>= 2; {MINIMUM_RUNS} by default)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="busy threads of the background process (default: one per CPU core)")
    args = parser.parse_args(argv)
    if args.runs < 2 or args.threads < 1:
        parser.error("--runs must be >= 2 (the goal needs >= 8) and --threads >= 1")

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-noise-") as scratch:
        for index in range(1, args.runs + 1):
            busy = index % 2 == 0
            load_1min = os.getloadavg()[0]
            started = time.perf_counter()
            if busy:
                with background_load(args.threads):
                    run_dir = run_job(Path(scratch), index)
            else:
                run_dir = run_job(Path(scratch), index)
            row = {"run": index, "background": "busy" if busy else "quiet", "load_1min_before": load_1min,
                   "run_s": time.perf_counter() - started, **measure(run_dir)}
            rows.append(row)
            print(f"run {index} ({row['background']:5s}, load {load_1min:.1f}): per sample update, kWh: "
                  f"FL {row['fl_kwh_per_update']:.4g} CL {row['cl_kwh_per_update']:.4g} (attributed); "
                  f"FL {row['fl_host_kwh_per_update']:.4g} CL {row['cl_host_kwh_per_update']:.4g} (host)", flush=True)

    runs = pd.DataFrame(rows)
    cvs = cv_table(runs)
    attributed = cvs[cvs["figure"] == "attributed (energy_kwh)"]
    host = cvs[cvs["figure"] == "host (host_energy_kwh)"]
    worst = float(attributed["cv_quiet_and_busy"].max())
    output = ExperimentOutput("bench_noise")
    output.table(runs, "runs", "bench_noise: energy per sample update of each run (kWh; s for times)")
    output.table(cvs, "cv", "bench_noise: coefficient of variation over the runs (std / mean)")
    output.text("summary.json", json.dumps({
        "runs": len(runs),
        "background_threads": args.threads,
        "cpu_count": os.cpu_count(),
        "attributed_cv": {row.approach: row.cv_quiet_and_busy for row in attributed.itertuples()},
        "host_cv": {row.approach: row.cv_quiet_and_busy for row in host.itertuples()},
        "attributed_worst_cv": worst,
        "goal_cv": GOAL_CV,
        "median_profile": {
            "pooled_kwh_per_sample_update": float(runs["pooled_kwh_per_update"].median()),
            "pooled_wall_s_per_sample_update": float(runs["pooled_wall_s_per_update"].median()),
            "server_kwh_per_silo_round": float(runs["server_kwh_per_silo_round"].median()),
            "bytes_per_silo_round": float(runs["bytes_per_silo_round"].median()),
        },
        "median_load_1min_before": float(runs["load_1min_before"].median()),
    }, indent=2) + "\n")

    print(f"\n{len(runs)} runs of the default job, every second one beside a {args.threads}-thread CPU-heavy "
          f"process (median 1-minute load before a run: {runs['load_1min_before'].median():.1f} "
          f"on {os.cpu_count()} CPUs)")
    print(cvs.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"Results in {output.folder}/ (runs, cv, summary.json)")
    print(f"attributed energy per sample update, larger CV of FL and CL: {worst:.3f} (goal <= {GOAL_CV})")


if __name__ == "__main__":
    main()
