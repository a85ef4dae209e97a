"""Reports, the run index, `compare` and progress: on real run folders made by real tiny runs."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from conftest import REPO_ROOT, RecordingObserver, run_cli, tiny_scenario
from simulator.errors import InputError
from simulator.ledger import LedgerRow
from simulator.pipeline import run_scenario
from simulator.progress_bar import ProgressBars, progress_for
from simulator.results.breakdown import bytes_per_round, grid_intensities, method_uses, silo_totals
from simulator.results.report import write_report
from simulator.results.run_index import INDEX_FILE, RunIndex
from simulator.results.run_tables import comparison_rows, print_runs, ratio
from simulator.results.run_view import read_run

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory):
    """One real tiny run (inline, 2 silos, 2 rounds), observed; shared by this module's tests."""
    observer = RecordingObserver()
    result = run_scenario(tiny_scenario(), tmp_path_factory.mktemp("runs"), observer)
    return result.run_dir, observer


@pytest.fixture(scope="module")
def report_files(recorded_run):
    return write_report(recorded_run[0])


def _row(silo, round_number, phase, energy, co2, down, up, method="modelled", approach="fl", country="FRA"):
    return LedgerRow(approach, silo, round_number, phase, 1.0, 0.5, energy, energy, None, None, method, country,
                     56.0, co2, down, up, 10)


def test_breakdowns_match_hand_worked_sums():
    rows = [
        _row("a", 1, "train", 1.0, 0.5, 100, 40),
        _row("b", 1, "train", None, None, 100, 40, method="absent", country="USA"),
        _row("a", 1, "evaluate", 2.0, 1.0, 100, 0),
        _row("server", 1, "aggregate", 0.25, 0.125, 0, 0, country="USA"),
        _row("a", 2, "train", 3.0, 1.5, 100, 40),
        _row("central", 1, "train", 7.0, 3.5, 0, 0, approach="cl", country="USA"),
    ]
    silos = {s.silo: s for s in silo_totals(rows)}
    assert list(silos) == ["a", "b", "server"]
    assert silos["a"].energy_kwh == 6.0 and silos["a"].co2_kg == 3.0
    assert silos["a"].bytes_down == 300 and silos["a"].bytes_up == 80
    assert silos["b"].energy_kwh is None and silos["b"].co2_kg is None  # absent stays absent
    per_round = bytes_per_round(rows)
    assert [(r.round, r.bytes_down, r.bytes_up, r.bytes_total) for r in per_round] == [(1, 300, 80, 380), (2, 100, 40, 140)]
    uses = {(m.approach, m.energy_method): (m.rows, m.energy_kwh) for m in method_uses(rows)}
    assert uses == {("cl", "modelled"): (1, 7.0), ("fl", "absent"): (1, None), ("fl", "modelled"): (4, 6.25)}
    assert [(g.country, g.approaches) for g in grid_intensities(rows)] == [("FRA", ("fl",)), ("USA", ("cl", "fl"))]


def test_observer_hears_every_round_silo_and_epoch(recorded_run):
    _, observer = recorded_run
    events = observer.events
    assert events[0] == ("federation", 2, ("paris", "virginia"))
    silo_events = [e for e in events if e[0] == "silo"]
    # Each round: a train and an evaluate exchange, each answered by both silos (in Flower's sample order).
    assert [e[:3] for e in silo_events] == [("silo", r, p) for r in (1, 2) for p in ("train", "evaluate") for _ in "ab"]
    for index in range(0, len(silo_events), 2):
        assert sorted(e[3] for e in silo_events[index:index + 2]) == ["paris", "virginia"]
    assert [e for e in events if e[0] == "exchange"] == [("exchange", r, p, 2) for r in (1, 2) for p in ("train", "evaluate")]
    cl_events = events[events.index(("federation done",)) + 1:]
    assert cl_events == [("cl", 2), ("cl epoch", 1), ("cl epoch", 2), ("cl done",)]


def test_progress_bars_draw_rounds_silos_and_epochs(recorded_run):
    buffer = io.StringIO()
    bars = ProgressBars(Console(file=buffer, force_terminal=True, width=100))
    with bars:
        for event in recorded_run[1].events:
            name = {"federation": "federation_started", "exchange": "exchange_started", "silo": "silo_finished",
                    "federation done": "federation_finished", "cl": "centralized_started",
                    "cl epoch": "centralized_epoch_finished", "cl done": "centralized_finished"}[event[0]]
            getattr(bars, name)(*event[1:])
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())
    assert "FL rounds" in text and "2/2" in text and "CL epochs" in text
    assert "silos, round 2 evaluate" in text


def test_progress_is_quiet_off_a_terminal_and_with_quiet():
    assert progress_for(quiet=True) is None
    assert progress_for(quiet=False, stream=io.StringIO()) is None  # not a terminal


