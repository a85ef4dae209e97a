"""The method's three findings, checked on the shipped enterprise-scale scenario (configs/enterprise.toml).

    python -m experiments.paper_findings

1. Trains the scenario's federation and its centralized twin for real (Flower + PyTorch, energy from
   CodeCarbon) and turns the measured ledger into an energy profile.
2. Runs the lifecycle model on the enterprise scenario with that profile, then on variants with more
   data, longer retention and more silos.
3. States each finding as a claim with a criterion fixed in this file, prints the numbers, and computes
   the verdict from them: (a) training energy and cost of FL and CL are comparable; (b) CL's data
   transfer and storage add significant CO2 that training-only accounting misses; (c) the gap grows
   with data volume, retention and the number of silos, read two ways: (c1) the CO2 that training-only
   accounting misses grows, (c2) CL's lifecycle CO2 minus FL's grows; (d) the planner's portfolio on the
   shipped inventory emits less CO2 (d1) and, separately, costs less (d2) than centralizing everything
   (experiments/portfolio_claim.py: intervals, verdicts and the cost lines that decide).

The federation is measured three times (`--repeats`) and the lifecycle model uses the median profile:
on a shared host one run's energy per sample update can be several times another's.

Writes into results/paper_findings/: findings.md (the claims as printed), claims.csv/.md (verdicts),
measurements.csv/.md (each measured run's profile), stages.csv/.md, gap_sweeps.csv/.md,
stages.png, gap_growth.png, and the measured run folder under runs/.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from experiments.claims import Claim, Evidence, grows, share, within_factor
from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.portfolio_claim import portfolio_findings
from experiments.variants import (
    measure_repeated,
    profile_rows,
    total_initial_data_gb,
    with_data_scale,
    with_retention,
    with_silo_count,
)
from simulator.scenario.load import bundled_config_path, load_scenario
from simulator.results.figures import StageValue, stacked_stage_bars

NAME = "paper_findings"
SCENARIO_FILE = "enterprise.toml"

# Criteria, fixed before any number is computed.
COMPARABLE_FACTOR = 2.0  # (a): FL and CL training energy and cost within a factor of 2 of each other
SIGNIFICANT_SHARE = 0.10  # (b): CL's transfer + storage at least 10 % of CL's lifecycle CO2
DATA_SCALES = (0.1, 1.0, 10.0, 100.0)  # (c): x the scenario's data volume
RETENTION_MONTHS = (3, 6, 12, 24, 36)  # (c): months the central copy keeps each byte
SILO_COUNTS = (2, 4, 8, 16)  # (c): silos, each bringing the data of the silo it copies
SWEEP_DRAWS = 200  # the sweeps use central values only; few draws keep them quick
REPEATS = 3  # measured runs; their median energy profile feeds the lifecycle model


def stage_table(result) -> pd.DataFrame:
    rows = []
    for fl, cl in zip((*result.fl.stages, result.fl.total), (*result.cl.stages, result.cl.total)):
        rows.append({
            "stage": fl.title,
            "FL kg CO2e": fl.co2_kg.central, "FL kg CO2e low": fl.co2_kg.low, "FL kg CO2e high": fl.co2_kg.high,
            "CL kg CO2e": cl.co2_kg.central, "CL kg CO2e low": cl.co2_kg.low, "CL kg CO2e high": cl.co2_kg.high,
            "FL kWh": fl.energy_kwh.central, "CL kWh": cl.energy_kwh.central,
            f"FL {result.currency}": fl.cost_usd.central, f"CL {result.currency}": cl.cost_usd.central,
        })
    return pd.DataFrame(rows)


def claim_a(result) -> Claim:
    fl, cl = result.fl.stage("training"), result.cl.stage("training")
    energy_ratio = cl.energy_kwh.central / fl.energy_kwh.central
    cost_ratio = cl.cost_usd.central / fl.cost_usd.central
    return Claim(
        "a",
        "Training energy and cost of FL and CL are comparable.",
        f"the training stage's energy and cost of FL and CL each within a factor of {COMPARABLE_FACTOR:g}",
        (
            Evidence("FL training energy", fl.energy_kwh.central, "kWh"),
            Evidence("CL training energy", cl.energy_kwh.central, "kWh"),
            Evidence("CL / FL training energy", energy_ratio, ""),
            Evidence("FL training cost", fl.cost_usd.central, result.currency),
            Evidence("CL training cost", cl.cost_usd.central, result.currency),
            Evidence("CL / FL training cost", cost_ratio, ""),
        ),
        within_factor(fl.energy_kwh.central, cl.energy_kwh.central, COMPARABLE_FACTOR)
        and within_factor(fl.cost_usd.central, cl.cost_usd.central, COMPARABLE_FACTOR),
    )


def claim_b(result) -> Claim:
    transfer, storage = result.cl.stage("data_transfer").co2_kg, result.cl.stage("data_storage").co2_kg
    moved_and_kept = transfer.central + storage.central
    cl_total, fl_total = result.cl.total.co2_kg.central, result.fl.total.co2_kg.central
    training_only_ratio = result.cl.stage("training").co2_kg.central / result.fl.stage("training").co2_kg.central
    portion = share(moved_and_kept, cl_total)
    return Claim(
        "b",
        "CL's data transfer and storage add significant CO2 that training-only accounting misses.",
        f"CL's data transfer + storage CO2 is at least {SIGNIFICANT_SHARE:.0%} of CL's lifecycle CO2 "
        "(a training-only account counts none of it)",
        (
            Evidence("CL data transfer CO2", transfer.central, "kg CO2e"),
            Evidence("CL data storage CO2", storage.central, "kg CO2e"),
            Evidence("CL transfer + storage, low bound", transfer.low + storage.low, "kg CO2e"),
            Evidence("CL transfer + storage, high bound", transfer.high + storage.high, "kg CO2e"),
            Evidence("CL lifecycle CO2", cl_total, "kg CO2e"),
            Evidence("share of CL lifecycle CO2", portion, "(fraction)"),
            Evidence("share with transfer + storage at their high bounds",
                     share(transfer.high + storage.high, cl_total - moved_and_kept + transfer.high + storage.high),
                     "(fraction)"),
            Evidence("CL / FL CO2, training stage only", training_only_ratio, ""),
            Evidence("CL / FL CO2, whole lifecycle", cl_total / fl_total, ""),
        ),
        portion >= SIGNIFICANT_SHARE,
    )


SWEPT = (("data volume", "GB"), ("retention", "months"), ("silos", "silos"))


def _growth_claim(sweeps: pd.DataFrame, key: str, column: str, statement: str, criterion: str) -> Claim:
    evidence, verdicts = [], []
    for variable, unit in SWEPT:
        part = sweeps[sweeps["variable"] == variable]
        values = list(part[column])
        verdicts.append(grows(values))
        for value, amount in zip(part["value"], values):
            evidence.append(Evidence(f"{variable} = {value:g} {unit}", amount, "kg CO2e"))
        evidence.append(Evidence(f"grows with {variable} (1 yes, 0 no)", float(verdicts[-1]), ""))
    return Claim(key, statement, criterion, tuple(evidence), all(verdicts))


def claim_c(sweeps: pd.DataFrame) -> list[Claim]:
    """(c) read both ways: the CO2 that training-only accounting misses, and FL's lead over CL."""
    return [
        _growth_claim(
            sweeps, "c1", "CL transfer + storage kg CO2e",
            "The CO2 that training-only accounting misses (CL's data transfer + storage) grows with data "
            "volume, retention and the number of silos.",
            "in each sweep it never decreases and ends higher than it starts",
        ),
        _growth_claim(
            sweeps, "c2", "CL - FL kg CO2e",
            "The lifecycle gap between CL and FL (CL - FL CO2) grows with data volume, retention and the "
            "number of silos.",
            "in each sweep CL - FL never decreases and ends higher than it starts",
        ),
    ]


