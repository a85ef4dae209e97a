"""The `silocarbon` command.

Exit status: 0 success, 2 bad input (one clear line on stderr), 1 anything else; stopped by a
signal: 128 + its number (130 Ctrl-C/SIGINT, 143 SIGTERM), the run folder marked `interrupted`.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

import simulator  # noqa: F401  (switches telemetry off before Flower or Ray can load)
from simulator.errors import InputError
from simulator.planner.cli_inventory import inventory_app
from simulator.stopping import StopRequested, stop_on_signals_if_main_thread

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_KEYBOARD_INTERRUPT = 130  # what typer returns for a Ctrl-C it caught itself (128 + SIGINT)

app = typer.Typer(
    name="silocarbon",
    help="Energy, CO2 and cost of cross-silo federated learning against centralized learning.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    no_args_is_help=True,
)

app.add_typer(inventory_app, name="inventory")

ScenarioArg = Annotated[
    Optional[Path], typer.Argument(help="Scenario TOML file; the embedded default when omitted.", show_default=False)
]
SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override one scenario key: section.key=value (repeatable).", show_default=False),
]

FiguresOption = Annotated[
    bool,
    typer.Option(
        "--figures",
        help="Draw the report's figures now (matplotlib, 1-3 s); by default `silocarbon report RUN_DIR` draws them. "
        "A group's report (--repeats, --seeds) always has its figures.",
    ),
]


def report_line(report, run_dir: Path) -> str:  # type: ignore[no-untyped-def]
    """Where the report is, and how to add its figures when the run left them out."""
    if report.figures:
        return f"Report: {report.html}"
    return f"Report: {report.html} (tables; `silocarbon report {run_dir}` draws its figures)"


@app.command()
def run(
    scenario: ScenarioArg = None,
    set_: SetOption = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Folder that receives the run folder.")] = Path("runs"),
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the run folder.")] = False,
    repeats: Annotated[
        Optional[int],
        typer.Option("--repeats", help="Run N times with seeds seed..seed+N-1; writes a group folder with 95 % "
                     "intervals (replaces the scenario's seeds list).", show_default=False),
    ] = None,
    seeds: Annotated[
        Optional[str],
        typer.Option("--seeds", help="Run once per seed, e.g. 0,1,2 or 0..4; writes a group folder with 95 % "
                     "intervals (replaces the scenario's seeds list).", show_default=False),
    ] = None,
    app_spec: Annotated[
        Optional[str],
        typer.Option(
            "--app",
            help="Measure your own Flower app instead of the scenario's model: a Flower app folder (its "
            "pyproject.toml names the components) or 'client_module:attr,server_module:attr'.",
            show_default=False,
        ),
    ] = None,
    run_config: Annotated[
        Optional[list[str]],
        typer.Option("--run-config", help="With --app: one run config value, key=value (repeatable).", show_default=False),
    ] = None,
    figures: FiguresOption = False,
) -> None:
    """Train the scenario's federation and its centralized twin, measured; write a run folder
    (with --repeats, --seeds or the scenario's `seeds = [...]`: one per seed, in a group folder with the
    group's summary)."""
    from simulator.collector import pause_during_setup

    pause_during_setup()  # until torch is warm (simulator.collector says why)
    from simulator.scenario.load import load_scenario
    from simulator.probes.startup import start_host_probe

    loaded = load_scenario(scenario, set_ or [])
    if run_config and app_spec is None:
        raise InputError("--run-config goes with --app (the run config of your own Flower app)")
    if app_spec is not None and (repeats is not None or seeds is not None or loaded.seeds is not None):
        raise InputError(
            "--repeats, --seeds and the scenario's seeds list vary the scenario's seed, which your own app does not "
            "read; run --app once per seed"
        )
    if repeats is not None or seeds is not None or loaded.seeds is not None:
        from simulator.repeats import group_seeds

        seed_list = group_seeds(loaded, repeats, seeds)
        _check_strategy(loaded)
        _run_group(loaded, seed_list, runs_dir, quiet)
        return
    # CodeCarbon's first start (about 1.5 s, mostly in child processes) runs beside the imports below.
    start_host_probe(loaded.probes)
    if app_spec is not None:
        _run_app(loaded, app_spec, run_config or [], runs_dir, quiet, figures)
        return

    from simulator.pipeline import run_scenario

    _check_strategy(loaded)

    def deployment_lines(result) -> list[str]:  # type: ignore[no-untyped-def]
        if loaded.runner != "deployment":
            return []
        from simulator.deployment.record import deployment_summary_lines

        return ["\n".join(deployment_summary_lines(result.run_dir))]

    _measured(quiet, lambda observer: run_scenario(loaded, runs_dir, observer), deployment_lines, figures)


def _run_app(loaded, app_spec: str, run_config: list[str], runs_dir: Path, quiet: bool, figures: bool) -> None:
    from simulator.app_pipeline import check_app_scenario, run_app
    from simulator.flower.app_loading import load_flower_apps

    check_app_scenario(loaded)
    apps = load_flower_apps(app_spec, run_config)  # imports the app's modules (torch, its data code)
    _measured(quiet, lambda observer: run_app(apps, loaded, runs_dir, observer), figures=figures)


def _measured(quiet: bool, work, extra_lines=lambda result: [], figures: bool = False) -> None:  # type: ignore[no-untyped-def]
    """`work(observer)` under progress bars (none when quiet or piped), then its report, then the
    tables (or only the run folder with --quiet)."""
    from contextlib import nullcontext

    from simulator.progress import NULL_OBSERVER
    from simulator.progress_bar import progress_for
    from simulator.results.report import write_report
    from simulator.terminal import print_run

    bars = progress_for(quiet)
    with bars if bars is not None else nullcontext():
        result = work(bars or NULL_OBSERVER)
    report = write_report(result.run_dir, draw_figures=figures)
    if quiet:
        print(result.run_dir)
        return
    print_run(result)
    for line in extra_lines(result):
        print(line)
    print(report_line(report, result.run_dir))


def _run_group(loaded, seed_list: list[int], runs_dir: Path, quiet: bool) -> None:
    from contextlib import nullcontext

    from simulator.probes.startup import start_host_probe

    start_host_probe(loaded.probes)

    from simulator.progress import NULL_OBSERVER
    from simulator.progress_bar import progress_for
    from simulator.repeats import run_seeds
    from simulator.results.group_report import write_group_report
    from simulator.terminal import print_group

    bars = progress_for(quiet)
    with bars if bars is not None else nullcontext():
        result = run_seeds(loaded, seed_list, runs_dir, bars or NULL_OBSERVER)
    report = write_group_report(result.group_dir)
    if quiet:
        print(result.group_dir)
    else:
        print_group(result.summary, result.lifecycle)
        print(f"Group folder: {result.group_dir} (one run folder per seed inside)")
        print(f"Report: {report.html}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder (runs/<UTC time>-<name>).", show_default=False)],
) -> None:
    """Write report.html (self-contained, figures embedded) and report.md into a run folder or a
    group folder (`run --repeats`: means with 95 % intervals)."""
    from simulator.results.group import is_group_dir
    from simulator.results.report import write_report

    if is_group_dir(run_dir):
        from simulator.repeats import refresh_group_summary
        from simulator.results.group_report import write_group_report

        refresh_group_summary(run_dir)
        files = write_group_report(run_dir)
    else:
        files = write_report(run_dir)
    print(files.html)
    print(files.markdown)


