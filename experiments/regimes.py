"""Where federating wins and where it loses: the FL / CL lifecycle CO2 ratio as a map.

    python -m experiments.regimes [--draws N] [--readme-figure PATH]

The base is the shipped enterprise scenario (configs/enterprise.toml: 5 silos on 3 continents,
60 months, 4 tuning trials, served from the US, 50,000 samples per GB), with:
- the model payload per silo-round from 20 kB to 2 GB (x axis), and the energy per sample update
  that goes with it: log-log interpolation between the measured profiles of the shipped models (the
  default MLP, transformer, resnet18: configs/energy_profile_*.toml), extended beyond them along the
  nearest segment (an assumption, stated on the figure: bigger models cost more per sample);
- the data per silo from 1 GB to 10 TB (y axis), every silo alike, growing 2 % a month as shipped;
- rounds x trainings (rows): trained once with 10 rounds, the enterprise's 20 rounds retrained every
  quarter, and a cross-device-like 500 rounds retrained every month;
- the network energy factor (columns): the cross-silo core figure (0.0019 kWh/GB), its 2015 measured
  high (0.06), and the access-network figures of configs/factors.toml (0.14, and 0.4 as quoted for
  The Shift Project).
Each cell is FL / CL lifecycle CO2 at central factors, with a 95 % interval ([2.5th, 97.5th]) over
Monte Carlo draws of every other factor and of the energy profile's measurement noise (a multiplier,
see MEASUREMENT_SPREAD). The solid contour is the break-even (ratio 1) at central values; the dashed
ones are where the interval's bounds reach 1, so between them the verdict is INCONCLUSIVE.

Two claims, criteria fixed below before any number is computed, each with a three-valued verdict:
(Q) in a Qiu-like setting (cross-device-like: the resnet18 profile's large model, 500 rounds retrained
    monthly, 1 GB per silo, bytes over access networks) FL emits more CO2 than CL (Qiu et al., JMLR
    2023, report up to two orders of magnitude more carbon than centralized training in cross-device
    settings);
(E) in the shipped enterprise scenario, as shipped, CL emits more CO2 than FL.

Writes results/regimes/: regime_map.png, grid.csv/.md (every cell), break_even.csv/.md (data per
silo where FL / CL = 1, per panel and payload), claims.csv/.md (verdicts) and findings.md (the claims as
printed).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.ticker import LogLocator, NullLocator

from experiments.claims import INTERVAL_PERCENTILES, Band, Claim, Decision, Evidence, interval_verdict
from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.variants import raw_of
from simulator.scenario.load import bundled_config_path, load_scenario, validate_scenario
from simulator.scenario.schema import Scenario
from simulator.lifecycle import factors as factor_values
from simulator.lifecycle.factors import FACTOR_NAMES, Factor, FactorSet, load_factors
from simulator.lifecycle.quantities import build_plan, with_volume_scales
from simulator.lifecycle.profile import EnergyProfile, load_profile
from simulator.lifecycle.stages import cl_stages, fl_stages

NAME = "regimes"
SCENARIO_FILE = "enterprise.toml"

# The map's axes.
PAYLOAD_BYTES = np.logspace(math.log10(2e4), math.log10(2e9), 16)  # per silo-round: 20 kB .. 2 GB
DATA_GB_PER_SILO = np.logspace(0.0, 4.0, 13)  # 1 GB .. 10 TB per silo
SCHEDULES = (  # (rounds per training, retrain every N months (0: once), label)
    (10, 0, "trained once, 10 rounds"),
    (20, 3, "20 rounds, retrained quarterly (enterprise)"),
    (500, 1, "500 rounds, retrained monthly (cross-device-like)"),
)
NETWORK_KWH_PER_GB = (  # (value, label): from configs/factors.toml
    (0.0019, "core 0.0019 kWh/GB (cross-silo, 2025)"),
    (0.06, "0.06 kWh/GB (core + fixed access, 2015)"),
    (0.14, "access 0.14 kWh/GB (mobile, 2020)"),
    (0.4, "access 0.4 kWh/GB (Shift Project)"),
)
PROFILE_ANCHORS = ("default", "transformer", "resnet18")  # measured profiles the energy per sample follows
DRAWS = 400
SEED = 0
# Measurement noise of a profile's energy per sample update on this shared host: a single run's
# attributed figure (the ledger's energy_kwh) varied between reruns of identical work with a CV of up
# to 0.40 (experiments/bench_noise.py, three runs: 0.25, 0.30, 0.40). Each draw multiplies the energy
# per sample update by a factor log-uniform within [1 / s, s] with the same spread of its logarithm as
# a log-normal of CV 0.40: s = exp(sqrt(3 ln(1 + 0.40^2))) = 1.95 (median 1). A stand-in for the
# representative models, measured once each.
MEASUREMENT_CV = 0.40
MEASUREMENT_SPREAD = math.exp(math.sqrt(3.0 * math.log(1.0 + MEASUREMENT_CV**2)))

# The claims' settings and criteria, fixed before any number is computed.
QIU_PROFILE = "resnet18"
QIU_ROUNDS, QIU_RETRAIN_EVERY, QIU_DATA_GB = 500, 1, 1.0
QIU_BAND = Band(low=1.0)  # (Q): FL / CL lifecycle CO2 > 1 over the whole interval
ENTERPRISE_BAND = Band(high=1.0)  # (E): FL / CL lifecycle CO2 < 1 over the whole interval


# --- Inputs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    """A measured profile's payload and per-sample figures: a point of the energy-vs-payload curve."""

    name: str
    bytes_per_silo_round: float
    kwh_per_sample_update: float
    wall_s_per_sample_update: float
    server_kwh_per_silo_round: float


