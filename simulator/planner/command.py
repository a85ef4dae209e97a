"""`silocarbon plan`: the enterprise plan from the inventory, as a table and optionally as CSV."""

from __future__ import annotations

from pathlib import Path

from simulator.errors import InputError
from simulator.planner.export import plan_csv_text
from simulator.planner.inventory import Inventory, inventory_path
from simulator.planner.federate_or_centralize import EnterprisePlan, plan_inventory
from simulator.planner.terminal import print_plan


def run_plan_command(
    inventory: Path | None,
    csv_path: Path | None,
    ledger: Path | None,
    profile_name: str | None = None,
    breakdown: bool = False,
) -> EnterprisePlan:
    from simulator.lifecycle.profile import load_profile, profile_from_run_dir

    if ledger is not None and profile_name is not None:
        raise InputError("--ledger and --profile both name an energy profile; give one of them")
    with Inventory(inventory_path(inventory), must_exist=True) as store:
        snapshot = store.snapshot()
    if ledger is not None:
        profile = profile_from_run_dir(ledger)
    else:
        profile = load_profile(profile_name, "--profile") if profile_name is not None else None
    plan = plan_inventory(snapshot, profile)
    print_plan(plan, breakdown)
    if csv_path is not None:
        csv_path.write_text(plan_csv_text(plan))
    return plan
