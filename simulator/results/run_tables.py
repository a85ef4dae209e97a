"""`silocarbon runs` and `silocarbon compare`: the run index and two runs side by side, as rich tables.

The comparison rows are built by a pure function (`comparison_rows`) so tests check the numbers,
not the drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from simulator.results.lifecycle_view import lifecycle_view
from simulator.results.report import number
from simulator.results.run_index import IndexListing, RunIndex, resolve_run_dir
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


def print_comparison(reference_a: str, reference_b: str, runs_root: Path, console: Console | None = None) -> None:
    a = read_run(resolve_run_dir(reference_a, runs_root))
    b = read_run(resolve_run_dir(reference_b, runs_root))
    table = Table(title=f"A = {a.run_id}   B = {b.run_id}")
    for column, justify in (("quantity", "left"), ("unit", "left"), ("A", "right"), ("B", "right"),
                            ("B / A", "right")):
        table.add_column(column, justify=justify)
    for row in comparison_rows(a, b):
        table.add_row(row.quantity, row.unit, row.a, row.b, row.ratio_b_over_a)
    (console or make_console()).print(table)


def print_runs(runs_root: Path, console: Console | None = None, warnings_console: Console | None = None) -> IndexListing:
    listing = RunIndex(runs_root).refresh()
    warn = warnings_console or make_console(stderr=True)
    for warning in listing.warnings:
        warn.print(f"silocarbon: warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    # Headline numbers only, so the table fits a narrow terminal; `compare` shows everything.
    table = Table(title=f"Runs in {runs_root} (training, measured; `silocarbon compare A B` for more)")
    table.add_column("run", no_wrap=True)
    for column in ("scenario", "silos x rounds", "accuracy FL / CL", "training kg CO2e FL / CL",
                   "lifecycle kg CO2e FL / CL"):
        table.add_column(column, justify="left" if column == "scenario" else "right", no_wrap=True)
    for run in listing.runs:
        table.add_row(
            run.run_id,
            run.scenario_name,
            f"{run.silos} x {run.rounds}",
            f"{number(run.fl_accuracy, 3)} / {number(run.cl_accuracy, 3)}",
            f"{number(run.fl_co2_kg, 3)} / {number(run.cl_co2_kg, 3)}",
            "-" if run.lifecycle_fl_co2_kg is None
            else f"{number(run.lifecycle_fl_co2_kg, 3)} / {number(run.lifecycle_cl_co2_kg, 3)}",
        )
    out = console or make_console()
    if not out.is_terminal:
        out.width = max(out.width, 140)  # a pipe or a file: keep one run per line, not rich's default 80
    out.print(table)
    if not listing.runs:
        out.print("No complete runs yet: `silocarbon run` makes one.")
    return listing
