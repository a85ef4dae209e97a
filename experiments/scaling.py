"""Scaling: 2 to 64 silos and data volumes over four orders of magnitude; where FL and CL break even.

    python -m experiments.scaling [--seeds 0..4] [--max-silos 64]

For each silo count (2, 4, 8, 16, 32, 64) a real federation is trained and measured (Flower + PyTorch,
CodeCarbon energy): a seeded synthetic dataset with the same number of samples per silo, so each silo
does the same work whatever the count, silos spread over the enterprise scenario's countries. Its ledger
gives the energy profile at that silo count (energy per sample update, server energy and payload bytes
per silo-round), tabled and plotted as measured. The lifecycle model of the enterprise scenario
(configs/enterprise.toml: lifetime, retraining, storage, serving) then runs with the data spread evenly
over the silos at 1 GB to 10 TB in total, every silo on the enterprise silos' mean grid intensity (weighted by their data) so that the
count, not a changing mix of clean and dirty grids, moves the result; the central site keeps its own
grid. The model's break-even sweep gives the data volume at which CL and FL emit the same CO2 (and
cost the same money).

Seeds: each silo count is measured once per seed (`--seeds`, default five) as a group of runs. Which
profile the lifecycle runs use: by default every measured profile (all counts, all seeds) as one
distribution, whose mean the Monte Carlo draws beside the factor ranges (simulator.lifecycle.
profile_noise); the silo count then acts through the model (server work and model updates per silo,
each silo's grid). `--per-count-profile` uses each count's own seeds instead. Every figure shows 95 %
intervals: the measured profile over the seeds, CL / FL over the draws, and the break-even over the
seeds (each seed's own profile at that count, Student t on the log scale).

Writes into results/scaling/: measured.csv/.md (the measured profile per silo count, mean and 95 %
interval over the seeds), grid.csv/.md (silos x volume: FL and CL lifecycle CO2 and cost, CL / FL with its
95 % interval), break_even.csv/.md, and the figures ratio_vs_volume.png, break_even.png,
measured_profile.png; the groups of runs under runs/.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from experiments.claims import percentile_interval
from experiments.output import RESULTS_ROOT, ExperimentOutput, text_table
from experiments.seeds import DEFAULT_SEEDS, add_seeds_argument, measure_seeds
from experiments.variants import lifecycle_silo, raw_of, with_silo_count
from simulator.scenario.load import bundled_config_path, load_scenario, validate_scenario

NAME = "scaling"
SCENARIO_FILE = "enterprise.toml"
SILO_COUNTS = (2, 4, 8, 16, 32, 64)
TOTAL_DATA_GB = (1.0, 10.0, 100.0, 1_000.0, 10_000.0)  # four orders of magnitude, all silos together
SAMPLES_PER_SILO = 250  # synthetic training + test samples each silo holds in the measured run
MEASURED_ROUNDS = 2  # rounds of the measured run (the lifecycle model uses the scenario's rounds)
SWEEP_DRAWS = 1000  # draws per grid point, for the 2.5th-97.5th percentiles of CL / FL


def measured_scenario(base, count: int):
    """The federation measured at `count` silos: the enterprise silos cycled, synthetic data of the
    same size per silo, an MLP (any dataset shape works), equal shares."""
    raw = raw_of(with_silo_count(base, count))
    raw["name"] = f"scaling-{count}-silos"
    raw["data"] = {"dataset": "synthetic", "partition": "iid", "synthetic_samples": SAMPLES_PER_SILO * count,
                   "synthetic_features": 20, "synthetic_classes": 2, "test_fraction": 0.2}
    raw["model"] = {"name": "mlp"}
    raw["training"] = {**raw.get("training", {}), "rounds": MEASURED_ROUNDS}
    return validate_scenario(raw, raw["name"])


def lifecycle_scenario(base, count: int, total_gb: float):
    """The enterprise scenario's lifecycle at `count` silos holding `total_gb` together, evenly; the
    data and model sections are the measured run's, so samples per GB (where the enterprise scenario
    does not state them) are derived from the data that was measured."""
    measured = raw_of(measured_scenario(base, count))
    raw = raw_of(with_silo_count(base, count))
    raw["data"], raw["model"] = measured["data"], measured["model"]
    intensity = silo_grid_intensity(base)
    for silo in raw["silos"]:
        entry = lifecycle_silo(raw, silo["name"])
        entry["data_gb"] = total_gb / count
        # Every silo on the enterprise silos' mean grid: cycling the regions would otherwise give each
        # count its own mix of clean and dirty grids, and the curve would follow the mix, not the count.
        entry["intensity_g_per_kwh"] = intensity
        entry.pop("intensity_trace", None)
    return validate_scenario(raw, f"{base.name} {count} silos {total_gb:g} GB")


def silo_grid_intensity(base) -> float:
    """The enterprise silos' grid intensity (gCO2e/kWh), averaged with their initial data as weights."""
    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import build_plan

    silos = build_plan(base, dataset_features=dataset_features_for_lifecycle(base)).silos
    weights = [silo.volumes_gb[0] for silo in silos]
    if sum(weights) <= 0:
        weights = [1.0] * len(silos)
    return sum(w * silo.site.intensity_g_per_kwh for w, silo in zip(weights, silos)) / sum(weights)