def anchors() -> list[Anchor]:
    points = []
    for name in PROFILE_ANCHORS:
        profile = load_profile(name)
        points.append(Anchor(
            name, profile.bytes_per_silo_round,
            (profile.fl_kwh_per_sample_update + profile.cl_kwh_per_sample_update) / 2,
            (profile.fl_wall_s_per_sample_update + profile.cl_wall_s_per_sample_update) / 2,
            profile.server_kwh_per_silo_round,
        ))
    return sorted(points, key=lambda anchor: anchor.bytes_per_silo_round)


def log_interpolate(x, xs, ys):
    """Piecewise linear in log-log through (xs, ys), continued beyond the ends along the end segments."""
    lx, lxs, lys = np.log(np.asarray(x, dtype=float)), np.log(xs), np.log(ys)
    inside = np.interp(lx, lxs, lys)
    below = lys[0] + (lx - lxs[0]) * (lys[1] - lys[0]) / (lxs[1] - lxs[0])
    above = lys[-1] + (lx - lxs[-1]) * (lys[-1] - lys[-2]) / (lxs[-1] - lxs[-2])
    return np.exp(np.where(lx < lxs[0], below, np.where(lx > lxs[-1], above, inside)))


def profile_for_payload(payload, points: list[Anchor], noise=1.0) -> EnergyProfile:
    """An energy profile for models of the given payload (arrays allowed), per-sample figures from the
    anchors; `noise` multiplies the energy per sample update (measurement noise draws)."""
    xs = np.array([a.bytes_per_silo_round for a in points])
    kwh = log_interpolate(payload, xs, np.array([a.kwh_per_sample_update for a in points])) * noise
    wall = log_interpolate(payload, xs, np.array([a.wall_s_per_sample_update for a in points]))
    server = log_interpolate(payload, xs, np.array([max(a.server_kwh_per_silo_round, 1e-30) for a in points]))
    return EnergyProfile(kwh, kwh, wall, wall, server, payload, "modelled",
                         "interpolated between the measured profiles " + ", ".join(a.name for a in points))


def with_noise(profile: EnergyProfile, noise) -> EnergyProfile:
    return replace(profile, fl_kwh_per_sample_update=profile.fl_kwh_per_sample_update * noise,
                   cl_kwh_per_sample_update=profile.cl_kwh_per_sample_update * noise)


def measurement_noise(draws: int, seed: int) -> np.ndarray:
    """Multipliers log-uniform within [1 / MEASUREMENT_SPREAD, MEASUREMENT_SPREAD]."""
    rng = np.random.default_rng(seed + 1)  # not the factors' stream
    return np.exp(rng.uniform(-math.log(MEASUREMENT_SPREAD), math.log(MEASUREMENT_SPREAD), draws))