def test_report_files_hold_every_section(report_files, recorded_run):
    run_dir = recorded_run[0]
    html = report_files.html.read_text()
    markdown = report_files.markdown.read_text()
    assert report_files.html == run_dir / "report.html" and report_files.markdown == run_dir / "report.md"
    # Self-contained: every image is a data URI and nothing is fetched from elsewhere.
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) == len(report_files.figures) == 5  # stages, decision sensitivity, silos, accuracy, bytes
    assert all(source.startswith("data:image/png;base64,") for source in sources)
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # The lifecycle stages (summary.json["lifecycle"], written by the run) with their figure and sources.
    assert [f.name for f in report_files.figures][0] == "lifecycle_stages.png"
    summary = json.loads((run_dir / "summary.json").read_text())
    for stage in summary["lifecycle"]["cl"]["stages"]:
        assert stage["title"] in html and stage["title"] in markdown
    assert "network_kwh_per_gb" in markdown and "Aslan" in markdown  # a factor with its source
    for heading in ("Lifecycle: FL vs CL per stage", "Energy and CO2 per silo", "Accuracy per round", "Bytes per round", "Measurement methods used",
                    "Factors and their sources"):
        assert heading in html and heading in markdown
    run = read_run(run_dir)
    assert f"{run.fl.bytes_down:,}" in markdown  # the measured numbers, with their units beside them
    assert "gCO2e/kWh" in markdown and "modelled" in markdown
    for figure in report_files.figures:
        assert figure.read_bytes().startswith(b"\x89PNG") and f"report_files/{figure.name}" in markdown


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install -y chromium)")
def test_report_renders_every_figure_in_headless_chromium(report_files, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(report_files.html.resolve().as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => ({complete: i.complete, width: i.naturalWidth, alt: i.alt}))")
            screenshot = tmp_path / "report.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    assert len(images) == len(report_files.figures)
    assert all(image["complete"] and image["width"] > 0 for image in images), images
    assert screenshot.read_bytes().startswith(b"\x89PNG") and screenshot.stat().st_size > 10_000


def test_report_of_a_missing_or_partial_folder_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write_report(tmp_path / "nope")
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "manifest.json").write_text('{"status": "running", "scenario": {}}')
    with pytest.raises(InputError, match="summary.json is missing"):
        write_report(tmp_path / "partial")


def test_index_lists_runs_and_names_bad_folders_without_failing(recorded_run, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    good = runs / recorded_run[0].name
    shutil.copytree(recorded_run[0], good)
    (runs / "broken").mkdir()
    (runs / "broken" / "manifest.json").write_text("{not json")
    (runs / "crashed").mkdir()
    (runs / "crashed" / "manifest.json").write_text('{"status": "running", "scenario": {"name": "tiny"}}')
    listing = RunIndex(runs).refresh()
    assert [run.run_id for run in listing.runs] == [good.name]
    indexed = listing.runs[0]
    summary = json.loads((good / "summary.json").read_text())
    assert indexed.fl_co2_kg == summary["fl"]["co2_kg"] and indexed.silos == 2 and indexed.rounds == 2
    assert indexed.fl_payload_bytes == summary["fl"]["bytes_down"] + summary["fl"]["bytes_up"]
    assert indexed.lifecycle_cl_co2_kg == summary["lifecycle"]["cl"]["total"]["co2_kg"]["central"]
    assert len(listing.warnings) == 2
    assert any("broken" in w and "manifest.json' is not readable JSON" in w for w in listing.warnings)
    assert any("crashed" in w and "status is 'running'" in w for w in listing.warnings)

    # A second copy appears, the first vanishes: the index follows the folders.
    second = runs / "20991231T000000Z-tiny"
    shutil.copytree(good, second)
    shutil.rmtree(good)
    assert [run.run_id for run in RunIndex(runs).refresh().runs] == [second.name]

    # A rewritten summary is re-read (its signature changed).
    summary["fl"]["co2_kg"] = 123.0
    (second / "summary.json").write_text(json.dumps(summary) + "\n" * 3)
    assert RunIndex(runs).refresh().runs[0].fl_co2_kg == 123.0

    # A corrupt index file is rebuilt, with a warning, from the folders.
    (runs / INDEX_FILE).write_bytes(b"this is not a database" * 100)
    rebuilt = RunIndex(runs).refresh()
    assert [run.run_id for run in rebuilt.runs] == [second.name]
    assert any("unreadable" in w and "rebuilt" in w for w in rebuilt.warnings)
    with sqlite3.connect(runs / INDEX_FILE) as connection:
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1

    shown, warned = io.StringIO(), io.StringIO()
    print_runs(runs, Console(file=shown, width=200), Console(file=warned, width=200))
    assert second.name in shown.getvalue() and "broken" in warned.getvalue()


def test_index_of_a_missing_folder_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="--runs-dir"):
        RunIndex(tmp_path / "nowhere").refresh()


