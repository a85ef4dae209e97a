"""The enterprise plan: for every application in the inventory, federate or centralize?

Each application becomes a lifecycle scenario (simulator.lifecycle): its datasets are the silos (at
their sites' countries, PUEs and storage), the inventory's central site is the central site, and the
horizon is the first year of operation. The lifecycle model's own stage functions then give both
alternatives per stage, at the factors' central values and on Monte Carlo draws (same draws for
every application, so differences and company totals keep their correlation). Nothing here is a
second lifecycle model: this module only maps inventory entries onto the model's inputs.

Mapping (stated in `ASSUMPTIONS`, printed with every plan):
- analytics application: `runs_per_month` queries per month, each scanning all its datasets (the
  exploration stage); it trains no model (an all-zero energy profile).
- ML application: trained `retrains_per_year` times a year with `rounds` FL rounds, plus the lifecycle
  default tuning trials; one model exchange per silo and round = the model's size down + up; the energy
  per sample update comes from the energy profile (default: the lifecycle model's documented profile).
- each dataset's central copy keeps its own retention; a dataset already at the central site is
  neither shipped nor copied.
- serving (inference) is the same for both alternatives and left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from simulator.scenario.schema import DataConfig, Scenario
from simulator.scenario.load import validate_scenario
from simulator.data.registry import dataset_features
from simulator.errors import InputError
from simulator.lifecycle import factors as factor_values
from simulator.lifecycle.factors import Factor, FactorSet, load_factors
from simulator.lifecycle.model import (
    CURRENCY,
    interval_description,
    ApproachResult,
    Interval,
    approach_result,
    interval,
)
from simulator.lifecycle.quantities import LifecyclePlan, build_plan, samples_per_gb_from_features
from simulator.lifecycle.profile import EnergyProfile, default_profile
from simulator.lifecycle.profile_noise import ProfileSamples, as_profile_samples
from simulator.lifecycle.schedule import gb_months, retained_volumes_gb
from simulator.lifecycle.stages import (
    STAGE_TITLES,
    STAGES,
    Amount,
    StageAmounts,
    cl_stages,
    total,
    data_storage_cl,
    data_transfer_cl,
    fl_stages,
)
from simulator.planner.cost_lines import CostLine, application_cost_lines
from simulator.planner.entries import Application
from simulator.units import BYTES_PER_GB, BYTES_PER_MB, GB_PER_TB
from simulator.planner.inventory import InventorySnapshot

HORIZON_MONTHS = 12  # the plan covers the first year of operation, initial copies included
MONTHS_PER_YEAR = 12
DEFAULT_DRAWS = 2000
DEFAULT_SEED = 0
# The profile's samples-per-GB comes from the dataset its energy was measured on (the default profile:
# digits), so energy per sample and samples per GB describe the same samples.
PROFILE_DATASET = "digits"
RESERVED_SILO_NAME = "server"

FEDERATE = "federate"
CENTRALIZE = "centralize"

ASSUMPTIONS = (
    "horizon: the first 12 months of operation; the initial copy of every dataset is in it",
    "analytics application: runs_per_month queries a month, each scanning all its datasets once "
    "(lifecycle stage 'exploration and analytics'); no model is trained",
    "ML application: retrains_per_year trainings a year (the first at month 0), each with the lifecycle "
    "default tuning trials and `rounds` FL rounds; one FL round moves the model down and up per silo",
    "training energy per sample update: the energy profile's (see 'profile'); samples per GB: of the "
    "profile's own samples (its stated bytes per sample, else derived from its dataset)",
    "each dataset's central copy keeps its own retention; datasets at the central site are not copied",
    "serving (inference) is the same for both alternatives and is left out",
    "company totals: every dataset is copied at most once to the central lake, shared by all "
    "centralized applications reading it",
)


@dataclass(frozen=True)
class ApplicationPlan:
    application: str
    kind: str  # analytics | ml
    datasets: tuple[str, ...]
    federated: ApproachResult  # the lifecycle model's stage results, over the horizon
    centralized: ApproachResult
    co2_saving_kg: Interval  # centralized minus federated (positive: federating saves)
    cost_saving_usd: Interval
    recommendation: str  # federate | centralize (lower central CO2)
    deciding_stage: str  # the stage whose difference favours the recommendation most
    deciding_stage_title: str
    certain: bool  # the CO2 saving's interval does not include 0
    cheaper_too: bool  # the recommendation also costs less money (central values)
    central_copy_tb: float  # peak size of the central copy the centralized alternative needs


@dataclass(frozen=True)
class CompanyTotals:
    central_copies_avoided_tb: float  # peak TB of central copies that no centralized application needs
    datasets_copied: tuple[str, ...]  # datasets the plan still copies to the central lake
    co2_saved_kg_per_year: Interval  # all-centralized company minus the plan
    cost_saved_usd_per_year: Interval
    federated_applications: int
    centralized_applications: int
    # The savings on every Monte Carlo draw (for other intervals than the plan's own, e.g. a claim's 95 %).
    co2_saved_draws_kg_per_year: np.ndarray | None = field(default=None, compare=False, repr=False)
    cost_saved_draws_usd_per_year: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EnterprisePlan:
    company: str | None
    central_site: str
    horizon_months: int
    currency: str
    applications: tuple[ApplicationPlan, ...]
    totals: CompanyTotals
    profile_source: str
    interval: str
    assumptions: tuple[str, ...]
    # Per application, stage and line, per year at central factors (simulator.planner.cost_lines).
    cost_lines: tuple[CostLine, ...] = ()


@dataclass(frozen=True)
class _Evaluated:
    """One application's plan and its stage amounts (central values and draws), kept for the totals."""

    plan: LifecyclePlan
    profile: EnergyProfile  # the application's (central) profile
    fl_central: StageAmounts
    cl_central: StageAmounts
    fl_drawn: StageAmounts
    cl_drawn: StageAmounts


