"""Aggregation strategies compared on accuracy and on energy, CO2, bytes and cost.

    python -m experiments.compare_strategies [--seeds 0..4] [--rounds N] [--strategies a,b] [--out DIR]

Every strategy variant x data skew (iid, Dirichlet alpha 0.3) x seed runs the shipped multi-region
scenario (configs/strategies.toml: six silos, three on clean grids, three on carbon-heavy ones) on
the inline runner, measured by CodeCarbon's offline tracker. Writes into results/compare_strategies/:
runs.csv (one row per run), table.csv and table.md (per variant and skew: final accuracy, energy and
CO2 as mean, standard deviation and 95 % interval over the seeds (Student t), rounds to the target
accuracy, bytes, cost), pareto.png (accuracy vs CO2, both with 95 % whiskers), and a verdict on
"carbon-aware selection emits less CO2 than FedAvg" from the 95 % interval of their paired CO2 ratio.
"""

from __future__ import annotations

import argparse
import gc
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import simulator  # noqa: F401  (telemetry off before Flower loads)
from experiments.claims import Band, Verdict, interval_verdict
from experiments.seeds import DEFAULT_SEEDS, add_seeds_argument
from simulator.scenario.load import bundled_config_path, load_scenario
from simulator.scenario.schema import Scenario
from simulator.errors import InputError
from simulator.intervals import mean_interval, ratio_interval
from simulator.flower.runners import run_inline
from simulator.ledger import APPROACH_FL, SERVER_SILO
from simulator.lifecycle.factors import load_factors
from simulator.probes.energy import install_host_probe
from simulator.probes.host_energy import HostEnergyProbe
from simulator.training import warm_up_torch
from simulator.units import BYTES_PER_GB, SECONDS_PER_HOUR

SCENARIO_FILE = "strategies.toml"
OUTPUT_DIR = Path("results") / "compare_strategies"
TARGET_ACCURACY = 0.85  # fraction of the held-out test set
EMITS_LESS = Band(high=1.0)  # carbon-aware vs FedAvg: their paired CO2 ratio below 1
SKEWS = {"iid": ("iid", None), "dirichlet-0.3": ("dirichlet", 0.3)}
# Prices: central values of configs/factors.toml (each with its source there): internet egress on
# every payload byte (silos of different organisations talk over the internet), and a 2-vCPU cloud
# instance for each silo's and the server's measured busy time.
EGRESS_FACTOR = "price_egress_internet_usd_per_gb"
COMPUTE_FACTOR = "price_cpu_instance_usd_per_hour"


@dataclass(frozen=True)
class Prices:
    egress_usd_per_gb: float
    compute_usd_per_hour: float
    sources: str


def shipped_prices() -> Prices:
    factors = load_factors()
    egress, compute = getattr(factors, EGRESS_FACTOR), getattr(factors, COMPUTE_FACTOR)
    return Prices(
        egress.central,
        compute.central,
        f"egress {egress.central} {egress.unit} ({EGRESS_FACTOR}: {egress.source}) on every payload byte; "
        f"compute {compute.central} {compute.unit} ({COMPUTE_FACTOR}: {compute.source}) on each silo's and "
        "the server's measured busy time",
    )


# Variant label -> the scenario's [strategy] section.
VARIANTS: dict[str, dict] = {
    "fedavg": {"name": "fedavg"},
    "fedprox": {"name": "fedprox"},
    "fedadam": {"name": "fedadam"},
    "fedyogi": {"name": "fedyogi"},
    "fedadagrad": {"name": "fedadagrad"},
    "fedavgm": {"name": "fedavgm"},
    "fedmedian": {"name": "fedmedian"},
    "fedtrimmedavg": {"name": "fedtrimmedavg"},
    "krum": {"name": "krum"},
    "multikrum": {"name": "multikrum"},
    "bulyan": {"name": "bulyan"},
    "qfedavg": {"name": "qfedavg"},
    "dp_fixed_clipping": {"name": "dp_fixed_clipping"},
    "dp_adaptive_clipping": {"name": "dp_adaptive_clipping"},
    "scaffold": {"name": "scaffold"},
    "carbon_aware": {"name": "carbon_aware"},
    "fedavg+fp16": {"name": "fedavg", "compression": "fp16"},
    "fedavg+int8": {"name": "fedavg", "compression": "int8"},
    "fedavg+topk0.1": {"name": "fedavg", "compression": "topk", "topk_fraction": 0.1},
}


