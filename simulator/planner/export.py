"""The plan as CSV rows, and as a report section in Markdown or HTML.

`plan_section_markdown(plan)` and `plan_section_html(plan)` are the report's hooks: each returns a
self-contained section (a heading, the per-application table, the company totals, the assumptions)
with the unit on every number; the HTML one is a fragment (no <html> or styles), escaped by jinja2.
"""

from __future__ import annotations

import csv
import io

import jinja2

from simulator.lifecycle.model import Interval
from simulator.lifecycle.stages import STAGES
from simulator.planner.federate_or_centralize import ApplicationPlan, EnterprisePlan
from simulator.results.report import markdown_text  # the company's name is free text: no markup


def interval_text(value: Interval, digits: int = 3) -> str:
    return f"{_short(value.central, digits)} [{_short(value.low, digits)}, {_short(value.high, digits)}]"


def _short(value: float, digits: int) -> str:
    return f"{value:,.{digits}g}" if abs(value) < 10 ** digits else f"{value:,.0f}"


def verdict(application: ApplicationPlan) -> str:
    """'federate' / 'centralize', with what decides it and how firm it is."""
    parts = [f"{application.recommendation} ({application.deciding_stage_title} decides)"]
    if not application.certain:
        parts.append("uncertain: the CO2 interval spans 0")
    if not application.cheaper_too:
        parts.append("but costs more money")
    return "; ".join(parts)


CSV_COLUMNS = (
    "application",
    "kind",
    "datasets",
    "recommendation",
    "deciding_stage",
    "certain",
    "cheaper_too",
    *(f"{approach}_{quantity}_{bound}" for approach in ("fl", "cl") for quantity in ("co2_kg", "cost_usd")
      for bound in ("central", "low", "high")),
    *(f"co2_saving_kg_{bound}" for bound in ("central", "low", "high")),
    *(f"cost_saving_usd_{bound}" for bound in ("central", "low", "high")),
    *(f"{approach}_{stage}_co2_kg" for approach in ("fl", "cl") for stage in STAGES),
    *(f"{approach}_{stage}_cost_usd" for approach in ("fl", "cl") for stage in STAGES),
    "central_copy_tb",
    "horizon_months",
)