RunsDirOption = Annotated[Path, typer.Option("--runs-dir", help="Folder holding the run folders.")]


@app.command()
def runs(runs_dir: RunsDirOption = Path("runs")) -> None:
    """List past runs from the index in the runs folder (refreshed from the folders first)."""
    from simulator.results.run_tables import print_runs

    print_runs(runs_dir)


@app.command()
def compare(
    run_a: Annotated[str, typer.Argument(help="Run A: a run or group folder, or an id from `silocarbon runs`.")],
    run_b: Annotated[str, typer.Argument(help="Run B, likewise.")],
    runs_dir: RunsDirOption = Path("runs"),
) -> None:
    """Show two runs (or groups of seeds) side by side, with the ratio B / A of every number
    (groups: means with 95 % intervals, and the ratio's interval)."""
    from simulator.results.run_tables import print_comparison

    print_comparison(run_a, run_b, runs_dir)


@app.command()
def estimate(
    scenario: ScenarioArg = None,
    set_: SetOption = None,
    ledger: Annotated[
        Optional[Path],
        typer.Option("--ledger", help="Run folder whose measured ledger gives the energy profile (a group folder: "
                     "every seed's profile, their spread drawn into the intervals).", show_default=False),
    ] = None,
    draws: Annotated[
        Optional[int],
        typer.Option("--draws", min=100, max=1_000_000, help="Monte Carlo draws (default: lifecycle.draws).", show_default=False),
    ] = None,
    factors: Annotated[
        Optional[Path],
        typer.Option("--factors", help="Factors file (default: the shipped configs/factors.toml).", show_default=False),
    ] = None,
) -> None:
    """Lifecycle model without training: FL vs CL per stage in kWh, kg CO2e and USD, with intervals."""
    from simulator.estimate import estimate as run_estimate
    from simulator.results.group import group_profile_samples, is_group_dir
    from simulator.terminal import print_lifecycle

    measured = group_profile_samples(ledger) if ledger is not None and is_group_dir(ledger) else None
    print_lifecycle(run_estimate(scenario, set_ or [], None if measured else ledger, draws, factors, measured),
                    decision_table=True)