def profile_quantity(group, key: str) -> tuple[float | None, float | None, float | None]:
    quantity = group.quantity(key)
    return (None, None, None) if quantity is None else (quantity.centre, quantity.low, quantity.high)


def break_even_interval(
    scenario, profiles, factors, quantity: str, dataset_features: int | None
) -> tuple[float | None, float | None, float | None, int]:
    """The data-volume break-even with each profile alone: geometric mean, its 95 % interval (Student
    t on the logs) and how many profiles gave none (no crossing in the sweep)."""
    from simulator.intervals import ratio_interval
    from simulator.lifecycle.model import break_even_points

    values = []
    for profile in profiles:
        point = next(p for p in break_even_points(scenario, profile, factors, dataset_features)
                     if p.variable == "data_gb" and p.quantity == quantity)
        values.append(point.value)
    found = [value for value in values if value is not None]
    interval = ratio_interval(found)
    return interval.centre, interval.low, interval.high, len(values) - len(found)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.scaling", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives scaling/")
    parser.add_argument("--scenario", type=Path, default=None, help="scenario file (default: configs/enterprise.toml)")
    parser.add_argument("--max-silos", type=int, default=max(SILO_COUNTS), help="largest silo count to measure")
    parser.add_argument("--per-count-profile", action="store_true",
                        help="lifecycle runs use each silo count's own seeds instead of every measured profile")
    add_seeds_argument(parser, DEFAULT_SEEDS)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import build_plan, evaluate_lifecycle, load_factors
    from simulator.lifecycle.model import evaluate_draws
    from simulator.lifecycle.profile_noise import ProfileSamples

    output = ExperimentOutput(NAME, args.results)
    base = load_scenario(args.scenario or bundled_config_path(SCENARIO_FILE))
    counts = [count for count in SILO_COUNTS if count <= args.max_silos]
    factors = load_factors()
    measured_rows, grid_rows, break_even_rows, groups = [], [], [], {}
    for count in counts:
        print(f"{count:>3} silos, seeds {', '.join(map(str, args.seeds))}:")
        groups[count] = measure_seeds(measured_scenario(base, count), args.seeds, output.folder / "runs")
        group = groups[count].summary
        row = {"silos": count, "seeds": len(group.seeds)}
        for key, label in (("fl.kwh_per_sample_update", "FL kWh per sample update"),
                           ("cl.kwh_per_sample_update", "CL kWh per sample update"),
                           ("server.kwh_per_silo_round", "server kWh per silo-round"),
                           ("fl.payload_bytes", "FL payload bytes"),
                           ("fl.accuracy", "FL accuracy"), ("cl.accuracy", "CL accuracy")):
            row[label], row[f"{label} low"], row[f"{label} high"] = profile_quantity(group, key)
        ratio = group.quantity("ratio.kwh_per_sample_update")
        if ratio is not None:
            row["CL / FL per sample update"], row["CL / FL low"], row["CL / FL high"] = ratio.centre, ratio.low, ratio.high
        row["energy method"] = groups[count].samples.central.energy_method
        measured_rows.append(row)
    pooled = ProfileSamples(tuple(profile for count in counts for profile in groups[count].samples.profiles),
                            groups[counts[0]].samples.host_noise)
    print(f"Lifecycle runs use {'each count' + chr(39) + 's own seeds' if args.per_count_profile else 'every measured profile'}")
    for count in counts:
        samples = groups[count].samples if args.per_count_profile else pooled
        for total_gb in TOTAL_DATA_GB:
            scenario = lifecycle_scenario(base, count, total_gb)
            features = dataset_features_for_lifecycle(scenario)
            result = evaluate_lifecycle(scenario, samples, factors, draws=SWEEP_DRAWS, sweeps=False,
                                        dataset_features=features)
            fl_draws, cl_draws = evaluate_draws(build_plan(scenario, dataset_features=features), samples, factors,
                                                SWEEP_DRAWS, scenario.seed)
            fl, cl = result.fl.total, result.cl.total
            row = {"silos": count, "total data GB": total_gb,
                   "FL kg CO2e": fl.co2_kg.central, "CL kg CO2e": cl.co2_kg.central,
                   f"FL {result.currency}": fl.cost_usd.central, f"CL {result.currency}": cl.cost_usd.central}
            for label, field in (("CO2", "co2_kg"), ("cost", "cost_usd")):
                central = getattr(cl, field).central / getattr(fl, field).central
                draws = np.asarray(getattr(cl_draws.total(), field)) / np.asarray(getattr(fl_draws.total(), field))
                row[f"CL / FL {label}"], row[f"CL / FL {label} low"], row[f"CL / FL {label} high"] = (
                    percentile_interval(draws, central))
            grid_rows.append(row)
        scenario = lifecycle_scenario(base, count, TOTAL_DATA_GB[0])
        # The model's own break-even sweep covers 1e-4 .. 1e4 x this volume: all of ours.
        features = dataset_features_for_lifecycle(scenario)
        for point in evaluate_lifecycle(scenario, samples, factors, draws=SWEEP_DRAWS,
                                        dataset_features=features).break_even:
            if point.variable == "data_gb":
                centre, low, high, none = break_even_interval(scenario, groups[count].samples.profiles, factors,
                                                              point.quantity, features)
                break_even_rows.append({
                    "silos": count, "quantity": point.quantity,
                    "break-even total data GB": point.value,
                    "seeds' geometric mean GB": centre, "95 % low GB": low, "95 % high GB": high,
                    "seeds without a break-even": none,
                    "cheaper below": point.cheaper_below, "note": point.note,
                })
    measured = pd.DataFrame(measured_rows)
    grid = pd.DataFrame(grid_rows)
    break_even = pd.DataFrame(break_even_rows)
    output.table(measured, "measured", "Measured energy profile per silo count: mean and 95 % interval over the "
                 "seeds (real training on this host)")
    output.table(grid, "grid", "Lifecycle CO2 and cost of FL and CL by silos and total data (central; CL / FL "
                 "with the 2.5th-97.5th percentile of the draws)")
    output.table(break_even, "break_even", "Break-even data volume per silo count (central factors; interval: "
                 "each seed's own profile, Student t on the log scale)")
    output.figure(ratio_figure(grid), "ratio_vs_volume")
    output.figure(break_even_figure(break_even, counts), "break_even")
    output.figure(profile_figure(measured), "measured_profile")
    print()
    print(text_table(grid))
    print()
    print(text_table(break_even.drop(columns=["note"])))
    print(f"Took {time.perf_counter() - started:.0f} s on this machine ({len(counts)} silo counts x "
          f"{len(args.seeds)} seeds).")
    output.print_written()


