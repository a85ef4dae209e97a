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
the aggregator (the planner's cost lines, simulator/planner/cost_lines.py, which `silocarbon plan
--breakdown` prints too). Checked complete on both sides (COST_LINES_MODELLED) and what is left out is
named (COST_LINES_LEFT_OUT).

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
from simulator.lifecycle.profile import EnergyProfile, default_profile, load_profile
from simulator.lifecycle.profile_noise import ProfileSamples, as_profile_samples
from simulator.planner.cost_lines import COST_LINES_LEFT_OUT, COST_LINES_MODELLED, CostLine, deciding_lines
from simulator.planner.export import plan_csv_text
from simulator.planner.inventory import Inventory, InventorySnapshot
from simulator.planner.federate_or_centralize import CENTRALIZE, FEDERATE, EnterprisePlan, plan_inventory

NAME = "portfolio_claim"
INVENTORY_FILE = "enterprise_inventory.toml"
CO2_BAND = Band(low=0.0)  # (d1): kg CO2e saved per year > 0 over the whole interval
COST_BAND = Band(low=0.0)  # (d2): USD saved per year > 0 over the whole interval
DRAWS = 4000  # Monte Carlo draws of the plan (factors and, where measured, the profile's noise)


@dataclass(frozen=True)
class PortfolioFindings:
    plan: EnterprisePlan
    claims: list[Claim]
    costs: pd.DataFrame  # the breakdown
    deciding: list[CostLine]  # the cost lines that decide a half that is not SUPPORTED (else empty)


def shipped_inventory() -> InventorySnapshot:
    """The shipped inventory in an in-memory database, as `silocarbon inventory import` reads it."""
    with Inventory(":memory:") as store:
        store.import_toml(bundled_config_path(INVENTORY_FILE))
        return store.snapshot()


def cost_table(lines: tuple[CostLine, ...]) -> pd.DataFrame:
    """The planner's cost lines as a table (USD per year at central factors)."""
    return pd.DataFrame([{
        "application": line.application, "kind": line.kind, "plan": FEDERATE if line.federated else CENTRALIZE,
        "stage": line.stage_title, "line": line.line, "FL USD per year": line.fl_per_year,
        "CL USD per year": line.cl_per_year, "CL - FL USD per year": line.cl_minus_fl_per_year,
    } for line in lines])


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
    costs = cost_table(plan.cost_lines)
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
    decide = deciding_lines(plan.cost_lines) if cost[1] <= 0 else []
    d2 = Claim(
        "d2", "The planner's portfolio costs less money than centralizing every application.",
        "the 95 % interval of money saved per year (all-centralized minus the plan) lies above 0",
        (Decision("money saved per year", *cost, plan.currency, COST_BAND, how),),
        common + tuple(Evidence(f"deciding line: {line.application}, {line.stage_title}, {line.line} (CL - FL)",
                                line.cl_minus_fl_per_year, f"{plan.currency}/yr") for line in decide),
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


NO_SEEDS = ("No --seeds: a plan of the shipped inventory with one energy profile (no training here); "
            "paper_findings runs claim (d) with the profiles its seeds measured, their noise drawn.")


def main(argv: list[str] | None = None) -> list[Claim]:
    parser = argparse.ArgumentParser(prog="python -m experiments.portfolio_claim", description=__doc__.split("\n")[0],
                                     epilog=NO_SEEDS)
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
