"""What the commands print: rich tables with the unit of every number."""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.table import Table

# Piped or captured output has no terminal width; 80 columns would truncate the wide tables.
PIPED_WIDTH = 160


def make_console(**options) -> Console:
    """The console every command prints through: the terminal's width (or $COLUMNS), else PIPED_WIDTH.

    Markup off: what we print is data (scenario and silo names, `[strategy]`, reasons with brackets),
    never rich's style tags, so a bracket must never be eaten as one."""
    stream = options.get("file") or (sys.stderr if options.get("stderr") else sys.stdout)
    chosen = getattr(stream, "isatty", lambda: False)() or "COLUMNS" in os.environ
    width = None if chosen else PIPED_WIDTH
    options.setdefault("markup", False)
    return Console(width=width, **options)


console = make_console()


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "absent"
    return f"{value:.{digits}g}"


def _fraction(value: float | None) -> str:
    return "absent" if value is None else f"{value:.4f}"


def print_run(result) -> None:
    summary = result.summary
    fl, cl = summary.fl, summary.cl
    table = Table(title=f"{result.scenario.name}: federated (FL) vs centralized (CL) training, measured")
    table.add_column("quantity")
    table.add_column("unit")
    table.add_column("FL", justify="right")
    table.add_column("CL", justify="right")
    rows = [
        ("test accuracy", "fraction", _fraction(fl.accuracy), _fraction(cl.accuracy)),
        ("energy (attributed to the run's processes)", "kWh", _number(fl.energy_kwh), _number(cl.energy_kwh)),
        ("host energy (whole machine, same windows)", "kWh", _number(fl.host_energy_kwh), _number(cl.host_energy_kwh)),
        ("host energy above idle baseline", "kWh", _number(fl.energy_above_idle_kwh), _number(cl.energy_above_idle_kwh)),
        ("CO2", "kg CO2e", _number(fl.co2_kg), _number(cl.co2_kg)),
        ("payload down (server -> silos)", "bytes", f"{fl.bytes_down:,}", f"{cl.bytes_down:,}"),
        ("payload up (silos -> server)", "bytes", f"{fl.bytes_up:,}", f"{cl.bytes_up:,}"),
        ("wall time", "s", f"{fl.wall_s:.2f}", f"{cl.wall_s:.2f}"),
        ("energy method", "", ", ".join(fl.energy_methods), ", ".join(cl.energy_methods)),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    print_faults(result.ledger.rows)
    timing = summary.timing_s
    console.print(
        f"FL wall {timing.fl_total:.2f} s = silo training {timing.fl_silo_train:.2f} s + silo evaluation "
        f"{timing.fl_silo_evaluate:.2f} s + server {timing.fl_server_aggregate:.2f} s + Flower "
        f"{timing.fl_flower_overhead:.2f} s; probes: start-up {timing.probe_startup:.2f} s "
        f"(blocking {timing.probe_startup_blocking:.2f} s), windows {timing.probe_windows:.3f} s"
    )
    if summary.to_target is not None:
        print_to_target(summary.to_target)
    idle = summary.idle_baseline
    if idle is not None:
        console.print(f"Idle baseline of this host: {_number(idle.power_w)} W ({idle.method}: {idle.how})")
    if result.lifecycle is not None:
        print_lifecycle(result.lifecycle)
    console.print(f"Run folder: {result.run_dir}")


def print_faults(rows) -> None:
    """Which silo failed how in which round (nothing when every silo answered every round)."""
    from simulator.results.faults import fault_events, fault_summary

    events = fault_events(rows)
    if not events:
        return
    table = Table(title=f"Faults: {fault_summary(events)}")
    for heading in ("round", "silo", "phase", "what happened", "reason"):
        table.add_column(heading, justify="right" if heading == "round" else "left")
    table.add_column("energy (kWh)", justify="right")
    for event in events:
        energy = f"{_number(event.energy_kwh)} ({event.energy_method})" if event.energy_kwh is not None else "absent"
        table.add_row(str(event.round), event.silo, event.phase, event.meaning, event.reason, energy)
    console.print(table)


def print_to_target(to_target) -> None:
    """A run's `ToTargetSummary`: each side's energy, CO2 and time to the target accuracy, or why none."""
    table = Table(title=f"To test accuracy {to_target.target_accuracy:g} (at most {to_target.max_rounds} "
                        "rounds; CL: the same sample updates)")
    for heading, justify in (("quantity", "left"), ("unit", "left"), ("FL", "right"), ("CL", "right"),
                             ("CL / FL", "right")):
        table.add_column(heading, justify=justify)
    fl, cl, ratio = to_target.fl, to_target.cl, to_target.ratio_cl_over_fl

    def cell(side, key: str) -> str:
        return "not reached" if not side.reached else _number(getattr(side, key))

    table.add_row("reached after", "rounds / epochs", cell(fl, "round"), cell(cl, "round"), "")
    for key, label, unit in (("sample_updates", "sample updates", "count"), ("energy_kwh", "energy", "kWh"),
                             ("co2_kg", "CO2", "kg CO2e"), ("wall_s", "time", "s")):
        value = getattr(ratio, key)
        table.add_row(label, unit, cell(fl, key), cell(cl, key), "-" if value is None else f"{value:.3g}")
    console.print(table)
    for side, word in ((fl, "FL"), (cl, "CL")):
        if not side.reached:
            console.print(f"{word} {side.note}: no to-target figure.")


def print_strategies() -> None:
    from strategies.registry import registered_strategies

    table = Table(title="Registered strategies ([strategy] name = ...)")
    table.add_column("name")
    table.add_column("what it does")
    table.add_column("parameters (default)")
    for name, spec in registered_strategies().items():
        parameters = ", ".join(f"{p} = {param.default!r}" for p, param in spec.parameters().items())
        table.add_row(name, spec.summary, parameters or "-")
    console.print(table)
    from strategies.registry import COMPRESSION_SCHEMES, GENERIC_PARAMETERS

    generic = ", ".join(f"{key} = {value!r}" for key, value in GENERIC_PARAMETERS.items())
    console.print(f"Every strategy also accepts: {generic} (compression: {' | '.join(COMPRESSION_SCHEMES)})")


def _interval_cell(interval, digits: int = 3) -> str:
    if interval is None:
        return "n/a"
    return f"{interval.central:.{digits}g}\n[{interval.low:.{digits}g}, {interval.high:.{digits}g}]"


def print_lifecycle(result, decision_table: bool = False) -> None:
    """The lifecycle table (a `simulator.lifecycle.LifecycleResult`): FL vs CL per stage; with
    `decision_table`, the decision sensitivity in full (else one line naming what flips it)."""
    currency = result.currency
    table = Table(
        title=(
            f"{result.scenario}: lifecycle over {result.lifetime_months} months, {result.trainings} trainings x "
            f"{result.runs_per_training} runs; central [low, high]"
        ),
        show_lines=True,
    )
    table.add_column("stage")
    for heading in (
        "FL kWh",
        "CL kWh",
        "FL kg CO2e",
        "CL kg CO2e",
        "CL - FL kg CO2e",
        f"FL {currency}",
        f"CL {currency}",
    ):
        table.add_column(heading, justify="right")
    for fl_stage, cl_stage in zip((*result.fl.stages, result.fl.total), (*result.cl.stages, result.cl.total)):
        table.add_row(
            fl_stage.title,
            _interval_cell(fl_stage.energy_kwh),
            _interval_cell(cl_stage.energy_kwh),
            _interval_cell(fl_stage.co2_kg),
            _interval_cell(cl_stage.co2_kg),
            f"{cl_stage.co2_kg.central - fl_stage.co2_kg.central:.3g}",
            _interval_cell(fl_stage.cost_usd),
            _interval_cell(cl_stage.cost_usd),
        )
    console.print(table)
    _print_difference(result)
    ratio = result.ratio_cl_over_fl
    console.print(
        f"CL / FL: energy {_interval_cell(ratio.energy_kwh).replace(chr(10), ' ')}, CO2 "
        f"{_interval_cell(ratio.co2_kg).replace(chr(10), ' ')}, cost {_interval_cell(ratio.cost_usd).replace(chr(10), ' ')}"
    )
    common = result.silo_primary_storage
    console.print(
        f"Not in either total (the silos' own data, held alike in FL and CL): {common.energy_kwh.central:.3g} kWh, "
        f"{common.co2_kg.central:.3g} kg CO2e, {common.cost_usd.central:.3g} {currency}"
    )
    for point in result.break_even:
        console.print(f"Break-even ({point.variable}, {'CO2' if point.quantity == 'co2_kg' else currency}): {point.note}")
    if decision_table:
        print_decision(result)
    else:
        _print_decision_line(result)
    if result.sensitivity:
        ranking = ", ".join(
            f"{entry.factor} ({entry.fl_co2_swing_kg + entry.cl_co2_swing_kg:.3g} kg CO2e)" for entry in result.sensitivity[:5]
        )
        console.print(f"Factors that move the CO2 totals most (FL + CL swing, low to high bound): {ranking}")
    profile = result.profile
    console.print(
        f"Energy profile: {profile.source}; energy method: {profile.energy_method}. Scaling rule: {result.scaling_rule}."
    )
    sites = ", ".join(f"{site.site} ({site.country}) {site.intensity_g_per_kwh:.4g}" for site in result.sites)
    sources = "; ".join(dict.fromkeys(site.intensity_source for site in result.sites))
    console.print(f"Grid intensity, gCO2e/kWh: {sites}. Sources: {sources}")
    console.print(f"Intervals: {result.interval}. Money in {currency} (on-demand list prices, see configs/factors.toml).")
    console.print(f"Measurement noise in the intervals: {result.measurement_noise}.")


def interval_cells(quantity) -> tuple[str, str, str, str]:
    """(mean, standard deviation, 95 % interval, n) of a group quantity, as the tables print them."""
    if quantity.centre is None:
        return "absent", "", "", str(quantity.n)
    interval = "no interval (n < 2)" if quantity.low is None else f"[{quantity.low:.4g}, {quantity.high:.4g}]"
    std = "" if quantity.std is None else f"{quantity.std:.3g}"
    return f"{quantity.centre:.4g}", std, interval, str(quantity.n)


def print_group(summary, lifecycle=None) -> None:
    """A group of seeds (`simulator.results.group.GroupSummary`): every quantity's mean, standard
    deviation and 95 % interval, CL / FL per seed, the to-target figures, then the lifecycle."""
    seeds = ", ".join(str(seed) for seed in summary.seeds)
    table = Table(title=f"{summary.scenario_name}: {len(summary.seeds)} seeds ({seeds}), measured; mean, "
                        "standard deviation, 95 % interval")
    for heading, justify in (("quantity", "left"), ("unit", "left"), ("mean", "right"), ("sd", "right"),
                             ("95 % interval", "right"), ("n", "right")):
        table.add_column(heading, justify=justify)
    for quantity in summary.quantities:
        if quantity.key.startswith("ratio."):
            continue
        table.add_row(quantity.label, quantity.unit, *interval_cells(quantity))
    console.print(table)
    ratios = [q for q in summary.quantities if q.key.startswith("ratio.")]
    for quantity in ratios:
        mean, _, interval, n = interval_cells(quantity)
        console.print(f"{quantity.label}: {mean} {interval} (geometric mean of {n} per-seed ratios)")
    console.print(f"Intervals: {summary.interval_method}. Ratios: {summary.ratio_method}.")
    if summary.target_accuracy is not None:
        for side, word in (("fl", "FL"), ("cl", "CL")):
            missed = [seed for seed, sides in summary.reached.items() if not sides.get(side)]
            if missed:
                console.print(f"{word} did not reach the target accuracy {summary.target_accuracy:g} with seed(s) "
                              f"{', '.join(missed)}: no to-target figure for those (the means above use the others).")
    if summary.status != "complete":
        console.print(f"Only {len(summary.seeds)} of {len(summary.planned_seeds)} members are complete.")
    if lifecycle is not None:
        print_lifecycle(lifecycle)


def _print_difference(result) -> None:
    """Two lines that say where CL and FL differ: training alone, and CL's data transfer + storage."""
    fl_training, cl_training = result.fl.stage("training"), result.cl.stage("training")
    if fl_training.co2_kg.central > 0 and fl_training.energy_kwh.central > 0:
        console.print(
            f"Training stage, CL / FL: {cl_training.energy_kwh.central / fl_training.energy_kwh.central:.3g} in kWh, "
            f"{cl_training.co2_kg.central / fl_training.co2_kg.central:.3g} in kg CO2e"
        )
    difference = result.cl.total.co2_kg.central - result.fl.total.co2_kg.central
    moved_and_kept = sum(
        result.cl.stage(stage).co2_kg.central - result.fl.stage(stage).co2_kg.central
        for stage in ("data_transfer", "data_storage")
    )
    share = f" ({moved_and_kept / difference:.0%} of the difference)" if difference > 0 else ""
    console.print(
        f"CL - FL total: {difference:.3g} kg CO2e; of it, CL's data transfer + data storage: {moved_and_kept:.3g} kg CO2e{share}"
    )


DECISION_ROWS = 8  # inputs with a published range shown per quantity (the longest tornado bars)
QUANTITY_WORDS = {"co2_kg": ("CO2", "kg CO2e", "emits"), "cost_usd": ("money", "USD", "costs")}


def _flip_text(flip) -> str:
    if flip.flip_value is None:
        return "no positive value"
    where = "within range" if flip.flips_within_range else ("outside range" if flip.margin_low is not None else "")
    return f"{flip.flip_value:.4g}" + (f" ({where})" if where else "")


def print_decision(result) -> None:
    """Tornado-style tables: per quantity, the inputs that move CL - FL, their margin at the ends of
    their range and the value at which each one flips the decision (one input at a time)."""
    for quantity, (label, unit, verb) in QUANTITY_WORDS.items():
        flips = [flip for flip in getattr(result, "decision", ()) if flip.quantity == quantity]
        if not flips:
            continue
        margin = flips[0].margin_central
        leader = "FL" if margin > 0 else "CL" if margin < 0 else "neither"
        table = Table(
            title=(f"What could flip the decision on {label}: at the central values {leader} {verb} less "
                   f"(CL - FL = {margin:.4g} {unit}); one input at a time, the others central"),
        )
        for heading, justify in (("input", "left"), ("unit", "left"), ("range [low, high]", "right"),
                                 (f"CL - FL at low ({unit})", "right"), (f"CL - FL at high ({unit})", "right"),
                                 ("decision flips at", "right")):
            table.add_column(heading, justify=justify)
        ranged = [flip for flip in flips if flip.margin_low is not None][:DECISION_ROWS]
        others = [flip for flip in flips if flip.margin_low is None and flip.flip_value is not None]
        for flip in ranged:
            table.add_row(flip.input, flip.unit, f"[{flip.low:.4g}, {flip.high:.4g}]", f"{flip.margin_low:.4g}",
                          f"{flip.margin_high:.4g}", _flip_text(flip))
        for flip in others:
            value = "measured" if flip.low is None else "single published value"
            table.add_row(flip.input, flip.unit, f"{value}: {flip.central:.4g}", "", "", _flip_text(flip))
        console.print(table)
    flipping = [flip for flip in getattr(result, "decision", ()) if flip.flips_within_range]
    if not flipping:
        console.print("No input flips either decision within its published range (one at a time).")


def _print_decision_line(result) -> None:
    flipping = [flip for flip in getattr(result, "decision", ()) if flip.flips_within_range]
    if not getattr(result, "decision", ()):
        return
    if flipping:
        names = ", ".join(f"{flip.input} at {flip.flip_value:.4g} {flip.unit} ({QUANTITY_WORDS[flip.quantity][0]})"
                          for flip in flipping)
        console.print(f"Inputs that flip the FL-vs-CL decision within their published range: {names}")
    else:
        console.print("No factor flips the FL-vs-CL decision within its published range (one at a time; "
                      "`silocarbon estimate` lists the values at which each would)")