def gap_sweeps(scenario, profile, evaluate) -> pd.DataFrame:
    rows = []

    def add(variable: str, value: float, variant) -> None:
        result = evaluate(variant, profile, draws=SWEEP_DRAWS)
        fl, cl = result.fl.total.co2_kg.central, result.cl.total.co2_kg.central
        missed = result.cl.stage("data_transfer").co2_kg.central + result.cl.stage("data_storage").co2_kg.central
        rows.append({"variable": variable, "value": value, "FL kg CO2e": fl, "CL kg CO2e": cl,
                     "CL transfer + storage kg CO2e": missed, "CL - FL kg CO2e": cl - fl, "CL / FL": cl / fl})

    for factor in DATA_SCALES:
        variant = with_data_scale(scenario, factor)
        add("data volume", total_initial_data_gb(variant), variant)
    lifetime = scenario.lifecycle.lifetime_months
    for months in RETENTION_MONTHS:
        if months <= lifetime:
            add("retention", months, with_retention(scenario, months))
    for count in SILO_COUNTS:
        add("silos", count, with_silo_count(scenario, count))
    return pd.DataFrame(rows)


def gap_figure(sweeps: pd.DataFrame):
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.0))
    for axis, (variable, label, log_x) in zip(axes, (
        ("data volume", "initial data, all silos (GB)", True),
        ("retention", "central retention (months)", False),
        ("silos", "number of silos", True),
    )):
        part = sweeps[sweeps["variable"] == variable]
        axis.plot(part["value"], part["CL kg CO2e"], marker="o", color="#d62728", label="CL")
        axis.plot(part["value"], part["FL kg CO2e"], marker="s", color="#1f77b4", label="FL")
        axis.plot(part["value"], part["CL transfer + storage kg CO2e"], marker="^", linestyle="--", color="#ff7f0e",
                  label="CL transfer + storage (missed by training-only accounting)")
        axis.set_xlabel(label)
        axis.set_ylabel("lifecycle CO2 (kg CO2e)")
        if log_x:
            axis.set_xscale("log", base=2 if variable == "silos" else 10)
        if variable == "silos":
            axis.xaxis.set_major_locator(FixedLocator(list(part["value"])))
            axis.xaxis.set_major_formatter(ScalarFormatter())
            axis.xaxis.set_minor_locator(NullLocator())
        axis.set_yscale("log")
        axis.grid(alpha=0.3, which="both")
        axis.set_title(f"vs {variable}")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, bbox_to_anchor=(0.5, -0.06), frameon=False)
    figure.suptitle("Lifecycle CO2 of FL and CL as the enterprise grows (central factors)")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    return figure


