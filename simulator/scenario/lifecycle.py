"""The scenario's `[lifecycle]` section: how the product lives, where its data sits, how it is served.

Every key has a default, so a scenario without the section still validates (and `silocarbon run`
still prints a lifecycle table, built from these defaults, which the README lists).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StorageKind = Literal["hdd", "ssd", "object"]
SiteKind = Literal["hyperscale", "industry_average"]
InstanceKind = Literal["cpu", "gpu"]


class _LifecycleSection(BaseModel):
    # Unknown keys are refused, as everywhere in the scenario.
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SiteFields(_LifecycleSection):
    """What a site (a silo or the central site) needs for storage, facility and grid."""

    # hdd | ssd (block volumes) | object (object storage on HDD media).
    storage: StorageKind = "ssd"
    # Copies kept of every stored byte; default: the storage kind's factor (block 2, object 3).
    replication: float | None = Field(None, ge=1)
    # Picks the PUE factor (with its interval) unless `pue` states the site's own value.
    site_kind: SiteKind = "industry_average"
    pue: float | None = Field(None, ge=1.0)
    # Overrides the country's yearly grid intensity from CodeCarbon's table.
    intensity_g_per_kwh: float | None = Field(None, ge=0)
    # CSV with columns `timestamp` (UTC, ISO 8601) and `intensity_g_per_kwh`; its mean replaces the
    # yearly value (the model spreads a site's energy evenly over time).
    intensity_trace: str | None = Field(None, min_length=1)
    # Which instance price the site's compute hours are charged at.
    instance: InstanceKind = "cpu"


class LifecycleSiloConfig(_SiteFields):
    name: str = Field(min_length=1)
    data_gb: float = Field(100.0, ge=0)
    # Fraction added per month, compounded: volume(m) = data_gb x (1 + monthly_growth)^m.
    monthly_growth: float = Field(0.0, ge=0, le=10)
    # Default: derived from the dataset (float32 features plus an int64 label per sample).
    samples_per_gb: float | None = Field(None, gt=0)
    # The silo's data already sits at the central site (same country): CL ships and stores no second
    # copy of it, and its model updates and query results cross no network (the aggregator is there).
    at_central: bool = False


class LifecycleCentralConfig(_SiteFields):
    storage: StorageKind = "object"
    site_kind: SiteKind = "hyperscale"
    # Months the central copy keeps each byte (models train on the retained window); default: the
    # whole product lifetime.
    retention_months: int | None = Field(None, ge=1)


class LifecycleConfig(_LifecycleSection):
    lifetime_months: int = Field(36, ge=1, le=1200)
    # 0: the model is trained once and never retrained.
    retrain_every_months: int = Field(3, ge=0)
    # Extra full training runs per training (hyperparameter search) before the final run.
    tuning_trials: int = Field(4, ge=0)
    exploration_queries_per_month: float = Field(100.0, ge=0)
    exploration_gb_per_query: float = Field(1.0, ge=0)
    inference_requests_per_month: float = Field(1_000_000.0, ge=0)
    # central: the model is served at the central site; silos: each silo serves a share of the
    # requests equal to its share of the data.
    served_at: Literal["central", "silos"] = "central"
    # Egress price applied to every byte that crosses a site boundary.
    transfer_pricing: Literal["inter_region", "internet"] = "inter_region"
    # The network path between silos and the central site, which picks the per-GB energy factor:
    # core (between data centres: cross-silo) or access (through access networks, e.g. silos on
    # premises or devices: configs/factors.toml's network_access_kwh_per_gb).
    network: Literal["core", "access"] = "core"
    # The energy profile used without a measured ledger: a shipped profile's name (default, resnet18,
    # transformer: configs/energy_profile_<name>.toml) or a profile file's path. Default: default.
    profile: str | None = Field(None, min_length=1)
    # vCPUs of the FL aggregator, which waits (idle power) while the silos train.
    server_vcpus: int = Field(2, ge=1)
    # Monte Carlo draws over the factor intervals.
    draws: int = Field(10_000, ge=100, le=1_000_000)
    central: LifecycleCentralConfig = LifecycleCentralConfig()
    # Silos not listed here get the defaults of LifecycleSiloConfig (100 GB, no growth).
    silos: list[LifecycleSiloConfig] = Field(default_factory=list)
