"""What the commands print: rich tables with the unit of every number."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

console = Console()


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "absent"
    return f"{value:.{digits}g}"


def print_run(result) -> None:
    summary = result.summary
    fl, cl = summary["fl"], summary["cl"]
    table = Table(title=f"{result.scenario.name}: federated (FL) vs centralized (CL) training, measured")
    table.add_column("quantity")
    table.add_column("unit")
    table.add_column("FL", justify="right")
    table.add_column("CL", justify="right")
    rows = [
        ("test accuracy", "fraction", f"{fl['accuracy']:.4f}", f"{cl['accuracy']:.4f}"),
        ("energy", "kWh", _number(fl["energy_kwh"]), _number(cl["energy_kwh"])),
        ("CO2", "kg CO2e", _number(fl["co2_kg"]), _number(cl["co2_kg"])),
        ("payload down (server -> silos)", "bytes", f"{fl['bytes_down']:,}", f"{cl['bytes_down']:,}"),
        ("payload up (silos -> server)", "bytes", f"{fl['bytes_up']:,}", f"{cl['bytes_up']:,}"),
        ("wall time", "s", f"{fl['wall_s']:.2f}", f"{cl['wall_s']:.2f}"),
        ("energy method", "", ", ".join(fl["energy_methods"]), ", ".join(cl["energy_methods"])),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    timing = summary["timing_s"]
    console.print(
        f"FL wall {timing['fl_total']:.2f} s = silo training {timing['fl_silo_train']:.2f} s + silo evaluation "
        f"{timing['fl_silo_evaluate']:.2f} s + server {timing['fl_server_aggregate']:.2f} s + Flower "
        f"{timing['fl_flower_overhead']:.2f} s; probes: start-up {timing['probe_startup']:.2f} s "
        f"(blocking {timing['probe_startup_blocking']:.2f} s), windows {timing['probe_windows']:.3f} s"
    )
    console.print(f"Run folder: {result.run_dir}")


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