def plan_inventory(
    snapshot: InventorySnapshot,
    profile: EnergyProfile | ProfileSamples | None = None,
    factors: FactorSet[Factor] | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = DEFAULT_SEED,
) -> EnterprisePlan:
    """The plan for every application of the inventory. `profile`: one energy profile, or several
    measured runs' (`ProfileSamples`), whose measurement noise the draws then carry, as the lifecycle
    model's do."""
    if snapshot.central is None:
        raise InputError("inventory: no central site; set one with 'silocarbon inventory add central SITE'")
    if not snapshot.applications:
        raise InputError("inventory: no applications to plan; add some with 'silocarbon inventory add application'")
    samples = as_profile_samples(profile or default_profile())
    profile = samples.central
    drawn_profile = samples.draw(draws, seed)  # the profile itself where there is no noise
    factors = factors or load_factors()
    central_values = factor_values.central(factors)
    drawn_values = factor_values.draw(factors, draws, seed)
    evaluated = {
        application.name: _evaluate(
            application_plan_input(snapshot, application, profile), central_values, drawn_values,
            application_profile(application, drawn_profile),
        )
        for application in snapshot.applications
    }
    applications = tuple(
        _application_plan(application, evaluated[application.name]) for application in snapshot.applications
    )
    cost_lines = tuple(
        line
        for application, planned in zip(snapshot.applications, applications)
        for line in _cost_lines(application, planned, evaluated[application.name], central_values)
    )
    return EnterprisePlan(
        company=snapshot.company,
        central_site=snapshot.central.site,
        horizon_months=HORIZON_MONTHS,
        currency=CURRENCY,
        applications=applications,
        totals=_company_totals(snapshot, applications, evaluated, central_values, drawn_values),
        profile_source=profile.source,
        interval=interval_description(draws, samples),
        assumptions=ASSUMPTIONS,
        cost_lines=cost_lines,
    )


# -- inventory -> lifecycle inputs ----------------------------------------------------------------