def _silo_axis(axis, counts) -> None:
    axis.set_xscale("log", base=2)
    axis.xaxis.set_major_locator(FixedLocator(list(counts)))
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_locator(NullLocator())
    axis.set_xlabel("silos")


def ratio_figure(grid: pd.DataFrame):
    figure, (co2_axis, cost_axis) = plt.subplots(1, 2, figsize=(12, 4.4))
    colours = plt.get_cmap("viridis")
    counts = sorted(grid["silos"].unique())
    for axis, column, label in ((co2_axis, "CL / FL CO2", "CO2"), (cost_axis, "CL / FL cost", "cost")):
        for index, count in enumerate(counts):
            part = grid[grid["silos"] == count]
            colour = colours(index / max(1, len(counts) - 1))
            axis.plot(part["total data GB"], part[column], marker="o", color=colour, label=f"{count} silos")
            axis.fill_between(part["total data GB"], part[f"{column} low"], part[f"{column} high"], color=colour,
                              alpha=0.15, linewidth=0)
        axis.axhline(1.0, color="black", linestyle="--", linewidth=1)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("total data of all silos (GB)")
        axis.set_ylabel(f"CL / FL lifecycle {label} (above 1: FL better)")
        axis.set_title(f"CL / FL {label} over the product's life (bands: 95 %)")
        axis.grid(alpha=0.3, which="both")
    co2_axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def break_even_figure(break_even: pd.DataFrame, counts):
    figure, axis = plt.subplots(figsize=(7, 4.4))
    any_found = False
    for quantity, marker, colour in (("co2_kg", "o", "#2ca02c"), ("cost_usd", "s", "#9467bd")):
        label = "CO2" if quantity == "co2_kg" else "cost"
        part = break_even[break_even["quantity"] == quantity]
        found = part[part["break-even total data GB"].notna()]
        any_found = any_found or not found.empty
        axis.plot(found["silos"], found["break-even total data GB"], marker=marker, color=colour,
                  label=f"{label} break-even")
        spread = found[found["95 % low GB"].notna() & found["95 % high GB"].notna()]
        if not spread.empty:
            centre = spread["break-even total data GB"]
            axis.errorbar(spread["silos"], centre, yerr=[(centre - spread["95 % low GB"]).clip(lower=0),
                                                         (spread["95 % high GB"] - centre).clip(lower=0)],
                          fmt="none", ecolor=colour, capsize=4)
        missing = part[part["break-even total data GB"].isna()]
        if not missing.empty:
            winners = "/".join(sorted({str(w).upper() for w in missing["cheaper below"]}))
            where = ", ".join(str(int(s)) for s in missing["silos"])
            axis.text(0.02, 0.95 if quantity == "co2_kg" else 0.87,
                      f"{label}: no break-even in 1e-4 to 1e4 GB at {where} silos ({winners} lower throughout)",
                      transform=axis.transAxes, fontsize=8, color=colour, va="top")
    _silo_axis(axis, counts)
    if any_found:
        axis.set_yscale("log")
    axis.set_ylabel("total data at break-even (GB)")
    axis.set_title("Break-even: data volume where CL and FL are equal\n(whiskers: 95 % over the seeds' profiles)")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    figure.tight_layout()
    return figure


