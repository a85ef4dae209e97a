"""The plan's money, line by line: per application, lifecycle stage and line, what federating and
centralizing cost per year at the factors' central values, and which lines decide when the plan costs
more than centralizing.

The lines come from the lifecycle model's own stage amounts (nothing is priced twice or apart from
it), with FL's training and retraining split into the silos' compute and the aggregator, the line a
reader most needs to see apart. `COST_LINES_MODELLED` says what each side pays for; `COST_LINES_LEFT_OUT`
names what neither side counts, so a reader can judge a verdict on money before trusting it.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.lifecycle.factors import FactorSet
from simulator.lifecycle.profile import EnergyProfile
from simulator.lifecycle.quantities import LifecyclePlan
from simulator.lifecycle.stages import STAGE_TITLES, StageAmounts, fl_aggregator, retrainings

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
    "a silo's instance while it waits for the slowest silo within a round (billed for its own work only), "
    "and idle capacity reserved between trainings; spot or committed-use discounts; software licences",
    "the federated-analytics coordinator (fanning a query out and merging the results: small next to the scans)",
    "compliance and security costs of a central copy (or of running code in every silo)",
    "network energy as a power model (the per-GB factor overstates the marginal bytes, Mytton et al. 2024)",
)
COMPUTE_LINE = "compute (FL: the silos; CL: the central instance)"
AGGREGATOR_LINE = "FL aggregator (instance billed while the slowest silo trains)"
WHOLE_STAGE = "all"
DECIDING_LINES = 3  # lines named when the plan costs more than centralizing


@dataclass(frozen=True)
class CostLine:
    """One line of one application's cost, per year at central factors, in the plan's currency."""

    application: str
    kind: str  # analytics | ml
    federated: bool  # the plan federates this application
    stage: str  # a lifecycle stage key (simulator.lifecycle.stages.STAGES)
    line: str
    fl_per_year: float
    cl_per_year: float

    @property
    def stage_title(self) -> str:
        return STAGE_TITLES[self.stage]

    @property
    def cl_minus_fl_per_year(self) -> float:
        """Positive: federating saves money on this line."""
        return self.cl_per_year - self.fl_per_year


def application_cost_lines(
    application: str,
    kind: str,
    federated: bool,
    plan: LifecyclePlan,
    profile: EnergyProfile,
    fl: StageAmounts,
    cl: StageAmounts,
    values: FactorSet,
    per_year: float,
) -> tuple[CostLine, ...]:
    """The lines of one application from its central-value stage amounts `fl` and `cl` (so they add
    up to the plan's totals); FL's training and deployment split into silos and aggregator."""
    lines = []

    def add(stage: str, line: str, fl_usd, cl_usd) -> None:
        lines.append(CostLine(application, kind, federated, stage, line, float(fl_usd) * per_year, float(cl_usd) * per_year))

    for stage in ("data_transfer", "data_storage", "exploration", "communication"):
        add(stage, WHOLE_STAGE, getattr(fl, stage).cost_usd, getattr(cl, stage).cost_usd)
    first_training = [(plan.training_months[0], None)]
    for stage, trainings in (("training", first_training), ("deployment", retrainings(plan))):
        aggregator = float(fl_aggregator(plan, profile, values, trainings).cost_usd)
        add(stage, COMPUTE_LINE, float(getattr(fl, stage).cost_usd) - aggregator, getattr(cl, stage).cost_usd)
        add(stage, AGGREGATOR_LINE, aggregator, 0.0)
    return tuple(lines)


def deciding_lines(lines: tuple[CostLine, ...] | list[CostLine], count: int = DECIDING_LINES) -> list[CostLine]:
    """The lines of federated applications where FL costs most against CL (the plan differs from
    centralizing everything only where it federates); only lines that favour CL."""
    federated = sorted((line for line in lines if line.federated), key=lambda line: line.cl_minus_fl_per_year)
    return [line for line in federated[:count] if line.cl_minus_fl_per_year < 0]
