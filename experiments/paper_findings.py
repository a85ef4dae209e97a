"""The method's three findings, checked on the shipped enterprise-scale scenario (configs/enterprise.toml).

    python -m experiments.paper_findings [--seeds 0..4]

1. Trains the scenario's federation and its centralized twin for real (Flower + PyTorch, energy from
   CodeCarbon), once per seed (`--seeds`, default five), in one process: a group of runs
   (simulator.repeats). Each run trains to the scenario's rounds (equal sample updates) and on until the
   test accuracy reaches TARGET_ACCURACY (equal accuracy), for at most MAX_ROUNDS rounds.
2. Runs the lifecycle model on the enterprise scenario with the seeds' energy profiles as a distribution
   (their measurement noise is drawn beside the factor ranges), then on variants with more data, longer
   retention and more silos, with the same draws at every point of a sweep.
3. States each finding as a claim with a band fixed in this file and decides it by where the 95 %
   interval of its deciding quantity lies: SUPPORTED (wholly inside the band), REFUTED (wholly outside),
   INCONCLUSIVE (across an edge). (a) training energy and cost of FL and CL are comparable, (a1) at equal
   sample updates and (a2) at equal accuracy; (b) CL's data transfer and storage add significant CO2 that
   training-only accounting misses; (c) the gap grows with data volume, retention and the number of
   silos, read two ways: (c1) the CO2 that training-only accounting misses grows, (c2) CL's lifecycle CO2
   minus FL's grows; (d) the planner's portfolio on the shipped inventory emits less CO2 (d1) and,
   separately, costs less (d2) than centralizing everything (experiments/portfolio_claim.py, plugged in
   through MORE_CLAIMS: intervals with the seeds' measurement noise, verdicts, the cost lines that decide).

Writes into results/paper_findings/: findings.md (the claims as printed), claims.csv/.md (every deciding
interval and verdict), measurements.csv/.md (each seed's profile and rounds to the target), stages.csv/.md,
gap_sweeps.csv/.md, claims.png, stages.png, gap_growth.png, and the group of measured runs under runs/.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

from experiments.claims import Band, Claim, Decision, Evidence, percentile_interval, share
from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.portfolio_claim import claim_d
from experiments.seeds import DEFAULT_SEEDS, add_seeds_argument, measure_seeds, seed_table
from experiments.variants import raw_of, total_initial_data_gb, with_data_scale, with_retention, with_silo_count
from simulator.scenario.load import bundled_config_path, load_scenario, validate_scenario
from simulator.scenario.schema import Scenario
from simulator.results.figures import StageValue, TotalRange, stacked_stage_bars

NAME = "paper_findings"
SCENARIO_FILE = "enterprise.toml"

# Criteria, fixed before any number is computed.
COMPARABLE = Band(0.5, 2.0)  # (a): CL / FL training energy and cost within a factor of 2
SIGNIFICANT = Band(0.10, 1.0)  # (b): CL's transfer + storage at least 10 % of CL's lifecycle CO2
NEVER_DECREASES = Band(low=0.0)  # (c): the smallest step along a sweep (kg CO2e)
# (a2): the accuracy both sides train to, and the most rounds FL may take (CL: the same sample updates).
# The enterprise scenario's federation reaches about 0.93-0.96 in its 20 rounds (digits, MLP); 0.93
# is within reach of every seed tried, in up to about 35 rounds.
TARGET_ACCURACY = 0.93
MAX_ROUNDS = 50
DATA_SCALES = (0.1, 1.0, 10.0, 100.0)  # (c): x the scenario's data volume
RETENTION_MONTHS = (3, 6, 12, 24, 36)  # (c): months the central copy keeps each byte
SILO_COUNTS = (2, 4, 8, 16)  # (c): silos, each bringing the data of the silo it copies
SWEEP_DRAWS = 2000  # draws per sweep point; the same draws (seeded) at every point of a sweep
EQUAL_ACCURACY_STREAM = 31  # seeds the draws of the rounds-to-target ratio apart from the others


@dataclass(frozen=True)
class Findings:
    """Everything the claims are decided from; a further claim (MORE_CLAIMS) gets it too."""

    scenario: Scenario  # the enterprise scenario as measured (with the target accuracy)
    samples: object  # simulator.lifecycle.profile_noise.ProfileSamples: one profile per seed
    group: object  # simulator.results.group.GroupSummary of the measured seeds
    result: object  # simulator.lifecycle.LifecycleResult with the seeds' profiles as a distribution
    fl_draws: object  # simulator.lifecycle.StageAmounts over the draws (factors and measurement noise)
    cl_draws: object
    draws: int
    output: ExperimentOutput


# Further claims, each a function of the findings (e.g. a claim (d) from another experiment module):
# append to this list; the claims table, findings.md and claims.png take them like the others.
MORE_CLAIMS: list[Callable[[Findings], list[Claim]]] = [claim_d]


def with_target(scenario: Scenario, target: float, max_rounds: int) -> Scenario:
    raw = raw_of(scenario)
    raw["training"] = {**raw["training"], "target_accuracy": target, "max_rounds": max_rounds}
    return validate_scenario(raw, f"{scenario.name} to {target:g}")


def _draws_of(value, count: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=float), (count,))


def _noise_note(findings: Findings) -> str:
    seeds = len(findings.group.seeds)
    host = ", with the host's between-invocation noise" if getattr(findings.samples, "host_noise", None) else ""
    return (f"2.5th-97.5th percentile of {findings.draws} draws of the factor ranges and of the mean energy "
            f"per sample update of {seeds} seed(s){host}")


def training_ratio_draws(findings: Findings, quantity: str) -> tuple[float, np.ndarray]:
    """(central, draws) of CL / FL of the training stage's `quantity` (energy_kwh | cost_usd)."""
    fl, cl = findings.result.fl.stage("training"), findings.result.cl.stage("training")
    central = getattr(cl, quantity).central / getattr(fl, quantity).central
    draws = (_draws_of(getattr(findings.cl_draws.training, quantity), findings.draws)
             / _draws_of(getattr(findings.fl_draws.training, quantity), findings.draws))
    return central, draws


