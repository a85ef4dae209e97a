"""Clean and dirty grids: the same federation with its silos and its central site moved between
France, the United States and India; where FL beats CL on lifecycle CO2 and where it does not.

    python -m experiments.intensity [--seeds 0..4]

The enterprise scenario's federation (configs/enterprise.toml) is trained and measured once per seed
(Flower + PyTorch, CodeCarbon energy; `--seeds`, default five) and the lifecycle model draws the mean
energy profile from those runs beside the factor ranges; the profile does not depend on where the silos
are. The lifecycle model then runs for every placement: all silos in one country, or the silos spread
over the three (France, United States, India in turn), with the central site in each country. Grid
intensities come from CodeCarbon's bundled per-country table (the site's own override or trace is
dropped when it moves). Verdict per placement on the claim "FL emits less CO2 over the life than CL"
(CL / FL > 1), by the 95 % interval of CL / FL: SUPPORTED (a robust FL win), REFUTED (a robust CL win),
INCONCLUSIVE (the interval reaches across 1).

Writes into results/intensity/: measurements.csv/.md (each seed's profile), placements.csv/.md (FL and
CL lifecycle CO2 with their 95 % intervals, CL / FL with its interval, the verdict), stage_shares.csv/.md
(where each approach's CO2 comes from), the figures ratio_heatmap.png and totals.png, and the measured
runs under runs/.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.claims import Band, Verdict, interval_verdict, percentile_interval
from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.seeds import DEFAULT_SEEDS, add_seeds_argument, measure_seeds, seed_table
from experiments.variants import with_grids
from simulator.scenario.load import bundled_config_path, load_scenario
from simulator.country_intensity import country_intensity

NAME = "intensity"
SCENARIO_FILE = "enterprise.toml"
GRIDS = ("FRA", "USA", "IND")  # clean, middling, dirty (CodeCarbon's bundled yearly intensities)
MIXED = "/".join(GRIDS)  # silos spread over the three grids in turn
DRAWS = 2000
FL_EMITS_LESS = Band(low=1.0)  # the claim per placement: CL / FL lifecycle CO2 above 1


def winner(ratio_low: float, ratio_central: float, ratio_high: float) -> str:
    """Which approach emits less over the life, read from the verdict on CL / FL's 95 % interval."""
    verdict = interval_verdict(ratio_low, ratio_high, FL_EMITS_LESS)
    if verdict is Verdict.SUPPORTED:
        return "FL (robust)"
    if verdict is Verdict.REFUTED:
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
    add_seeds_argument(parser, DEFAULT_SEEDS)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import build_plan, evaluate_lifecycle, load_factors
    from simulator.lifecycle.model import evaluate_draws

    output = ExperimentOutput(NAME, args.results)
    base = load_scenario(args.scenario or bundled_config_path(SCENARIO_FILE))
    print(f"Measuring {base.name} with seeds {', '.join(map(str, args.seeds))} ({len(base.silos)} silos, real "
          "training) ...")
    measured = measure_seeds(base, args.seeds, output.folder / "runs")
    samples = measured.samples
    output.table(seed_table(measured.summary), "measurements",
                 "Measured runs, one per seed (the lifecycle model draws the mean profile from them)")
    factors = load_factors()
    rows, shares = [], []
    for silo_grid, countries, central in placements(base):
        scenario = with_grids(base, countries, central)
        features = dataset_features_for_lifecycle(scenario)
        result = evaluate_lifecycle(scenario, samples, factors, draws=DRAWS, sweeps=False, dataset_features=features)
        fl_draws, cl_draws = evaluate_draws(build_plan(scenario, dataset_features=features), samples, factors, DRAWS,
                                            scenario.seed)
        fl_co2, cl_co2 = fl_draws.total().co2_kg, cl_draws.total().co2_kg
        fl, cl = result.fl.total.co2_kg, result.cl.total.co2_kg
        _, fl_low, fl_high = percentile_interval(fl_co2, fl.central)
        _, cl_low, cl_high = percentile_interval(cl_co2, cl.central)
        ratio, ratio_low, ratio_high = percentile_interval(np.asarray(cl_co2) / np.asarray(fl_co2),
                                                           cl.central / fl.central)
        rows.append({
            "silos in": silo_grid,
            "silo gCO2e/kWh": np.mean([country_intensity(c).intensity_g_per_kwh for c in countries]),
            "central in": central,
            "central gCO2e/kWh": country_intensity(central).intensity_g_per_kwh,
            "FL kg CO2e": fl.central, "FL low": fl_low, "FL high": fl_high,
            "CL kg CO2e": cl.central, "CL low": cl_low, "CL high": cl_high,
            "CL / FL": ratio, "CL / FL low": ratio_low, "CL / FL high": ratio_high,
            "verdict: FL emits less": interval_verdict(ratio_low, ratio_high, FL_EMITS_LESS).value,
            "lower CO2": winner(ratio_low, ratio, ratio_high),
        })
        for approach in (result.fl, result.cl):
            total = approach.total.co2_kg.central
            shares.append({"silos in": silo_grid, "central in": central, "approach": approach.approach.upper(),
                           **{stage.title: stage.co2_kg.central / total for stage in approach.stages}})
    table = pd.DataFrame(rows)
    output.table(table, "placements", f"{base.name}: lifecycle CO2 by grid placement (low, high: 2.5th-97.5th "
                 f"percentile of {DRAWS} draws of the factor ranges and of the mean energy profile of "
                 f"{samples.count} seed(s); {result.measurement_noise})")
    output.table(pd.DataFrame(shares), "stage_shares", "Share of each approach's lifecycle CO2 per stage (fraction)")
    output.figure(heatmap(table), "ratio_heatmap")
    output.figure(totals_figure(table), "totals")
    print()
    print(table[["silos in", "central in", "FL kg CO2e", "CL kg CO2e", "CL / FL", "CL / FL low", "CL / FL high",
                 "verdict: FL emits less"]].to_string(index=False, float_format=lambda value: f"{value:.4g}"))
    print(f"CL / FL low, high: 95 % interval. Took {time.perf_counter() - started:.0f} s on this machine "
          f"({len(args.seeds)} seeds).")
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
    axis.set_title("CL / FL lifecycle CO2 by grid placement [95 % interval]")
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
    axis.set_title("Lifecycle CO2 of FL and CL per placement (bars: central; whiskers: 95 % interval)")
    axis.grid(axis="y", alpha=0.3)
    axis.legend()
    figure.tight_layout()
    return figure


if __name__ == "__main__":
    main()
