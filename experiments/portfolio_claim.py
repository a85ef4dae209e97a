"""Claim (d): an enterprise that runs its data and applications on the planner's portfolio (federated
learning and federated analytics where they emit less, a central copy only where they do not) is more
sustainable and, separately, cheaper than one that centralizes everything.

    python -m experiments.portfolio_claim [--profile NAME|FILE]

The planner (simulator.planner) is run on the shipped inventory as shipped
(configs/enterprise_inventory.toml; nothing here is tuned to make a claim pass), with the energy
profile `silocarbon plan` uses by default. Its company totals compare the plan with an all-centralized
company (every dataset copied once into one central lake), per year:
(d1) the portfolio emits less CO2: the interval of kg CO2e saved per year lies above 0;
(d2) the portfolio costs less money: the interval of USD saved per year lies above 0.
Intervals: the envelope of the planner's Monte Carlo intervals (factor draws) computed with the
profile's per-sample energy and time as measured and x/÷ MEASUREMENT_SPREAD (the profile's measurement
noise on this shared host), so they carry both.

Whatever the verdicts, the cost breakdown says which lines decide: per application and stage, FL and
CL in USD per year at central factors, FL's training and retraining split into the silos' compute and
the aggregator. Checked complete on both sides (COST_LINES_MODELLED) and what is left out is named
(COST_LINES_LEFT_OUT).

Writes into results/portfolio_claim/ (or the caller's folder): portfolio_plan.csv (the plan),
portfolio_costs.csv/.md (the breakdown), portfolio_claims.csv/.md and portfolio_findings.md.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from experiments.claims import Band, Evidence
from experiments.interval_claim import IntervalClaim
from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.regimes import MEASUREMENT_SPREAD
from simulator.scenario.load import bundled_config_path
from simulator.lifecycle import factors as factor_values
from simulator.lifecycle.factors import load_factors
from simulator.lifecycle.model import Interval
from simulator.lifecycle.profile import EnergyProfile, default_profile, load_profile
from simulator.lifecycle.stages import STAGE_TITLES, cl_stages, fl_aggregator, fl_stages, retrainings
from simulator.planner.export import plan_csv_text
from simulator.planner.inventory import Inventory, InventorySnapshot
from simulator.planner.federate_or_centralize import (
    FEDERATE,
    HORIZON_MONTHS,
    MONTHS_PER_YEAR,
    EnterprisePlan,
    application_plan_input,
    plan_inventory,
)

NAME = "portfolio_claim"
INVENTORY_FILE = "enterprise_inventory.toml"
CO2_BAND = Band(low=0.0)  # (d1): kg CO2e saved per year > 0 over the whole interval
COST_BAND = Band(low=0.0)  # (d2): USD saved per year > 0 over the whole interval
DECIDING_LINES = 3  # cost lines named when a half is not SUPPORTED

COST_LINES_MODELLED = (
    "CL: egress of every copied byte (data transfer), the copy pipeline landing it (ingest, data transfer), "
    "central storage with its replication (in the list price; replication factor for energy), exploration "
    "scans of the central copy, training and retraining on the central instance",
    "FL: the silos' training compute (instance hours at each site's price), the aggregator (its "
    "per-round energy and a CPU instance billed while it waits for the slowest silo), communication "
    "(egress of every model update, both directions), federated analytics (scans in the silos plus "
    "their results' egress)",
)
COST_LINES_LEFT_OUT = (
    "embodied emissions and purchase of hardware (servers, drives, network gear)",
    "people: data engineering, MLOps and FL operations (orchestration, monitoring, silo onboarding)",
    "data preparation where the data lives (alike in both approaches)",
    "serving (inference): the same model served at the same place in both",
    "idle capacity reserved between trainings, spot or committed-use discounts, software licences",
    "compliance and security costs of a central copy (or of running code in every silo)",
    "network energy as a power model (the per-GB factor overstates the marginal bytes, Mytton et al. 2024)",
)


@dataclass(frozen=True)
class PortfolioFindings:
    plan: EnterprisePlan
    claims: list[IntervalClaim]
    costs: pd.DataFrame  # the breakdown
    deciding: list[dict]  # the cost lines that decide a half that is not SUPPORTED (else empty)


def shipped_inventory() -> InventorySnapshot:
    """The shipped inventory in an in-memory database, as `silocarbon inventory import` reads it."""
    with Inventory(":memory:") as store:
        store.import_toml(bundled_config_path(INVENTORY_FILE))
        return store.snapshot()


def scaled_profile(profile: EnergyProfile, factor: float) -> EnergyProfile:
    """The profile with its per-sample energy and time x `factor` (measurement noise)."""
    return replace(
        profile,
        fl_kwh_per_sample_update=profile.fl_kwh_per_sample_update * factor,
        cl_kwh_per_sample_update=profile.cl_kwh_per_sample_update * factor,
        fl_wall_s_per_sample_update=profile.fl_wall_s_per_sample_update * factor,
        cl_wall_s_per_sample_update=profile.cl_wall_s_per_sample_update * factor,
    )


def envelope(central: Interval, others: list[Interval]) -> Interval:
    return Interval(central.central, min(i.low for i in [central, *others]), max(i.high for i in [central, *others]))


def cost_breakdown(snapshot: InventorySnapshot, plan: EnterprisePlan, profile: EnergyProfile) -> pd.DataFrame:
    """USD per year at central factors, per application, stage and line, from the lifecycle model's
    stage functions (each application as if alone: a dataset several centralized applications read
    is copied once in the company totals, and in each application's line here)."""
    values = factor_values.central(load_factors())
    per_year = MONTHS_PER_YEAR / HORIZON_MONTHS
    recommendation = {item.application: item.recommendation for item in plan.applications}
    rows = []
    for application in snapshot.applications:
        inputs = application_plan_input(snapshot, application, profile)
        lifecycle_plan, app_profile = inputs.plan, inputs.profile
        fl, cl = fl_stages(lifecycle_plan, app_profile, values), cl_stages(lifecycle_plan, app_profile, values)
        aggregator_first = fl_aggregator(lifecycle_plan, app_profile, values, [(lifecycle_plan.training_months[0], None)])
        aggregator_later = fl_aggregator(lifecycle_plan, app_profile, values, retrainings(lifecycle_plan))

        def add(stage: str, line: str, fl_usd: float, cl_usd: float) -> None:
            rows.append({
                "application": application.name, "kind": application.kind,
                "plan": recommendation[application.name], "stage": stage, "line": line,
                "FL USD per year": fl_usd * per_year, "CL USD per year": cl_usd * per_year,
                "CL - FL USD per year": (cl_usd - fl_usd) * per_year,
            })

        for stage in ("data_transfer", "data_storage", "exploration", "communication"):
            add(STAGE_TITLES[stage], "all", float(getattr(fl, stage).cost_usd), float(getattr(cl, stage).cost_usd))
        for stage, aggregator in (("training", aggregator_first), ("deployment", aggregator_later)):
            whole = float(getattr(fl, stage).cost_usd)
            add(STAGE_TITLES[stage], "compute (FL: the silos; CL: the central instance)",
                whole - float(aggregator.cost_usd), float(getattr(cl, stage).cost_usd))
            add(STAGE_TITLES[stage], "FL aggregator (instance billed while the slowest silo trains)",
                float(aggregator.cost_usd), 0.0)
    return pd.DataFrame(rows)


def deciding_lines(costs: pd.DataFrame) -> list[dict]:
    """The lines of federated applications that cost FL most against CL (most negative CL - FL): the
    plan differs from all-centralized only where it federates."""
    federated = costs[costs["plan"] == FEDERATE].sort_values("CL - FL USD per year")
    return [row for row in federated.head(DECIDING_LINES).to_dict("records") if row["CL - FL USD per year"] < 0]


def portfolio_findings(output: ExperimentOutput, profile: EnergyProfile | None = None) -> PortfolioFindings:
    """Claims (d1) and (d2) with their intervals and verdicts, the breakdown, and the deciding lines."""
    profile = profile or default_profile()
    snapshot = shipped_inventory()
    plan = plan_inventory(snapshot, profile)
    noisy = [plan_inventory(snapshot, scaled_profile(profile, factor)) for factor in (1 / MEASUREMENT_SPREAD, MEASUREMENT_SPREAD)]
    co2 = envelope(plan.totals.co2_saved_kg_per_year, [p.totals.co2_saved_kg_per_year for p in noisy])
    cost = envelope(plan.totals.cost_saved_usd_per_year, [p.totals.cost_saved_usd_per_year for p in noisy])
    costs = cost_breakdown(snapshot, plan, profile)
    setting = (f"configs/{INVENTORY_FILE} as shipped: {len(snapshot.applications)} applications, "
               f"{plan.totals.federated_applications} federated and {plan.totals.centralized_applications} centralized "
               f"by the plan; energy profile: {profile.source.split(':')[0]}")
    common = (Evidence("central copies avoided", plan.totals.central_copies_avoided_tb, "TB"),)
    d1 = IntervalClaim(
        "d1", "The planner's portfolio (FL and federated analytics where they emit less) emits less CO2 than "
        "centralizing every application.", "the interval of CO2 saved per year (all-centralized minus the plan) "
        "lies above 0", "CO2 saved per year (kg CO2e)", co2.central, co2.low, co2.high, CO2_BAND, common, setting,
    )
    decide = deciding_lines(costs) if cost.low <= 0 else []
    d2 = IntervalClaim(
        "d2", "The planner's portfolio costs less money than centralizing every application.",
        "the interval of money saved per year (all-centralized minus the plan) lies above 0",
        f"money saved per year ({plan.currency})", cost.central, cost.low, cost.high, COST_BAND,
        common + tuple(Evidence(f"deciding line: {row['application']}, {row['stage']}, {row['line']} (CL - FL)",
                                row["CL - FL USD per year"], f"{plan.currency}/yr") for row in decide),
        setting,
    )
    output.text("portfolio_plan.csv", plan_csv_text(plan))
    output.table(costs, "portfolio_costs", f"Cost per application, stage and line ({plan.currency} per year, central factors)")
    output.table(pd.DataFrame([c.row() for c in (d1, d2)]), "portfolio_claims", "Claim (d): verdicts")
    output.text("portfolio_findings.md", "# Claim (d) on the shipped inventory\n\n```\n" + d1.text() + "\n\n" + d2.text()
                + "\n```\n\nCost lines modelled:\n\n" + "".join(f"- {line}\n" for line in COST_LINES_MODELLED)
                + "\nLeft out (both sides):\n\n" + "".join(f"- {line}\n" for line in COST_LINES_LEFT_OUT))
    return PortfolioFindings(plan, [d1, d2], costs, decide)


def main(argv: list[str] | None = None) -> list[IntervalClaim]:
    parser = argparse.ArgumentParser(prog="python -m experiments.portfolio_claim", description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives portfolio_claim/")
    parser.add_argument("--profile", default=None, help="energy profile: a shipped name (default, resnet18, transformer) or a file")
    args = parser.parse_args(argv)
    output = ExperimentOutput(NAME, args.results)
    findings = portfolio_findings(output, load_profile(args.profile, "--profile") if args.profile else None)
    print("\n\n".join(claim.text() for claim in findings.claims))
    output.print_written()
    return findings.claims


if __name__ == "__main__":
    main()