# -- arithmetic (pure) ----------------------------------------------------------------------------
def rounds_to_target(accuracies: list[float | None], target: float) -> int | None:
    """The first round (1-based) whose accuracy reaches `target`; None if none does."""
    for round_number, accuracy in enumerate(accuracies, start=1):
        if accuracy is not None and accuracy >= target:
            return round_number
    return None


def run_cost_usd(bytes_moved: int, busy_s: float, egress_usd_per_gb: float, compute_usd_per_hour: float) -> float:
    """Egress of every payload byte plus compute time of the busy silos and server."""
    return bytes_moved / BYTES_PER_GB * egress_usd_per_gb + busy_s / SECONDS_PER_HOUR * compute_usd_per_hour


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """Labels of the (accuracy, co2) points no other point beats (accuracy >=, CO2 <=, one strictly)."""
    front = []
    for label, (accuracy, co2) in points.items():
        dominated = any(
            other_acc >= accuracy and other_co2 <= co2 and (other_acc, other_co2) != (accuracy, co2)
            for other, (other_acc, other_co2) in points.items()
            if other != label
        )
        if not dominated:
            front.append(label)
    return sorted(front, key=lambda label: points[label][1])


def work_weighted_intensity(rows: list[tuple[int, float]]) -> float:
    """Mean grid intensity (gCO2e/kWh) of the training done, weighted by examples trained:
    sum(n * g) / sum(n) over (examples, intensity) pairs. A load-independent view of where training ran."""
    examples = sum(n for n, _ in rows)
    return sum(n * g for n, g in rows) / examples if examples else float("nan")


def spread(values: list[float]) -> float:
    """Sample standard deviation (0 for a single value)."""
    return statistics.stdev(values) if len(values) > 1 else 0.0


# -- running --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunRecord:
    variant: str
    skew: str
    seed: int
    accuracy: float
    rounds_to_target: int | None
    energy_kwh: float
    co2_kg: float
    bytes_down: int
    bytes_up: int
    busy_s: float
    cost_usd: float
    silo_train_rounds: int  # silo x round training participations
    train_intensity_g_per_kwh: float  # work_weighted_intensity of the training rows


def scenario_for(base: Scenario, variant: str, skew: str, seed: int, rounds: int | None) -> Scenario:
    partition, alpha = SKEWS[skew]
    raw = base.model_dump(mode="json")
    raw["strategy"] = dict(VARIANTS[variant])
    raw["seed"] = seed
    raw["data"]["partition"] = partition
    if alpha is not None:
        raw["data"]["alpha"] = alpha
    if rounds is not None:
        raw["training"]["rounds"] = rounds
    return Scenario.model_validate(raw)


def run_once(scenario: Scenario, variant: str, skew: str, folder: Path, prices: Prices) -> RunRecord:
    outcome = run_inline(scenario, folder)
    rows = [row for row in outcome.ledger.rows if row.approach == APPROACH_FL]
    totals = outcome.ledger.totals(APPROACH_FL)
    if totals.energy_kwh is None or totals.co2_kg is None:
        raise RuntimeError("CodeCarbon returned no energy for this run; the comparison needs it")
    busy_s = sum(row.wall_s for row in rows)
    trained = [r for r in rows if r.phase == "train" and r.silo != SERVER_SILO and r.status == "ok"]
    return RunRecord(
        variant=variant,
        skew=skew,
        seed=scenario.seed,
        accuracy=float(outcome.accuracy or 0.0),
        rounds_to_target=rounds_to_target([r.accuracy for r in outcome.rounds], TARGET_ACCURACY),
        energy_kwh=totals.energy_kwh,
        co2_kg=totals.co2_kg,
        bytes_down=totals.bytes_down,
        bytes_up=totals.bytes_up,
        busy_s=busy_s,
        cost_usd=run_cost_usd(totals.bytes_down + totals.bytes_up, busy_s, prices.egress_usd_per_gb,
                              prices.compute_usd_per_hour),
        silo_train_rounds=len(trained),
        train_intensity_g_per_kwh=work_weighted_intensity([(r.num_examples, r.intensity_g_per_kwh) for r in trained]),
    )


