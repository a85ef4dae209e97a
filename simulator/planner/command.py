"""`silocarbon plan`: the enterprise plan from the inventory, as a table and optionally as CSV."""

from __future__ import annotations

from pathlib import Path

from simulator.planner.export import plan_csv_text
from simulator.planner.inventory import Inventory, inventory_path
from simulator.planner.federate_or_centralize import EnterprisePlan, plan_inventory
from simulator.planner.terminal import print_plan


def run_plan_command(inventory: Path | None, csv_path: Path | None, ledger: Path | None) -> EnterprisePlan:
    from simulator.lifecycle.profile import profile_from_run_dir

    with Inventory(inventory_path(inventory), must_exist=True) as store:
        snapshot = store.snapshot()
    profile = profile_from_run_dir(ledger) if ledger is not None else None
    plan = plan_inventory(snapshot, profile)
    print_plan(plan)
    if csv_path is not None:
        csv_path.write_text(plan_csv_text(plan))
    return plan
