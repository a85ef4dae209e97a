"""The scenario schema: typed, frozen sections; every value checked where it is declared.

A scenario is a TOML file (see configs/default.toml), read by `simulator.scenario.load`. Unknown keys
are refused, and every refusal names the key and the allowed values (`simulator.scenario.messages`).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from simulator.country_intensity import known_country_codes
from simulator.errors import InputError
from simulator.names import NAME_PATTERN, NAME_RULE, is_valid_name
from simulator.scenario.hardware import (
    CPU_POWER_SOURCE,
    GPU_MAX_POWER_W,
    GPU_POWER_SOURCE,
    HardwareProfile,
    cpu_power_from_vcpus,
    gpu_power_w,
)
from simulator.scenario.lifecycle import LifecycleConfig
from simulator.scenario.query_spec import DEFAULT_MIN_GROUP_SIZE, MIN_GROUP_SIZE_FLOOR, parse_spec

# scikit-learn generates float64: 2e8 values are 1.6 GB before the float32 copy.
MAX_SYNTHETIC_VALUES = 200_000_000
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit integer
# Seeds in one `seeds = [...]` list (or `run --seeds/--repeats`): a typo guard, since 1000 runs of even
# the tiny scenario take hours.
MAX_SEEDS = 1000
MAX_ROUND_TIMEOUT_S = 7 * 24 * 3600.0  # a week; thread waits overflow the platform's clock far beyond
OFFLINE_DATASETS = ("digits", "breast_cancer", "wine", "synthetic")
# Silos in one scenario. The inline and ray runners hold every silo in one process (a thread and a
# data split each): a 10,000-silo run reached 7.8 GB without finishing a round, while one round of
# 1,000 silos (logreg, 40,000 synthetic samples, inline) peaked at 0.78 GB RSS and 58 CPU s on a
# shared 2-core VM. Cross-silo federations have tens of organisations; 1,000 leaves room for studies.
MAX_SILOS = 1000
ONLINE_DATASET_PREFIXES = ("torchvision:", "hf:")


def check_country(value: str) -> str:
    code = value.upper()
    if code not in known_country_codes():
        raise ValueError(
            f"unknown country code '{value}'; use an ISO 3166 alpha-3 code that CodeCarbon's "
            "bundled energy mix knows (e.g. FRA, DEU, USA, GBR, IND)"
        )
    return code


def check_device(value: str) -> str:
    if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise ValueError(f"unknown device '{value}'; allowed: auto | cpu | cuda | cuda:N")


def check_name(value: str) -> str:
    if not is_valid_name(value):
        raise ValueError(f"must match {NAME_PATTERN} ({NAME_RULE})")
    return value


# Each checked where it is declared, once: every field of these types refuses an unknown value in the
# same words (the scenario's silos, central site, host, devices; the planner's sites).
CountryCode = Annotated[str, AfterValidator(check_country)]
DeviceName = Annotated[str, AfterValidator(check_device)]
# A scenario's or silo's name: data, never a path or markup (simulator/names.py).
Name = Annotated[str, AfterValidator(check_name)]


class _Section(BaseModel):
    # Unknown keys are refused: a typo must not silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # nan/inf: no meaning here, and JSON cannot hold them


class DataConfig(_Section):
    dataset: str = "digits"
    partition: Literal["iid", "dirichlet", "shares"] = "shares"
    alpha: float = Field(0.5, gt=0)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    # Only for dataset = "synthetic": a seeded classification problem of any size.
    synthetic_samples: int = Field(2000, ge=10)
    synthetic_features: int = Field(20, ge=2)
    synthetic_classes: int = Field(2, ge=2)
    # Where online loaders (torchvision:, hf:) keep their downloads.
    cache_dir: str = "~/.cache/silocarbon"

    @model_validator(mode="after")
    def _synthetic_fits_in_memory(self) -> "DataConfig":
        values = self.synthetic_samples * self.synthetic_features
        if self.dataset == "synthetic" and values > MAX_SYNTHETIC_VALUES:
            raise ValueError(
                f"data.synthetic_samples x data.synthetic_features = {values} values; at most "
                f"{MAX_SYNTHETIC_VALUES} (about {MAX_SYNTHETIC_VALUES * 8 / 1e9:.1f} GB while generated)"
            )
        return self

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value in OFFLINE_DATASETS:
            return value
        # An online dataset needs a name after its prefix (the loaders fail obscurely without one).
        if any(value.startswith(prefix) and value[len(prefix):].strip("/ ") for prefix in ONLINE_DATASET_PREFIXES):
            return value
        allowed = " | ".join(OFFLINE_DATASETS) + " | torchvision:<name> | hf:<name>"
        raise ValueError(f"unknown dataset '{value}'; allowed: {allowed}")


# The input shape of one sample for models built for a fixed input; synthetic data takes this shape
# (`load_dataset(..., input_shape=...)`). resnet18: a CIFAR-10-sized colour image (channels, height,
# width); transformer: 64 tokens of 16 values each, flattened.
MODEL_INPUT_SHAPES: dict[str, tuple[int, ...]] = {"resnet18": (3, 32, 32), "transformer": (64 * 16,)}


class ModelConfig(_Section):
    name: Literal["logreg", "mlp", "cnn", "resnet18", "transformer"] = "mlp"
    hidden_units: int = Field(64, ge=1)

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The model's own input shape (None: the model adapts to whatever the dataset holds)."""
        return MODEL_INPUT_SHAPES.get(self.name)


