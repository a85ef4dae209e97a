"""The report's figures as PNG bytes (matplotlib, no display needed).

Each function takes typed rows and returns the PNG; the axis labels carry the units. Absent values
are left out of a bar rather than drawn as zero, and the figure says so.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display: figures are rendered to bytes

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from simulator.results.breakdown import RoundBytes, SiloTotals  # noqa: E402
from simulator.records.run import RoundRecord  # noqa: E402
# Drawn here, defined with the lifecycle view (which must not load matplotlib).
from simulator.results.lifecycle_view import StageValue, TotalRange  # noqa: E402,F401

FL_COLOUR = "#1f77b4"
CL_COLOUR = "#d62728"
DPI = 100


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def stacked_stage_bars(
    panels: Sequence[tuple[str, Sequence[StageValue]]], title: str, totals: Sequence[TotalRange] | None = None
) -> bytes:
    """One panel per quantity (e.g. kg CO2e, kWh, USD): FL and CL bars, each stacked by stage;
    `totals` (one per panel) adds each total's interval as a whisker."""
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6), squeeze=False)
    stages = [value.stage for value in panels[0][1]] if panels else []
    colours = plt.get_cmap("tab10")
    for panel_index, (axis, (unit, values)) in enumerate(zip(axes[0], panels)):
        bottoms = [0.0, 0.0]
        for index, value in enumerate(values):
            heights = [value.fl, value.cl]
            axis.bar(["FL", "CL"], heights, bottom=bottoms, color=colours(index % 10), label=value.stage, width=0.6)
            bottoms = [bottoms[0] + value.fl, bottoms[1] + value.cl]
        if totals is not None:
            total = totals[panel_index]
            errors = [[max(0.0, bottoms[0] - total.fl_low), max(0.0, bottoms[1] - total.cl_low)],
                      [max(0.0, total.fl_high - bottoms[0]), max(0.0, total.cl_high - bottoms[1])]]
            axis.errorbar([0, 1], bottoms, yerr=errors, fmt="none", ecolor="black", capsize=6, linewidth=1.2)
        axis.set_ylabel(unit)
        axis.set_title(unit)
        axis.grid(axis="y", alpha=0.3)
    if stages:
        figure.legend(stages, loc="lower center", ncol=min(3, len(stages)), bbox_to_anchor=(0.5, -0.08), frameon=False)
    figure.suptitle(title)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    return png_bytes(figure)


def silo_bars(silos: Sequence[SiloTotals]) -> bytes:
    """Energy (kWh) and CO2 (kg CO2e) per silo, the server included; absent readings are marked."""
    figure, (energy_axis, co2_axis) = plt.subplots(1, 2, figsize=(9.5, 4.0))
    names = [f"{silo.silo}\n({silo.country})" for silo in silos]
    for axis, values, unit, colour in (
        (energy_axis, [silo.energy_kwh for silo in silos], "energy (kWh)", FL_COLOUR),
        (co2_axis, [silo.co2_kg for silo in silos], "CO2 (kg CO2e)", "#2ca02c"),
    ):
        heights = [0.0 if value is None else value for value in values]
        bars = axis.bar(names, heights, color=colour)
        for bar, value in zip(bars, values):
            if value is None:
                axis.annotate("absent", (bar.get_x() + bar.get_width() / 2, 0), ha="center", va="bottom")
        axis.set_ylabel(unit)
        axis.set_title(f"FL {unit} per silo")
        axis.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
        axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return png_bytes(figure)


def accuracy_curve(rounds: Sequence[RoundRecord], cl_accuracy: float | None) -> bytes:
    """FL test accuracy after each round, with CL's final accuracy as a reference line."""
    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    points = [(r.round, r.accuracy) for r in rounds if r.accuracy is not None]
    if points:
        axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=FL_COLOUR, label="FL (global model)")
    if cl_accuracy is not None:
        axis.axhline(cl_accuracy, color=CL_COLOUR, linestyle="--", label=f"CL final ({cl_accuracy:.3f})")
    axis.set_xlabel("round")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel("test accuracy (fraction)")
    axis.set_ylim(0, 1.02)
    axis.set_title("Accuracy per round")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    figure.tight_layout()
    return png_bytes(figure)


def bytes_bars(rounds: Sequence[RoundBytes]) -> bytes:
    """Payload bytes per round, server -> silos stacked under silos -> server."""
    figure, axis = plt.subplots(figsize=(6.4, 4.0))
    numbers = [r.round for r in rounds]
    unit, divisor = byte_unit(max((r.bytes_total for r in rounds), default=0))
    down = [r.bytes_down / divisor for r in rounds]
    up = [r.bytes_up / divisor for r in rounds]
    axis.bar(numbers, down, color="#9467bd", label="down (server -> silos)")
    axis.bar(numbers, up, bottom=down, color="#ff7f0e", label="up (silos -> server)")
    axis.set_xlabel("round")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel(f"payload ({unit})")
    axis.set_title("Model-update bytes per round")
    axis.grid(axis="y", alpha=0.3)
    top = max((d + u for d, u in zip(down, up)), default=1.0) or 1.0
    axis.set_ylim(0, top * 1.3)  # head room for the legend
    axis.legend(loc="upper right")
    figure.tight_layout()
    return png_bytes(figure)


def byte_unit(largest: float) -> tuple[str, float]:
    """The decimal unit (SI, 1 kB = 1000 bytes) that keeps the largest value between 1 and 1000."""
    for unit, divisor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if largest >= divisor:
            return unit, divisor
    return "bytes", 1.0