def claim_a1(findings: Findings) -> Claim:
    fl, cl = findings.result.fl.stage("training"), findings.result.cl.stage("training")
    currency = findings.result.currency
    decisions = []
    for quantity, label in (("energy_kwh", "CL / FL training energy"), ("cost_usd", "CL / FL training cost")):
        central, draws = training_ratio_draws(findings, quantity)
        decisions.append(Decision(label, *percentile_interval(draws, central), "", COMPARABLE, _noise_note(findings)))
    return Claim(
        "a1",
        "Training energy and cost of FL and CL are comparable (at equal sample updates).",
        f"the 95 % intervals of CL / FL training energy and cost both lie {COMPARABLE.text()} "
        "(the lifecycle's training stage, both sides doing the same sample updates)",
        tuple(decisions),
        (
            Evidence("FL training energy (central factors)", fl.energy_kwh.central, "kWh"),
            Evidence("CL training energy (central factors)", cl.energy_kwh.central, "kWh"),
            Evidence("FL training cost (central factors)", fl.cost_usd.central, currency),
            Evidence("CL training cost (central factors)", cl.cost_usd.central, currency),
        ),
    )


def updates_to_target_ratio(findings: Findings) -> tuple[list[float] | None, str]:
    """Per seed: CL's sample updates to the target over FL's, as the ledger counted them (what the silos
    and the CL epochs really trained). The training stage has both sides doing the same sample updates,
    so trained to the target, CL / FL scales by this ratio. None and the reason when a side missed the
    target with some seed."""
    group, training = findings.group, findings.scenario.training
    fl_updates = group.quantity("to_target.fl.sample_updates")
    cl_updates = group.quantity("to_target.cl.sample_updates")
    missed = [f"{'FL' if side == 'fl' else 'CL'} with seed {seed}" for seed, sides in group.reached.items()
              for side in ("fl", "cl") if not sides.get(side)]
    if missed or fl_updates is None or cl_updates is None:
        return None, (f"did not reach the target accuracy {training.target_accuracy:g} within "
                      f"{training.last_round} rounds: {', '.join(missed) or 'no to-target figures'}; "
                      "no equal-accuracy figure is invented")
    return [cl / fl for fl, cl in zip(fl_updates.values, cl_updates.values)], ""