@dataclass(frozen=True)
class PlanInput:
    """What the lifecycle model evaluates for one application."""

    scenario: Scenario
    plan: LifecyclePlan
    profile: EnergyProfile


def application_plan_input(snapshot: InventorySnapshot, application: Application, profile: EnergyProfile) -> PlanInput:
    scenario = application_scenario(snapshot, application, profile_samples_per_gb(profile))
    plan = build_plan(scenario)
    silos = []
    for silo, dataset_name in zip(plan.silos, application.datasets):
        dataset = snapshot.dataset(dataset_name)
        retained = retained_volumes_gb(silo.volumes_gb, dataset.retention_months)
        # Each dataset's central copy keeps its own retention (a dataset at the central site has none).
        silos.append(
            replace(silo, retained_gb=retained, central_gb_months=0.0 if silo.at_central else gb_months(retained))
        )
    plan = replace(plan, silos=tuple(silos), training_months=training_schedule(application, plan.lifetime_months))
    return PlanInput(scenario, plan, application_profile(application, profile))


def application_scenario(
    snapshot: InventorySnapshot, application: Application, samples_per_gb: float | None = None
) -> Scenario:
    """The lifecycle scenario of one application (its datasets as silos); `samples_per_gb`: of the
    energy profile's own samples (default: the default profile's dataset, digits)."""
    assert snapshot.central is not None
    central = snapshot.site(snapshot.central.site)
    datasets = [snapshot.dataset(name) for name in application.datasets]
    samples_per_gb = samples_per_gb or _profile_samples_per_gb()
    silo_names = [silo_name(dataset.name) for dataset in datasets]
    analytics = application.kind == "analytics"
    raw = {
        "name": application.name,
        "seed": DEFAULT_SEED,
        "data": {"dataset": PROFILE_DATASET, "partition": "iid"},
        "training": {"rounds": 1 if analytics else application.rounds, "local_epochs": 1},
        "silos": [
            {"name": name, "country": snapshot.site(dataset.site).country}
            for name, dataset in zip(silo_names, datasets)
        ],
        "central": {"country": central.country, "pue": central.pue},
        "lifecycle": {
            "lifetime_months": HORIZON_MONTHS,
            "retrain_every_months": 0,  # replaced by the application's own schedule (training_schedule)
            **({"tuning_trials": 0} if analytics else {}),
            "exploration_queries_per_month": application.runs_per_month if analytics else 0.0,
            "exploration_gb_per_query": sum(dataset.size_gb for dataset in datasets) if analytics else 0.0,
            "inference_requests_per_month": 0.0,
            "central": {"storage": central.storage, "pue": central.pue},
            "silos": [
                {
                    "name": name,
                    "data_gb": dataset.size_gb,
                    "monthly_growth": dataset.monthly_growth,
                    "storage": snapshot.site(dataset.site).storage,
                    "pue": snapshot.site(dataset.site).pue,
                    "samples_per_gb": samples_per_gb,
                    "at_central": dataset.site == snapshot.central.site,
                }
                for name, dataset in zip(silo_names, datasets)
            ],
        },
    }
    return validate_scenario(raw, f"application '{application.name}'")


def training_schedule(application: Application, horizon_months: int) -> tuple[int, ...]:
    """Months of the trainings within the horizon: the k-th at month floor(k x 12 / retrains per year)
    (several trainings may fall in one month); analytics and never-retrained models: (0,)."""
    per_year = application.retrains_per_year or 0.0
    if application.kind != "ml" or per_year <= 0:
        return (0,)
    spacing = MONTHS_PER_YEAR / per_year
    count = math.ceil(horizon_months / spacing - 1e-9)
    return tuple(int(math.floor(k * spacing + 1e-9)) for k in range(count))


def application_profile(application: Application, profile: EnergyProfile) -> EnergyProfile:
    """Analytics: nothing is trained (all zero). ML: the given profile, with the model's own exchange
    per silo and round (its size down and up)."""
    if application.kind == "analytics":
        return EnergyProfile(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, "none", "analytics application: no model is trained")
    assert application.model_size_mb is not None
    return replace(profile, bytes_per_silo_round=2.0 * application.model_size_mb * BYTES_PER_MB)