def with_network(factors: FactorSet[Factor], value: float) -> FactorSet[Factor]:
    """The factors with the core network factor fixed at `value` (the map's column)."""
    fixed = replace(factors.network_kwh_per_gb, central=value, low=value, high=value)
    return replace(factors, network_kwh_per_gb=fixed)


def drawn_factors(factors: FactorSet[Factor], draws: int, seed: int, shape: tuple[int, ...]) -> FactorSet:
    sampled = factor_values.draw(factors, draws, seed)
    return FactorSet(**{name: getattr(sampled, name).reshape(shape) for name in FACTOR_NAMES})


# --- Scenarios ----------------------------------------------------------------------------------------


def variant(base: Scenario, rounds: int, retrain_every: int, data_gb: float | None = None, **lifecycle) -> Scenario:
    raw = raw_of(base)
    raw["training"]["rounds"] = rounds
    raw["lifecycle"]["retrain_every_months"] = retrain_every
    if data_gb is not None:
        for silo in raw["lifecycle"]["silos"]:
            silo["data_gb"] = data_gb
    raw["lifecycle"].update(lifecycle)
    return validate_scenario(raw, f"{base.name} {rounds} rounds, retrain every {retrain_every}")


def qiu_like(base: Scenario) -> Scenario:
    """Cross-device-like: a large model (the resnet18 profile), 500 rounds retrained monthly, 1 GB per
    silo, bytes over access networks (network_access_kwh_per_gb)."""
    scenario = variant(base, QIU_ROUNDS, QIU_RETRAIN_EVERY, QIU_DATA_GB, network="access", profile=QIU_PROFILE)
    raw = raw_of(scenario)
    raw["model"] = {"name": QIU_PROFILE}
    raw["name"] = "qiu-like"
    return validate_scenario(raw, "qiu-like")


# --- Evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatioResult:
    fl_co2_kg: float
    cl_co2_kg: float
    ratio: float  # FL / CL lifecycle CO2, central
    low: float
    high: float


def scenario_ratio(scenario: Scenario, profile: EnergyProfile, factors: FactorSet[Factor], draws: int, seed: int) -> RatioResult:
    """FL / CL lifecycle CO2 of one scenario: central, and its interval over factor and noise draws."""
    plan = build_plan(scenario)
    central = factor_values.central(factors)
    fl, cl = float(fl_stages(plan, profile, central).total().co2_kg), float(cl_stages(plan, profile, central).total().co2_kg)
    sampled = factor_values.draw(factors, draws, seed)
    noisy = with_noise(profile, measurement_noise(draws, seed))
    ratios = np.asarray(fl_stages(plan, noisy, sampled).total().co2_kg) / np.asarray(cl_stages(plan, noisy, sampled).total().co2_kg)
    low, high = np.percentile(ratios, INTERVAL_PERCENTILES)
    ratio = fl / cl
    return RatioResult(fl, cl, ratio, min(float(low), ratio), max(float(high), ratio))


@dataclass(frozen=True)
class Panel:
    rounds: int
    retrain_every: int
    schedule: str
    network_kwh_per_gb: float
    network: str
    fl_co2_kg: np.ndarray  # (data, payload), central
    cl_co2_kg: np.ndarray
    ratio: np.ndarray
    low: np.ndarray
    high: np.ndarray
    kwh_per_sample_update: np.ndarray  # (payload,)
    trainings: int
    runs_per_training: int


def panel(base: Scenario, schedule, network, factors: FactorSet[Factor], points: list[Anchor], draws: int, seed: int) -> Panel:
    """Every (data per silo, payload) cell of one schedule and network factor, in one pass over arrays:
    draws x data x payload."""
    rounds, retrain_every, schedule_label = schedule
    network_value, network_label = network
    scenario = variant(base, rounds, retrain_every, data_gb=1.0)
    plan = with_volume_scales(build_plan(scenario), DATA_GB_PER_SILO[None, :, None])
    fixed = with_network(factors, network_value)
    payload = PAYLOAD_BYTES[None, None, :]
    profile = profile_for_payload(payload, points)
    central = factor_values.central(fixed)
    fl = np.asarray(fl_stages(plan, profile, central).total().co2_kg)[0]
    cl = np.asarray(cl_stages(plan, profile, central).total().co2_kg)[0]
    sampled = drawn_factors(fixed, draws, seed, (draws, 1, 1))
    noisy = with_noise(profile, measurement_noise(draws, seed)[:, None, None])
    ratios = np.asarray(fl_stages(plan, noisy, sampled).total().co2_kg) / np.asarray(cl_stages(plan, noisy, sampled).total().co2_kg)
    low, high = np.percentile(ratios, INTERVAL_PERCENTILES, axis=0)
    ratio = fl / cl
    return Panel(rounds, retrain_every, schedule_label, network_value, network_label, fl, cl, ratio,
                 np.minimum(low, ratio), np.maximum(high, ratio), np.asarray(profile.fl_kwh_per_sample_update)[0, 0],
                 len(plan.training_months), plan.runs_per_training)