def profile_figure(measured: pd.DataFrame):
    figure, (energy_axis, bytes_axis) = plt.subplots(1, 2, figsize=(12, 4.2))
    for column, marker, label in (("FL kWh per sample update", "o", "FL (silos)"),
                                  ("CL kWh per sample update", "s", "CL (central)")):
        centre = measured[column]
        low, high = measured[f"{column} low"].fillna(centre), measured[f"{column} high"].fillna(centre)
        energy_axis.errorbar(measured["silos"], centre, yerr=[(centre - low).clip(lower=0), (high - centre).clip(lower=0)],
                             marker=marker, capsize=4, label=label)
    energy_axis.set_ylabel("energy per sample update (kWh)")
    energy_axis.set_yscale("log")
    energy_axis.set_title("Measured energy per sample update (mean, 95 % interval)")
    energy_axis.legend()
    # Payload bytes are exact counts (the same for every seed): no interval to draw.
    bytes_axis.plot(measured["silos"], measured["FL payload bytes"] / measured["silos"] / MEASURED_ROUNDS / 1e3,
                    marker="o", color="#ff7f0e")
    bytes_axis.set_ylabel("payload per silo-round (kB, 1 kB = 1000 bytes)")
    bytes_axis.set_title("Measured model-update bytes per silo and round (exact)")
    bytes_axis.set_ylim(bottom=0)
    for axis in (energy_axis, bytes_axis):
        _silo_axis(axis, list(measured["silos"]))
        axis.grid(alpha=0.3, which="both")
    figure.tight_layout()
    return figure


if __name__ == "__main__":
    main()
