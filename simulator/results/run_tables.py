"""`silocarbon runs` and `silocarbon compare`: the run index and two runs side by side, as rich tables.

The comparison rows are built by a pure function (`comparison_rows`) so tests check the numbers,
not the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.intervals import (
    RATIO_METHOD,
    UNPAIRED_RATIO_METHOD,
    SampleInterval,
    paired_ratios,
    ratio_interval,
    unpaired_ratio_interval,
)
from simulator.results.group import GroupQuantity, GroupSummary, is_group_dir, single_run_summary, summarize_group
from simulator.results.lifecycle_view import lifecycle_view
from simulator.results.report import number
from simulator.results.run_index import KIND_MEMBER, IndexListing, RunIndex, resolve_run_dir
from simulator.results.run_view import RunView, read_run
from simulator.terminal import make_console


@dataclass(frozen=True)
class ComparisonRow:
    quantity: str
    unit: str
    a: str
    b: str
    ratio_b_over_a: str


def ratio(a: float | None, b: float | None) -> str:
    """B / A as text; '-' where either is absent or A is zero (no ratio exists)."""
    if a is None or b is None or a == 0:
        return "-"
    return f"{b / a:.3g}x"


def comparison_rows(a: RunView, b: RunView) -> list[ComparisonRow]:
    def text(left: str, right: str, quantity: str, unit: str = "") -> ComparisonRow:
        return ComparisonRow(quantity, unit, left, right, "same" if left == right else "differs")

    def value(quantity: str, unit: str, left, right) -> ComparisonRow:
        return ComparisonRow(quantity, unit, number(left), number(right), ratio(left, right))

    rows = [
        text(a.scenario_name, b.scenario_name, "scenario"),
        text(a.runner, b.runner, "runner"),
        text(str(a.seed), str(b.seed), "seed"),
        text(str(len(a.silo_names)), str(len(b.silo_names)), "silos", "count"),
        text(str(a.planned_rounds), str(b.planned_rounds), "rounds", "count"),
        text(a.scenario.get("data", {}).get("dataset", "?"), b.scenario.get("data", {}).get("dataset", "?"), "dataset"),
        text(a.scenario.get("model", {}).get("name", "?"), b.scenario.get("model", {}).get("name", "?"), "model"),
        text(a.scenario.get("strategy", {}).get("name", "?"), b.scenario.get("strategy", {}).get("name", "?"),
             "strategy"),
    ]
    for label, left, right in (("FL", a.fl, b.fl), ("CL", a.cl, b.cl)):
        rows += [
            value(f"{label} test accuracy", "fraction", left.accuracy, right.accuracy),
            value(f"{label} training energy", "kWh", left.energy_kwh, right.energy_kwh),
            value(f"{label} training CO2", "kg CO2e", left.co2_kg, right.co2_kg),
            value(f"{label} payload (down + up)", "bytes", left.bytes_down + left.bytes_up,
                  right.bytes_down + right.bytes_up),
            value(f"{label} wall time", "s", left.wall_s, right.wall_s),
            text(", ".join(left.energy_methods), ", ".join(right.energy_methods), f"{label} energy method"),
        ]
    life_a, life_b = lifecycle_view(a.lifecycle), lifecycle_view(b.lifecycle)
    if life_a is not None and life_b is not None:
        for label, left, right in (("FL", life_a.total_fl_co2_kg, life_b.total_fl_co2_kg),
                                   ("CL", life_a.total_cl_co2_kg, life_b.total_cl_co2_kg)):
            rows.append(value(f"{label} lifecycle CO2 (central)", "kg CO2e", left, right))
    return rows


def measured_summary(path: Path) -> GroupSummary:
    """A group folder's summary, or one run seen as a group of one (no interval)."""
    return summarize_group(path) if is_group_dir(path) else single_run_summary(read_run(path))


def interval_text(quantity: GroupQuantity | None) -> str:
    """'mean [low, high]' (or the one value, or 'absent') as `compare` prints a group's quantity."""
    if quantity is None or quantity.centre is None:
        return "absent"
    if quantity.low is None or quantity.high is None:
        return number(quantity.centre)
    return f"{number(quantity.centre)} [{number(quantity.low)}, {number(quantity.high)}]"


def ratio_of(a: GroupSummary, b: GroupSummary, key: str) -> SampleInterval:
    """B / A of one quantity: paired by seed when both groups ran the same seeds (two or more),
    else the ratio of the two means with its interval (delta method, Welch)."""
    left, right = a.quantity(key), b.quantity(key)
    if left is None or right is None:
        return SampleInterval(0, None, None, None, None, "")
    if a.seeds == b.seeds and len(a.seeds) >= 2:
        return ratio_interval(paired_ratios(right.values, left.values))
    return unpaired_ratio_interval(left.values, right.values)


def ratio_text(interval: SampleInterval) -> str:
    if interval.centre is None:
        return "-"
    if not interval.has_interval:
        return f"{interval.centre:.3g}x"
    return f"{interval.centre:.3g}x [{interval.low:.3g}, {interval.high:.3g}]"