@dataclass(frozen=True)
class Summary:
    variant: str
    skew: str
    seeds: int
    accuracy_mean: float
    accuracy_std: float
    rounds_to_target_mean: float | None  # over the seeds that reached the target
    seeds_reaching_target: int
    energy_kwh_mean: float
    co2_kg_mean: float
    co2_kg_std: float
    bytes_mean: float
    cost_usd_mean: float
    silo_train_rounds: float
    train_intensity_g_per_kwh: float
    # 95 % intervals of the means over the seeds (Student t; None with one seed).
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    energy_kwh_low: float | None = None
    energy_kwh_high: float | None = None
    co2_kg_low: float | None = None
    co2_kg_high: float | None = None


def summarize(records: list[RunRecord]) -> list[Summary]:
    groups: dict[tuple[str, str], list[RunRecord]] = {}
    for record in records:
        groups.setdefault((record.variant, record.skew), []).append(record)
    summaries = []
    for (variant, skew), group in groups.items():
        reached = [r.rounds_to_target for r in group if r.rounds_to_target is not None]
        accuracy = mean_interval([r.accuracy for r in group], floor=0.0, ceiling=1.0)
        energy = mean_interval([r.energy_kwh for r in group], floor=0.0)
        co2 = mean_interval([r.co2_kg for r in group], floor=0.0)
        summaries.append(
            Summary(
                variant=variant,
                skew=skew,
                seeds=len(group),
                accuracy_mean=statistics.fmean(r.accuracy for r in group),
                accuracy_std=spread([r.accuracy for r in group]),
                rounds_to_target_mean=statistics.fmean(reached) if reached else None,
                seeds_reaching_target=len(reached),
                energy_kwh_mean=statistics.fmean(r.energy_kwh for r in group),
                co2_kg_mean=statistics.fmean(r.co2_kg for r in group),
                co2_kg_std=spread([r.co2_kg for r in group]),
                bytes_mean=statistics.fmean(r.bytes_down + r.bytes_up for r in group),
                cost_usd_mean=statistics.fmean(r.cost_usd for r in group),
                silo_train_rounds=statistics.fmean(r.silo_train_rounds for r in group),
                train_intensity_g_per_kwh=statistics.fmean(r.train_intensity_g_per_kwh for r in group),
                accuracy_low=accuracy.low, accuracy_high=accuracy.high,
                energy_kwh_low=energy.low, energy_kwh_high=energy.high,
                co2_kg_low=co2.low, co2_kg_high=co2.high,
            )
        )
    return summaries


