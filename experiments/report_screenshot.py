"""A picture of a real report, for the README: the top of report.html in headless Chromium.

    python -m experiments.report_screenshot [RUN_DIR] [--out docs/report.png]

Without RUN_DIR it first runs the embedded default scenario into a temporary folder. Debian's
Chromium (/usr/bin/chromium, driven by playwright, a dev dependency) opens the run's report.html
1100 px wide and photographs its top: the run, the measured training table and the lifecycle figure.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1100, "height": 1500}  # CSS pixels; the report's body is at most 1100 px wide


def screenshot(report_html: Path, out: Path) -> Path:
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(report_html.resolve().as_uri())
            page.wait_for_load_state("load")
            page.screenshot(path=str(out), full_page=False)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.report_screenshot", description=__doc__.splitlines()[0],
        epilog="No --seeds: a picture of one run's report for the README, not a measurement to compare.",
    )
    parser.add_argument("run_dir", nargs="?", type=Path, help="a run folder (default: run the default scenario)")
    parser.add_argument("--out", type=Path, default=Path("docs/report.png"), help="PNG to write")
    args = parser.parse_args(argv)
    from simulator.results.report import write_report

    if args.run_dir is None:
        from simulator.pipeline import run_scenario
        from simulator.scenario import load_scenario

        args.run_dir = run_scenario(load_scenario(), Path(tempfile.mkdtemp(prefix="silocarbon-screenshot-"))).run_dir
    report = write_report(args.run_dir)
    print(screenshot(report.html, args.out))


if __name__ == "__main__":
    main()
