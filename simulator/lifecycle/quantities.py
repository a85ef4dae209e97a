"""Scenario -> `LifecyclePlan`: every quantity the stages need that does not depend on a factor
(volumes per month, GB shipped, GB-months held, sample updates per training, site intensities).

Factors (PUE by site kind, replication by storage kind, prices, ...) stay unresolved here, so one
plan is evaluated at the central values, at the bounds, or on 10,000 draws at once. A plan's volumes
and lifetime may themselves be arrays (`with_volume_scales`, `over_lifetimes`): the break-even sweep
evaluates all its points in one pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from simulator.lifecycle.site_intensity import site_intensity
from simulator.lifecycle.schedule import (
    arrived_gb,
    gb_months,
    monthly_volumes_gb,
    retained_volumes_gb,
    training_months,
)
from simulator.errors import InputError
from simulator.units import BYTES_PER_GB
from simulator.scenario.lifecycle import InstanceKind, LifecycleSiloConfig, SiteKind, StorageKind
from simulator.scenario.schema import Scenario


# A sample is stored as float32 features plus an int64 label when samples_per_gb is derived.
FEATURE_BYTES = 4
LABEL_BYTES = 8


@dataclass(frozen=True)
class SitePlan:
    name: str
    country: str
    intensity_g_per_kwh: float
    intensity_source: str
    storage: StorageKind
    replication: float | None  # None: the storage kind's replication factor
    site_kind: SiteKind
    pue: float | None  # None: the site kind's PUE factor
    instance: InstanceKind


@dataclass(frozen=True)
class SiloPlan:
    site: SitePlan
    samples_per_gb: float
    samples_per_gb_source: str
    volumes_gb: tuple[float, ...]  # V(m), m = 0 .. lifetime-1
    retained_gb: tuple[float, ...]  # the central window R(m), also the training window
    shipped_gb: float  # copied to the central site over the life (CL)
    central_gb_months: float  # held in the central copy over the life (CL)
    silo_gb_months: float  # held at the silo itself over the life (both approaches)
    data_share: float  # share of the federation's initial data (splits queries and requests)
    # The silo's data sits at the central site: nothing shipped or copied, no link to the aggregator.
    at_central: bool = False

    def sample_updates(self, month: int, rounds: int, local_epochs: int) -> float:
        """Sample updates of one training run at `month`: R(month) x samples/GB x rounds x local epochs."""
        return self.retained_gb[month] * self.samples_per_gb * rounds * local_epochs


@dataclass(frozen=True)
class LifecyclePlan:
    lifetime_months: int
    training_months: tuple[int, ...]
    runs_per_training: int  # 1 + tuning trials
    rounds: int
    local_epochs: int
    exploration_queries_per_month: float
    exploration_gb_per_query: float
    inference_requests_per_month: float
    served_at: str
    transfer_pricing: str
    server_vcpus: int
    central: SitePlan
    silos: tuple[SiloPlan, ...]
    # core | access: which per-GB network factor prices the bytes between silos and the central site.
    network: str = "core"
    # Only for a plan swept over lifetimes (`over_lifetimes`): per training month, 1 where it falls
    # within each point's lifetime, else 0 (arrays over the points); None: every training counts.
    training_weights: tuple[Any, ...] | None = None


def build_plan(
    scenario: Scenario,
    volume_scale: float = 1.0,
    lifetime_months: int | None = None,
    *,
    dataset_features: int | None = None,
) -> LifecyclePlan:
    """Resolve the scenario's [lifecycle] section; `volume_scale` multiplies every silo's data and
    `lifetime_months` replaces the lifetime (both for the break-even sweep).

    `dataset_features`: the dataset's feature count, from which a silo without `samples_per_gb`
    gets its samples per GB; this model never reads the dataset itself
    (`simulator.data.dataset_features_for_lifecycle` does, only where a silo needs it)."""
    config = scenario.lifecycle
    lifetime = lifetime_months if lifetime_months is not None else config.lifetime_months
    listed = {silo.name: silo for silo in config.silos}
    central_config = config.central
    central = SitePlan(
        name="central",
        country=scenario.central.country,
        **_intensity_fields(
            "central", scenario.central.country, central_config, "lifecycle.central", scenario.central.region, "central.region"
        ),
        storage=central_config.storage,
        replication=central_config.replication,
        site_kind=central_config.site_kind,
        pue=_central_pue(scenario),
        instance=central_config.instance,
    )
    silos = []
    initial_total = 0.0
    for index, silo in enumerate(scenario.silos):
        entry = listed.get(silo.name) or LifecycleSiloConfig(name=silo.name)
        key = f"lifecycle.silos.{silo.name}"
        if entry.samples_per_gb is not None:
            samples_per_gb, samples_source = entry.samples_per_gb, f"scenario ({key}.samples_per_gb)"
        else:
            if dataset_features is None:
                raise InputError(
                    f"key '{key}.samples_per_gb': not given, and no feature count of dataset "
                    f"'{scenario.data.dataset}' was passed to derive it"
                )
            samples_per_gb, samples_source = samples_per_gb_from_features(dataset_features, scenario.data.dataset)
        if entry.at_central and (silo.country, silo.region) != (scenario.central.country, scenario.central.region):
            raise InputError(
                f"key '{key}.at_central': silo '{silo.name}' is in {silo.country}{f' ({silo.region})' if silo.region else ''} "
                f"but the central site is in {scenario.central.country}"
                f"{f' ({scenario.central.region})' if scenario.central.region else ''}; a silo at the central site shares its grid"
            )
        volumes = monthly_volumes_gb(entry.data_gb * volume_scale, entry.monthly_growth, lifetime)
        retained = retained_volumes_gb(volumes, central_config.retention_months)
        initial_total += volumes[0]
        silos.append(
            SiloPlan(
                site=SitePlan(
                    name=silo.name,
                    country=silo.country,
                    **_intensity_fields(silo.name, silo.country, entry, key, silo.region, f"silos.{index}.region"),
                    storage=entry.storage,
                    replication=entry.replication,
                    site_kind=entry.site_kind,
                    pue=entry.pue,
                    instance=entry.instance,
                ),
                samples_per_gb=samples_per_gb,
                samples_per_gb_source=samples_source,
                volumes_gb=volumes,
                retained_gb=retained,
                shipped_gb=0.0 if entry.at_central else arrived_gb(volumes),
                central_gb_months=0.0 if entry.at_central else gb_months(retained),
                silo_gb_months=gb_months(volumes),
                data_share=0.0,
                at_central=entry.at_central,
            )
        )
    count = len(silos)
    silos = [
        _with_share(silo, silo.volumes_gb[0] / initial_total if initial_total > 0 else 1.0 / count) for silo in silos
    ]
    return LifecyclePlan(
        lifetime_months=lifetime,
        training_months=training_months(lifetime, config.retrain_every_months),
        runs_per_training=1 + config.tuning_trials,
        rounds=scenario.training.rounds,
        local_epochs=scenario.training.local_epochs,
        exploration_queries_per_month=config.exploration_queries_per_month,
        exploration_gb_per_query=config.exploration_gb_per_query,
        inference_requests_per_month=config.inference_requests_per_month,
        served_at=config.served_at,
        transfer_pricing=config.transfer_pricing,
        server_vcpus=config.server_vcpus,
        central=central,
        silos=tuple(silos),
        network=config.network,
    )


def with_volume_scales(plan: LifecyclePlan, scales: np.ndarray) -> LifecyclePlan:
    """The plan with every silo's data x `scales` (an array: one point per scale), growth and all else
    kept. Every volume of the plan is proportional to the initial data, so scaling the built plan is
    `build_plan(scenario, volume_scale=s)` for every s at once (up to the rounding of one product)."""
    scaled = tuple(
        replace(
            silo,
            volumes_gb=tuple(volume * scales for volume in silo.volumes_gb),
            retained_gb=tuple(volume * scales for volume in silo.retained_gb),
            shipped_gb=silo.shipped_gb * scales,
            central_gb_months=silo.central_gb_months * scales,
            silo_gb_months=silo.silo_gb_months * scales,
        )
        for silo in plan.silos
    )
    return replace(plan, silos=scaled)


def over_lifetimes(scenario: Scenario, lifetimes: Sequence[int], dataset_features: int | None = None) -> LifecyclePlan:
    """One plan for many lifetimes at once (the break-even sweep): built for the longest, with the
    lifetime, the volumes that depend on it (shipped GB, GB-months) and the trainings that fall within
    it as arrays over `lifetimes`. Evaluating it equals `build_plan(scenario, lifetime_months=L)` for
    every L: a month's volumes and training do not depend on the lifetime, only which months count."""
    plan = build_plan(scenario, lifetime_months=max(lifetimes), dataset_features=dataset_features)
    months = np.asarray(lifetimes, dtype=float)
    silos = tuple(
        replace(
            silo,
            shipped_gb=np.array([arrived_gb(silo.volumes_gb[:count]) for count in lifetimes]),
            central_gb_months=np.array([gb_months(silo.retained_gb[:count]) for count in lifetimes]),
            silo_gb_months=np.array([gb_months(silo.volumes_gb[:count]) for count in lifetimes]),
        )
        for silo in plan.silos
    )
    weights = tuple(np.where(month < months, 1.0, 0.0) for month in plan.training_months)
    return replace(plan, lifetime_months=months, silos=silos, training_weights=weights)


def samples_per_gb_from_features(features: int, dataset: str) -> tuple[float, str]:
    """1e9 / (features x 4 B + 8 B): the dataset's samples stored as float32 features + int64 label."""
    sample_bytes = features * FEATURE_BYTES + LABEL_BYTES
    return BYTES_PER_GB / sample_bytes, f"derived from {dataset}: {features} float32 features + int64 label = {sample_bytes} B per sample"


def _central_pue(scenario: Scenario) -> float | None:
    """[lifecycle.central].pue, else [central].pue when the scenario states it, else the site kind's factor."""
    if scenario.lifecycle.central.pue is not None:
        return scenario.lifecycle.central.pue
    if "pue" in scenario.central.model_fields_set:
        return scenario.central.pue
    return None


def _intensity_fields(site: str, country: str, entry, key: str, region: str | None, region_key: str) -> dict:
    resolved = site_intensity(
        site, country, entry.intensity_g_per_kwh, entry.intensity_trace, key, region=region, region_key=region_key
    )
    return {"intensity_g_per_kwh": resolved.intensity_g_per_kwh, "intensity_source": resolved.source}


def _with_share(silo: SiloPlan, share: float) -> SiloPlan:
    return replace(silo, data_share=share)