def silo_name(dataset: str) -> str:
    return f"{dataset}-data" if dataset == RESERVED_SILO_NAME else dataset


def profile_samples_per_gb(profile: EnergyProfile) -> float:
    """Samples per GB of the data the profile was measured on: 1e9 / its stated bytes per sample, or
    (a run's ledger, which states none) derived from the default profile's dataset."""
    if profile.sample_bytes:
        return BYTES_PER_GB / profile.sample_bytes
    return _profile_samples_per_gb()


@lru_cache(maxsize=1)
def _profile_samples_per_gb() -> float:
    features = dataset_features(DataConfig(dataset=PROFILE_DATASET), DEFAULT_SEED)
    samples, _ = samples_per_gb_from_features(features, PROFILE_DATASET)
    return samples


# -- evaluation --------------------------------------------------------------------------------------


def _evaluate(
    inputs: PlanInput, central_values: FactorSet, drawn_values: FactorSet, drawn_profile: EnergyProfile
) -> _Evaluated:
    """Central figures with the central profile; drawn ones with the drawn profile (its fields arrays
    over the draws where the profile carries measurement noise)."""
    plan, profile = inputs.plan, inputs.profile
    return _Evaluated(
        plan,
        profile,
        fl_stages(plan, profile, central_values),
        cl_stages(plan, profile, central_values),
        fl_stages(plan, drawn_profile, drawn_values),
        cl_stages(plan, drawn_profile, drawn_values),
    )


# The plan serves no predictions (serving is the same either way and left out), so its deployment
# stage holds retraining alone: its title must not say inference.
PLAN_STAGE_TITLES: dict[str, str] = {**STAGE_TITLES, "deployment": "retraining over the horizon (serving left out)"}


def _application_plan(application: Application, result: _Evaluated) -> ApplicationPlan:
    fl_total, cl_total = result.fl_central.total(), result.cl_central.total()
    co2_saving = float(cl_total.co2_kg) - float(fl_total.co2_kg)
    cost_saving = float(cl_total.cost_usd) - float(fl_total.cost_usd)
    recommendation = FEDERATE if co2_saving > 0 else CENTRALIZE
    sign = 1.0 if recommendation == FEDERATE else -1.0
    # The stage whose CL - FL difference pushes hardest towards the recommendation.
    deciding = max(
        STAGES,
        key=lambda stage: sign
        * (float(getattr(result.cl_central, stage).co2_kg) - float(getattr(result.fl_central, stage).co2_kg)),
    )
    co2_interval = interval(co2_saving, result.cl_drawn.total().co2_kg - result.fl_drawn.total().co2_kg)
    return ApplicationPlan(
        application=application.name,
        kind=application.kind,
        datasets=application.datasets,
        federated=approach_result("fl", result.fl_central, result.fl_drawn),
        centralized=approach_result("cl", result.cl_central, result.cl_drawn),
        co2_saving_kg=co2_interval,
        cost_saving_usd=interval(cost_saving, result.cl_drawn.total().cost_usd - result.fl_drawn.total().cost_usd),
        recommendation=recommendation,
        deciding_stage=deciding,
        deciding_stage_title=PLAN_STAGE_TITLES[deciding],
        certain=co2_interval.low > 0 or co2_interval.high < 0,
        cheaper_too=(cost_saving > 0) == (recommendation == FEDERATE),
        central_copy_tb=sum(_peak_copy_gb(result.plan, index) for index in range(len(result.plan.silos))) / GB_PER_TB,
    )


def _cost_lines(application: Application, planned: ApplicationPlan, result: _Evaluated, values: FactorSet):
    """One application's cost lines, each application as if alone (a dataset several centralized
    applications read is copied once in the company totals, and in each application's lines)."""
    return application_cost_lines(
        application.name, application.kind, planned.recommendation == FEDERATE, result.plan, result.profile,
        result.fl_central, result.cl_central, values, MONTHS_PER_YEAR / HORIZON_MONTHS,
    )