@app.command()
def validate(scenario: ScenarioArg = None, set_: SetOption = None) -> None:
    """Check a scenario (schema, strategy parameters, the silo split) without training anything."""
    from simulator.scenario.schema import OFFLINE_DATASETS
    from simulator.scenario.load import load_scenario
    from simulator.data import build_federated_data
    from simulator.data.registry import dataset_features_for_lifecycle
    from simulator.lifecycle import build_plan
    from simulator.lifecycle.profile import scenario_profile

    loaded = load_scenario(scenario, set_ or [])
    _check_strategy(loaded)
    if loaded.data.dataset in OFFLINE_DATASETS:  # online datasets would need a download to split
        build_federated_data(loaded)
    # The [lifecycle] section, as `run` checks it before training.
    build_plan(loaded, dataset_features=dataset_features_for_lifecycle(loaded))
    scenario_profile(loaded)  # a [lifecycle] profile that names nothing
    seeds = "" if loaded.seeds is None else f", {len(loaded.seeds)} seeds (one run each)"
    print(
        f"scenario '{loaded.name}' is valid: {len(loaded.silos)} silos, {loaded.training.rounds} rounds, "
        f"strategy {loaded.strategy.name}, runner {loaded.runner}{seeds}"
    )


@app.command()
def resume(
    run_dir: Annotated[Path, typer.Argument(help="The run folder of a killed or failed run.", show_default=False)],
    quiet: Annotated[bool, typer.Option("--quiet", help="Print only the run folder.")] = False,
    figures: FiguresOption = False,
) -> None:
    """Go on with a stopped run (killed, interrupted, failed) from its last finished round; ends as an uninterrupted run would."""
    from simulator.collector import pause_during_setup

    pause_during_setup()  # until torch is warm (simulator.collector says why)

    from simulator.pipeline import resume_run

    _measured(quiet, lambda observer: resume_run(run_dir, observer), figures=figures)


@app.command()
def strategies() -> None:
    """List the registered aggregation strategies and their parameters."""
    from simulator.terminal import print_strategies

    print_strategies()


@app.command()
def query(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.", show_default=False)],
    specs: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Query specs, e.g. 'mean:feature_3', 'quantile:feature_0:-3:3:12:0.5', 'histogram:feature_2:0:1:10 by label' "
            "(default: the scenario's [[queries]]).",
            show_default=False,
        ),
    ] = None,
    set_: SetOption = None,
    ledger_csv: Annotated[
        Optional[Path], typer.Option("--ledger-csv", help="Also write the queries' ledger rows to this CSV file.")
    ] = None,
) -> None:
    """Federated analytics: statistics computed in the silos and merged, next to copying the data."""
    from simulator.query.command import run_query_command

    run_query_command(scenario, specs or [], set_ or [], ledger_csv)


