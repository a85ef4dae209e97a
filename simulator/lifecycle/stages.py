"""The lifecycle stages, each a small pure function with its formula in its docstring.

Three site-level formulas (`network_transfer`, `storage`, `compute`) turn quantities into an `Amount`
(kWh, kg CO2e, USD); the six stages compose them for FL and for CL from a `LifecyclePlan`, an
`EnergyProfile` and factor values `f`. Everything is plain arithmetic, so `f` may hold floats (one
evaluation) or numpy arrays (one value per Monte Carlo draw).

Symbols: I = grid intensity (gCO2e/kWh) of a site, I_link = (I_silo + I_central) / 2 for bytes between
a silo and the central site (the network's energy is spent along the path; no PUE on it: per-GB
network factors already include their facilities), PUE = the site's, H = 730 hours per month,
o = wire_overhead_fraction, k_net = network_kwh_per_gb (or network_access_kwh_per_gb where the scenario's
[lifecycle] network = "access"). The FL aggregator runs at the central site.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulator.lifecycle.factors import FactorSet
from simulator.country_intensity import co2_kg
from simulator.lifecycle.quantities import LifecyclePlan, SiloPlan, SitePlan
from simulator.units import BYTES_PER_GB, GB_PER_TB, HOURS_PER_MONTH, JOULES_PER_KWH, SECONDS_PER_HOUR, WH_PER_KWH
from simulator.lifecycle.profile import EnergyProfile

# The priced CPU instance (m7g.large / t3.large in factors.toml) has 2 vCPUs.
VCPUS_PER_CPU_INSTANCE = 2

STAGES: tuple[str, ...] = (
    "data_transfer",
    "data_storage",
    "exploration",
    "training",
    "communication",
    "deployment",
)
STAGE_TITLES: dict[str, str] = {
    "data_transfer": "data transfer",
    "data_storage": "data storage",
    "exploration": "exploration and analytics",
    "training": "training (incl. tuning trials)",
    "communication": "communication of model updates",
    "deployment": "deployment: inference and retraining",
}


@dataclass(frozen=True)
class Amount:
    """kWh, kg CO2e and USD of one piece of work (floats, or arrays over draws)."""

    energy_kwh: Any
    co2_kg: Any
    cost_usd: Any

    def __add__(self, other: "Amount") -> "Amount":
        return Amount(self.energy_kwh + other.energy_kwh, self.co2_kg + other.co2_kg, self.cost_usd + other.cost_usd)


ZERO = Amount(0.0, 0.0, 0.0)


def total(amounts) -> Amount:
    result = ZERO
    for amount in amounts:
        result = result + amount
    return result


def largest(values):
    """max() of floats, or the element-wise maximum where the values are arrays (a swept plan)."""
    values = list(values)
    if all(isinstance(value, int | float) for value in values):
        return max(values)
    return functools.reduce(np.maximum, values)


# --- Site-level formulas --------------------------------------------------------------------------


def network_transfer(gb, kwh_per_gb, overhead_fraction, intensity_g_per_kwh, price_usd_per_gb) -> Amount:
    """Bytes moved between sites.

    wire GB = GB x (1 + o); kWh = wire GB x k_net; kg CO2e = kWh x I_link / 1000;
    USD = wire GB x egress price per GB.
    """
    wire_gb = gb * (1.0 + overhead_fraction)
    energy = wire_gb * kwh_per_gb
    return Amount(energy, co2_kg(energy, intensity_g_per_kwh), wire_gb * price_usd_per_gb)


def storage(gb_months, wh_per_tb_hour, replication, pue, intensity_g_per_kwh, price_usd_per_gb_month) -> Amount:
    """Bytes held over time.

    kWh = GB-months / 1000 x H x Wh per TB-hour / 1000 x replication x PUE; kg CO2e = kWh x I / 1000;
    USD = GB-months x price per GB-month (list prices already include the provider's replication).
    """
    energy = gb_months / GB_PER_TB * HOURS_PER_MONTH * wh_per_tb_hour / WH_PER_KWH * replication * pue
    return Amount(energy, co2_kg(energy, intensity_g_per_kwh), gb_months * price_usd_per_gb_month)


def compute(device_kwh, hours, pue, intensity_g_per_kwh, price_usd_per_hour) -> Amount:
    """Work on a machine.

    kWh = device kWh x PUE; kg CO2e = kWh x I / 1000; USD = instance hours x price per hour.
    """
    energy = device_kwh * pue
    return Amount(energy, co2_kg(energy, intensity_g_per_kwh), hours * price_usd_per_hour)


# --- Site factors ---------------------------------------------------------------------------------


def site_pue(site: SitePlan, f: FactorSet):
    """The site's stated PUE, else its site kind's factor."""
    if site.pue is not None:
        return site.pue
    return f.pue_hyperscale if site.site_kind == "hyperscale" else f.pue_industry_average


def site_replication(site: SitePlan, f: FactorSet):
    """The site's stated replication, else its storage kind's factor (object: 3, block: 2)."""
    if site.replication is not None:
        return site.replication
    return f.replication_object if site.storage == "object" else f.replication_block


def site_storage_wh_per_tb_hour(site: SitePlan, f: FactorSet):
    """SSD: the SSD coefficient; HDD and object storage (on HDD media): the HDD coefficient."""
    return f.storage_ssd_wh_per_tb_hour if site.storage == "ssd" else f.storage_hdd_wh_per_tb_hour


def site_storage_price(site: SitePlan, f: FactorSet):
    return {
        "object": f.price_storage_object_usd_per_gb_month,
        "ssd": f.price_storage_ssd_usd_per_gb_month,
        "hdd": f.price_storage_hdd_usd_per_gb_month,
    }[site.storage]


def site_instance_price(site: SitePlan, f: FactorSet):
    return f.price_gpu_instance_usd_per_hour if site.instance == "gpu" else f.price_cpu_instance_usd_per_hour


def egress_price(plan: LifecyclePlan, f: FactorSet):
    if plan.transfer_pricing == "internet":
        return f.price_egress_internet_usd_per_gb
    return f.price_egress_inter_region_usd_per_gb


def link_intensity(silo: SiloPlan, central: SitePlan) -> float:
    """I_link = (I_silo + I_central) / 2."""
    return (silo.site.intensity_g_per_kwh + central.intensity_g_per_kwh) / 2.0


def network_factor_name(plan: LifecyclePlan) -> str:
    """The per-GB network factor of the path between silos and the central site: core (between data
    centres, the cross-silo case) or access (through access networks, as in cross-device settings)."""
    return "network_access_kwh_per_gb" if plan.network == "access" else "network_kwh_per_gb"


def unused_factors(plan: LifecyclePlan) -> tuple[str, ...]:
    """Factors the plan's stages never read (the other network path's factor)."""
    return ("network_kwh_per_gb",) if plan.network == "access" else ("network_access_kwh_per_gb",)


def _silo_link(plan: LifecyclePlan, f: FactorSet, silo: SiloPlan, gb) -> Amount:
    """Bytes between a silo and the central site (where the aggregator runs); none cross a network
    for a silo at the central site."""
    if silo.at_central:
        return ZERO
    return network_transfer(
        gb, getattr(f, network_factor_name(plan)), f.wire_overhead_fraction, link_intensity(silo, plan.central),
        egress_price(plan, f),
    )


# --- Stage 1: data transfer ------------------------------------------------------------------------


def data_transfer_fl(plan: LifecyclePlan, f: FactorSet) -> Amount:
    """FL moves no training data: 0."""
    return ZERO


def data_transfer_cl(plan: LifecyclePlan, f: FactorSet) -> Amount:
    """CL copies every silo's data to the central site as it arrives, and its pipeline lands it there:
    sum over silos of network_transfer(GB = V_s(L-1), I_link(s)), V_s(L-1) = V0_s (1 + g_s)^(L-1),
    + ingest(sum over silos of V_s(L-1)) at the central site (see `ingest`)."""
    shipped = total(_silo_link(plan, f, silo, silo.shipped_gb) for silo in plan.silos)
    return shipped + ingest(sum(silo.shipped_gb for silo in plan.silos), plan.central, f)


def ingest(gb, site: SitePlan, f: FactorSet) -> Amount:
    """The central copy's data pipeline: one pass over every arriving GB (parse, check, write into
    the lake's format) at ingest_gb_per_vcpu_hour; like _scan: vCPU-hours = GB / ingest rate, device
    kWh = vCPU-hours x W_max / 1000, instance hours = vCPU-hours / 2, at the site's PUE, I and CPU price.
    FL has no such stage: preparing data where it lives is alike in both approaches."""
    return _cpu_pass(gb, f.ingest_gb_per_vcpu_hour, site, f)


# --- Stage 2: data storage ------------------------------------------------------------------------


def data_storage_fl(plan: LifecyclePlan, f: FactorSet) -> Amount:
    """FL keeps no copy beyond the silos' own data (held in both approaches, see
    `silo_primary_storage`): 0."""
    return ZERO


def data_storage_cl(plan: LifecyclePlan, f: FactorSet) -> Amount:
    """The central copy: sum over silos of storage(GB-months = sum_m R_s(m), central storage kind's
    Wh/TB-h, central replication, central PUE, I_central, central price per GB-month)."""
    c = plan.central
    gb_months = sum(silo.central_gb_months for silo in plan.silos)
    return storage(
        gb_months,
        site_storage_wh_per_tb_hour(c, f),
        site_replication(c, f),
        site_pue(c, f),
        c.intensity_g_per_kwh,
        site_storage_price(c, f),
    )


def silo_primary_storage(plan: LifecyclePlan, f: FactorSet) -> Amount:
    """Not a stage of the comparison: the silos' own data, held alike in FL and CL:
    sum over silos of storage(GB-months = sum_m V_s(m), the silo's kind, replication, PUE, I, price)."""
    return total(
        storage(
            silo.silo_gb_months,
            site_storage_wh_per_tb_hour(silo.site, f),
            site_replication(silo.site, f),
            site_pue(silo.site, f),
            silo.site.intensity_g_per_kwh,
            site_storage_price(silo.site, f),
        )
        for silo in plan.silos
    )


# --- Stage 3: exploration and analytics ---------------------------------------------------------------


def _scan(gb, site: SitePlan, f: FactorSet) -> Amount:
    """vCPU-hours = GB / scan rate; device kWh = vCPU-hours x W_max / 1000; instance hours =
    vCPU-hours / 2 (a 2-vCPU CPU instance); then compute(..., the site's PUE and I, CPU price)."""
    return _cpu_pass(gb, f.scan_gb_per_vcpu_hour, site, f)


def _cpu_pass(gb, gb_per_vcpu_hour, site: SitePlan, f: FactorSet) -> Amount:
    """One CPU pass over `gb` at `gb_per_vcpu_hour` (the formula of _scan)."""
    vcpu_hours = gb / gb_per_vcpu_hour
    device_kwh = vcpu_hours * f.server_watts_per_vcpu_max / WH_PER_KWH
    return compute(
        device_kwh,
        vcpu_hours / VCPUS_PER_CPU_INSTANCE,
        site_pue(site, f),
        site.intensity_g_per_kwh,
        f.price_cpu_instance_usd_per_hour,
    )


def scanned_gb(plan: LifecyclePlan) -> float:
    """GB scanned over the life = queries per month x GB per query x L."""
    return plan.exploration_queries_per_month * plan.exploration_gb_per_query * plan.lifetime_months


def exploration_cl(plan: LifecyclePlan, f: FactorSet) -> Amount:
    """Queries scan the central copy: _scan(GB scanned over the life, central site)."""
    return _scan(scanned_gb(plan), plan.central, f)


def exploration_fl(plan: LifecyclePlan, f: FactorSet) -> Amount:
    """Federated analytics: each silo scans its share of every query where its data lives, and sends
    a small result: sum over silos of _scan(GB scanned x share_s, silo s) + network_transfer(GB =
    queries per month x L x result bytes / 1e9, I_link(s))."""
    results_gb = plan.exploration_queries_per_month * plan.lifetime_months * f.analytics_result_bytes / BYTES_PER_GB
    scanned = scanned_gb(plan)
    return total(
        _scan(scanned * silo.data_share, silo.site, f) + _silo_link(plan, f, silo, results_gb) for silo in plan.silos
    )


# --- Stage 4: training (one training with its tuning trials) ------------------------------------------


def fl_training_run(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet, month: int) -> Amount:
    """One FL training at `month`, times (1 + tuning trials) runs.

    Per silo s: u_s = R_s(month) x samples/GB x rounds x local epochs sample updates;
    compute(u_s x kWh per FL sample update, u_s x FL s per sample update / 3600 h, PUE_s, I_s, price_s).
    Server (central site): T = max_s u_s x FL s per sample update (silos train in parallel);
    device kWh = server kWh per silo-round x rounds x silos + vCPUs x W_idle x T / 3.6e6;
    compute(device kWh, T / 3600 h, PUE_c, I_c, CPU price).
    """
    return fl_training_runs(plan, profile, f, [(month, None)])


def fl_training_runs(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet, trainings) -> Amount:
    """The sum of fl_training_run(month) x weight over (month, weight) pairs (weight None: 1).

    Every term is linear in the sample updates, so the sum is taken over the updates first: per silo
    U_s = sum_m w_m u_s(m), and T = sum_m w_m max_s u_s(m) x FL s per sample update for the server;
    then the formulas of fl_training_run with u_s -> U_s and the server's per-round energy x the
    number of trainings (one pass per silo instead of one per silo and month)."""
    per_month = _updates_per_month(plan, trainings)
    if not per_month:
        return ZERO
    runs = plan.runs_per_training
    updates = [
        _weighted_sum((month_updates[index], weight) for month_updates, weight in per_month)
        for index in range(len(plan.silos))
    ]
    silos = total(
        compute(
            u * runs * profile.fl_kwh_per_sample_update,
            u * runs * profile.fl_wall_s_per_sample_update / SECONDS_PER_HOUR,
            site_pue(silo.site, f),
            silo.site.intensity_g_per_kwh,
            site_instance_price(silo.site, f),
        )
        for silo, u in zip(plan.silos, updates)
    )
    return silos + _fl_server(plan, profile, f, per_month)


def fl_aggregator(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet, trainings) -> Amount:
    """The FL server's part of fl_training_runs (for cost breakdowns): it aggregates every round and
    waits, as a billed instance, while the slowest silo trains."""
    per_month = _updates_per_month(plan, trainings)
    return _fl_server(plan, profile, f, per_month) if per_month else ZERO


def _updates_per_month(plan: LifecyclePlan, trainings) -> list:
    """[(sample updates of every silo at the month, weight)] for (month, weight) pairs."""
    return [
        ([silo.sample_updates(month, plan.rounds, plan.local_epochs) for silo in plan.silos], weight)
        for month, weight in trainings
    ]


def _fl_server(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet, per_month) -> Amount:
    runs = plan.runs_per_training
    wait_s = _weighted_sum((largest(month_updates), weight) for month_updates, weight in per_month) * (
        profile.fl_wall_s_per_sample_update
    )
    count = _weighted_sum((1.0, weight) for _, weight in per_month)
    server_kwh = (
        profile.server_kwh_per_silo_round * plan.rounds * len(plan.silos) * count
        + plan.server_vcpus * f.server_watts_per_vcpu_idle * wait_s / JOULES_PER_KWH
    )
    return compute(
        server_kwh * runs,
        wait_s * runs / SECONDS_PER_HOUR,
        site_pue(plan.central, f),
        plan.central.intensity_g_per_kwh,
        f.price_cpu_instance_usd_per_hour,
    )


def _weighted_sum(pairs):
    """sum of value x weight over (value, weight) pairs; weight None counts once, unmultiplied."""
    result = 0.0
    for value, weight in pairs:
        result = result + (value if weight is None else value * weight)
    return result


def cl_training_run(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet, month: int) -> Amount:
    """One CL training at `month`, times (1 + tuning trials) runs, on the pooled window:
    u = sum_s u_s (the same sample updates as FL); compute(u x kWh per CL sample update,
    u x CL s per sample update / 3600 h, PUE_c, I_c, central price)."""
    return cl_training_runs(plan, profile, f, [(month, None)])


def cl_training_runs(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet, trainings) -> Amount:
    """The sum of cl_training_run(month) x weight over (month, weight) pairs (weight None: 1), taken
    over the sample updates first (the formula is linear in them)."""
    trainings = list(trainings)
    if not trainings:
        return ZERO
    updates = _weighted_sum(
        (sum(silo.sample_updates(month, plan.rounds, plan.local_epochs) for silo in plan.silos), weight)
        for month, weight in trainings
    )
    runs = plan.runs_per_training
    return compute(
        updates * runs * profile.cl_kwh_per_sample_update,
        updates * runs * profile.cl_wall_s_per_sample_update / SECONDS_PER_HOUR,
        site_pue(plan.central, f),
        plan.central.intensity_g_per_kwh,
        site_instance_price(plan.central, f),
    )


def training_fl(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> Amount:
    """The first training (month 0) with its tuning trials: fl_training_run(month 0)."""
    return fl_training_run(plan, profile, f, plan.training_months[0])


def training_cl(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> Amount:
    """The first training (month 0) with its tuning trials: cl_training_run(month 0)."""
    return cl_training_run(plan, profile, f, plan.training_months[0])


# --- Stage 5: communication of model updates -----------------------------------------------------------


def trainings_over_life(plan: LifecyclePlan):
    """Training runs over the life = number of training months x (1 + tuning trials)."""
    if plan.training_weights is not None:  # a plan swept over lifetimes: the trainings within each
        return sum(plan.training_weights) * plan.runs_per_training
    return len(plan.training_months) * plan.runs_per_training


def retrainings(plan: LifecyclePlan):
    """(month, weight) of every training but the first; weight None unless the plan is swept over
    lifetimes (then 1 where the month falls within a point's lifetime, else 0)."""
    weights = plan.training_weights or (None,) * len(plan.training_months)
    return list(zip(plan.training_months[1:], weights[1:]))


def communication_fl(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> Amount:
    """Model updates: sum over silos of network_transfer(GB = payload bytes per silo-round x rounds x
    training runs over the life / 1e9, I_link(s))."""
    gb = profile.bytes_per_silo_round * plan.rounds * trainings_over_life(plan) / BYTES_PER_GB
    return total(_silo_link(plan, f, silo, gb) for silo in plan.silos)


def communication_cl(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> Amount:
    """CL exchanges no model updates: 0."""
    return ZERO


# --- Stage 6: deployment, inference and retraining ---------------------------------------------------


def inference(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> Amount:
    """Serving, alike for FL and CL (the same model, served at the same place).

    N = requests per month x L; per request: device kWh = ratio x mean(kWh per FL and CL sample
    update), hours = ratio x mean(s per sample update) / 3600. Served at central: compute(N x ..., PUE_c,
    I_c, central price); served at silos: each silo s serves N x share_s at its own PUE, I and price.
    """
    requests = plan.inference_requests_per_month * plan.lifetime_months
    kwh_each = f.inference_to_training_energy_ratio * (
        profile.fl_kwh_per_sample_update + profile.cl_kwh_per_sample_update
    ) / 2.0
    hours_each = f.inference_to_training_energy_ratio * (
        profile.fl_wall_s_per_sample_update + profile.cl_wall_s_per_sample_update
    ) / 2.0 / SECONDS_PER_HOUR
    if plan.served_at == "central":
        sites = [(plan.central, 1.0)]
    else:
        sites = [(silo.site, silo.data_share) for silo in plan.silos]
    return total(
        compute(
            requests * share * kwh_each,
            requests * share * hours_each,
            site_pue(site, f),
            site.intensity_g_per_kwh,
            site_instance_price(site, f),
        )
        for site, share in sites
    )


def deployment_fl(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> Amount:
    """inference + sum of fl_training_run(month) over the retraining months (all but month 0)."""
    retraining = fl_training_runs(plan, profile, f, retrainings(plan))
    return inference(plan, profile, f) + retraining


def deployment_cl(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> Amount:
    """inference + sum of cl_training_run(month) over the retraining months (all but month 0)."""
    retraining = cl_training_runs(plan, profile, f, retrainings(plan))
    return inference(plan, profile, f) + retraining


@dataclass(frozen=True)
class StageAmounts:
    """One approach's six stages (floats, or arrays over draws)."""

    data_transfer: Amount
    data_storage: Amount
    exploration: Amount
    training: Amount
    communication: Amount
    deployment: Amount

    def total(self) -> Amount:
        return total(getattr(self, stage) for stage in STAGES)


def fl_stages(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> StageAmounts:
    return StageAmounts(
        data_transfer=data_transfer_fl(plan, f),
        data_storage=data_storage_fl(plan, f),
        exploration=exploration_fl(plan, f),
        training=training_fl(plan, profile, f),
        communication=communication_fl(plan, profile, f),
        deployment=deployment_fl(plan, profile, f),
    )


def cl_stages(plan: LifecyclePlan, profile: EnergyProfile, f: FactorSet) -> StageAmounts:
    return StageAmounts(
        data_transfer=data_transfer_cl(plan, f),
        data_storage=data_storage_cl(plan, f),
        exploration=exploration_cl(plan, f),
        training=training_cl(plan, profile, f),
        communication=communication_cl(plan, profile, f),
        deployment=deployment_cl(plan, profile, f),
    )