def _peak_copy_gb(plan: LifecyclePlan, silo_index: int) -> float:
    silo = plan.silos[silo_index]
    return max(silo.retained_gb) if silo.central_gb_months > 0 else 0.0


def _data_stages(plan: LifecyclePlan, silo_index: int, values: FactorSet) -> Amount:
    """Transfer and storage of one dataset's central copy, from the lifecycle model's stage functions."""
    one = replace(plan, silos=(plan.silos[silo_index],))
    return data_transfer_cl(one, values) + data_storage_cl(one, values)


def _company_totals(
    snapshot: InventorySnapshot,
    applications: tuple[ApplicationPlan, ...],
    evaluated: dict[str, _Evaluated],
    central_values: FactorSet,
    drawn_values: FactorSet,
) -> CompanyTotals:
    """Savings of the plan against a company that centralizes every application, each dataset copied
    once into one central lake (shared by the applications that read it), per year."""
    copy_central: dict[str, Amount] = {}
    copy_drawn: dict[str, Amount] = {}
    copy_peak_gb: dict[str, float] = {}
    for application in snapshot.applications:
        plan = evaluated[application.name].plan
        for index, dataset in enumerate(application.datasets):
            if dataset not in copy_central:
                copy_central[dataset] = _data_stages(plan, index, central_values)
                copy_drawn[dataset] = _data_stages(plan, index, drawn_values)
                copy_peak_gb[dataset] = _peak_copy_gb(plan, index)

    def without_copies(stages: StageAmounts, copies: dict[str, Amount], datasets) -> Amount:
        return _minus(stages.total(), total(copies[dataset] for dataset in datasets))

    centralized_datasets = {
        dataset for plan in applications if plan.recommendation == CENTRALIZE for dataset in plan.datasets
    }

    def saving(copies: dict[str, Amount], fl_of, cl_of) -> Amount:
        everything_central = total(
            without_copies(cl_of(app.application), copies, app.datasets) for app in applications
        ) + total(copies.values())
        planned = total(
            fl_of(app.application).total()
            if app.recommendation == FEDERATE
            else without_copies(cl_of(app.application), copies, app.datasets)
            for app in applications
        ) + total(copies[dataset] for dataset in centralized_datasets)
        return _minus(everything_central, planned)

    per_year = MONTHS_PER_YEAR / HORIZON_MONTHS
    central_saving = saving(copy_central, lambda n: evaluated[n].fl_central, lambda n: evaluated[n].cl_central)
    drawn_saving = saving(copy_drawn, lambda n: evaluated[n].fl_drawn, lambda n: evaluated[n].cl_drawn)
    avoided_gb = sum(gb for dataset, gb in copy_peak_gb.items() if dataset not in centralized_datasets)
    return CompanyTotals(
        central_copies_avoided_tb=avoided_gb / GB_PER_TB,
        datasets_copied=tuple(sorted(d for d in centralized_datasets if copy_peak_gb.get(d, 0.0) > 0)),
        co2_saved_kg_per_year=interval(
            float(central_saving.co2_kg) * per_year, np.asarray(drawn_saving.co2_kg) * per_year
        ),
        cost_saved_usd_per_year=interval(
            float(central_saving.cost_usd) * per_year, np.asarray(drawn_saving.cost_usd) * per_year
        ),
        federated_applications=sum(app.recommendation == FEDERATE for app in applications),
        centralized_applications=sum(app.recommendation == CENTRALIZE for app in applications),
        co2_saved_draws_kg_per_year=np.asarray(drawn_saving.co2_kg, dtype=float) * per_year,
        cost_saved_draws_usd_per_year=np.asarray(drawn_saving.cost_usd, dtype=float) * per_year,
    )


def _minus(first: Amount, second: Amount) -> Amount:
    return Amount(
        first.energy_kwh - second.energy_kwh, first.co2_kg - second.co2_kg, first.cost_usd - second.cost_usd
    )
