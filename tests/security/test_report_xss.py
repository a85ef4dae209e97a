"""Issue 13, item 4: a hostile name in a run folder shows as text in report.html and runs no script.

Scenario validation refuses such names, so the attack comes the way an attacker who can edit a run
folder would bring it: the manifest, summary and ledger of a real run are rewritten with markup in
every free-text field that reaches the report (scenario, silo and strategy names, ledger silos and
countries, the host's CPU model, lifecycle titles, notes and sources; closed vocabularies such as the
energy method are refused by the typed readers). The report is then opened in headless Chromium.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from conftest import tiny_scenario
from simulator.pipeline import run_scenario
from simulator.results.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PAYLOADS = (
    '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
    "<script>window.__xss=(window.__xss||0)+1</script>",
    '"><svg onload="window.__xss=(window.__xss||0)+1">',
)


def _hostile(text: str, index: int) -> str:
    return f"{text}{PAYLOADS[index % len(PAYLOADS)]}"


def _poison(run_dir: Path) -> None:
    """Rewrite the run's files as an attacker with write access to the folder would."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    scenario = manifest["scenario"]
    scenario["name"] = _hostile("tiny", 1)
    scenario["strategy"]["name"] = _hostile("fedavg", 0)
    for index, silo in enumerate(scenario["silos"]):
        silo["name"] = _hostile(silo["name"], index)
    manifest.setdefault("host", {})["cpu_model"] = _hostile("cpu", 2)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))

    summary = json.loads((run_dir / "summary.json").read_text())

    def poison_texts(node, depth=0):
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, str) and key in ("title", "note", "source", "site", "quantity", "factor"):
                    node[key] = _hostile(value, depth)
                else:
                    poison_texts(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                poison_texts(item, depth + 1)

    poison_texts(summary.get("lifecycle"))
    (run_dir / "summary.json").write_text(json.dumps(summary))

    with (run_dir / "ledger.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for index, row in enumerate(rows):
        row["silo"] = _hostile(row["silo"], index)
        row["country"] = _hostile(row["country"], index + 1)
    with (run_dir / "ledger.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(scope="module")
def poisoned_report(tmp_path_factory):
    result = run_scenario(tiny_scenario(probes__energy=False, training__rounds=1), tmp_path_factory.mktemp("runs"))
    _poison(result.run_dir)
    return write_report(result.run_dir)


def test_markup_in_a_run_folder_is_escaped_in_the_html_and_neutralised_in_markdown(poisoned_report):
    html = poisoned_report.html.read_text()
    markdown = poisoned_report.markdown.read_text()
    for payload in PAYLOADS:
        assert payload not in html and payload not in markdown
    assert "&lt;script&gt;" in html and "&lt;script&gt;" in markdown


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install -y chromium)")
def test_hostile_names_render_as_text_and_run_no_script_in_chromium(poisoned_report):
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(poisoned_report.html.resolve().as_uri())
            page.wait_for_load_state("load")
            page.wait_for_timeout(300)  # let any injected handler (onerror, onload) fire
            ran = page.evaluate("window.__xss || 0")
            text = page.inner_text("body")
            injected = page.eval_on_selector_all("script, svg[onload], img[onerror]", "nodes => nodes.length")
        finally:
            browser.close()
    assert ran == 0 and not dialogs and injected == 0
    for payload in PAYLOADS:  # each name is shown as the text it is
        assert payload in text
    assert "tiny<script>" in text