@dataclass(frozen=True)
class IntervalBar:
    """One quantity's FL and CL means with their 95 % intervals (None: no interval, e.g. one seed)."""

    label: str
    unit: str
    fl: float | None
    fl_interval: tuple[float, float] | None
    cl: float | None
    cl_interval: tuple[float, float] | None


def interval_bars(bars: Sequence[IntervalBar], title: str) -> bytes:
    """One panel per quantity: FL and CL means as bars, 95 % intervals as whiskers."""
    figure, axes = plt.subplots(1, len(bars), figsize=(3.2 * max(1, len(bars)), 3.8), squeeze=False)
    for axis, bar in zip(axes[0], bars):
        for position, (value, interval, colour) in enumerate(
            ((bar.fl, bar.fl_interval, FL_COLOUR), (bar.cl, bar.cl_interval, CL_COLOUR))
        ):
            if value is None:
                axis.annotate("absent", (position, 0), ha="center", va="bottom")
                continue
            axis.bar(position, value, color=colour, width=0.6)
            if interval is not None:
                axis.errorbar(position, value, yerr=[[max(0.0, value - interval[0])], [max(0.0, interval[1] - value)]],
                              fmt="none", ecolor="black", capsize=6)
        axis.set_xticks([0, 1], ["FL", "CL"])
        axis.set_ylabel(bar.unit)
        axis.set_title(bar.label, fontsize=10)
        axis.ticklabel_format(axis="y", style="sci", scilimits=(-3, 4))
        axis.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return png_bytes(figure)


@dataclass(frozen=True)
class AccuracyBand:
    """Mean test accuracy after each step (FL round or CL epoch) over seeds, with its 95 % interval."""

    steps: tuple[int, ...]
    mean: tuple[float, ...]
    low: tuple[float | None, ...]
    high: tuple[float | None, ...]


def accuracy_bands(fl: AccuracyBand, cl: AccuracyBand, seeds: int, target: float | None) -> bytes:
    """FL accuracy per round and CL accuracy per round's worth of epochs: means over the seeds with
    their 95 % intervals as bands (where at least two seeds reached that step)."""
    figure, axis = plt.subplots(figsize=(6.8, 4.2))
    for band, colour, label in ((fl, FL_COLOUR, "FL (global model), per round"),
                                (cl, CL_COLOUR, "CL, per round's worth of epochs")):
        if not band.steps:
            continue
        axis.plot(band.steps, band.mean, marker="o", markersize=3, color=colour, label=label)
        banded = [(s, lo, hi) for s, lo, hi in zip(band.steps, band.low, band.high) if lo is not None and hi is not None]
        if banded:
            axis.fill_between([b[0] for b in banded], [b[1] for b in banded], [b[2] for b in banded], color=colour,
                              alpha=0.2, linewidth=0)
    if target is not None:
        axis.axhline(target, color="black", linestyle=":", label=f"target {target:g}")
    axis.set_xlabel("round (CL: epochs / local epochs)")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_ylabel("test accuracy (fraction)")
    axis.set_ylim(0, 1.02)
    axis.set_title(f"Accuracy, mean of {seeds} seeds with 95 % band")
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return png_bytes(figure)


TORNADO_ROWS = 8  # inputs per panel: the longest bars


def decision_tornado(lines: Sequence, title: str) -> bytes:
    """The decision sensitivity as a tornado per quantity (CO2, money): for each input with a published
    range, a bar from CL - FL at its low bound to CL - FL at its high bound (the others central); the
    line at 0 is the decision boundary, so a bar that crosses it is an input that flips the decision
    within its range (its flip value is written beside it). `lines`: DecisionLine rows."""
    panels = [(quantity, label, unit) for quantity, label, unit in (("co2_kg", "CO2", "kg CO2e"), ("cost_usd", "money", "USD"))
              if any(line.quantity == quantity for line in lines)]
    figure, axes = plt.subplots(1, max(len(panels), 1), figsize=(6.6 * max(len(panels), 1), 4.6), squeeze=False)
    for axis, (quantity, label, unit) in zip(axes[0], panels):
        rows = [line for line in lines if line.quantity == quantity and line.margin_low is not None][:TORNADO_ROWS]
        rows = rows[::-1]  # the longest bar on top
        central = next(line.margin_central for line in lines if line.quantity == quantity)
        for position, line in enumerate(rows):
            start, end = sorted((line.margin_low, line.margin_high))
            crosses = line.flips_within_range
            axis.barh(position, end - start, left=start, height=0.6, color="#ff7f0e" if crosses else "#9aa9b8")
            if crosses and line.flip_value is not None:
                axis.annotate(f"flips at {line.flip_value:.3g}", (end, position), xytext=(4, 0),
                              textcoords="offset points", va="center", fontsize=8)
        axis.axvline(0.0, color="black", linewidth=1.2)
        axis.axvline(central, color=FL_COLOUR if central > 0 else CL_COLOUR, linestyle="--", linewidth=1.0,
                     label=f"central: {'FL' if central > 0 else 'CL'} costs less")
        axis.set_yticks(range(len(rows)), [f"{line.input}\n[{line.low:.3g}, {line.high:.3g}]" for line in rows], fontsize=7)
        axis.set_xlabel(f"CL - FL {label} ({unit}); right of 0: FL costs less")
        axis.set_title(f"{label}: each input over its published range")
        axis.grid(axis="x", alpha=0.3)
        axis.legend(loc="lower right", fontsize=8)
    figure.suptitle(title)
    figure.tight_layout()
    return png_bytes(figure)