# -- writing --------------------------------------------------------------------------------------
def carbon_aware_note(summaries: list[Summary], records: list[RunRecord]) -> list[str]:
    """Carbon-aware selection against FedAvg, same rounds, per skew: CO2 ratio and accuracy cost,
    and in how many seeds (paired: same split and initial model) carbon-aware emitted less."""
    by_key = {(s.variant, s.skew): s for s in summaries}
    co2_by_run = {(r.variant, r.skew, r.seed): r.co2_kg for r in records}
    lines = []
    for skew in SKEWS:
        fedavg, aware = by_key.get(("fedavg", skew)), by_key.get(("carbon_aware", skew))
        if fedavg is None or aware is None:
            continue
        verdict = "less" if aware.co2_kg_mean < fedavg.co2_kg_mean else "NOT less"
        seeds = sorted({r.seed for r in records if r.skew == skew})
        paired = [(co2_by_run.get(("carbon_aware", skew, seed)), co2_by_run.get(("fedavg", skew, seed))) for seed in seeds]
        paired = [(a, f) for a, f in paired if a is not None and f is not None]
        wins = sum(1 for a, f in paired if a < f)
        ratio = ratio_interval([a / f for a, f in paired if f > 0])
        claim = (interval_verdict(ratio.low, ratio.high, EMITS_LESS) if ratio.has_interval else Verdict.INCONCLUSIVE)
        ratio_text = (f"paired CO2 ratio {ratio.centre:.3g} [95 %: {ratio.low:.3g}, {ratio.high:.3g}]"
                      if ratio.has_interval else "one seed: no interval")
        accuracies = {(r.variant, r.seed): r.accuracy for r in records if r.skew == skew}
        gain = mean_interval([accuracies[("carbon_aware", seed)] - accuracies[("fedavg", seed)] for seed in seeds
                              if ("carbon_aware", seed) in accuracies and ("fedavg", seed) in accuracies])
        gain_text = ("" if not gain.has_interval else
                     f", 95 % interval [{gain.low * 100:+.2f}, {gain.high * 100:+.2f}]")
        lines.append(
            f"- {skew}: carbon_aware emits {aware.co2_kg_mean * 1e3:.4g} g CO2e vs FedAvg "
            f"{fedavg.co2_kg_mean * 1e3:.4g} g CO2e ({aware.co2_kg_mean / fedavg.co2_kg_mean:.2f}x: {verdict}; "
            f"less in {wins} of {len(paired)} paired seeds; {ratio_text}; verdict on 'carbon-aware emits less CO2 "
            f"than FedAvg' (ratio {EMITS_LESS.text()}): {claim.value}) for the same rounds; accuracy "
            f"{aware.accuracy_mean:.4f} vs {fedavg.accuracy_mean:.4f} "
            f"({(aware.accuracy_mean - fedavg.accuracy_mean) * 100:+.2f} percentage points{gain_text}); "
            f"silo-rounds trained {aware.silo_train_rounds:.0f} vs {fedavg.silo_train_rounds:.0f}; "
            f"training ran on grids of {aware.train_intensity_g_per_kwh:.0f} vs "
            f"{fedavg.train_intensity_g_per_kwh:.0f} gCO2e/kWh (example-weighted)"
        )
    return lines


def table_rows(summaries: list[Summary]) -> list[dict]:
    rows = []
    for s in summaries:
        rows.append({
            "variant": s.variant,
            "skew": s.skew,
            "seeds": s.seeds,
            "accuracy_mean": f"{s.accuracy_mean:.4f}",
            "accuracy_std": f"{s.accuracy_std:.4f}",
            "accuracy_95": _interval_cell(s.accuracy_low, s.accuracy_high, 1.0, ".4f"),
            f"rounds_to_{TARGET_ACCURACY}": "" if s.rounds_to_target_mean is None else f"{s.rounds_to_target_mean:.2f}",
            "seeds_reaching_target": s.seeds_reaching_target,
            "energy_wh": f"{s.energy_kwh_mean * 1e3:.4g}",
            "energy_wh_95": _interval_cell(s.energy_kwh_low, s.energy_kwh_high, 1e3, ".3g"),
            "co2_g": f"{s.co2_kg_mean * 1e3:.4g}",
            "co2_g_std": f"{s.co2_kg_std * 1e3:.2g}",
            "co2_g_95": _interval_cell(s.co2_kg_low, s.co2_kg_high, 1e3, ".3g"),
            "payload_kb": f"{s.bytes_mean / 1e3:.1f}",
            "cost_usd": f"{s.cost_usd_mean:.3g}",
            "silo_train_rounds": f"{s.silo_train_rounds:.0f}",
            "train_grid_g_per_kwh": f"{s.train_intensity_g_per_kwh:.0f}",
        })
    return rows


def _interval_cell(low: float | None, high: float | None, scale: float, spec: str) -> str:
    """'[low, high]' of a 95 % interval in the table's unit; empty with one seed."""
    if low is None or high is None:
        return ""
    return f"[{low * scale:{spec}}, {high * scale:{spec}}]"