def test_comparison_rows_carry_units_and_ratios(recorded_run, tmp_path):
    a = read_run(recorded_run[0])
    changed = tmp_path / "b"
    shutil.copytree(recorded_run[0], changed)
    summary = json.loads((changed / "summary.json").read_text())
    summary["fl"]["co2_kg"] = a.fl.co2_kg * 3
    (changed / "summary.json").write_text(json.dumps(summary))
    rows = {row.quantity: row for row in comparison_rows(a, read_run(changed))}
    assert rows["FL training CO2"].unit == "kg CO2e" and rows["FL training CO2"].ratio_b_over_a == "3x"
    assert rows["CL training CO2"].ratio_b_over_a == "1x"
    assert rows["FL payload (down + up)"].unit == "bytes"
    assert rows["CL payload (down + up)"].ratio_b_over_a == "-"  # CL moves no model updates: no ratio
    assert rows["CL lifecycle CO2 (central)"].ratio_b_over_a == "1x" and rows["CL lifecycle CO2 (central)"].unit == "kg CO2e"
    assert ratio(2.0, 3.0) == "1.5x" and ratio(None, 1.0) == "-" and ratio(0.0, 1.0) == "-"


def test_cli_run_writes_the_report_and_runs_lists_it(tmp_path):
    done = run_cli("run", "--set", "training.rounds=1", "--set", "model.name=logreg", "--runs-dir", "runs", "--quiet",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / done.stdout.strip()
    assert (run_dir / "report.html").is_file() and (run_dir / "report.md").is_file()
    listed = run_cli("runs", "--runs-dir", "runs", cwd=tmp_path)
    assert listed.returncode == 0 and run_dir.name[:16] in listed.stdout
    compared = run_cli("compare", run_dir.name, str(run_dir), "--runs-dir", "runs", cwd=tmp_path)
    assert compared.returncode == 0 and "kg CO2e" in compared.stdout
    missing = run_cli("compare", "nope", run_dir.name, "--runs-dir", "runs", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "nope" in missing.stderr
    bad_report = run_cli("report", "runs/nope", cwd=tmp_path)
    assert bad_report.returncode == 2 and "does not exist" in bad_report.stderr


def test_run_pays_only_for_what_it_uses_and_report_draws_the_figures_later(tmp_path):
    """`run` imports neither scikit-learn/SciPy (the digits are read from their file), nor torch._dynamo
    (its SGD is not torch.optim's), nor matplotlib (its report has every table and says how to draw
    the figures); `report` then draws all four."""
    heavy = ("sklearn", "scipy", "torch._dynamo", "sympy", "matplotlib")
    code = (
        "import sys\nfrom simulator.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as done:\n"
        f"    print('LOADED', [m for m in {heavy!r} if m in sys.modules], done.code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--set", "training.rounds=1", "--set", "model.name=logreg",
         "--runs-dir", "runs", "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == 0, done.stderr
    folder_line, loaded_line = done.stdout.strip().splitlines()[-2:]
    assert loaded_line == "LOADED [] 0"
    run_dir = tmp_path / folder_line
    html = (run_dir / "report.html").read_text()
    assert "<img" not in html and html.count(f"silocarbon report {run_dir.relative_to(tmp_path)}") == 5
    assert "| round | test accuracy (fraction)" in (run_dir / "report.md").read_text()  # the tables are all there
    assert not (run_dir / "report_files").exists()

    drawn = run_cli("report", str(run_dir), cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    html = (run_dir / "report.html").read_text()
    assert html.count('<img src="data:image/png;base64,') == 5 and "Figure not drawn" not in html
    assert len(list((run_dir / "report_files").glob("*.png"))) == 5


def test_lifecycle_part_absent_or_damaged(tmp_path):
    from simulator.records.run import RunSummary, record_from_json
    from simulator.results.lifecycle_view import lifecycle_view

    approach = {"accuracy": 0.5, "energy_kwh": None, "co2_kg": None, "bytes_down": 0, "bytes_up": 0, "wall_s": 1.0}
    before_the_model = record_from_json(RunSummary, {"fl": approach, "cl": approach}, tmp_path / "summary.json")
    assert before_the_model.lifecycle is None and lifecycle_view(before_the_model.lifecycle) is None
    with pytest.raises(InputError, match=r"summary.json lacks an expected field .*key 'lifecycle\.scenario'"):
        record_from_json(RunSummary, {"fl": approach, "cl": approach, "lifecycle": {"fl": {"stages": []}}},
                         tmp_path / "summary.json")


def test_compiled_templates_are_cached_apart_per_escaping(tmp_path):
    """The report's compiled templates are cached (Jinja's private per-user folder); escaping is
    compiled in, so a template's HTML and Markdown compilations never share a cache entry, and a
    template loaded from the cache still escapes."""
    import jinja2

    from simulator.results.report import _compiled_template_cache

    html_cache, markdown_cache = _compiled_template_cache(html=True), _compiled_template_cache(html=False)
    assert html_cache is not None and markdown_cache is not None
    assert html_cache.get_cache_key("report.html.j2") != markdown_cache.get_cache_key("report.html.j2")
    (tmp_path / "page.j2").write_text("{{ name }}")
    for _ in range(2):  # the second environment loads the compiled template from the cache
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path), autoescape=True,
                                         bytecode_cache=_compiled_template_cache(html=True))
        rendered = environment.get_template("page.j2").render(name="<script>x</script>")
        assert rendered == "&lt;script&gt;x&lt;/script&gt;"