@app.command()
def plan(
    inventory: Annotated[
        Optional[Path],
        typer.Option(
            "--inventory",
            help="Inventory database (default: $SILOCARBON_INVENTORY, else ./silocarbon_inventory.sqlite).",
            show_default=False,
        ),
    ] = None,
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Also write the plan as CSV to this file.")] = None,
    ledger: Annotated[
        Optional[Path],
        typer.Option("--ledger", help="Run folder whose measured ledger gives the energy profile (default: the documented default profile)."),
    ] = None,
    profile: Annotated[
        Optional[str],
        typer.Option("--profile", help="A shipped energy profile (default, resnet18, transformer) or a profile file.",
                     show_default=False),
    ] = None,
    breakdown: Annotated[
        bool,
        typer.Option("--breakdown", help="Also print every cost line: per application, stage and line, FL and CL per year."),
    ] = False,
) -> None:
    """For every application in the inventory: federate or centralize, with lifecycle CO2 and cost."""
    from simulator.planner.command import run_plan_command

    run_plan_command(inventory, csv_path, ledger, profile, breakdown)


deploy_app = typer.Typer(
    help="Run on Flower's Deployment Engine across machines: the commands, the certificates.",
    no_args_is_help=True,
)
app.add_typer(deploy_app, name="deploy")


@deploy_app.command("plan")
def deploy_plan(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    superlink_host: Annotated[
        str, typer.Option("--superlink-host", help="Name or IP address the silos dial.")
    ] = "superlink.example.org",
    port: Annotated[int, typer.Option("--port", help="The SuperLink's port.")] = 9093,
    certs: Annotated[str, typer.Option("--certs", help="Folder for `deploy certs`.")] = "certs",
) -> None:
    """Print the exact commands for a SuperLink and one SuperNode per silo on separate machines."""
    from simulator.scenario.load import load_scenario
    from simulator.deployment.commands import deployment_plan, render_plan

    loaded = load_scenario(scenario)
    print(render_plan(deployment_plan(loaded, str(scenario), superlink_host, port, certs)), end="")


@deploy_app.command("certs")
def deploy_certs(
    folder: Annotated[Path, typer.Argument(help="Folder that receives the certificates and keys.")],
    host: Annotated[
        Optional[list[str]],
        typer.Option("--host", help="SuperLink name or IP address for its certificate (repeatable).", show_default=False),
    ] = None,
    scenario: Annotated[
        Optional[Path], typer.Option("--scenario", help="Scenario whose silos get keys; the default one if omitted.")
    ] = None,
) -> None:
    """Write a CA, the SuperLink's TLS certificate and one SuperNode key pair per silo."""
    from simulator.scenario.load import load_scenario
    from simulator.deployment.certs import LOOPBACK_HOSTS, generate_credentials

    loaded = load_scenario(scenario)
    made = generate_credentials(folder, list(host or LOOPBACK_HOSTS), loaded.silo_names)
    print(f"CA certificate:          {made.ca_cert}")
    print(f"SuperLink certificate:   {made.server_cert} (for {', '.join(host or LOOPBACK_HOSTS)})")
    print(f"SuperLink key:           {made.server_key}")
    for keys in made.supernodes:
        print(f"SuperNode '{keys.silo}':{' ' * max(1, 14 - len(keys.silo))}{keys.private_key} (private), {keys.public_key}")


def _check_strategy(scenario) -> None:
    """Refuse an unknown strategy or parameter before anything is trained."""
    from strategies.registry import checked_parameters

    checked_parameters(scenario.strategy)