class TrainingConfig(_Section):
    rounds: int = Field(10, ge=1)
    local_epochs: int = Field(1, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(0.05, gt=0)
    momentum: float = Field(0.0, ge=0, lt=1)
    device: DeviceName = "auto"
    # Seconds the server waits for a round's replies before going on without the missing ones.
    round_timeout_s: float = Field(600.0, gt=0, le=MAX_ROUND_TIMEOUT_S)
    # Torch threads per process: the small models here run fastest on one, silos sharing a host do
    # not fight over cores, and the inline runner computes as Ray's one-CPU silo actors do.
    threads: int = Field(1, ge=1, le=256)
    # Equal-accuracy comparison: FL goes on past `rounds` (and CL past its equal epochs) until its
    # test accuracy reaches this fraction, for at most `max_rounds` rounds (CL: the same sample
    # updates); the equal-budget figures stay those at `rounds`. None: no target.
    target_accuracy: float | None = Field(None, gt=0, le=1)
    max_rounds: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _target_rounds(self) -> "TrainingConfig":
        if self.max_rounds is not None:
            if self.target_accuracy is None:
                raise ValueError("key 'training.max_rounds' needs 'training.target_accuracy' (the rounds run to reach it)")
            if self.max_rounds < self.rounds:
                raise ValueError(
                    f"key 'training.max_rounds': {self.max_rounds} is fewer than training.rounds = {self.rounds} "
                    "(the equal-budget rounds are always run)"
                )
        return self

    @property
    def last_round(self) -> int:
        """The most rounds a run may take: `max_rounds` with a target (default: `rounds`), else `rounds`."""
        return self.max_rounds if self.target_accuracy is not None and self.max_rounds is not None else self.rounds


class StrategyConfig(BaseModel):
    """`name` picks a registered strategy; its own parameters sit beside the name."""

    # Extra keys are the strategy's parameters; the strategy registry checks them by name.
    model_config = ConfigDict(extra="allow", frozen=True)
    name: str = "fedavg"

    def parameters(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class SiloHardwareConfig(_Section):
    """The hardware a silo stands for; its energy is modelled from it (see simulator.probes.silo_hardware)."""

    cpu_power_w: float | None = Field(None, gt=0)  # W drawn by the silo's CPU while it trains
    cpu_vcpus: int | None = Field(None, ge=1)  # or: vCPUs x 3.5 W (Cloud Carbon Footprint, AWS max)
    gpu_model: str | None = None  # T4 | V100 | A100 | A10G give a default power; others need gpu_power_w
    gpu_power_w: float | None = Field(None, gt=0)
    ram_power_w: float | None = Field(None, gt=0)
    relative_speed: float = Field(1.0, gt=0)  # how much faster than this host the silo does the same work

    @model_validator(mode="after")
    def _complete(self) -> "SiloHardwareConfig":
        if self.cpu_power_w is None and self.cpu_vcpus is None:
            raise ValueError("hardware needs cpu_power_w (W) or cpu_vcpus")
        if self.gpu_model is not None and self.gpu_power_w is None and self.gpu_model.upper() not in GPU_MAX_POWER_W:
            known = " | ".join(GPU_MAX_POWER_W)
            raise ValueError(f"unknown gpu_model '{self.gpu_model}' without gpu_power_w; known: {known}")
        if self.gpu_power_w is not None and self.gpu_model is None:
            raise ValueError("gpu_power_w needs gpu_model")
        return self

    def profile(self) -> HardwareProfile:
        sources = ["CPU power from the scenario" if self.cpu_power_w is not None else CPU_POWER_SOURCE]
        gpu_w = self.gpu_power_w
        if self.gpu_model is not None and gpu_w is None:
            gpu_w = gpu_power_w(self.gpu_model)
            sources.append(f"{self.gpu_model.upper()} {gpu_w:g} W: {GPU_POWER_SOURCE}")
        return HardwareProfile(
            cpu_power_w=self.cpu_power_w if self.cpu_power_w is not None else cpu_power_from_vcpus(self.cpu_vcpus or 0),
            gpu_model=self.gpu_model,
            gpu_power_w=gpu_w,
            ram_power_w=self.ram_power_w,
            relative_speed=self.relative_speed,
            sources="; ".join(sources),
        )


class SiloConfig(_Section):
    name: Name
    country: CountryCode
    region: str | None = None
    share: float | None = Field(None, gt=0)
    device: DeviceName | None = None
    # The hardware this silo stands for, where the host lacks it: its energy is then modelled.
    hardware: SiloHardwareConfig | None = None


class CentralConfig(_Section):
    country: CountryCode = "USA"
    region: str | None = None
    pue: float = Field(1.1, ge=1.0)


class ProbesConfig(_Section):
    # Country of the machine that runs the simulation: CodeCarbon needs one offline. No row's CO2 uses
    # it: a silo's rows are charged to the silo's country, the server's to the central site's.
    host_country: CountryCode = "USA"
    # false: no energy tracker is started at all (time, CPU and bytes are still recorded).
    energy: bool = True
    # The host's idle power before the run: auto = measure where CPU energy is measured (RAPL),
    # else CodeCarbon's model at zero load; measure | model force one; off skips it.
    idle_baseline: Literal["auto", "measure", "model", "off"] = "auto"
    idle_seconds: float = Field(2.0, gt=0, le=60)


class QueryConfig(_Section):
    """One federated-analytics query (`silocarbon query`); spec syntax in simulator/scenario/query_spec.py."""

    spec: str

    @field_validator("spec")
    @classmethod
    def _valid_spec(cls, value: str) -> str:
        try:
            return parse_spec(value).text
        except InputError as error:
            raise ValueError(str(error)) from None


class AnalyticsConfig(_Section):
    """Disclosure control of federated analytics (simulator/analytics/disclosure.py)."""

    # Groups and histogram cells with fewer rows than this in a silo never leave it (at least 2: 1
    # would release single rows).
    min_group_size: int = Field(DEFAULT_MIN_GROUP_SIZE, ge=MIN_GROUP_SIZE_FLOOR)


class DeploymentConfig(_Section):
    """The `deployment` runner: Flower's SuperLink and one SuperNode per silo, real processes."""

    # host:port of a SuperLink that is already running (silos on other machines); empty: start a
    # SuperLink and every silo's SuperNode on this machine's loopback.
    superlink: str = ""
    # TLS between SuperNodes, the flwr CLI and the SuperLink (off only for a quick local trial).
    tls: bool = True
    # SuperNodes prove their identity with a registered key pair (needs tls).
    authenticate_supernodes: bool = True
    # Folder written by `silocarbon deploy certs`; empty: fresh certificates and keys for this run.
    certs_dir: str = ""
    # Seconds the SuperLink and SuperNodes may take to come up before the run is abandoned.
    startup_timeout_s: float = Field(120.0, gt=0)
    # Each silo evaluates round r's model in the same message as round r+1's training (and the last
    # round's alone): one exchange per round instead of two, so one 3-s SuperNode idle wait of
    # Flower 1.42's instead of two. Same messages, same order, same model; false: two exchanges.
    one_exchange_per_round: bool = True

    @model_validator(mode="after")
    def _auth_needs_tls(self) -> "DeploymentConfig":
        if self.authenticate_supernodes and not self.tls:
            raise ValueError("authenticate_supernodes = true needs tls = true (Flower refuses node auth without TLS)")
        return self


class SiloFaults(_Section):
    """Faults injected into one silo, to see how the federation copes; all off by default."""

    # Rounds in which the silo raises after its work (the work is measured and still counted).
    crash_rounds: list[Annotated[int, Field(ge=1)]] = []
    # Rounds in which the silo stops answering (the server stops waiting at the round timeout)...
    hang_rounds: list[Annotated[int, Field(ge=1)]] = []
    # ...for this many seconds; empty: twice training.round_timeout_s.
    hang_s: float | None = Field(None, gt=0, le=MAX_ROUND_TIMEOUT_S)
    # Straggler: the reply leaves after `slowdown` x the work's wall time (1 = no delay).
    slowdown: float = Field(1.0, ge=1.0, le=1000.0)
    # Probability of missing each round, drawn from (seed, silo, round): the same draws every run.
    dropout: float = Field(0.0, ge=0.0, le=1.0)


class FaultsConfig(_Section):
    # The run goes on while at least this many of the silos asked in a round answer (when a strategy
    # asks fewer, all of those); below it the run stops, with every failure in the ledger.
    min_silos: int = Field(1, ge=1)
    # Per silo name: `[faults.silo.<name>]`.
    silo: dict[str, SiloFaults] = {}


def check_seed_list(value: Any) -> Any:
    """`seeds = [0, 1, 2]`: distinct whole numbers in 0..MAX_SEED, at least one, at most MAX_SEEDS."""
    rule = (f"give a list of 1 to {MAX_SEEDS} distinct whole numbers in 0..{MAX_SEED}, e.g. seeds = [0, 1, 2, 3, 4] "
            "(one run per seed; leave the key out for a single run with `seed`)")
    if value is None:
        return value
    # bool is an int to Python, and a TOML `true` is no seed.
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"key 'seeds': {rule}")
    if not 1 <= len(value) <= MAX_SEEDS or any(not 0 <= v <= MAX_SEED for v in value):
        raise ValueError(f"key 'seeds': {rule}")
    repeated = sorted({v for v in value if value.count(v) > 1})
    if repeated:
        raise ValueError(f"key 'seeds': seed {repeated[0]} is listed twice (each seed is one run); {rule}")
    return value


class Scenario(_Section):
    name: Name = "scenario"
    seed: int = Field(0, ge=0, le=MAX_SEED)
    # `silocarbon run` measures one run per seed, as a group (as with --seeds); `run --seeds/--repeats`
    # replace the list, and `seed` is then unused by `run`. The experiments take their own --seeds.
    seeds: Annotated[list[int] | None, BeforeValidator(check_seed_list)] = None
    runner: Literal["inline", "ray", "deployment"] = "inline"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    strategy: StrategyConfig = StrategyConfig()
    silos: list[SiloConfig] = Field(min_length=1)
    central: CentralConfig = CentralConfig()
    probes: ProbesConfig = ProbesConfig()
    queries: list[QueryConfig] = []
    analytics: AnalyticsConfig = AnalyticsConfig()
    lifecycle: LifecycleConfig = LifecycleConfig()
    deployment: DeploymentConfig = DeploymentConfig()
    faults: FaultsConfig = FaultsConfig()

    @field_validator("silos", mode="before")
    @classmethod
    def _at_most_max_silos(cls, value: Any) -> Any:
        if isinstance(value, list) and len(value) > MAX_SILOS:
            raise ValueError(f"{len(value)} silos; at most {MAX_SILOS} in one scenario")
        return value

    @model_validator(mode="after")
    def _lifecycle_silos_known(self) -> "Scenario":
        names = [silo.name for silo in self.silos]
        listed = [silo.name for silo in self.lifecycle.silos]
        for index, name in enumerate(listed):
            if name not in names:
                raise ValueError(
                    f"key 'lifecycle.silos.{index}.name': unknown silo '{name}'; silos: {', '.join(names)}"
                )
            if listed.count(name) > 1:
                raise ValueError(f"key 'lifecycle.silos.{index}.name': silo '{name}' is listed twice")
        return self

    @model_validator(mode="after")
    def _silos_consistent(self) -> "Scenario":
        names = [silo.name for silo in self.silos]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"silo names must be unique; repeated: {', '.join(duplicates)}")
        if "server" in names:
            raise ValueError("'server' is reserved for the server's ledger rows; rename that silo")
        if self.data.partition == "shares" and any(s.share is None for s in self.silos):
            missing = [s.name for s in self.silos if s.share is None]
            raise ValueError(
                f"data.partition = 'shares' needs a share on every silo; missing on: {', '.join(missing)}"
            )
        return self

    @model_validator(mode="after")
    def _faults_name_silos(self) -> "Scenario":
        names = [silo.name for silo in self.silos]
        unknown = sorted(set(self.faults.silo) - set(names))
        if unknown:
            raise ValueError(f"key 'faults.silo.{unknown[0]}': unknown silo '{unknown[0]}'; silos: {', '.join(names)}")
        if self.faults.min_silos > len(names):
            raise ValueError(f"key 'faults.min_silos': {self.faults.min_silos} exceeds the {len(names)} silos")
        return self

    @model_validator(mode="after")
    def _synthetic_in_the_model_shape_fits_in_memory(self) -> "Scenario":
        shape = self.model.input_shape
        if shape is not None and self.data.dataset == "synthetic":
            values = self.data.synthetic_samples * math.prod(shape)
            if values > MAX_SYNTHETIC_VALUES:
                raise ValueError(
                    f"key 'data.synthetic_samples': {self.data.synthetic_samples} samples of model "
                    f"'{self.model.name}' ({math.prod(shape)} values each) are {values} values; at most "
                    f"{MAX_SYNTHETIC_VALUES} (about {MAX_SYNTHETIC_VALUES * 8 / 1e9:.1f} GB while generated)"
                )
        return self

    @property
    def aggregator_country(self) -> str:
        """The grid the FL server's (aggregator's) rows are charged to: the central site's, where the
        lifecycle model runs the aggregator too; the simulation host (`probes.host_country`) is where the
        run is measured, not a site of the federation it stands for."""
        return self.central.country

    @property
    def silo_names(self) -> list[str]:
        return [silo.name for silo in self.silos]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True)
