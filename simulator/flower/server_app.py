"""The ServerApp: the strategy's round loop over a measured grid, writing the FL part of a run folder.

`app` is what Flower loads (`[tool.flwr.app.components]`); the runners build theirs with
`make_server_app(scenario, run_dir)`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from flwr.app import ArrayRecord, ConfigRecord, Context
from flwr.serverapp import Grid, ServerApp

from simulator.scenario.schema import Scenario
from simulator.data.registry import load_dataset
from simulator.flower.bundle import BundlingGrid
from simulator.flower.measured_grid import MeasuredGrid
from simulator.flower.reply_check import array_layout
from simulator.flower.round_loop import RoundPlan, run_rounds
from simulator.flower.scenario_source import RUN_DIR_KEY, scenario_from_run_config
from simulator.ledger import Ledger
from simulator.models import build_model
from simulator.probes.energy import host_probe, install_host_probe
from simulator.probes.host_energy import HostEnergyProbe
from simulator.progress import NULL_OBSERVER, RunObserver
from simulator.results.atomic import write_text_atomic
from simulator.results.checkpoint import capture, earlier_ledger_rows, read_checkpoint, write_checkpoint
from simulator.records.run import FederationOutcome, RoundRecord, first_round_reaching
from simulator.results.run_dir import FL_LEDGER, new_run_dir, write_federation_outcome
from simulator.stopping import StopRequested
from strategies.registry import build_strategy, client_train_config


def run_federation(
    grid: Grid,
    scenario: Scenario,
    run_dir: Path,
    *,
    node_to_silo: dict[int, str] | None = None,
    apportion_host_energy: bool = False,
    reply_poll_s: float | None = None,
    one_exchange_per_round: bool = False,
    observer: RunObserver = NULL_OBSERVER,
) -> FederationOutcome:
    """Run every round of the scenario's strategy and write the FL outcome into `run_dir`.

    `one_exchange_per_round`: each round's evaluation travels with the next round's training, as
    one bundle per silo (simulator.flower.bundle); needs `reply_poll_s` (replies are pulled)."""
    wall_start = time.perf_counter()
    dataset = load_dataset(scenario.data, scenario.seed, scenario.model.input_shape)
    model = build_model(scenario.model, dataset, scenario.seed)
    strategy = build_strategy(
        scenario.strategy, len(scenario.silos), scenario.silos, scenario.training.learning_rate
    )
    if one_exchange_per_round:
        if reply_poll_s is None:
            raise ValueError("one_exchange_per_round pulls its replies: give reply_poll_s")
        grid = BundlingGrid(grid)
    measured = MeasuredGrid(
        grid,
        node_to_silo=node_to_silo,
        silo_countries={silo.name: silo.country for silo in scenario.silos},
        server_country=scenario.aggregator_country,
        apportion_host_energy=apportion_host_energy,
        **silo_hardware_options(scenario),
        reply_poll_s=reply_poll_s,
        on_rows=lambda rows: write_text_atomic(run_dir / FL_LEDGER, Ledger(rows).to_csv_text()),
        observer=observer,
        min_group_size=scenario.analytics.min_group_size,
    )
    train_config = ConfigRecord(
        {"local-epochs": scenario.training.local_epochs, **client_train_config(scenario.strategy)}
    )
    checkpoint = read_checkpoint(run_dir)  # a fresh run folder has none; `resume` goes on from it
    arrays = ArrayRecord(model.state_dict())
    measured.model_dtypes = {name: dtype for name, (_, dtype) in array_layout(arrays).items()}
    rounds: list[RoundRecord] = []
    earlier_wall_s = 0.0
    if checkpoint is not None:
        checkpoint.restore_strategy(strategy, run_dir)
        arrays = ArrayRecord(checkpoint.model_state)
        rounds = list(checkpoint.rounds)
        earlier_wall_s = checkpoint.fl_wall_s
        checkpoint.restore_random_states()
    measured.rows.extend(earlier_ledger_rows(run_dir, checkpoint, scenario.training.local_epochs))

    def journal() -> None:
        # Every row reaches the disk at once: a kill loses no measurement.
        write_text_atomic(run_dir / FL_LEDGER, Ledger(measured.rows).to_csv_text())

    def finish_round(round_number: int, round_arrays: ArrayRecord, record: RoundRecord, round_strategy) -> None:
        if not one_exchange_per_round:
            # With one exchange per round the server's window stays open: the next round's
            # aggregation is already under way in it.
            measured.close_server_window()
        journal()
        elapsed_s = earlier_wall_s + time.perf_counter() - wall_start
        rounds.append(record.model_copy(update={"elapsed_s": elapsed_s}))
        write_checkpoint(run_dir, capture(
            completed_round=round_number, model_state=round_arrays.to_torch_state_dict(), strategy=round_strategy,
            ledger_rows=rows_through_round(measured.rows, round_number), rounds=rounds, fl_wall_s=elapsed_s,
        ))

    target = scenario.training.target_accuracy

    def target_reached_past_budget(record: RoundRecord) -> bool:
        # With a target the loop may run to max_rounds; it stops once the equal-budget rounds are
        # done and some round (this or an earlier one, also before a resume) reached the target.
        return (
            target is not None
            and record.round >= scenario.training.rounds
            and first_round_reaching(rounds, target) is not None
        )

    plan = RoundPlan(
        first_round=(checkpoint.completed_round if checkpoint is not None else 0) + 1,
        last_round=scenario.training.last_round,
        seed=scenario.seed,
        timeout_s=scenario.training.round_timeout_s,
        min_silos=scenario.faults.min_silos,
        train_config=train_config,
        evaluate_config=ConfigRecord(),
        evaluation_rides_with_training=one_exchange_per_round,
        # With a target the run goes on past the budget only while the target is not reached: from
        # there on each round's evaluation must be in before the next round is sent.
        stop_decisions_from=scenario.training.rounds if target is not None else None,
    )
    observer.federation_started(scenario.training.last_round, scenario.silo_names)
    try:
        # The measured grid writes the ledger after every exchange (on_rows); finish_round adds the
        # server's rows and the checkpoint.
        final_arrays = run_rounds(strategy, measured, arrays, plan, after_round=finish_round,
                                  stop_after=target_reached_past_budget)
    finally:
        measured.close_server_window()
        journal()
    observer.federation_finished()
    outcome = FederationOutcome(
        final_state=final_arrays.to_torch_state_dict(),
        rounds=rounds,
        ledger=Ledger(measured.rows),
        wall_s=earlier_wall_s + time.perf_counter() - wall_start,
    )
    write_federation_outcome(run_dir, outcome)
    return outcome


def rows_through_round(rows: list, round_number: int) -> int:
    """How many leading ledger rows belong to rounds up to `round_number` (a checkpoint's position).
    With one exchange per round the rows of round r+1's training follow round r's evaluation."""
    for position, row in enumerate(rows):
        if row.round > round_number:
            return position
    return len(rows)


def silo_hardware_options(scenario: Scenario) -> dict:
    """The silos whose declared hardware this host lacks (or does not give them): modelled."""
    from simulator.probes.silo_hardware import host_has_gpu
    from simulator.results.host import gpu_names
    from simulator.training import resolve_device

    # The ray runner gives its silo actors no GPU (runners.run_ray), so there they all run on CPU.
    on_gpu = frozenset(
        silo.name
        for silo in scenario.silos
        if scenario.runner != "ray" and resolve_device(silo.device or scenario.training.device).type == "cuda"
    )
    declared = {silo.name: silo.hardware.profile() for silo in scenario.silos if silo.hardware is not None}
    host_gpus = gpu_names() if declared else []
    modelled = {
        name: profile
        for name, profile in declared.items()
        if not host_has_gpu(profile, host_gpus, name in on_gpu)
    }
    return {"modelled_silos": modelled}


def make_server_app(
    scenario: Scenario | None = None, run_dir: Path | None = None, *, deployed: bool = False, **grid_options
) -> ServerApp:
    """The ServerApp for `scenario` (None: the run config's) writing into `run_dir` (None: the run
    config's). `deployed`: run by Flower on a SuperLink, where replies are pulled every
    DEPLOYED_REPLY_POLL_S and `deployment.one_exchange_per_round` applies."""
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        current = scenario if scenario is not None else scenario_from_run_config(context.run_config)
        folder = run_dir or Path(str(context.run_config.get(RUN_DIR_KEY, "") or "")) or None
        if folder is None or str(folder) in ("", "."):
            folder = new_run_dir(Path("runs"), current.name)
        # A ServerApp process of its own (Flower's deployed runtime) measures its host itself;
        # in the inline and ray runners the pipeline's probe is already installed.
        own_probe = None
        if host_probe() is None and current.probes.energy:
            own_probe = HostEnergyProbe(current.probes.host_country)
            install_host_probe(own_probe)
        options = dict(grid_options)
        if deployed:
            wait_for_silos(grid, len(current.silos), current.deployment.startup_timeout_s)
            options.update(
                reply_poll_s=DEPLOYED_REPLY_POLL_S,
                one_exchange_per_round=current.deployment.one_exchange_per_round,
            )
        try:
            run_federation(grid, current, folder, **options)
        except StopRequested:
            if threading.current_thread() is threading.main_thread():
                raise
            # Flower's simulation runs this app in a thread of its own: the main thread carries the
            # stop (it got the signal); this thread just ends, without a traceback.
        finally:
            if own_probe is not None:
                install_host_probe(None)
                own_probe.close()

    return app


# Seconds between pulls for replies when Flower runs this app (`flwr run` on a SuperLink): short,
# because Flower's own deployed grid waits 3 s between pulls and a round would mostly be waiting.
DEPLOYED_REPLY_POLL_S = 0.05


def wait_for_silos(grid: Grid, silos: int, timeout_s: float, poll_s: float = DEPLOYED_REPLY_POLL_S) -> bool:
    """Wait until `silos` nodes are connected (True), or `timeout_s` passes (False: the strategy then
    waits as Flower does). Flower's strategies check once a second; a SuperNode that connects just
    after a check would cost the first round up to a second."""
    deadline = time.monotonic() + timeout_s
    while len(list(grid.get_node_ids())) < silos:
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)
    return True

app = make_server_app(deployed=True)