def main(argv: list[str] | None = None) -> None:
    """Entry point: translate every failure into an exit status and one line on stderr."""
    _quiet_libraries()
    arguments = list(sys.argv[1:] if argv is None else argv)
    if any("\x00" in argument for argument in arguments):  # no path or value can hold one
        _fail(EXIT_BAD_INPUT, "an argument contains a NUL byte")
    try:
        with stop_on_signals_if_main_thread():
            # Not standalone, so errors reach the handlers below; typer then *returns* what would
            # have been the exit status (typer.Exit's code; 130 for a KeyboardInterrupt it caught).
            status = app(args=arguments, prog_name="silocarbon", standalone_mode=False)
    except StopRequested as stop:  # Ctrl-C or SIGTERM: the run folder (if any) is resumable
        _fail(stop.exit_status, str(stop))
    except InputError as error:
        _fail(EXIT_BAD_INPUT, str(error))
    except click.UsageError as error:
        _fail(EXIT_BAD_INPUT, error.format_message())
    except click.exceptions.Abort:
        _fail(EXIT_FAILURE, "aborted")
    except Exception as error:  # the last line of defence: one line, the traceback on request
        if os.environ.get("SILOCARBON_DEBUG"):
            traceback.print_exc()
        _fail(EXIT_FAILURE, f"{type(error).__name__}: {error} (set SILOCARBON_DEBUG=1 for the traceback)")
    if status == EXIT_KEYBOARD_INTERRUPT:
        _fail(EXIT_KEYBOARD_INTERRUPT, "interrupted")
    sys.exit(status if isinstance(status, int) else 0)


def entry() -> None:
    """The `silocarbon` command (and `python -m simulator`): `main`, then a quick exit.

    After a run the interpreter's own shut-down (freeing the hundreds of thousands of objects of
    torch, Flower and CodeCarbon module by module) took 0.3-0.9 s here, about the default run's
    training time. What a normal exit does that matters still happens, in the same order; only the
    freeing is skipped, and with it the finalizers of objects still alive (a file object left open
    with unflushed data would lose it; every file of ours is written and closed in a `with` block,
    and Python itself does not promise to run those finalizers at exit either):
    - other non-daemon threads: while one runs, the process exits the usual way (waiting for it);
    - the exit handlers run (`atexit`: logging's flush and close, CodeCarbon's file manager, Ray's
      shutdown of its processes, multiprocessing's children, temporary folders);
    - stdout and stderr are flushed; if stdout cannot be flushed (full disk, closed pipe) a
      successful status becomes 120, as Python's own exit reports it.
    Every run file is already on disk by then (written atomically and fsync'd, `results.atomic`;
    the manifest's final status included), run and resume have closed their probes and released the
    folder lock, and a signal's status (130, 143) passes through unchanged.
    `main` itself raises SystemExit as before, for callers that run it in their own process.
    """
    try:
        main()
    except SystemExit as done:
        if done.code is not None and not isinstance(done.code, int):
            raise
        status = done.code or 0
    else:
        status = 0
    _leave(status)


STDOUT_FLUSH_FAILED = 120  # what CPython exits with when it cannot flush stdout at shut-down


def _leave(status: int) -> None:
    import atexit
    import threading

    others = [thread for thread in threading.enumerate()
              if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()]
    if others:
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:
            continue
        try:
            stream.flush()
        except (OSError, ValueError) as error:
            if stream is sys.stdout:
                status = status or STDOUT_FLUSH_FAILED
                if not isinstance(error, BrokenPipeError):  # a reader that left (`| head`) needs no word
                    _say_on_stderr(f"silocarbon: error: the output could not be written ({error})\n")
    os._exit(status)


def _say_on_stderr(line: str) -> None:
    try:
        os.write(2, line.encode())
    except OSError:
        pass


def _quiet_libraries() -> None:
    """Flower logs every round at INFO; our tables say what matters. Warnings still show."""
    import logging

    # A filter, not a level: Flower sets its logger's level when it loads, and it must not have to
    # load here (the probe's start-up is overlapped with Flower's import in `run`).
    logging.getLogger("flwr").addFilter(lambda record: record.levelno >= logging.WARNING)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)


def _fail(status: int, message: str) -> None:
    one_line = " ".join(message.split())
    print(f"silocarbon: error: {one_line}", file=sys.stderr)
    sys.exit(status)
