"""`silocarbon run --app`: a user's own Flower app, measured, into the same run folder as `run`.

The scenario gives what the app does not: the silos (their number, names and grid countries), the
central site, the probes and the [lifecycle] section. The app brings the rest: data, model, training,
strategy and rounds. The federation runs on the inline grid (simulator.flower.measured_app), then
the centralized twin (simulator.flower.app_centralized); the run folder then gets the same files as
a scenario run: manifest.json (with the app), ledger.csv, summary.json, final_model.pt, cl_model.pt,
emissions.csv, and the lifecycle results from the run's own energy profile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import InputError
from simulator.flower.app_centralized import AppCentralizedOutcome, run_app_centralized
from simulator.flower.app_loading import FlowerApps
from simulator.flower.measured_app import app_local_epochs, run_app_federation
from simulator.ledger import Ledger
from simulator.lifecycle import LifecycleResult, build_plan, evaluate_lifecycle
from simulator.lifecycle.profile import lifecycle_profile_of_run
from simulator.pipeline import build_summary, idle_baseline, running_manifest, stopped_runs_marked
from simulator.probes.energy import install_host_probe
from simulator.probes.idle import IdleBaseline
from simulator.probes.startup import start_host_probe
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.run import FederationOutcome, Manifest, MeasuredApp, RunSummary
from simulator.results.atomic import save_torch_atomic, write_json_atomic, write_text_atomic
from simulator.results.emissions_csv import emissions_csv_text
from simulator.results.integrity import STATUS_COMPLETE
from simulator.results.run_dir import CL_MODEL, EMISSIONS, MANIFEST, SUMMARY, new_run_dir, write_ledger
from simulator.results.run_lock import hold_run_folder
from simulator.scenario.schema import Scenario
from simulator.training import warm_up_torch


@dataclass(frozen=True)
class AppRunResult:
    run_dir: Path
    scenario: Scenario
    ledger: Ledger
    summary: RunSummary
    lifecycle: LifecycleResult | None


def check_app_scenario(scenario: Scenario) -> None:
    """Refuse, before anything runs, what a measured app cannot do."""
    if scenario.runner != "inline":
        raise InputError(
            f"key 'runner': --app runs on the inline runner (got '{scenario.runner}'); on Flower's engines, add "
            "silocarbon's measurement mod to your ClientApp (see docs/measure-your-app.md)"
        )
    stated = {silo.name for silo in scenario.lifecycle.silos if silo.samples_per_gb is not None}
    missing = [name for name in scenario.silo_names if name not in stated]
    if missing:
        raise InputError(
            f"key 'lifecycle.silos.{missing[0]}.samples_per_gb': the app's data is its own, so the lifecycle model "
            "needs each silo's samples per GB stated ([[lifecycle.silos]] name = ..., samples_per_gb = ...)"
        )
    build_plan(scenario)  # the rest of the [lifecycle] section (a missing trace file, ...)


def run_app(
    apps: FlowerApps,
    scenario: Scenario,
    runs_root: Path = Path("runs"),
    observer: RunObserver = NULL_OBSERVER,
    *,
    warm_up: bool = True,
) -> AppRunResult:
    """Measure the user's ClientApp and ServerApp over the scenario's silos, then its centralized twin."""
    started = time.perf_counter()
    check_app_scenario(scenario)
    probe = start_host_probe(scenario.probes)
    try:
        warm_up_torch(scenario.training.threads)
        run_dir = new_run_dir(runs_root, scenario.name)
        with hold_run_folder(run_dir):
            manifest = running_manifest(
                scenario,
                app=MeasuredApp(
                    clientapp=apps.client_ref,
                    serverapp=apps.server_ref,
                    app_dir=None if apps.app_dir is None else str(apps.app_dir),
                    run_config=apps.run_config,
                    warm_up=warm_up,
                    local_epochs=app_local_epochs(apps.run_config),
                ),
            )
            write_json_atomic(run_dir / MANIFEST, manifest.to_json())
            idle = idle_baseline(probe, scenario)
            with stopped_runs_marked(run_dir, manifest, resumable=False):
                federation = run_app_federation(apps, scenario, run_dir, warm_up=warm_up, observer=observer)
                centralized = run_app_centralized(apps, scenario, federation.rounds, warm_up=warm_up, observer=observer)
                return _write_results(run_dir, scenario, manifest, federation.outcome, centralized, probe, idle, started)
    finally:
        install_host_probe(None)
        probe.close()


def _write_results(
    run_dir: Path,
    scenario: Scenario,
    manifest: Manifest,
    fl: FederationOutcome,
    centralized: AppCentralizedOutcome,
    probe,  # type: ignore[no-untyped-def]
    idle: IdleBaseline | None,
    started: float,
) -> AppRunResult:
    ledger = Ledger([*fl.ledger.rows, *centralized.rows])
    write_ledger(run_dir, ledger)
    save_torch_atomic(run_dir / CL_MODEL, centralized.final_state)
    write_text_atomic(run_dir / EMISSIONS, emissions_csv_text(ledger, run_dir.name, manifest.host, manifest.versions))
    total_wall_s = time.perf_counter() - started
    lifecycle = evaluate_lifecycle(scenario, lifecycle_profile_of_run(ledger, run_dir.name))
    summary = build_summary(fl, centralized, ledger, probe, total_wall_s, idle, lifecycle)
    write_json_atomic(run_dir / SUMMARY, summary.to_json())
    manifest = manifest.updated(
        status=STATUS_COMPLETE,
        energy_methods=sorted({row.energy_method for row in ledger.rows}),
        available_energy_methods=list(probe.available_methods),
    )
    write_json_atomic(run_dir / MANIFEST, manifest.to_json())
    return AppRunResult(run_dir, scenario, ledger, summary, lifecycle)