def claim_a2(findings: Findings) -> Claim:
    from simulator.lifecycle.profile_noise import draw_log_mean

    training = findings.scenario.training
    ratios, reason = updates_to_target_ratio(findings)
    statement = (f"Training energy and cost of FL and CL are comparable (at equal accuracy: test accuracy "
                 f"{training.target_accuracy:g}).")
    criterion = (f"the 95 % intervals of CL / FL training energy and cost, each side trained to the target "
                 f"accuracy, both lie {COMPARABLE.text()}")
    labels = (("energy_kwh", "CL / FL training energy to the target"), ("cost_usd", "CL / FL training cost to the target"))
    if ratios is None:
        decisions = tuple(Decision(label, math.nan, math.nan, math.nan, "", COMPARABLE, reason) for _, label in labels)
        return Claim("a2", statement, criterion, decisions)
    if len(set(ratios)) > 1:
        rng = np.random.default_rng(np.random.SeedSequence([findings.scenario.seed, EQUAL_ACCURACY_STREAM]))
        scale = draw_log_mean(np.array(ratios)[:, None], findings.draws, rng)[:, 0]
    else:
        scale = _draws_of(ratios[0], findings.draws)
    centre = float(np.exp(np.mean(np.log(ratios))))
    how = (_noise_note(findings) + f", times the sample updates to the target (CL / FL, {len(ratios)} seeds, the "
           "mean drawn as a Student t on the log scale)")
    decisions = []
    for quantity, label in labels:
        central, draws = training_ratio_draws(findings, quantity)
        decisions.append(Decision(label, *percentile_interval(draws * scale, central * centre), "", COMPARABLE, how))
    group = findings.group
    return Claim(
        "a2", statement, criterion, tuple(decisions),
        (
            Evidence("FL rounds to the target (mean over seeds)", group.quantity("to_target.fl.round").centre, "rounds"),
            Evidence("CL epochs to the target (mean over seeds)", group.quantity("to_target.cl.round").centre, "epochs"),
            Evidence("equal-budget rounds", training.rounds, "rounds"),
            Evidence("CL / FL sample updates to the target (geometric mean)", centre * 1.0, ""),
        ),
    )


def claim_b(findings: Findings) -> Claim:
    result, cl = findings.result, findings.cl_draws
    transfer, storage = result.cl.stage("data_transfer").co2_kg, result.cl.stage("data_storage").co2_kg
    cl_total, fl_total = result.cl.total.co2_kg.central, result.fl.total.co2_kg.central
    count = findings.draws
    portion = (_draws_of(cl.data_transfer.co2_kg, count) + _draws_of(cl.data_storage.co2_kg, count)) / _draws_of(
        cl.total().co2_kg, count)
    central = share(transfer.central + storage.central, cl_total)
    return Claim(
        "b",
        "CL's data transfer and storage add significant CO2 that training-only accounting misses.",
        f"the 95 % interval of CL's data transfer + storage CO2 as a share of CL's lifecycle CO2 lies "
        f"{SIGNIFICANT.text()} (a training-only account counts none of it)",
        (Decision("share of CL lifecycle CO2 from data transfer + storage", *percentile_interval(portion, central),
                  "(fraction)", SIGNIFICANT, _noise_note(findings)),),
        (
            Evidence("CL data transfer CO2 (central factors)", transfer.central, "kg CO2e"),
            Evidence("CL data storage CO2 (central factors)", storage.central, "kg CO2e"),
            Evidence("CL lifecycle CO2 (central factors)", cl_total, "kg CO2e"),
            Evidence("CL / FL CO2, training stage only", result.cl.stage("training").co2_kg.central
                     / result.fl.stage("training").co2_kg.central, ""),
            Evidence("CL / FL CO2, whole lifecycle", cl_total / fl_total, ""),
        ),
    )


