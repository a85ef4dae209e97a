"""`silocarbon run`: scenario -> federated run and centralized twin -> ledger -> run folder.

Nothing flows backwards: probes write ledger rows; the summary and the lifecycle model read them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from simulator.centralized import CentralizedOutcome, run_centralized
from simulator.scenario.schema import Scenario, TrainingConfig
from simulator.data import build_federated_data
from simulator.flower.runners import run_federated
from simulator.ledger import APPROACH_CL, APPROACH_FL, SERVER_SILO, Ledger, Totals
from simulator.lifecycle import LifecycleResult, build_plan, evaluate_lifecycle
from simulator.lifecycle.profile import lifecycle_profile_of_run, scenario_profile
from simulator.probes.startup import start_host_probe
from simulator.probes.energy import install_host_probe
from simulator.probes.idle import IdleBaseline, energy_above_idle_kwh, host_covered_wall_s, idle_energy_kwh
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.records.kinds import Approach
from simulator.records.run import (
    ApproachSummary,
    FederationOutcome,
    Interruption,
    Manifest,
    ResumeRecord,
    RunSummary,
    TimingSummary,
)
from simulator.results.atomic import save_torch_atomic, write_json_atomic, write_text_atomic
from simulator.results.cl_checkpoint import read_cl_checkpoint
from simulator.results.emissions_csv import emissions_csv_text
from simulator.results.host import host_facts, package_versions
from simulator.results.integrity import STATUS_COMPLETE, STATUS_FAILED, STATUS_INTERRUPTED, STATUS_RUNNING
from simulator.results.run_dir import (
    CL_MODEL,
    EMISSIONS,
    FL_HISTORY,
    FL_MODEL,
    MANIFEST,
    SUMMARY,
    new_run_dir,
    read_federation_outcome,
    write_ledger,
)
from simulator.results.run_lock import hold_run_folder
from simulator.stopping import RunInterrupted, StopRequested, as_stop
from simulator.to_target import Checkpointed, to_target_summary
from simulator.training import warm_up_torch


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    scenario: Scenario
    fl: FederationOutcome
    cl: CentralizedOutcome
    ledger: Ledger
    summary: RunSummary
    lifecycle: LifecycleResult | None = None


def run_scenario(scenario: Scenario, runs_root: Path = Path("runs"), observer: RunObserver = NULL_OBSERVER) -> RunResult:
    started = time.perf_counter()
    probe = started_probe(scenario)
    try:
        # The split is built (and refused, for impossible scenarios) before any folder is made.
        data = build_federated_data(scenario)
        # Refuses a bad [lifecycle] section (e.g. a missing trace) before training.
        build_plan(scenario, dataset_features=data.dataset.num_features)
        scenario_profile(scenario)  # and a [lifecycle] profile that names nothing
        warm_up_torch(scenario.training.threads)
        run_dir = new_run_dir(runs_root, scenario.name)
        return run_in_folder(scenario, data, run_dir, probe, started, observer, idle_baseline(probe, scenario))
    finally:
        install_host_probe(None)
        probe.close()


def run_in_folder(
    scenario: Scenario, data, run_dir: Path, probe, started: float, observer: RunObserver, idle: IdleBaseline | None
) -> RunResult:
    """One measured run into an existing, empty folder, with a started probe and a known idle
    baseline (a group of seeds pays the probe's start-up, torch's warm-up and the baseline once).
    The folder's lock is held throughout (simulator/results/run_lock.py)."""
    with hold_run_folder(run_dir):
        manifest = running_manifest(scenario)
        return _finish_run(scenario, data, run_dir, manifest, probe, started, observer, idle)


def running_manifest(scenario: Scenario, **extra) -> Manifest:
    """The manifest of a run starting now on this host (`extra`: further fields, e.g. a measured app)."""
    return Manifest(
        scenario=scenario.model_dump(mode="json"),
        seed=scenario.seed,
        runner=scenario.runner,
        versions=package_versions(),
        host=host_facts(),
        status=STATUS_RUNNING,
        **extra,
    )


def started_probe(scenario: Scenario):  # type: ignore[no-untyped-def]
    """The host probe a run measures with (the caller closes it, after `install_host_probe(None)`)."""
    # CodeCarbon's first start detects the hardware (about 1.5 s): it overlaps with the set-up below,
    # and with the imports before it where the CLI started the probe already.
    return start_host_probe(scenario.probes)


RESUMABLE = (STATUS_RUNNING, STATUS_INTERRUPTED, STATUS_FAILED)