def main(argv: list[str] | None = None) -> list[Claim]:
    parser = argparse.ArgumentParser(prog="python -m experiments.paper_findings", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives paper_findings/")
    parser.add_argument("--scenario", type=Path, default=None, help="scenario file (default: configs/enterprise.toml)")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="measured runs whose median profile is used")
    args = parser.parse_args(argv)

    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import evaluate_lifecycle

    output = ExperimentOutput(NAME, args.results)
    scenario = load_scenario(args.scenario or bundled_config_path(SCENARIO_FILE))
    print(f"Measuring {scenario.name} {args.repeats} times: {len(scenario.silos)} silos, {scenario.training.rounds} "
          f"rounds, {scenario.data.dataset} / {scenario.model.name} (FL and CL, real training) ...")
    runs, profile = measure_repeated(scenario, output.folder / "runs", args.repeats)
    output.table(pd.DataFrame(profile_rows(runs)), "measurements",
                 "Measured runs (energy profile per run; the lifecycle model uses their median)")
    features = dataset_features_for_lifecycle(scenario)
    result = evaluate_lifecycle(scenario, profile, dataset_features=features)
    stages = stage_table(result)
    output.table(stages, "stages", f"{scenario.name}: FL vs CL per lifecycle stage ({result.interval})")
    panels = [
        ("kg CO2e", [StageValue(fl.title, fl.co2_kg.central, cl.co2_kg.central)
                     for fl, cl in zip(result.fl.stages, result.cl.stages)]),
        ("kWh", [StageValue(fl.title, fl.energy_kwh.central, cl.energy_kwh.central)
                 for fl, cl in zip(result.fl.stages, result.cl.stages)]),
        (result.currency, [StageValue(fl.title, fl.cost_usd.central, cl.cost_usd.central)
                           for fl, cl in zip(result.fl.stages, result.cl.stages)]),
    ]
    output.png(stacked_stage_bars(panels, f"{scenario.name}: lifecycle, FL vs CL"), "stages")

    print("Sweeping data volume, retention and silos ...")
    sweeps = gap_sweeps(scenario, profile, partial(evaluate_lifecycle, dataset_features=features))
    output.table(sweeps, "gap_sweeps", "CL - FL lifecycle CO2 as data volume, retention and silos grow (central)")
    output.figure(gap_figure(sweeps), "gap_growth")

    claims = [claim_a(result), claim_b(result), *claim_c(sweeps)]
    print("Planning the shipped inventory (claim d) ...")
    claims += portfolio_findings(output).claims  # (d1) CO2, (d2) money: experiments/portfolio_claim.py
    header = (f"Findings on {scenario.name} ({len(scenario.silos)} silos, {total_initial_data_gb(scenario):g} GB, "
              f"{scenario.lifecycle.lifetime_months} months); energy profile from {profile.source} "
              f"({profile.energy_method}; this host is shared, so energy figures carry its noise)")
    text = header + "\n\n" + "\n\n".join(claim.text() for claim in claims) + "\n"
    print()
    print(text)
    output.text("findings.md", "# " + header + "\n\n```\n" + "\n\n".join(c.text() for c in claims) + "\n```\n")
    output.table(pd.DataFrame([{"claim": c.key, "statement": c.statement, "criterion": c.criterion,
                                "verdict": getattr(c.verdict, "value", c.verdict)} for c in claims]), "claims", "Verdicts")
    output.print_written()
    return claims


if __name__ == "__main__":
    main()
