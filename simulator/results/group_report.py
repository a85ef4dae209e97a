"""`silocarbon report GROUP_DIR`: a group of seeds -> report.html (self-contained) and report.md.

Every measured quantity is shown as its mean over the seeds with its standard deviation and 95 %
interval (simulator.intervals), every figure with whiskers or bands; the lifecycle section is the
lifecycle model evaluated with the members' energy profiles as a distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from simulator.intervals import mean_interval
from simulator.lifecycle.factors import Factor
from simulator.results import figures
from simulator.results.atomic import write_bytes_atomic, write_text_atomic
from simulator.results.group import GroupQuantity, GroupSummary, complete_members, summarize_group
from simulator.results.lifecycle_view import LifecycleView, lifecycle_view
from simulator.results.report import (
    FIGURE_DIR,
    REPORT_HTML,
    REPORT_MD,
    ReportFiles,
    ReportFigure,
    report_environment,
    lifecycle_factors,
)
from simulator.records.run import CentralizedEvaluation, RoundRecord
from simulator.results.run_view import RunView

# The quantities of the training figure, as (FL key, CL key, title).
TRAINING_PANELS = (
    ("fl.accuracy", "cl.accuracy", "test accuracy"),
    ("fl.energy_kwh", "cl.energy_kwh", "training energy"),
    ("fl.co2_kg", "cl.co2_kg", "training CO2"),
    ("fl.wall_s", "cl.wall_s", "wall time"),
    ("fl.kwh_per_sample_update", "cl.kwh_per_sample_update", "energy per sample update"),
)
TO_TARGET_PANELS = (
    ("to_target.fl.energy_kwh", "to_target.cl.energy_kwh", "energy to target"),
    ("to_target.fl.co2_kg", "to_target.cl.co2_kg", "CO2 to target"),
    ("to_target.fl.wall_s", "to_target.cl.wall_s", "time to target"),
)


@dataclass(frozen=True)
class MemberLine:
    seed: int
    folder: str
    fl_accuracy: float | None
    cl_accuracy: float | None
    fl_energy_kwh: float | None
    cl_energy_kwh: float | None


@dataclass(frozen=True)
class GroupReportContext:
    group_id: str
    summary: GroupSummary
    measured: list[GroupQuantity]
    ratios: list[GroupQuantity]
    members: list[MemberLine]
    incomplete: list[str]
    lifecycle: LifecycleView | None
    factors: list[Factor]
    figures: list[ReportFigure]


def _bar(summary: GroupSummary, fl_key: str, cl_key: str, title: str) -> figures.IntervalBar | None:
    fl, cl = summary.quantity(fl_key), summary.quantity(cl_key)
    if fl is None or cl is None:
        return None

    def span(quantity: GroupQuantity):
        return (quantity.low, quantity.high) if quantity.low is not None and quantity.high is not None else None

    return figures.IntervalBar(title, fl.unit, fl.centre, span(fl), cl.centre, span(cl))


def accuracy_band(curves: list[list[tuple[int, float | None]]], per_round: int = 1) -> figures.AccuracyBand:
    """Mean and 95 % interval of the accuracy at each step over the seeds that reached that step;
    each curve is (step, accuracy) pairs; `per_round` divides the step (CL epochs -> rounds' worth)."""
    by_step: dict[int, list[float]] = {}
    for curve in curves:
        for step, accuracy in curve:
            if accuracy is not None:
                by_step.setdefault(step, []).append(accuracy)
    steps = sorted(by_step)
    intervals = [mean_interval(by_step[step]) for step in steps]
    return figures.AccuracyBand(
        tuple(step // per_round for step in steps),
        tuple(float(i.centre) for i in intervals),  # type: ignore[arg-type]
        tuple(i.low for i in intervals),
        tuple(i.high for i in intervals),
    )


def build_group_context(group_dir: Path) -> GroupReportContext:
    group_dir = Path(group_dir)
    _, runs, incomplete = complete_members(group_dir)
    summary = summarize_group(group_dir)
    lifecycle = lifecycle_view(summary.lifecycle)
    report_figures: list[ReportFigure] = []
    seeds = len(summary.seeds)
    bars = [bar for bar in (_bar(summary, *panel) for panel in TRAINING_PANELS) if bar is not None]
    report_figures.append(ReportFigure(
        "training_intervals.png", "Training, measured: mean of the seeds with 95 % intervals",
        f"Bars: mean over {seeds} seeds; whiskers: {summary.interval_method} (none with one seed).",
        figures.interval_bars(bars, f"{summary.scenario_name}: FL vs CL, {seeds} seeds"),
    ))
    local_epochs = int(runs[0].scenario.get("training", {}).get("local_epochs", 1)) if runs else 1
    report_figures.append(ReportFigure(
        "accuracy_per_round.png", "Accuracy per round",
        "Mean test accuracy over the seeds after each FL round and after each round's worth of CL epochs; "
        "bands: 95 % interval of that mean (Student t) where two or more seeds reached the step.",
        figures.accuracy_bands(accuracy_band([_fl_curve(run.rounds) for run in runs]),
                               accuracy_band([_cl_curve(run.cl_evaluations) for run in runs], local_epochs),
                               seeds, summary.target_accuracy),
    ))
    if summary.target_accuracy is not None:
        target_bars = [bar for bar in (_bar(summary, *panel) for panel in TO_TARGET_PANELS) if bar is not None]
        report_figures.append(ReportFigure(
            "to_target_intervals.png", f"To the target accuracy {summary.target_accuracy:g}",
            "Mean over the seeds that reached the target (each side's count is in the table) with 95 % intervals; "
            "a side absent never reached it.",
            figures.interval_bars(target_bars, f"to test accuracy {summary.target_accuracy:g}"),
        ))
    if lifecycle is not None and lifecycle.stages:
        report_figures.append(ReportFigure(
            "lifecycle_stages.png", "FL vs CL per lifecycle stage",
            "Each bar stacks the lifecycle stages of one approach (central values); the whisker is the total's "
            "interval, which carries the seeds' measurement noise as well as the factor ranges.",
            figures.stacked_stage_bars(lifecycle.figure_panels(), f"{summary.scenario_name}: lifecycle, FL vs CL",
                                       lifecycle.figure_totals()),
        ))
    return GroupReportContext(
        group_id=group_dir.name,
        summary=summary,
        measured=[q for q in summary.quantities if not q.key.startswith("ratio.")],
        ratios=[q for q in summary.quantities if q.key.startswith("ratio.")],
        members=[_member_line(run) for run in runs],
        incomplete=incomplete,
        lifecycle=lifecycle,
        factors=lifecycle_factors() if lifecycle is not None else [],
        figures=report_figures,
    )


def _fl_curve(rounds: tuple[RoundRecord, ...]) -> list[tuple[int, float | None]]:
    return [(record.round, record.accuracy) for record in rounds]


def _cl_curve(evaluations: tuple[CentralizedEvaluation, ...]) -> list[tuple[int, float | None]]:
    return [(evaluation.epoch, evaluation.accuracy) for evaluation in evaluations]


def _member_line(run: RunView) -> MemberLine:
    return MemberLine(run.seed, run.path.name, run.fl.accuracy, run.cl.accuracy, run.fl.energy_kwh, run.cl.energy_kwh)


def write_group_report(group_dir: Path) -> ReportFiles:
    """Write report.html, report.md and the figure files into the group folder; return their paths."""
    group_dir = Path(group_dir)
    context = build_group_context(group_dir)
    figure_paths = []
    for figure in context.figures:
        path = group_dir / FIGURE_DIR / figure.file_name
        write_bytes_atomic(path, figure.png)
        figure_paths.append(path)
    html_path, markdown_path = group_dir / REPORT_HTML, group_dir / REPORT_MD
    write_text_atomic(html_path, report_environment(html=True).get_template("group.html.j2").render(c=context))
    markdown = report_environment(html=False).get_template("group.md.j2").render(c=context, figure_dir=FIGURE_DIR)
    write_text_atomic(markdown_path, markdown)
    return ReportFiles(html_path, markdown_path, tuple(figure_paths))