def resume_run(run_dir: Path, observer: RunObserver = NULL_OBSERVER) -> RunResult:
    """Go on with a stopped run from its last round checkpoint, in the same folder (`silocarbon resume`)."""
    from simulator.results.checkpoint import read_checkpoint
    from simulator.results.integrity import read_manifest, require_run_dir
    from simulator.scenario.load import validate_scenario

    require_run_dir(run_dir, allowed=RESUMABLE, load_models=False)
    with hold_run_folder(run_dir):  # refused while another process runs this folder
        require_run_dir(run_dir, allowed=RESUMABLE, load_models=False)  # as it is now that we hold it
        manifest = read_manifest(run_dir)
        if manifest.app is not None:
            from simulator.errors import InputError

            raise InputError(
                f"run folder '{run_dir}' measured your own Flower app ({manifest.app.serverapp}), whose strategy "
                "state silocarbon does not hold: run it again with `silocarbon run --app`"
            )
        scenario = validate_scenario(manifest.scenario, str(run_dir / MANIFEST))
        checkpoint = read_checkpoint(run_dir)  # refuses a damaged one before any work
        read_cl_checkpoint(run_dir)  # likewise
        started = time.perf_counter()
        probe = started_probe(scenario)
        try:
            data = build_federated_data(scenario)
            warm_up_torch(scenario.training.threads)
            resumed = ResumeRecord(
                at_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                after_round=checkpoint.completed_round if checkpoint is not None else 0,
                stopped_as=manifest.status,
                interruption=manifest.interruption,
                versions=package_versions(),
            )
            manifest = manifest.updated(
                status=STATUS_RUNNING, resumed=[*(manifest.resumed or ()), resumed.to_json()], failure=None,
                interruption=None,
            )
            return _finish_run(
                scenario, data, run_dir, manifest, probe, started, observer, idle_baseline(probe, scenario)
            )
        finally:
            install_host_probe(None)
            probe.close()


def _finish_run(
    scenario: Scenario, data, run_dir: Path, manifest: Manifest, probe, started: float, observer: RunObserver,
    idle: IdleBaseline | None,
) -> RunResult:
    """Write the (running) manifest; FL (from round 1, or from the folder's checkpoint), then CL
    (likewise), then every result file.

    Ctrl-C or SIGTERM marks the folder `interrupted`, a failure `failed`; both stay resumable.
    """
    write_json_atomic(run_dir / MANIFEST, manifest.to_json())
    with stopped_runs_marked(run_dir, manifest):
        return _measure_and_write(scenario, data, run_dir, manifest, probe, started, observer, idle)


@contextmanager
def stopped_runs_marked(run_dir: Path, manifest: Manifest, resumable: bool = True) -> Iterator[None]:
    """Ctrl-C or SIGTERM in the block marks the folder `interrupted` and raises RunInterrupted; an
    exception marks it `failed` with the reason and goes on up (the caller reports it)."""
    try:
        yield
    except (StopRequested, KeyboardInterrupt) as interruption:
        stop = as_stop(interruption)
        stopped = manifest.updated(status=STATUS_INTERRUPTED, interruption=Interruption(
            signal=stop.signal_name, at_utc=datetime.now(timezone.utc).isoformat(timespec="seconds")).to_json())
        write_json_atomic(run_dir / MANIFEST, stopped.to_json())
        raise RunInterrupted(stop.signal_number, run_dir, resumable) from None
    except Exception as error:
        failed = manifest.updated(status=STATUS_FAILED, failure=" ".join(f"{type(error).__name__}: {error}".split()))
        write_json_atomic(run_dir / MANIFEST, failed.to_json())
        raise


def _measure_and_write(
    scenario: Scenario, data, run_dir: Path, manifest: Manifest, probe, started: float, observer: RunObserver,
    idle: IdleBaseline | None,
) -> RunResult:
    fl = finished_federation(run_dir, scenario) or run_federated(scenario, run_dir, observer)
    cl = run_centralized(scenario, data, observer, run_dir)
    ledger = Ledger([*fl.ledger.rows, *cl.rows])
    write_ledger(run_dir, ledger)
    save_torch_atomic(run_dir / CL_MODEL, cl.model.state_dict())
    write_text_atomic(
        run_dir / EMISSIONS, emissions_csv_text(ledger, run_dir.name, manifest.host, manifest.versions)
    )
    total_wall_s = time.perf_counter() - started  # the run itself, before the lifecycle model's sweeps
    profile = lifecycle_profile_of_run(ledger, run_dir.name, scenario_profile(scenario))
    lifecycle = evaluate_lifecycle(scenario, profile, dataset_features=data.dataset.num_features)
    summary = build_summary(fl, cl, ledger, probe, total_wall_s, idle, lifecycle, scenario.training)
    write_json_atomic(run_dir / SUMMARY, summary.to_json())
    manifest = manifest.updated(status=STATUS_COMPLETE, energy_methods=sorted({row.energy_method for row in ledger.rows}),
                                available_energy_methods=list(probe.available_methods))
    write_json_atomic(run_dir / MANIFEST, manifest.to_json())
    return RunResult(run_dir, scenario, fl, cl, ledger, summary, lifecycle)