# --- (c): sweeps ------------------------------------------------------------------------------------------

SWEPT = (("data volume", "GB"), ("retention", "months"), ("silos", "silos"))


@dataclass(frozen=True)
class SweepPoint:
    variable: str
    value: float
    # Central values and the draws (the same draws at every point of a sweep) of each curve, kg CO2e.
    central: dict[str, float]
    draws: dict[str, np.ndarray]


CURVES = ("FL kg CO2e", "CL kg CO2e", "CL transfer + storage kg CO2e", "CL - FL kg CO2e")


def sweep_point(variable: str, value: float, variant: Scenario, samples, factors,
                dataset_features: int | None) -> SweepPoint:
    from simulator.lifecycle import build_plan
    from simulator.lifecycle import factors as factor_values
    from simulator.lifecycle.model import evaluate_draws
    from simulator.lifecycle.stages import cl_stages, fl_stages

    plan = build_plan(variant, dataset_features=dataset_features)
    central = factor_values.central(factors)
    fl_c, cl_c = fl_stages(plan, samples.central, central), cl_stages(plan, samples.central, central)
    fl_d, cl_d = evaluate_draws(plan, samples, factors, SWEEP_DRAWS, variant.seed)

    def curves(fl, cl, count: int | None):
        def v(x):
            return float(x) if count is None else _draws_of(x, count)
        fl_total, cl_total = v(fl.total().co2_kg), v(cl.total().co2_kg)
        missed = v(cl.data_transfer.co2_kg) + v(cl.data_storage.co2_kg)
        return dict(zip(CURVES, (fl_total, cl_total, missed, cl_total - fl_total)))

    return SweepPoint(variable, value, curves(fl_c, cl_c, None), curves(fl_d, cl_d, SWEEP_DRAWS))


def gap_sweeps(scenario: Scenario, samples, factors, dataset_features: int | None) -> list[SweepPoint]:
    point = partial(sweep_point, samples=samples, factors=factors, dataset_features=dataset_features)
    points = []
    for factor in DATA_SCALES:
        variant = with_data_scale(scenario, factor)
        points.append(point("data volume", total_initial_data_gb(variant), variant))
    for months in RETENTION_MONTHS:
        if months <= scenario.lifecycle.lifetime_months:
            points.append(point("retention", months, with_retention(scenario, months)))
    for count in SILO_COUNTS:
        points.append(point("silos", count, with_silo_count(scenario, count)))
    return points


def sweep_table(points: list[SweepPoint]) -> pd.DataFrame:
    rows = []
    for point in points:
        row = {"variable": point.variable, "value": point.value}
        for curve in CURVES:
            _, low, high = percentile_interval(point.draws[curve], point.central[curve])
            row[curve] = point.central[curve]
            row[f"{curve} low"], row[f"{curve} high"] = low, high
        row["CL / FL"] = point.central["CL kg CO2e"] / point.central["FL kg CO2e"]
        rows.append(row)
    return pd.DataFrame(rows)


def smallest_step(values: list) -> object:
    """The smallest increase from one sweep point to the next (negative: somewhere it fell)."""
    return np.min(np.diff(np.vstack(values), axis=0), axis=0) if len(values) >= 2 else np.array([math.nan])


