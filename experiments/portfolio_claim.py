"""Claim (d): an enterprise that runs its data and applications on the planner's portfolio (federated
learning and federated analytics where they emit less, a central copy only where they do not) is more
sustainable and, separately, cheaper than one that centralizes everything.

    python -m experiments.portfolio_claim [--profile NAME|FILE]

The planner (simulator.planner) is run on the shipped inventory as shipped
(configs/enterprise_inventory.toml; nothing here is tuned to make a claim pass), with the energy
profile `silocarbon plan` uses by default. Its company totals compare the plan with an all-centralized
company (every dataset copied once into one central lake), per year:
(d1) the portfolio emits less CO2: the 95 % interval of kg CO2e saved per year lies above 0;
(d2) the portfolio costs less money: the 95 % interval of USD saved per year lies above 0.
Intervals: 2.5th to 97.5th percentile of the planner's Monte Carlo draws of the factors and, where the
profile comes from several measured runs (paper_findings' seeds), of its measurement noise; alone,
with one profile, the description says that the intervals hold the factor ranges only.

Whatever the verdicts, the cost breakdown says which lines decide: per application and stage, FL and
CL in USD per year at central factors, FL's training and retraining split into the silos' compute and
the aggregator. Checked complete on both sides (COST_LINES_MODELLED) and what is left out is named
(COST_LINES_LEFT_OUT).

Writes into results/portfolio_claim/ (or the caller's folder): portfolio_plan.csv (the plan),
portfolio_costs.csv/.md (the breakdown), portfolio_claims.csv/.md and portfolio_findings.md.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments.claims import Band, Claim, Decision, Evidence, percentile_interval
from experiments.output import RESULTS_ROOT, ExperimentOutput
from simulator.scenario.load import bundled_config_path
from simulator.lifecycle import factors as factor_values
from simulator.lifecycle.factors import load_factors
from simulator.lifecycle.profile import EnergyProfile, default_profile, load_profile
from simulator.lifecycle.profile_noise import ProfileSamples, as_profile_samples
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
DRAWS = 4000  # Monte Carlo draws of the plan (factors and, where measured, the profile's noise)

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
    claims: list[Claim]
    costs: pd.DataFrame  # the breakdown
    deciding: list[dict]  # the cost lines that decide a half that is not SUPPORTED (else empty)


def shipped_inventory() -> InventorySnapshot:
    """The shipped inventory in an in-memory database, as `silocarbon inventory import` reads it."""
    with Inventory(":memory:") as store:
        store.import_toml(bundled_config_path(INVENTORY_FILE))
        return store.snapshot()


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


def portfolio_findings(
    output: ExperimentOutput, profile: EnergyProfile | ProfileSamples | None = None
) -> PortfolioFindings:
    """Claims (d1) and (d2) with their 95 % intervals and verdicts, the breakdown, and the deciding
    lines. `profile`: measured runs' profiles (their noise drawn into the intervals), one profile, or
    (None) the default profile, as `silocarbon plan` uses."""
    samples = as_profile_samples(profile or default_profile())
    snapshot = shipped_inventory()
    plan = plan_inventory(snapshot, samples, draws=DRAWS)
    totals = plan.totals
    how = f"2.5th-97.5th percentile of {DRAWS} draws of the factors; measurement noise: {samples.description()}"
    co2 = percentile_interval(totals.co2_saved_draws_kg_per_year, totals.co2_saved_kg_per_year.central)
    cost = percentile_interval(totals.cost_saved_draws_usd_per_year, totals.cost_saved_usd_per_year.central)
    costs = cost_breakdown(snapshot, plan, samples.central)
    setting = (f"{len(snapshot.applications)} applications of configs/{INVENTORY_FILE} as shipped, "
               f"{totals.federated_applications} federated and {totals.centralized_applications} centralized by the "
               f"plan; energy profile: {samples.central.source.split(':')[0]}")
    common = (Evidence(f"setting: {setting}; central copies avoided", totals.central_copies_avoided_tb, "TB"),)
    d1 = Claim(
        "d1", "The planner's portfolio (FL and federated analytics where they emit less) emits less CO2 than "
        "centralizing every application.",
        "the 95 % interval of CO2 saved per year (all-centralized minus the plan) lies above 0",
        (Decision("CO2 saved per year", *co2, "kg CO2e", CO2_BAND, how),), common,
    )
    decide = deciding_lines(costs) if cost[1] <= 0 else []
    d2 = Claim(
        "d2", "The planner's portfolio costs less money than centralizing every application.",
        "the 95 % interval of money saved per year (all-centralized minus the plan) lies above 0",
        (Decision("money saved per year", *cost, plan.currency, COST_BAND, how),),
        common + tuple(Evidence(f"deciding line: {row['application']}, {row['stage']}, {row['line']} (CL - FL)",
                                row["CL - FL USD per year"], f"{plan.currency}/yr") for row in decide),
    )
    output.text("portfolio_plan.csv", plan_csv_text(plan))
    output.table(costs, "portfolio_costs", f"Cost per application, stage and line ({plan.currency} per year, central factors)")
    output.table(pd.DataFrame([{"claim": c.key, "statement": c.statement, "criterion": c.criterion,
                                "central": c.decisions[0].central, "low": c.decisions[0].low,
                                "high": c.decisions[0].high, "unit": c.decisions[0].unit, "verdict": c.verdict.value}
                               for c in (d1, d2)]), "portfolio_claims", "Claim (d): verdicts")
    output.text("portfolio_findings.md", "# Claim (d) on the shipped inventory\n\n```\n" + d1.text() + "\n\n" + d2.text()
                + "\n```\n\nCost lines modelled:\n\n" + "".join(f"- {line}\n" for line in COST_LINES_MODELLED)
                + "\nLeft out (both sides):\n\n" + "".join(f"- {line}\n" for line in COST_LINES_LEFT_OUT))
    return PortfolioFindings(plan, [d1, d2], costs, decide)


def claim_d(findings) -> list[Claim]:
    """Claim (d) for paper_findings (its MORE_CLAIMS): the planner with the profiles paper_findings
    measured (one per seed), so their measurement noise enters claim (d)'s intervals too."""
    return portfolio_findings(findings.output, findings.samples).claims


def main(argv: list[str] | None = None) -> list[Claim]:
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
