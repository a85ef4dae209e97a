"""`silocarbon report RUN_DIR`: a run folder -> report.html (self-contained) and report.md.

The HTML embeds every figure as a base64 data URI and carries its own styles, so it opens offline,
attached to an e-mail or from a CI artifact. report.md holds the same tables and links the same
figures, written as PNG files under `report_files/`.

`silocarbon run` writes the report without its figures (every table is there; drawing them imports
matplotlib and takes 1-3 s of CPU, more than the default run's training): each figure's place names
the command that draws it, `silocarbon report RUN_DIR`, which rewrites both files with the figures.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2

from simulator.ledger import APPROACH_FL
from simulator.lifecycle.factors import FACTOR_NAMES, Factor, load_factors
from simulator.results.atomic import write_bytes_atomic, write_text_atomic
from simulator.results.breakdown import (
    GridIntensity,
    MethodUse,
    RoundBytes,
    SiloTotals,
    bytes_per_round,
    grid_intensities,
    method_uses,
    silo_totals,
)
from simulator.results.faults import FaultEvent, fault_events, fault_summary
from simulator.results.lifecycle_view import LifecycleView, lifecycle_view
from simulator.results.run_view import RunView, read_run

REPORT_HTML = "report.html"
REPORT_MD = "report.md"
FIGURE_DIR = "report_files"
DECISION_FIGURE = "decision_sensitivity.png"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

METHOD_MEANINGS = {
    "measured": "read from a hardware energy counter (RAPL for CPU, NVML for GPU) at the window's edges",
    "modelled": "CodeCarbon's model from the processor's TDP (no RAPL counter on this host): TDP / threads per CPU "
    "second of the run's own process, plus its share of the RAM model",
    "apportioned": "one measurement over concurrent silos split between them by CPU time, or a measured CPU's "
    "energy split by this process's share of the host's busy CPU time",
    "absent": "no energy reading was possible; left out of the totals, never counted as zero",
}
INTENSITY_SOURCE = "CodeCarbon 3.3 bundled global_energy_mix.json (Our World in Data / Ember, life-cycle)"


@dataclass(frozen=True)
class ReportFigure:
    file_name: str
    title: str
    caption: str
    png: bytes | None  # None: not drawn (`silocarbon run`); `silocarbon report` draws it

    @property
    def data_uri(self) -> str:
        if self.png is None:
            raise ValueError(f"figure {self.file_name} was not drawn")
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    figures: tuple[Path, ...]


@dataclass(frozen=True)
class ReportContext:
    run: RunView
    silos: list[SiloTotals]
    round_bytes: list[RoundBytes]
    methods: list[MethodUse]
    method_meanings: dict[str, str]
    intensities: list[GridIntensity]
    intensity_source: str
    lifecycle: LifecycleView | None
    factors: list[Factor]
    figures: list[ReportFigure]
    faults: list[FaultEvent]
    faults_summary: str
    draw_command: str = ""  # where figures were not drawn: the command that draws them

    def drawn(self, file_name: str) -> bool:
        return any(figure.file_name == file_name and figure.png is not None for figure in self.figures)


def build_context(run: RunView, draw_figures: bool = True) -> ReportContext:
    """The report's content; without `draw_figures` the figures keep their places, undrawn, and
    matplotlib is not imported."""
    silos = silo_totals(run.ledger.rows, APPROACH_FL)
    round_bytes = bytes_per_round(run.ledger.rows)
    lifecycle = lifecycle_view(run.lifecycle)

    def drawn(draw: Callable[[], bytes]) -> bytes | None:
        return draw() if draw_figures else None

    report_figures = []
    if lifecycle is not None and lifecycle.stages:
        report_figures.append(ReportFigure(
            "lifecycle_stages.png",
            "FL vs CL per lifecycle stage",
            "Each bar stacks the lifecycle stages of one approach (central values); the whisker is the "
            "total's [low, high] interval; the tables below give the interval of every figure.",
            drawn(lambda: _figures().stacked_stage_bars(
                lifecycle.figure_panels(), f"{run.scenario_name}: lifecycle, FL vs CL", lifecycle.figure_totals())),
        ))
    if lifecycle is not None and any(line.margin_low is not None for line in lifecycle.decision):
        report_figures.append(ReportFigure(
            DECISION_FIGURE,
            "What could flip the FL-vs-CL decision",
            "One input at a time over its published range, the others central: each bar runs from CL - FL at "
            "the input's low bound to CL - FL at its high bound; the black line is the decision boundary, so an "
            "orange bar crossing it flips the decision within the range (at the value written beside it).",
            drawn(lambda: _figures().decision_tornado(lifecycle.decision, f"{run.scenario_name}: decision sensitivity")),
        ))
    report_figures.append(ReportFigure(
        "silo_energy_co2.png",
        "Energy and CO2 per silo (federated training, measured)",
        "Sum over every round and phase of each silo's ledger rows; the server's aggregation and "
        "coordination is its own bar.",
        drawn(lambda: _figures().silo_bars(silos)),
    ))
    report_figures.append(ReportFigure(
        "accuracy_per_round.png",
        "Accuracy per round",
        "Test accuracy of the aggregated FL model after each round; the dashed line is the centralized "
        "model's final accuracy on the same test set.",
        drawn(lambda: _figures().accuracy_curve(run.rounds, run.cl.accuracy)),
    ))
    report_figures.append(ReportFigure(
        "bytes_per_round.png",
        "Bytes per round",
        "Payload bytes of the model updates in each round, both directions (Flower record sizes, no "
        "wire overhead).",
        drawn(lambda: _figures().bytes_bars(round_bytes)),
    ))
    methods = method_uses(run.ledger.rows)
    faults = fault_events(run.ledger.rows)
    return ReportContext(
        run=run,
        silos=silos,
        round_bytes=round_bytes,
        methods=methods,
        method_meanings={use.energy_method: METHOD_MEANINGS.get(use.energy_method, "") for use in methods},
        intensities=grid_intensities(run.ledger.rows),
        intensity_source=INTENSITY_SOURCE,
        lifecycle=lifecycle,
        factors=lifecycle_factors() if lifecycle is not None else [],
        figures=report_figures,
        faults=faults,
        faults_summary=fault_summary(faults) if faults else "",
        draw_command="" if draw_figures else f"silocarbon report {shlex.quote(str(run.path))}",
    )


def _figures():  # type: ignore[no-untyped-def]
    """The figure module, imported only when a figure is drawn (it loads matplotlib, ~0.5 s)."""
    from simulator.results import figures

    return figures


def lifecycle_factors() -> list[Factor]:
    """The emission and price factors of this installation's configs/factors.toml, with sources."""
    factors = load_factors()
    return [getattr(factors, name) for name in FACTOR_NAMES]