def group_comparison_rows(a: GroupSummary, b: GroupSummary) -> list[ComparisonRow]:
    """Every quantity of two groups (or a group and a run): A and B as mean [95 % interval], and
    B / A with its own interval."""
    def same(left: str, right: str, quantity: str, unit: str = "") -> ComparisonRow:
        return ComparisonRow(quantity, unit, left, right, "same" if left == right else "differs")

    rows = [
        same(a.scenario_name, b.scenario_name, "scenario"),
        same(", ".join(map(str, a.seeds)), ", ".join(map(str, b.seeds)), "seeds"),
    ]
    keys = [q.key for q in a.quantities if b.quantity(q.key) is not None]
    for key in keys:
        left, right = a.quantity(key), b.quantity(key)
        rows.append(ComparisonRow(left.label, left.unit, interval_text(left), interval_text(right),  # type: ignore[union-attr]
                                  ratio_text(ratio_of(a, b, key))))
    return rows


def print_comparison(reference_a: str, reference_b: str, runs_root: Path, console: Console | None = None) -> None:
    path_a, path_b = resolve_run_dir(reference_a, runs_root), resolve_run_dir(reference_b, runs_root)
    if is_group_dir(path_a) or is_group_dir(path_b):
        _print_group_comparison(measured_summary(path_a), measured_summary(path_b), path_a.name, path_b.name,
                                console)
        return
    a = read_run(path_a)
    b = read_run(path_b)
    table = Table(title=f"A = {a.run_id}   B = {b.run_id}")
    for column, justify in (("quantity", "left"), ("unit", "left"), ("A", "right"), ("B", "right"),
                            ("B / A", "right")):
        table.add_column(column, justify=justify)
    for row in comparison_rows(a, b):
        table.add_row(row.quantity, row.unit, row.a, row.b, row.ratio_b_over_a)
    (console or make_console()).print(table)


def _print_group_comparison(a: GroupSummary, b: GroupSummary, name_a: str, name_b: str,
                            console: Console | None) -> None:
    table = Table(title=f"A = {name_a} ({len(a.seeds)} seed(s))   B = {name_b} ({len(b.seeds)} seed(s)): "
                        "mean [95 % interval]")
    for column, justify in (("quantity", "left"), ("unit", "left"), ("A", "right"), ("B", "right"),
                            ("B / A [95 % interval]", "right")):
        table.add_column(column, justify=justify)
    for row in group_comparison_rows(a, b):
        table.add_row(row.quantity, row.unit, row.a, row.b, row.ratio_b_over_a)
    out = console or make_console()
    out.print(table)
    paired = a.seeds == b.seeds and len(a.seeds) >= 2
    out.print(f"Intervals: {a.interval_method}. B / A: "
              + (f"paired by seed, {RATIO_METHOD}." if paired else f"{UNPAIRED_RATIO_METHOD} (the seeds differ, "
                 "so the runs are not paired; a single run has no interval)."))


def _pm(value: float | None, half_width: float | None) -> str:
    """'0.91' for a run, '0.91 ±0.02' for a group's mean with its 95 % half width."""
    if half_width is None:
        return number(value, 3)
    return f"{number(value, 3)}±{half_width:.0f}" if half_width >= 1 else f"{number(value, 3)}±{half_width:.1g}"


def print_runs(runs_root: Path, console: Console | None = None, warnings_console: Console | None = None) -> IndexListing:
    listing = RunIndex(runs_root).refresh()
    warn = warnings_console or make_console(stderr=True)
    for warning in listing.warnings:
        warn.print(f"silocarbon: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    # Headline numbers only, so the table fits a narrow terminal; `compare` shows everything.
    table = Table(title=f"Runs in {runs_root} (training, measured; a group of seeds: mean ±95 % half width, its "
                        "runs below it as GROUP/seed-N; `silocarbon compare A B` for more)")
    table.add_column("run", no_wrap=True)
    for column in ("scenario", "silos x rounds", "accuracy FL / CL", "training kg CO2e FL / CL",
                   "lifecycle kg CO2e FL / CL"):
        table.add_column(column, justify="left" if column == "scenario" else "right", no_wrap=True)
    for run in listing.runs:
        table.add_row(
            f"  {run.run_id.partition('/')[2]}" if run.kind == KIND_MEMBER else run.run_id,
            run.scenario_name,
            f"{run.silos} x {run.rounds}",
            f"{_pm(run.fl_accuracy, run.fl_accuracy_pm)} / {_pm(run.cl_accuracy, run.cl_accuracy_pm)}",
            f"{_pm(run.fl_co2_kg, run.fl_co2_kg_pm)} / {_pm(run.cl_co2_kg, run.cl_co2_kg_pm)}",
            "-" if run.lifecycle_fl_co2_kg is None
            else f"{_pm(run.lifecycle_fl_co2_kg, run.lifecycle_fl_co2_kg_pm)} / "
                 f"{_pm(run.lifecycle_cl_co2_kg, run.lifecycle_cl_co2_kg_pm)}",
        )
    out = console or make_console()
    if not out.is_terminal:
        out.width = max(out.width, 140)  # a pipe or a file: keep one run per line, not rich's default 80
    out.print(table)
    if not listing.runs:
        out.print("No complete runs yet: `silocarbon run` makes one.")
    return listing