def markdown_table(rows: list[dict]) -> list[str]:
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(row[column]) for column in header) + " |" for row in rows]
    return lines


def write_outputs(out: Path, records: list[RunRecord], summaries: list[Summary], rounds: int, seeds: int,
                  wall_s: float, prices: Prices) -> None:
    import pandas as pd

    seed_list = ", ".join(str(seed) for seed in sorted({r.seed for r in records}))
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([asdict(r) for r in records]).to_csv(out / "runs.csv", index=False)
    rows = table_rows(summaries)
    pd.DataFrame(rows).to_csv(out / "table.csv", index=False)
    units = (
        "Units: accuracy = fraction of the held-out test set after the last round (mean, sample standard "
        f"deviation and 95 % interval over {seeds} seed(s); every *_95 column is the Student t 95 % interval of "
        f"the mean, cut at 0 and, for accuracy, at 1); rounds_to_{TARGET_ACCURACY} = first round reaching that accuracy, "
        "mean over the seeds that reached it (seeds_reaching_target); energy_wh = Wh, CodeCarbon's modelled "
        "CPU+RAM energy of silos and server (no RAPL here); co2_g = g CO2e, each silo's energy times its "
        "country's yearly intensity (CodeCarbon's bundled table), co2_g_std its spread over seeds; "
        "payload_kb = kB (1e3 bytes) of Flower record payload, both directions; cost_usd = USD; "
        "silo_train_rounds = silo x round training participations; train_grid_g_per_kwh = gCO2e/kWh, the grid "
        "intensity of the training done, weighted by examples trained (independent of the host's load)."
    )
    lines = [
        "# Aggregation strategies: accuracy against energy, CO2, bytes and cost",
        "",
        f"Scenario: configs/{SCENARIO_FILE} (6 silos: NOR, FRA, SWE clean; DEU, POL, IND carbon-heavy), "
        f"{rounds} rounds, logistic regression on digits, inline runner, seeds {seed_list}.",
        "",
        units,
        "",
        f"Cost prices: {prices.sources}.",
        "",
        *markdown_table(rows),
        "",
        "## Carbon-aware selection against FedAvg (same number of rounds)",
        "",
        *carbon_aware_note(summaries, records),
        "",
        "## Closing note",
        "",
        f"Wall time of this comparison: {wall_s:.1f} s for {len(records)} runs on this machine "
        "(shared with other work: timings and CodeCarbon's load-based energy are disturbed by it).",
        "Energy is modelled from CPU load and time, so it carries that noise too; read CO2 differences "
        "against co2_g_95.",
    ]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    plot_pareto(out / "pareto.png", summaries)