def plan_csv_text(plan: EnterprisePlan) -> str:
    """One row per application; CO2 in kg CO2e, money in the plan's currency, over the horizon."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for application in plan.applications:
        row: dict[str, object] = {
            "application": application.application,
            "kind": application.kind,
            "datasets": ";".join(application.datasets),
            "recommendation": application.recommendation,
            "deciding_stage": application.deciding_stage,
            "certain": application.certain,
            "cheaper_too": application.cheaper_too,
            "central_copy_tb": application.central_copy_tb,
            "horizon_months": plan.horizon_months,
        }
        for approach, result in (("fl", application.federated), ("cl", application.centralized)):
            for quantity in ("co2_kg", "cost_usd"):
                _put(row, f"{approach}_{quantity}", getattr(result.total, quantity))
            for stage in STAGES:
                row[f"{approach}_{stage}_co2_kg"] = result.stage(stage).co2_kg.central
                row[f"{approach}_{stage}_cost_usd"] = result.stage(stage).cost_usd.central
        _put(row, "co2_saving_kg", application.co2_saving_kg)
        _put(row, "cost_saving_usd", application.cost_saving_usd)
        writer.writerow(row)
    return buffer.getvalue()


def _put(row: dict, prefix: str, value: Interval) -> None:
    row[f"{prefix}_central"], row[f"{prefix}_low"], row[f"{prefix}_high"] = value.central, value.low, value.high


def plan_section_markdown(plan: EnterprisePlan) -> str:
    """A Markdown section for the HTML report: per application, both alternatives and the verdict."""
    currency = plan.currency
    totals = plan.totals
    lines = [
        f"## Enterprise plan: federate or centralize{f' ({markdown_text(plan.company)})' if plan.company else ''}",
        "",
        f"Each application's lifecycle CO2 and cost over the first {plan.horizon_months} months, federated "
        f"(data stays in its silos; federated analytics or FL) against centralized (copy the data to the "
        f"central site `{plan.central_site}`). Central value [low, high]: {plan.interval}.",
        "",
        f"| application | kind | federated CO2 (kg CO2e) | centralized CO2 (kg CO2e) | federated cost ({currency}) "
        f"| centralized cost ({currency}) | CO2 saved by federating (kg CO2e) | recommendation |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for application in plan.applications:
        lines.append(
            f"| {application.application} | {application.kind} | {interval_text(application.federated.total.co2_kg)} "
            f"| {interval_text(application.centralized.total.co2_kg)} "
            f"| {interval_text(application.federated.total.cost_usd)} "
            f"| {interval_text(application.centralized.total.cost_usd)} "
            f"| {interval_text(application.co2_saving_kg)} | {verdict(application)} |"
        )
    lines += [
        "",
        f"**Company totals** ({totals.federated_applications} applications federated, "
        f"{totals.centralized_applications} centralized), against centralizing everything (each dataset copied "
        f"once): central copies avoided {totals.central_copies_avoided_tb:,.3g} TB; CO2 saved "
        f"{interval_text(totals.co2_saved_kg_per_year)} kg CO2e per year; money saved "
        f"{interval_text(totals.cost_saved_usd_per_year)} {currency} per year.",
        "",
        f"Energy profile: {plan.profile_source}.",
        "",
        "Assumptions:",
        "",
        *(f"- {assumption}" for assumption in plan.assumptions),
        "",
    ]
    return "\n".join(lines)



_SECTION_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<section class="enterprise-plan">
<h2>Enterprise plan: federate or centralize{% if plan.company %} ({{ plan.company }}){% endif %}</h2>
<p>Each application's lifecycle CO2 and cost over the first {{ plan.horizon_months }} months, federated (data stays
in its silos) against centralized (copy the data to the central site {{ plan.central_site }}).
Central value [low, high]: {{ plan.interval }}.</p>
<table>
<thead><tr><th>application</th><th>kind</th><th>federated CO2 (kg CO2e)</th><th>centralized CO2 (kg CO2e)</th>
<th>federated cost ({{ plan.currency }})</th><th>centralized cost ({{ plan.currency }})</th>
<th>CO2 saved by federating (kg CO2e)</th><th>recommendation</th></tr></thead>
<tbody>
{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
<p><strong>Company totals</strong> ({{ totals.federated_applications }} applications federated,
{{ totals.centralized_applications }} centralized), against centralizing everything (each dataset copied once):
central copies avoided {{ avoided_tb }} TB; CO2 saved {{ co2_saved }} kg CO2e per year; money saved
{{ cost_saved }} {{ plan.currency }} per year.</p>
<p>Energy profile: {{ plan.profile_source }}.</p>
<ul>{% for assumption in plan.assumptions %}<li>{{ assumption }}</li>{% endfor %}</ul>
</section>
"""
)


def plan_section_html(plan: EnterprisePlan) -> str:
    """An HTML fragment with the same content as `plan_section_markdown`."""
    rows = [
        (
            application.application,
            application.kind,
            interval_text(application.federated.total.co2_kg),
            interval_text(application.centralized.total.co2_kg),
            interval_text(application.federated.total.cost_usd),
            interval_text(application.centralized.total.cost_usd),
            interval_text(application.co2_saving_kg),
            verdict(application),
        )
        for application in plan.applications
    ]
    totals = plan.totals
    return _SECTION_HTML.render(
        plan=plan,
        rows=rows,
        totals=totals,
        avoided_tb=f"{totals.central_copies_avoided_tb:,.3g}",
        co2_saved=interval_text(totals.co2_saved_kg_per_year),
        cost_saved=interval_text(totals.cost_saved_usd_per_year),
    )