def grid_rows(panels: list[Panel]) -> pd.DataFrame:
    rows = []
    for item in panels:
        for i, data_gb in enumerate(DATA_GB_PER_SILO):
            for j, payload in enumerate(PAYLOAD_BYTES):
                rows.append({
                    "schedule": item.schedule, "rounds": item.rounds, "retrain every (months)": item.retrain_every,
                    "trainings": item.trainings, "network kWh/GB": item.network_kwh_per_gb,
                    "payload bytes per silo-round": payload, "data GB per silo": data_gb,
                    "kWh per sample update": item.kwh_per_sample_update[j],
                    "FL kg CO2e": item.fl_co2_kg[i, j], "CL kg CO2e": item.cl_co2_kg[i, j],
                    "FL / CL": item.ratio[i, j], "FL / CL low": item.low[i, j], "FL / CL high": item.high[i, j],
                    "FL emits more": interval_verdict(item.low[i, j], item.high[i, j], QIU_BAND).value,
                })
    return pd.DataFrame(rows)


def break_even_rows(panels: list[Panel]) -> pd.DataFrame:
    """Per panel and payload: the data per silo where FL / CL crosses 1 (log-interpolated), at central
    values and where the interval's bounds cross it."""
    rows = []
    for item in panels:
        for j, payload in enumerate(PAYLOAD_BYTES):
            rows.append({
                "schedule": item.schedule, "network kWh/GB": item.network_kwh_per_gb, "payload bytes per silo-round": payload,
                "break-even GB per silo (central)": _crossing_gb(item.ratio[:, j]),
                "break-even GB per silo (interval low bound)": _crossing_gb(item.low[:, j]),
                "break-even GB per silo (interval high bound)": _crossing_gb(item.high[:, j]),
                "FL / CL at 1 GB": item.ratio[0, j], "FL / CL at 10 TB": item.ratio[-1, j],
            })
    return pd.DataFrame(rows)


def _crossing_gb(ratios: np.ndarray) -> float | None:
    logs = np.log(ratios)
    for index in range(1, len(logs)):
        if logs[index - 1] * logs[index] < 0:
            x0, x1 = math.log(DATA_GB_PER_SILO[index - 1]), math.log(DATA_GB_PER_SILO[index])
            return math.exp(x0 + logs[index - 1] / (logs[index - 1] - logs[index]) * (x1 - x0))
    return None


# --- Claims -------------------------------------------------------------------------------------------


def ratio_claim(key: str, statement: str, criterion: str, band: Band, result: RatioResult, setting: str,
                draws: int) -> Claim:
    how = (f"2.5th-97.5th percentile of {draws} draws of the factors and of the profile's measurement noise "
           f"(x/÷ {MEASUREMENT_SPREAD:.2f}); setting: {setting}")
    return Claim(
        key, statement, criterion,
        (Decision("FL / CL lifecycle CO2", result.ratio, result.low, result.high, "", band, how),),
        (Evidence("FL lifecycle CO2", result.fl_co2_kg, "kg CO2e"), Evidence("CL lifecycle CO2", result.cl_co2_kg, "kg CO2e")),
    )