def _growth_claim(points: list[SweepPoint], key: str, curve: str, statement: str) -> Claim:
    decisions = []
    for variable, unit in SWEPT:
        part = [p for p in points if p.variable == variable]
        central = float(smallest_step([[p.central[curve]] for p in part])[0])
        draws = smallest_step([p.draws[curve] for p in part])
        values = ", ".join(f"{p.value:g}" for p in part)
        decisions.append(Decision(
            f"smallest step of {curve} as {variable} grows ({values} {unit})",
            *percentile_interval(draws, central), "kg CO2e", NEVER_DECREASES,
            f"2.5th-97.5th percentile of {SWEEP_DRAWS} draws, the same draws at every point of the sweep",
        ))
    criterion = (f"in each sweep the 95 % interval of the smallest step from one point to the next lies "
                 f"{NEVER_DECREASES.text()} kg CO2e (it never decreases)")
    return Claim(key, statement, criterion, tuple(decisions))


def claim_c(points: list[SweepPoint]) -> list[Claim]:
    """(c) read both ways: the CO2 that training-only accounting misses, and FL's lead over CL."""
    return [
        _growth_claim(points, "c1", "CL transfer + storage kg CO2e",
                      "The CO2 that training-only accounting misses (CL's data transfer + storage) grows with data "
                      "volume, retention and the number of silos."),
        _growth_claim(points, "c2", "CL - FL kg CO2e",
                      "The lifecycle gap between CL and FL (CL - FL CO2) grows with data volume, retention and the "
                      "number of silos."),
    ]


# --- tables and figures -----------------------------------------------------------------------------------


def stage_table(result) -> pd.DataFrame:
    rows = []
    for fl, cl in zip((*result.fl.stages, result.fl.total), (*result.cl.stages, result.cl.total)):
        rows.append({
            "stage": fl.title,
            "FL kg CO2e": fl.co2_kg.central, "FL kg CO2e low": fl.co2_kg.low, "FL kg CO2e high": fl.co2_kg.high,
            "CL kg CO2e": cl.co2_kg.central, "CL kg CO2e low": cl.co2_kg.low, "CL kg CO2e high": cl.co2_kg.high,
            "FL kWh": fl.energy_kwh.central, "FL kWh low": fl.energy_kwh.low, "FL kWh high": fl.energy_kwh.high,
            "CL kWh": cl.energy_kwh.central, "CL kWh low": cl.energy_kwh.low, "CL kWh high": cl.energy_kwh.high,
            f"FL {result.currency}": fl.cost_usd.central, f"CL {result.currency}": cl.cost_usd.central,
        })
    return pd.DataFrame(rows)


def claims_table(claims: list[Claim]) -> pd.DataFrame:
    """One row per deciding interval: the claim, the quantity, its 95 % interval, band and verdicts."""
    return pd.DataFrame([
        {"claim": claim.key, "statement": claim.statement, "deciding quantity": decision.label,
         "central": decision.central, "95 % low": decision.low, "95 % high": decision.high, "unit": decision.unit,
         "holds when": decision.band.text(), "part verdict": decision.verdict.value, "verdict": claim.verdict.value,
         "interval from": decision.how}
        for claim in claims for decision in claim.decisions
    ])


def stages_figure(result) -> bytes:
    panels = [
        ("kg CO2e", [StageValue(fl.title, fl.co2_kg.central, cl.co2_kg.central)
                     for fl, cl in zip(result.fl.stages, result.cl.stages)]),
        ("kWh", [StageValue(fl.title, fl.energy_kwh.central, cl.energy_kwh.central)
                 for fl, cl in zip(result.fl.stages, result.cl.stages)]),
        (result.currency, [StageValue(fl.title, fl.cost_usd.central, cl.cost_usd.central)
                           for fl, cl in zip(result.fl.stages, result.cl.stages)]),
    ]
    fl, cl = result.fl.total, result.cl.total
    totals = [TotalRange(fl.co2_kg.low, fl.co2_kg.high, cl.co2_kg.low, cl.co2_kg.high),
              TotalRange(fl.energy_kwh.low, fl.energy_kwh.high, cl.energy_kwh.low, cl.energy_kwh.high),
              TotalRange(fl.cost_usd.low, fl.cost_usd.high, cl.cost_usd.low, cl.cost_usd.high)]
    return stacked_stage_bars(panels, f"{result.scenario}: lifecycle, FL vs CL (whiskers: the totals' intervals)",
                              totals)