def finished_federation(run_dir: Path, scenario: Scenario) -> FederationOutcome | None:
    """The FL outcome a stopped process already wrote (it stopped during CL), else None."""
    from simulator.results.checkpoint import read_checkpoint

    if not ((run_dir / FL_HISTORY).is_file() and (run_dir / FL_MODEL).is_file()):
        return None
    checkpoint = read_checkpoint(run_dir)
    if checkpoint is None or checkpoint.completed_round < scenario.training.rounds:
        return None
    return read_federation_outcome(run_dir)


def idle_baseline(probe, scenario: Scenario) -> IdleBaseline | None:
    """The host's idle power, found before any training (measuring needs this process idle)."""
    if scenario.probes.idle_baseline == "off":
        return None
    return probe.idle_baseline(scenario.probes.idle_baseline, scenario.probes.idle_seconds)


def build_summary(
    fl: FederationOutcome,
    cl: CentralizedOutcome,
    ledger: Ledger,
    probe,
    total_wall_s: float,
    idle: IdleBaseline | None = None,
    lifecycle: LifecycleResult | None = None,
    training: TrainingConfig | None = None,
) -> RunSummary:
    """summary.json. The `fl`/`cl` figures are at equal sample updates (`training.rounds`), also
    when a target accuracy ran either side longer; `to_target` holds the figures to that accuracy."""
    idle_w = idle.power_w if idle is not None else None
    # With a target, either side may have run past the equal budget: its figures stop there.
    fl_budget = training.rounds if training is not None and training.target_accuracy is not None else None
    cl_budget = cl.equal_budget_epochs if fl_budget is not None else None

    def approach(key: Approach, accuracy: float | None, wall_s: float, budget: int | None) -> ApproachSummary:
        totals: Totals = ledger.totals(key, through_round=budget)
        rows = [row for row in ledger.select(approach=key) if budget is None or row.round <= budget]
        covered_s = host_covered_wall_s(rows)
        return ApproachSummary(
            accuracy=accuracy,
            energy_kwh=totals.energy_kwh,
            host_energy_kwh=totals.host_energy_kwh,
            sample_updates=totals.sample_updates,
            co2_kg=totals.co2_kg,
            bytes_down=totals.bytes_down,
            bytes_up=totals.bytes_up,
            wall_s=wall_s,
            cpu_s=totals.cpu_s,
            energy_methods=tuple(sorted({row.energy_method for row in rows})),
            # Idle power is the host's: taken from the host figure (the attributed one has no idle part).
            energy_above_idle_kwh=energy_above_idle_kwh(totals.host_energy_kwh, idle_w, covered_s),
            idle_energy_kwh=None if idle_w is None else idle_energy_kwh(idle_w, covered_s),
        )

    fl_rows = ledger.select(approach=APPROACH_FL)
    silo_train_s = sum(row.wall_s for row in fl_rows if row.silo != SERVER_SILO and row.phase == "train")
    silo_eval_s = sum(row.wall_s for row in fl_rows if row.silo != SERVER_SILO and row.phase == "evaluate")
    server_s = sum(row.wall_s for row in fl_rows if row.silo == SERVER_SILO and row.phase != "wait")
    return RunSummary(
        fl=approach(APPROACH_FL, fl.accuracy_at(fl_budget) if fl_budget else fl.accuracy,
                    fl.elapsed_at(fl_budget) if fl_budget else fl.wall_s, fl_budget),
        cl=approach(APPROACH_CL, cl.accuracy, cl.elapsed_at(cl_budget) if cl_budget else cl.wall_s, cl_budget),
        idle_baseline=idle,
        fl_rounds=tuple(fl.rounds),
        cl_evaluations=cl.evaluations,
        to_target=_to_target(training, fl, cl, ledger),
        timing_s=TimingSummary(
            total=total_wall_s,
            fl_total=fl.wall_s,
            fl_silo_train=silo_train_s,
            fl_silo_evaluate=silo_eval_s,
            fl_server_aggregate=server_s,
            fl_flower_overhead=max(0.0, fl.wall_s - silo_train_s - silo_eval_s - server_s),
            probe_startup=probe.startup_s,
            probe_startup_blocking=probe.startup_wait_s,
            probe_windows=probe.window_overhead_s,
            cl_total=cl.wall_s,
        ),
        lifecycle=lifecycle,
    )


def _to_target(training: TrainingConfig | None, fl: FederationOutcome, cl: CentralizedOutcome, ledger: Ledger):
    if training is None or training.target_accuracy is None:
        return None
    fl_points = [Checkpointed(r.round, r.accuracy, r.elapsed_s) for r in fl.rounds]
    cl_points = [Checkpointed(e.epoch, e.accuracy, e.elapsed_s) for e in cl.evaluations]
    return to_target_summary(training.target_accuracy, training.last_round, fl_points, cl_points, ledger)