def claims(base: Scenario, factors: FactorSet[Factor], draws: int, seed: int) -> tuple[list[Claim], dict]:
    from simulator.lifecycle.profile import scenario_profile

    qiu = qiu_like(base)
    qiu_result = scenario_ratio(qiu, scenario_profile(qiu), factors, draws, seed)
    enterprise_result = scenario_ratio(base, scenario_profile(base), factors, draws, seed)
    found = [
        ratio_claim(
            "Q", "In a Qiu-like setting (cross-device-like: large model, many rounds, little data per silo) FL emits "
            "more CO2 than CL over the lifecycle.",
            "the FL / CL lifecycle CO2 ratio's interval lies above 1", QIU_BAND, qiu_result,
            f"{QIU_PROFILE} profile ({scenario_profile(qiu).bytes_per_silo_round / 1e6:.0f} MB per silo-round), "
            f"{QIU_ROUNDS} rounds retrained every {QIU_RETRAIN_EVERY} month, {QIU_DATA_GB:g} GB per silo, access network",
            draws,
        ),
        ratio_claim(
            "E", "In the shipped enterprise scenario, CL emits more CO2 than FL over the lifecycle.",
            "the FL / CL lifecycle CO2 ratio's interval lies below 1", ENTERPRISE_BAND, enterprise_result,
            f"configs/{SCENARIO_FILE} as shipped ({scenario_profile(base).source.split(':')[0]})",
            draws,
        ),
    ]
    markers = {
        "qiu": (scenario_profile(qiu).bytes_per_silo_round, QIU_DATA_GB, QIU_ROUNDS, QIU_RETRAIN_EVERY, 0.14, qiu_result),
        "enterprise": (scenario_profile(base).bytes_per_silo_round,
                       float(np.mean([silo.data_gb for silo in base.lifecycle.silos])),
                       base.training.rounds, base.lifecycle.retrain_every_months, 0.0019, enterprise_result),
    }
    return found, markers


# --- Figure ---------------------------------------------------------------------------------------------


def regime_figure(panels: list[Panel], markers: dict, points: list[Anchor]):
    rows, columns = len(SCHEDULES), len(NETWORK_KWH_PER_GB)
    figure, axes = plt.subplots(rows, columns, figsize=(4.3 * columns, 3.6 * rows), sharex=True, sharey=True, squeeze=False)
    limit = max(2.0, max(float(np.nanmax(np.abs(np.log10(item.ratio)))) for item in panels))
    norm = TwoSlopeNorm(vmin=-limit, vcenter=0.0, vmax=limit)
    mesh = None
    for item in panels:
        r = next(i for i, s in enumerate(SCHEDULES) if s[0] == item.rounds and s[1] == item.retrain_every)
        c = next(i for i, n in enumerate(NETWORK_KWH_PER_GB) if n[0] == item.network_kwh_per_gb)
        axis = axes[r][c]
        mesh = axis.pcolormesh(PAYLOAD_BYTES, DATA_GB_PER_SILO, np.log10(item.ratio), cmap="RdBu_r", norm=norm, shading="gouraud")
        axis.contour(PAYLOAD_BYTES, DATA_GB_PER_SILO, item.ratio, levels=[1.0], colors="black", linewidths=1.4)
        for bound in (item.low, item.high):
            axis.contour(PAYLOAD_BYTES, DATA_GB_PER_SILO, bound, levels=[1.0], colors="black", linewidths=0.8, linestyles="--")
        for anchor in points:
            axis.axvline(anchor.bytes_per_silo_round, color="grey", linewidth=0.6, linestyle=":")
        axis.set_xscale("log")
        axis.set_yscale("log")
        # Few ticks, no minor ones: tick layout on 12 log-log panels otherwise costs tens of seconds.
        for which in (axis.xaxis, axis.yaxis):
            which.set_major_locator(LogLocator(base=10, numticks=4 if which is axis.xaxis else 5))
            which.set_minor_locator(NullLocator())
        if r == 0:
            axis.set_title(item.network, fontsize=9)
        if c == 0:
            axis.set_ylabel(f"{item.schedule}\n\ndata per silo (GB)", fontsize=8)
        if r == rows - 1:
            axis.set_xlabel("payload per silo-round (bytes)", fontsize=8)
        for key, (payload, data_gb, rounds, retrain_every, network_value, result) in markers.items():
            if rounds == item.rounds and retrain_every == item.retrain_every and network_value == item.network_kwh_per_gb:
                axis.plot(payload, data_gb, marker="*" if key == "enterprise" else "^", color="gold", markersize=13,
                          markeredgecolor="black")
                label = "enterprise" if key == "enterprise" else "Qiu-like"
                # Placed towards the panel's middle, so the label stays inside it.
                offset = (6, -24) if data_gb > 100 else (-70, 14)
                axis.annotate(f"{label}: FL/CL {result.ratio:.2g}\n[{result.low:.2g}, {result.high:.2g}]",
                              (payload, data_gb), xytext=offset, textcoords="offset points", fontsize=7,
                              bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.8})
    colorbar = figure.colorbar(mesh, ax=axes, shrink=0.6, pad=0.02)
    colorbar.set_label("log10(FL / CL lifecycle CO2): red, FL emits more; blue, CL emits more")
    figure.suptitle(
        "Where federating wins: FL / CL lifecycle CO2 (enterprise scenario, every silo alike). Solid: break-even at "
        "central factors; dashed: the interval's bounds reach 1\n(energy per sample update interpolated between the "
        "measured profiles, dotted lines: " + ", ".join(a.name for a in points) + ")", fontsize=9)
    return figure