def gap_figure(sweeps: pd.DataFrame):
    figure, axes = plt.subplots(1, 3, figsize=(13, 4.0))
    for axis, (variable, label, log_x) in zip(axes, (
        ("data volume", "initial data, all silos (GB)", True),
        ("retention", "central retention (months)", False),
        ("silos", "number of silos", True),
    )):
        part = sweeps[sweeps["variable"] == variable]
        for curve, marker, colour, style, name in (
            ("CL kg CO2e", "o", "#d62728", "-", "CL"),
            ("FL kg CO2e", "s", "#1f77b4", "-", "FL"),
            ("CL transfer + storage kg CO2e", "^", "#ff7f0e", "--",
             "CL transfer + storage (missed by training-only accounting)"),
        ):
            axis.plot(part["value"], part[curve], marker=marker, color=colour, linestyle=style, label=name)
            axis.fill_between(part["value"], part[f"{curve} low"], part[f"{curve} high"], color=colour, alpha=0.15,
                              linewidth=0)
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
    figure.suptitle("Lifecycle CO2 of FL and CL as the enterprise grows (lines: central factors; bands: 95 % "
                    "intervals)")
    figure.tight_layout(rect=(0, 0.05, 1, 1))
    return figure


def claims_figure(claims: list[Claim]):
    """Each deciding quantity's 95 % interval against its band (green), one row per decision."""
    decisions = [(claim, decision) for claim in claims for decision in claim.decisions]
    figure, axes = plt.subplots(len(decisions), 1, figsize=(9, 0.9 * len(decisions) + 0.6), squeeze=False)
    colours = {"SUPPORTED": "#2ca02c", "REFUTED": "#d62728", "INCONCLUSIVE": "#7f7f7f"}
    for axis, (claim, decision) in zip(axes[:, 0], decisions):
        finite = math.isfinite(decision.low) and math.isfinite(decision.high)
        points = [v for v in (decision.low, decision.high, decision.central) if math.isfinite(v)]
        points += [v for v in (decision.band.low, decision.band.high) if math.isfinite(v)]
        left, right = (min(points), max(points)) if points else (0.0, 1.0)
        pad = (right - left) * 0.15 or 1.0
        axis.axvspan(max(decision.band.low, left - pad), min(decision.band.high, right + pad), color="#2ca02c",
                     alpha=0.12)
        if finite:
            axis.errorbar([decision.central], [0], xerr=[[decision.central - decision.low],
                                                          [decision.high - decision.central]],
                          fmt="o", color=colours[decision.verdict.value], capsize=5)
        else:
            axis.text(0.5, 0.5, "no interval", transform=axis.transAxes, ha="center", va="center")
        axis.set_xlim(left - pad, right + pad)
        axis.set_yticks([])
        unit = f" ({decision.unit.strip('()')})" if decision.unit else ""
        axis.set_title(f"({claim.key}) {decision.label}{unit}: {decision.verdict.value}", fontsize=8, loc="left")
        axis.tick_params(axis="x", labelsize=7)
    figure.suptitle("Each deciding quantity: 95 % interval (whiskers) against the band where the claim holds "
                    "(green)", fontsize=9)
    figure.tight_layout()
    return figure