def number(value: float | int | None, digits: int = 4) -> str:
    """Numbers as the report prints them: 4 significant digits; `absent` for a missing reading."""
    if value is None:
        return "absent"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


class _CompiledTemplateCache(jinja2.FileSystemBytecodeCache):
    """Jinja's per-user cache of compiled templates (compiling the report's templates is about 0.2 s of
    every run), keyed also by the settings the code was compiled under: escaping is compiled in, so
    an HTML and a Markdown compilation of one template must never be taken for each other."""

    def __init__(self, settings: str):
        super().__init__()  # Jinja's own folder, private to this user (it refuses one that is not)
        self._settings = settings

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return super().get_cache_key(f"{self._settings}|{name}", filename)


def _compiled_template_cache(*, html: bool) -> jinja2.BytecodeCache | None:
    try:
        return _CompiledTemplateCache(f"silocarbon-report|html={html}|jinja={jinja2.__version__}")
    except (OSError, RuntimeError):  # no private cache folder here: compile every time
        return None


def _environment(*, html: bool) -> jinja2.Environment:
    """Every value from a run folder is data, however it got there (a ledger or summary edited by
    hand can hold any text): HTML escapes all of it; Markdown neutralises what would become markup."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        bytecode_cache=_compiled_template_cache(html=html),
        # On for every template, whatever its name ("report.html.j2" never ended in ".html").
        autoescape=html,
        finalize=None if html else markdown_text,
        undefined=jinja2.StrictUndefined,  # a misspelt field fails the report, not silently blanks it
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["num"] = number
    return environment


def markdown_text(value: object) -> object:
    """A value as Markdown text: no HTML tags (Markdown renders them), no table breaks, one line."""
    if not isinstance(value, str):
        return value
    text = value.replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
    return " ".join(text.splitlines())


def report_environment(*, html: bool) -> jinja2.Environment:
    """The templates' environment (filters, escaping) for other reports, e.g. a group's: `html` for
    HTML templates (autoescape), else Markdown."""
    return _environment(html=html)


def render_html(context: ReportContext) -> str:
    return _environment(html=True).get_template("report.html.j2").render(c=context)


def render_markdown(context: ReportContext) -> str:
    return _environment(html=False).get_template("report.md.j2").render(c=context, figure_dir=FIGURE_DIR)


def write_report(run_dir: Path, draw_figures: bool = True) -> ReportFiles:
    """Write report.html, report.md and the figure files into the run folder; return their paths.

    `draw_figures=False` (what `silocarbon run` does) writes every table and leaves the figures for
    `silocarbon report`; figure files an earlier report drew stay where they are."""
    run = read_run(Path(run_dir))
    context = build_context(run, draw_figures)
    figure_paths = []
    for figure in context.figures:
        if figure.png is None:
            continue
        path = run.path / FIGURE_DIR / figure.file_name
        write_bytes_atomic(path, figure.png)
        figure_paths.append(path)
    html_path, markdown_path = run.path / REPORT_HTML, run.path / REPORT_MD
    write_text_atomic(html_path, render_html(context))
    write_text_atomic(markdown_path, render_markdown(context))
    return ReportFiles(html_path, markdown_path, tuple(figure_paths))