NO_SEEDS = ("No --seeds: a map of the lifecycle model over the measured profiles (no training here); the "
            "profiles' run-to-run noise enters every cell's interval as a stated multiplier (MEASUREMENT_SPREAD).")


def main(argv: list[str] | None = None) -> list[Claim]:
    parser = argparse.ArgumentParser(prog="python -m experiments.regimes", description=__doc__.split("\n")[0],
                                     epilog=NO_SEEDS)
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives regimes/")
    parser.add_argument("--draws", type=int, default=DRAWS, help="Monte Carlo draws per cell and per claim")
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the draws")
    parser.add_argument("--readme-figure", type=Path, default=None, help="also save the map here (e.g. docs/figures/)")
    args = parser.parse_args(argv)
    if args.draws < 100:
        parser.error("--draws must be at least 100")
    output = ExperimentOutput(NAME, args.results)
    base = load_scenario(bundled_config_path(SCENARIO_FILE))
    factors = load_factors()
    points = anchors()
    print(f"Regime map: {len(SCHEDULES)} schedules x {len(NETWORK_KWH_PER_GB)} network factors, "
          f"{len(DATA_GB_PER_SILO)} data volumes x {len(PAYLOAD_BYTES)} payloads, {args.draws} draws per cell ...")
    panels = [panel(base, schedule, network, factors, points, args.draws, args.seed)
              for schedule in SCHEDULES for network in NETWORK_KWH_PER_GB]
    found, markers = claims(base, factors, args.draws, args.seed)
    output.table(grid_rows(panels), "grid", "FL / CL lifecycle CO2 per cell (central [2.5th, 97.5th percentile])")
    output.table(break_even_rows(panels), "break_even", "Data per silo where FL and CL emit the same CO2")
    figure = regime_figure(panels, markers, points)
    if args.readme_figure is not None:
        args.readme_figure.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(args.readme_figure, dpi=80, bbox_inches="tight", metadata={"Software": None})
    output.figure(figure, "regime_map")
    anchors_text = "; ".join(f"{a.name}: {a.bytes_per_silo_round:,.0f} B per silo-round, {a.kwh_per_sample_update:.3g} kWh "
                             "per sample update" for a in points)
    header = (f"Regimes on {base.name} ({len(base.silos)} silos); measured profiles: {anchors_text}. Intervals: "
              f"{INTERVAL_PERCENTILES[0]:g}th to {INTERVAL_PERCENTILES[1]:g}th percentile of {args.draws} draws over the "
              f"factors and the profile's measurement noise (x/÷ {MEASUREMENT_SPREAD:.2f}).")
    text = header + "\n\n" + "\n\n".join(claim.text() for claim in found) + "\n"
    print()
    print(text)
    output.text("findings.md", "# " + header + "\n\n```\n" + "\n\n".join(c.text() for c in found) + "\n```\n")
    output.table(pd.DataFrame([{"claim": c.key, "statement": c.statement, "criterion": c.criterion,
                                "FL / CL": c.decisions[0].central, "low": c.decisions[0].low, "high": c.decisions[0].high,
                                "verdict": c.verdict.value} for c in found]), "claims", "Verdicts (95 % intervals)")
    output.print_written()
    return found


if __name__ == "__main__":
    main()