def main(argv: list[str] | None = None) -> list[Claim]:
    parser = argparse.ArgumentParser(prog="python -m experiments.paper_findings", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives paper_findings/")
    parser.add_argument("--scenario", type=Path, default=None, help="scenario file (default: configs/enterprise.toml)")
    add_seeds_argument(parser, DEFAULT_SEEDS)
    parser.add_argument("--target-accuracy", type=float, default=TARGET_ACCURACY,
                        help=f"test accuracy both sides train to for claim (a2) (default {TARGET_ACCURACY})")
    parser.add_argument("--max-rounds", type=int, default=MAX_ROUNDS,
                        help=f"most FL rounds to reach it; CL gets the same sample updates (default {MAX_ROUNDS})")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import evaluate_lifecycle, load_factors
    from simulator.lifecycle.model import evaluate_draws
    from simulator.lifecycle import build_plan

    output = ExperimentOutput(NAME, args.results)
    base = load_scenario(args.scenario or bundled_config_path(SCENARIO_FILE))
    scenario = with_target(base, args.target_accuracy, max(args.max_rounds, base.training.rounds))
    print(f"Measuring {scenario.name} with seeds {', '.join(map(str, args.seeds))}: {len(scenario.silos)} silos, "
          f"{scenario.training.rounds} rounds and on to test accuracy {args.target_accuracy:g} (at most "
          f"{scenario.training.last_round} rounds), {scenario.data.dataset} / {scenario.model.name} (FL and CL, "
          "real training) ...")
    measured = measure_seeds(scenario, args.seeds, output.folder / "runs")
    group, samples = measured.summary, measured.samples
    output.table(seed_table(group), "measurements",
                 "Measured runs, one per seed (the lifecycle model draws the mean profile from them)")
    factors = load_factors()
    features = dataset_features_for_lifecycle(scenario)
    result = evaluate_lifecycle(scenario, samples, factors, dataset_features=features)
    fl_draws, cl_draws = evaluate_draws(build_plan(scenario, dataset_features=features), samples, factors,
                                        result.draws, scenario.seed)
    findings = Findings(scenario, samples, group, result, fl_draws, cl_draws, result.draws, output)
    output.table(stage_table(result), "stages", f"{scenario.name}: FL vs CL per lifecycle stage ({result.interval})")
    output.png(stages_figure(result), "stages")

    print("Sweeping data volume, retention and silos ...")
    points = gap_sweeps(scenario, samples, factors, features)
    sweeps = sweep_table(points)
    output.table(sweeps, "gap_sweeps", "Lifecycle CO2 as data volume, retention and silos grow (central, with the "
                 "2.5th-97.5th percentile of the draws)")
    output.figure(gap_figure(sweeps), "gap_growth")

    claims = [claim_a1(findings), claim_a2(findings), claim_b(findings), *claim_c(points)]
    for more in MORE_CLAIMS:
        claims += more(findings)
    elapsed = time.perf_counter() - started
    header = (f"Findings on {scenario.name} ({len(scenario.silos)} silos, {total_initial_data_gb(scenario):g} GB, "
              f"{scenario.lifecycle.lifetime_months} months); {len(group.seeds)} seeds measured "
              f"({', '.join(map(str, group.seeds))}), energy profile {samples.central.energy_method}; measurement "
              f"noise: {result.measurement_noise}")
    body = "\n\n".join(claim.text() for claim in claims)
    verdicts = ", ".join(f"({claim.key}) {claim.verdict.value}" for claim in claims)
    print()
    print(header + "\n\n" + body + "\n")
    print(f"Verdicts: {verdicts}")
    print(f"Took {elapsed:.0f} s on this machine ({len(group.seeds)} seeds).")
    output.text("findings.md", f"# {header}\n\n```\n{body}\n```\n\nVerdicts: {verdicts}\n\nTook {elapsed:.0f} s.\n")
    output.table(claims_table(claims), "claims", "Verdicts: each deciding quantity's 95 % interval against its band")
    output.figure(claims_figure(claims), "claims")
    output.print_written()
    return claims


if __name__ == "__main__":
    main()