def plot_pareto(path: Path, summaries: list[Summary]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from experiments.output import place_labels

    skews = [skew for skew in SKEWS if any(s.skew == skew for s in summaries)]
    figure, axes = plt.subplots(1, len(skews), figsize=(6.5 * len(skews), 5.5), squeeze=False)
    labelled = []
    for axis, skew in zip(axes[0], skews):
        points = {s.variant: (s.accuracy_mean, s.co2_kg_mean * 1e3) for s in summaries if s.skew == skew}
        by_variant = {s.variant: s for s in summaries if s.skew == skew}
        front = pareto_front(points)
        for label, (accuracy, co2) in points.items():
            colour = "tab:green" if label in front else "tab:gray"
            s = by_variant[label]
            yerr = None if s.accuracy_low is None else [[accuracy - s.accuracy_low], [s.accuracy_high - accuracy]]
            xerr = None if s.co2_kg_low is None else [[co2 - s.co2_kg_low * 1e3], [s.co2_kg_high * 1e3 - co2]]
            axis.errorbar(co2, accuracy, xerr=xerr, yerr=yerr, fmt="o", color=colour, capsize=2)
        ordered = [points[label] for label in front]
        axis.plot([c for _, c in ordered], [a for a, _ in ordered], color="tab:green", linewidth=1,
                  label="Pareto front (more accurate, less CO2)")
        axis.margins(0.25)  # room around the cluster for the labels
        axis.set_title(f"data skew: {skew} (whiskers: 95 % intervals over the seeds)")
        axis.set_xlabel("CO2 of the federated run (g CO2e)")
        axis.set_ylabel("final test accuracy (fraction)")
        axis.legend(loc="lower right", fontsize=8)
        labelled.append((axis, points))
    figure.tight_layout()
    for axis, points in labelled:  # once the layout is final: labels sit at offsets in points
        place_labels(axis, [(co2, accuracy) for accuracy, co2 in points.values()], list(points))
    figure.savefig(path, dpi=120)
    plt.close(figure)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_seeds_argument(parser, DEFAULT_SEEDS)
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default: the scenario's)")
    parser.add_argument("--strategies", default=",".join(VARIANTS), help="comma-separated variants")
    parser.add_argument("--out", type=Path, default=OUTPUT_DIR)
    arguments = parser.parse_args(argv)
    unknown = [v for v in arguments.strategies.split(",") if v not in VARIANTS]
    if unknown:
        raise InputError(f"--strategies: unknown variant(s) {', '.join(unknown)}; allowed: {', '.join(VARIANTS)}")
    if arguments.rounds is not None and arguments.rounds < 1:
        raise InputError("--rounds must be at least 1")
    return arguments


def main(argv: list[str] | None = None) -> int:
    try:
        arguments = parse_arguments(argv)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    import flwr  # noqa: F401  (Flower sets its logger's level when it loads; ours must come after)
    import torch

    logging.getLogger("flwr").setLevel(logging.WARNING)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    # Tiny models on a shared 2-core host: torch's thread pool only contends (measured here: one
    # 10-round run took 47 s with the default threads and 2.5 s with one).
    torch.set_num_threads(1)
    started = time.perf_counter()
    base = load_scenario(bundled_config_path(SCENARIO_FILE))
    prices = shipped_prices()
    variants = arguments.strategies.split(",")
    probe = HostEnergyProbe(base.probes.host_country)  # what `silocarbon run` measures with
    probe.warm_up()
    install_host_probe(probe)
    records: list[RunRecord] = []
    try:
        warm_up_torch()
        with tempfile.TemporaryDirectory(prefix="compare-strategies-") as scratch:
            total = len(variants) * len(SKEWS) * len(arguments.seeds)
            # Seed, then skew, then variant: the variants of one seed run back to back, so the host's
            # changing load (which moves CodeCarbon's modelled energy) falls on all of them alike.
            for seed in arguments.seeds:
                for skew in SKEWS:
                    for variant in variants:
                        scenario = scenario_for(base, variant, skew, seed, arguments.rounds)
                        folder = Path(scratch) / f"{variant}-{skew}-{seed}"
                        folder.mkdir()
                        # Flower's to_numpy_ndarrays(keep_input=False) (QFedAvg, Bulyan, ...) runs
                        # gc.collect() per reply; in this long-lived process that scans every object
                        # of earlier runs (0.74 s a call measured here) and would bill our heap to
                        # those strategies. Freezing what exists leaves the cost a fresh server pays.
                        gc.freeze()
                        records.append(run_once(scenario, variant, skew, folder, prices))
                        print(f"[{len(records)}/{total}] {variant} {skew} seed {seed}: "
                              f"accuracy {records[-1].accuracy:.3f}, CO2 {records[-1].co2_kg * 1e3:.4g} g",
                              flush=True)
    finally:
        install_host_probe(None)
        probe.close()
    summaries = summarize(records)
    wall_s = time.perf_counter() - started
    write_outputs(arguments.out, records, summaries, arguments.rounds or base.training.rounds, len(arguments.seeds),
                  wall_s, prices)
    for line in carbon_aware_note(summaries, records):
        print(line)
    print(f"Wrote {arguments.out}: table.csv, table.md, runs.csv, pareto.png")
    print(f"Wall time: {wall_s:.1f} s for {len(records)} runs (machine shared with other work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
