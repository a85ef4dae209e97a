"""Scaling: 2 to 64 silos and data volumes over four orders of magnitude; where FL and CL break even.

    python -m experiments.scaling

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

Which profile the lifecycle runs use: by default the field-by-field median of the measured profiles.
Windows of a few milliseconds on a shared host carry other jobs' load (CodeCarbon models CPU energy from
load), so one run's energy per sample update can be several times another's; the median keeps one noisy
run from bending the curve, and the silo count then acts through the model (server work and model
updates per silo, each silo's grid). `--per-count-profile` uses each count's own measured profile.

Writes into results/scaling/: measured.csv/.md (the measured profile per silo count), grid.csv/.md
(silos x volume: FL and CL lifecycle CO2 and cost), break_even.csv/.md, and the figures
ratio_vs_volume.png, break_even.png, measured_profile.png; run folders under runs/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.variants import lifecycle_silo, measure, median_profile, raw_of, with_silo_count
from simulator.scenario.load import bundled_config_path, load_scenario, validate_scenario

NAME = "scaling"
SCENARIO_FILE = "enterprise.toml"
SILO_COUNTS = (2, 4, 8, 16, 32, 64)
TOTAL_DATA_GB = (1.0, 10.0, 100.0, 1_000.0, 10_000.0)  # four orders of magnitude, all silos together
SAMPLES_PER_SILO = 250  # synthetic training + test samples each silo holds in the measured run
MEASURED_ROUNDS = 2  # rounds of the measured run (the lifecycle model uses the scenario's rounds)
SWEEP_DRAWS = 200


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m experiments.scaling", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives scaling/")
    parser.add_argument("--scenario", type=Path, default=None, help="scenario file (default: configs/enterprise.toml)")
    parser.add_argument("--max-silos", type=int, default=max(SILO_COUNTS), help="largest silo count to measure")
    parser.add_argument("--per-count-profile", action="store_true",
                        help="lifecycle runs use each silo count's own measured profile instead of the median")
    args = parser.parse_args(argv)

    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import evaluate_lifecycle

    output = ExperimentOutput(NAME, args.results)
    base = load_scenario(args.scenario or bundled_config_path(SCENARIO_FILE))
    counts = [count for count in SILO_COUNTS if count <= args.max_silos]
    measured_rows, grid_rows, break_even_rows, profiles = [], [], [], {}
    for count in counts:
        run = measure(measured_scenario(base, count), output.folder / "runs")
        profile = profiles[count] = run.profile
        print(f"{count:>3} silos measured: FL {profile.fl_kwh_per_sample_update:.3g} kWh/sample update, "
              f"CL {profile.cl_kwh_per_sample_update:.3g}, {profile.bytes_per_silo_round:,.0f} bytes per silo-round "
              f"({profile.energy_method}); run folder {run.run_dir.name}")
        measured_rows.append({
            "silos": count,
            "FL kWh per sample update": profile.fl_kwh_per_sample_update,
            "CL kWh per sample update": profile.cl_kwh_per_sample_update,
            "FL / CL per sample update": profile.fl_kwh_per_sample_update / profile.cl_kwh_per_sample_update,
            "server kWh per silo-round": profile.server_kwh_per_silo_round,
            "payload bytes per silo-round": profile.bytes_per_silo_round,
            "FL accuracy": run.fl_accuracy,
            "CL accuracy": run.cl_accuracy,
            "energy method": profile.energy_method,
        })
    pooled = median_profile(list(profiles.values()))
    print(f"Lifecycle runs use {'each count' + chr(39) + 's own profile' if args.per_count_profile else pooled.source}")
    for count in counts:
        profile = profiles[count] if args.per_count_profile else pooled
        for total_gb in TOTAL_DATA_GB:
            variant = lifecycle_scenario(base, count, total_gb)
            result = evaluate_lifecycle(variant, profile, draws=SWEEP_DRAWS,
                                        dataset_features=dataset_features_for_lifecycle(variant))
            fl, cl = result.fl.total, result.cl.total
            grid_rows.append({
                "silos": count, "total data GB": total_gb,
                "FL kg CO2e": fl.co2_kg.central, "CL kg CO2e": cl.co2_kg.central,
                "CL / FL CO2": cl.co2_kg.central / fl.co2_kg.central,
                f"FL {result.currency}": fl.cost_usd.central, f"CL {result.currency}": cl.cost_usd.central,
                "CL / FL cost": cl.cost_usd.central / fl.cost_usd.central,
            })
            if total_gb == TOTAL_DATA_GB[0]:
                # The model's own break-even sweep covers 1e-4 .. 1e4 x this volume: all of ours.
                for point in result.break_even:
                    if point.variable == "data_gb":
                        break_even_rows.append({
                            "silos": count, "quantity": point.quantity,
                            "break-even total data GB": point.value,
                            "cheaper below": point.cheaper_below, "note": point.note,
                        })
    measured = pd.DataFrame(measured_rows)
    grid = pd.DataFrame(grid_rows)
    break_even = pd.DataFrame(break_even_rows)
    output.table(measured, "measured", "Measured energy profile per silo count (real training on this host)")
    output.table(grid, "grid", "Lifecycle CO2 and cost of FL and CL by silos and total data (central factors)")
    output.table(break_even, "break_even", "Break-even data volume per silo count (central factors)")
    output.figure(ratio_figure(grid), "ratio_vs_volume")
    output.figure(break_even_figure(break_even, counts), "break_even")
    output.figure(profile_figure(measured), "measured_profile")
    print()
    print(grid.to_string(index=False, float_format=lambda value: f"{value:.4g}"))
    print()
    print(break_even.drop(columns=["note"]).to_string(index=False, float_format=lambda value: f"{value:.4g}"))
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
            axis.plot(part["total data GB"], part[column], marker="o", color=colours(index / max(1, len(counts) - 1)),
                      label=f"{count} silos")
        axis.axhline(1.0, color="black", linestyle="--", linewidth=1)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("total data of all silos (GB)")
        axis.set_ylabel(f"CL / FL lifecycle {label} (above 1: FL better)")
        axis.set_title(f"CL / FL {label} over the product's life")
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
    axis.set_title("Break-even curve: data volume where CL and FL are equal")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    figure.tight_layout()
    return figure


def profile_figure(measured: pd.DataFrame):
    figure, (energy_axis, bytes_axis) = plt.subplots(1, 2, figsize=(12, 4.2))
    energy_axis.plot(measured["silos"], measured["FL kWh per sample update"], marker="o", label="FL (silos)")
    energy_axis.plot(measured["silos"], measured["CL kWh per sample update"], marker="s", label="CL (central)")
    energy_axis.set_ylabel("energy per sample update (kWh)")
    energy_axis.set_yscale("log")
    energy_axis.set_title("Measured energy per sample update")
    energy_axis.legend()
    bytes_axis.plot(measured["silos"], measured["payload bytes per silo-round"] / 1e3, marker="o", color="#ff7f0e")
    bytes_axis.set_ylabel("payload per silo-round (kB, 1 kB = 1000 bytes)")
    bytes_axis.set_title("Measured model-update bytes per silo and round")
    bytes_axis.set_ylim(bottom=0)
    for axis in (energy_axis, bytes_axis):
        _silo_axis(axis, list(measured["silos"]))
        axis.grid(alpha=0.3, which="both")
    figure.tight_layout()
    return figure


if __name__ == "__main__":
    main()
