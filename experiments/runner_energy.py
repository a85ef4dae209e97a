"""Per-silo energy of the same scenario on the `inline` runner (silos one after another, each in its
own window) and the `ray` runner (silos concurrent, the host's energy apportioned by CPU time),
side by side. The two need not agree: inline windows hold one silo's work on an otherwise quiet
process, while ray's exchange windows include Ray's own workers and the server's waiting.

    python -m experiments.runner_energy [SCENARIO] [--set k=v ...]   # default: the embedded default

Writes results/runner_energy/per_silo.csv.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pandas as pd

import simulator  # noqa: F401  (telemetry off before Flower or Ray load)
from simulator.scenario.load import load_scenario
from simulator.pipeline import run_scenario

RESULTS = Path("results") / "runner_energy"


def per_silo(result) -> pd.DataFrame:
    rows = [row for row in result.ledger.rows if row.approach == "fl"]
    frame = pd.DataFrame([vars(row) for row in rows])
    return frame.groupby("silo").agg(
        energy_kwh=("energy_kwh", "sum"), cpu_s=("cpu_s", "sum"), wall_s=("wall_s", "sum"),
        methods=("energy_method", lambda m: ",".join(sorted(set(m)))),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args(argv)
    logging.getLogger("flwr").setLevel(logging.WARNING)  # Flower logs every round at INFO
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = {}
    for runner in ("inline", "ray"):
        scenario = load_scenario(args.scenario, [*args.overrides, f"runner={runner}"])
        results[runner] = per_silo(run_scenario(scenario, RESULTS / "runs"))
    table = results["inline"].join(results["ray"], lsuffix="_inline", rsuffix="_ray")
    table.to_csv(RESULTS / "per_silo.csv")
    print("FL energy per silo (kWh), CPU s and wall s, inline vs ray (server: aggregation + waiting):")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"Wrote {RESULTS / 'per_silo.csv'}")


if __name__ == "__main__":
    main()
