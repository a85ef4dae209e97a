"""Clean and dirty grids: the same federation with its silos and its central site moved between
France, the United States and India; where FL beats CL on lifecycle CO2 and where it does not.

    python -m experiments.intensity

The enterprise scenario's federation (configs/enterprise.toml) is trained and measured three times
(Flower + PyTorch, CodeCarbon energy; `--repeats`) and the median profile is used; the profile does not
depend on where the silos are. The lifecycle
model then runs for every placement: all silos in one country, or the silos spread over the three
(France, United States, India in turn), with the central site in each country. Grid intensities come
from CodeCarbon's bundled per-country table (the site's own override or trace is dropped when it
moves). A placement is a robust FL win when CL / FL stays above 1 over the whole interval, a robust CL
win when it stays below 1, and open otherwise.

Writes into results/intensity/: measurements.csv/.md (each measured run's profile), placements.csv/.md (FL and CL lifecycle CO2 with [low, high], CL / FL
with its interval, the winner), stage_shares.csv/.md (where each approach's CO2 comes from), the
figures ratio_heatmap.png and totals.png, and the measured run folder under runs/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.variants import measure_repeated, profile_rows, with_grids
from simulator.scenario.load import bundled_config_path, load_scenario
from simulator.country_intensity import country_intensity

NAME = "intensity"
SCENARIO_FILE = "enterprise.toml"
GRIDS = ("FRA", "USA", "IND")  # clean, middling, dirty (CodeCarbon's bundled yearly intensities)
MIXED = "/".join(GRIDS)  # silos spread over the three grids in turn
DRAWS = 2000
REPEATS = 3  # measured runs; their median energy profile feeds the lifecycle model


def winner(ratio_low: float, ratio_central: float, ratio_high: float) -> str:
    """Which approach emits less over the life, judged on CL / FL and its interval."""
    if ratio_low > 1.0:
        return "FL (robust)"
    if ratio_high < 1.0:
        return "CL (robust)"
    return f"open ({'FL' if ratio_central > 1.0 else 'CL'} at central factors)"


def placements(base) -> list[tuple[str, tuple[str, ...], str]]:
    rows = []
    for silo_grid in (*GRIDS, MIXED):
        countries = GRIDS if silo_grid == MIXED else (silo_grid,)
        for central in GRIDS:
            rows.append((silo_grid, countries, central))
    return rows


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m experiments.intensity", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives intensity/")
    parser.add_argument("--scenario", type=Path, default=None, help="scenario file (default: configs/enterprise.toml)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="measured runs whose median profile is used")
    args = parser.parse_args(argv)

    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import evaluate_lifecycle

    output = ExperimentOutput(NAME, args.results)
    base = load_scenario(args.scenario or bundled_config_path(SCENARIO_FILE))
    print(f"Measuring {base.name} {args.repeats} times ({len(base.silos)} silos, real training) ...")
    runs, profile = measure_repeated(base, output.folder / "runs", args.repeats)
    output.table(pd.DataFrame(profile_rows(runs)), "measurements",
                 "Measured runs (energy profile per run; the lifecycle model uses their median)")
    rows, shares = [], []
    for silo_grid, countries, central in placements(base):
        scenario = with_grids(base, countries, central)
        result = evaluate_lifecycle(scenario, profile, draws=DRAWS,
                                    dataset_features=dataset_features_for_lifecycle(scenario))
        fl, cl, ratio = result.fl.total.co2_kg, result.cl.total.co2_kg, result.ratio_cl_over_fl.co2_kg
        rows.append({
            "silos in": silo_grid,
            "silo gCO2e/kWh": np.mean([country_intensity(c).intensity_g_per_kwh for c in countries]),
            "central in": central,
            "central gCO2e/kWh": country_intensity(central).intensity_g_per_kwh,
            "FL kg CO2e": fl.central, "FL low": fl.low, "FL high": fl.high,
            "CL kg CO2e": cl.central, "CL low": cl.low, "CL high": cl.high,
            "CL / FL": ratio.central, "CL / FL low": ratio.low, "CL / FL high": ratio.high,
            "lower CO2": winner(ratio.low, ratio.central, ratio.high),
        })
        for approach in (result.fl, result.cl):
            total = approach.total.co2_kg.central
            shares.append({"silos in": silo_grid, "central in": central, "approach": approach.approach.upper(),
                           **{stage.title: stage.co2_kg.central / total for stage in approach.stages}})
    table = pd.DataFrame(rows)
    output.table(table, "placements", f"{base.name}: lifecycle CO2 by grid placement ({result.interval})")
    output.table(pd.DataFrame(shares), "stage_shares", "Share of each approach's lifecycle CO2 per stage (fraction)")
    output.figure(heatmap(table), "ratio_heatmap")
    output.figure(totals_figure(table), "totals")
    print()
    print(table[["silos in", "central in", "FL kg CO2e", "CL kg CO2e", "CL / FL", "CL / FL low", "CL / FL high",
                 "lower CO2"]].to_string(index=False, float_format=lambda value: f"{value:.4g}"))
    output.print_written()
    return table


def heatmap(table: pd.DataFrame):
    silo_grids = list(dict.fromkeys(table["silos in"]))
    centrals = list(dict.fromkeys(table["central in"]))
    ratios = np.array([[float(table[(table["silos in"] == s) & (table["central in"] == c)]["CL / FL"].iloc[0])
                        for c in centrals] for s in silo_grids])
    figure, axis = plt.subplots(figsize=(6.6, 5.2))
    # Log colour scale centred on 1: red where CL emits more (FL wins), blue where FL emits more.
    span = max(abs(np.log10(ratios).min()), abs(np.log10(ratios).max()), 0.05)
    image = axis.imshow(np.log10(ratios), cmap="RdBu_r", vmin=-span, vmax=span)
    for i, silo_grid in enumerate(silo_grids):
        for j, central in enumerate(centrals):
            row = table[(table["silos in"] == silo_grid) & (table["central in"] == central)].iloc[0]
            dark = abs(np.log10(row["CL / FL"])) > 0.6 * span  # white text on the deepest colours
            axis.text(j, i, f"{row['CL / FL']:.2f}\n[{row['CL / FL low']:.2f}, {row['CL / FL high']:.2f}]\n"
                      f"{row['lower CO2'].split(' (')[0]}", ha="center", va="center", fontsize=8,
                      color="white" if dark else "black")
    axis.set_xticks(range(len(centrals)), [f"central in {c}" for c in centrals])
    axis.set_yticks(range(len(silo_grids)), [f"silos in {s}" for s in silo_grids])
    colour_bar = figure.colorbar(image, ax=axis)
    colour_bar.set_label("log10(CL / FL lifecycle CO2); > 0: FL emits less")
    axis.set_title("CL / FL lifecycle CO2 by grid placement")
    figure.tight_layout()
    return figure


def totals_figure(table: pd.DataFrame):
    figure, axis = plt.subplots(figsize=(11, 4.6))
    labels = [f"{s}\n-> {c}" for s, c in zip(table["silos in"], table["central in"])]
    positions = np.arange(len(table))
    for offset, prefix, colour in ((-0.2, "FL", "#1f77b4"), (0.2, "CL", "#d62728")):
        central = table[f"{prefix} kg CO2e"]
        error = [central - table[f"{prefix} low"], table[f"{prefix} high"] - central]
        axis.bar(positions + offset, central, width=0.4, color=colour, label=prefix, yerr=error, capsize=2)
    axis.set_xticks(positions, labels, fontsize=8)
    axis.set_ylabel("lifecycle CO2 (kg CO2e)")
    axis.set_xlabel("silos' grid -> central site's grid")
    axis.set_title("Lifecycle CO2 of FL and CL per placement (bars: central; whiskers: interval)")
    axis.grid(axis="y", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return figure


if __name__ == "__main__":
    main()
