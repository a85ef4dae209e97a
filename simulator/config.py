"""Scenario schema and validation.

A scenario is a TOML file (see configs/default.toml). `load_scenario` reads it, applies `--set`
overrides through one strict path, and validates it into a typed `Scenario`. Every refusal is an
`InputError` whose one-line message names the file, the key and the allowed values.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simulator.analytics.spec import parse_spec
from simulator.errors import InputError
from simulator.lifecycle.schema import LifecycleConfig
from simulator.probes.intensity import known_country_codes

DEFAULT_SCENARIO_NAME = "default.toml"
# scikit-learn generates float64: 2e8 values are 1.6 GB before the float32 copy.
MAX_SYNTHETIC_VALUES = 200_000_000
MAX_SEED = 2**63 - 1  # torch.manual_seed takes a signed 64-bit integer
MAX_ROUND_TIMEOUT_S = 7 * 24 * 3600.0  # a week; thread waits overflow the platform's clock far beyond
OFFLINE_DATASETS = ("digits", "breast_cancer", "wine", "synthetic")
ONLINE_DATASET_PREFIXES = ("torchvision:", "hf:")


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
        if value in OFFLINE_DATASETS or value.startswith(ONLINE_DATASET_PREFIXES):
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
    device: str = "auto"
    # Seconds the server waits for a round's replies before going on without the missing ones.
    round_timeout_s: float = Field(600.0, gt=0, le=MAX_ROUND_TIMEOUT_S)
    # Torch threads per process: the small models here run fastest on one, silos sharing a host do
    # not fight over cores, and the inline runner computes as Ray's one-CPU silo actors do.
    threads: int = Field(1, ge=1, le=256)

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        return _check_device(value)


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
        from simulator.probes.silo_hardware import GPU_MAX_POWER_W

        if self.cpu_power_w is None and self.cpu_vcpus is None:
            raise ValueError("hardware needs cpu_power_w (W) or cpu_vcpus")
        if self.gpu_model is not None and self.gpu_power_w is None and self.gpu_model.upper() not in GPU_MAX_POWER_W:
            known = " | ".join(GPU_MAX_POWER_W)
            raise ValueError(f"unknown gpu_model '{self.gpu_model}' without gpu_power_w; known: {known}")
        if self.gpu_power_w is not None and self.gpu_model is None:
            raise ValueError("gpu_power_w needs gpu_model")
        return self

    def profile(self):
        from simulator.probes.silo_hardware import (
            CPU_POWER_SOURCE,
            GPU_POWER_SOURCE,
            HardwareProfile,
            cpu_power_from_vcpus,
            gpu_power_w,
        )

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
    name: str = Field(min_length=1)
    country: str
    region: str | None = None
    share: float | None = Field(None, gt=0)
    device: str | None = None
    # The hardware this silo stands for, where the host lacks it: its energy is then modelled.
    hardware: SiloHardwareConfig | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        return _check_country(value)

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str | None) -> str | None:
        return None if value is None else _check_device(value)


class CentralConfig(_Section):
    country: str = "USA"
    region: str | None = None
    pue: float = Field(1.1, ge=1.0)

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        return _check_country(value)


class ProbesConfig(_Section):
    # Country of the machine that runs the simulation: CodeCarbon needs one offline. The CO2 of a
    # silo's row uses the silo's country, not this one.
    host_country: str = "USA"
    # false: no energy tracker is started at all (time, CPU and bytes are still recorded).
    energy: bool = True
    # The host's idle power before the run: auto = measure where CPU energy is measured (RAPL),
    # else CodeCarbon's model at zero load; measure | model force one; off skips it.
    idle_baseline: Literal["auto", "measure", "model", "off"] = "auto"
    idle_seconds: float = Field(2.0, gt=0, le=60)

    @field_validator("host_country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        return _check_country(value)


class QueryConfig(_Section):
    """One federated-analytics query (`silocarbon query`); spec syntax in simulator/analytics/spec.py."""

    spec: str

    @field_validator("spec")
    @classmethod
    def _valid_spec(cls, value: str) -> str:
        try:
            return parse_spec(value).text
        except InputError as error:
            raise ValueError(str(error)) from None


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


class Scenario(_Section):
    name: str = Field("scenario", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = Field(0, ge=0, le=MAX_SEED)
    runner: Literal["inline", "ray", "deployment"] = "inline"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    strategy: StrategyConfig = StrategyConfig()
    silos: list[SiloConfig] = Field(min_length=1)
    central: CentralConfig = CentralConfig()
    probes: ProbesConfig = ProbesConfig()
    queries: list[QueryConfig] = []
    lifecycle: LifecycleConfig = LifecycleConfig()
    deployment: DeploymentConfig = DeploymentConfig()
    faults: FaultsConfig = FaultsConfig()

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
    def silo_names(self) -> list[str]:
        return [silo.name for silo in self.silos]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True)


def _check_country(value: str) -> str:
    code = value.upper()
    if code not in known_country_codes():
        raise ValueError(
            f"unknown country code '{value}'; use an ISO 3166 alpha-3 code that CodeCarbon's "
            "bundled energy mix knows (e.g. FRA, DEU, USA, GBR, IND)"
        )
    return code


def _check_device(value: str) -> str:
    if value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit()):
        return value
    raise ValueError(f"unknown device '{value}'; allowed: auto | cpu | cuda | cuda:N")


# ---------------------------------------------------------------------------------------------
# Loading, overrides, error translation


# configs/ at the top of the repository, shipped inside the package as simulator/bundled_configs
# (a link in the source tree, copied into wheels as package data).
BUNDLED_CONFIGS = Path(__file__).resolve().parent / "bundled_configs"


def default_scenario_path() -> Path:
    """The embedded default scenario, shipped inside the package."""
    return bundled_scenario_path(DEFAULT_SCENARIO_NAME)


def bundled_scenario_path(file_name: str) -> Path:
    return BUNDLED_CONFIGS / file_name


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name the OS cannot hold (a NUL byte, too long) names no file
        return False


def read_toml(path: Path) -> dict[str, Any]:
    if not _is_file(path):
        raise InputError(f"scenario file '{path}' does not exist")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"scenario file '{path}' is not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"scenario file '{path}' cannot be read: {error}") from None


def load_scenario(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read a scenario file (the embedded default when `path` is None) and apply overrides."""
    source = Path(path) if path is not None else default_scenario_path()
    if source.suffix == ".json":
        if not _is_file(source):
            raise InputError(f"scenario file '{source}' does not exist")
        try:
            raw = json.loads(source.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise InputError(f"scenario file '{source}' cannot be read as JSON: {error}") from None
    else:
        raw = read_toml(source)
    for override in overrides:
        apply_override(raw, override)
    return validate_scenario(raw, source.name)


def validate_scenario(raw: dict[str, Any], origin: str = "scenario") -> Scenario:
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as error:
        raise InputError(f"{origin}: {describe_validation_error(error)}") from None
    _check_synthetic_features_fit_the_model(scenario, raw, origin)
    return scenario


def _check_synthetic_features_fit_the_model(scenario: Scenario, raw: dict[str, Any], origin: str) -> None:
    """Synthetic data takes the input shape of a model that has one; a stated feature count that
    differs from it is refused rather than silently ignored. Checked on the file's own keys (a
    scenario read back from JSON states every key)."""
    shape = scenario.model.input_shape
    stated = (raw.get("data") or {}).get("synthetic_features") if isinstance(raw.get("data"), dict) else None
    if shape is None or scenario.data.dataset != "synthetic" or stated is None:
        return
    size = math.prod(shape)
    if stated != size:
        raise InputError(
            f"{origin}: key 'data.synthetic_features': model '{scenario.model.name}' takes "
            f"{' x '.join(map(str, shape))} = {size} values per sample, and synthetic data takes the model's "
            f"input shape; leave data.synthetic_features out (got {stated!r})"
        )


def describe_validation_error(error: ValidationError) -> str:
    """One line for the first problem: the dotted key, what is wrong, the allowed values."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    kind = first["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'{_allowed_keys_hint(first['loc'])}"
    if kind == "missing":
        return f"missing required key '{key}'"
    message = first["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    got = first.get("input")
    got_text = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"key '{key}': {message}{got_text}"


def _allowed_keys_hint(location: tuple[Any, ...]) -> str:
    model: type[BaseModel] = Scenario
    skip_name = False
    for part in location[:-1]:
        if isinstance(part, int) or skip_name:
            skip_name = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return ""
        annotation = field.annotation
        keyed = _keyed_section_model(annotation)
        if keyed is not None:
            model, skip_name = keyed, True
            continue
        inner = getattr(annotation, "__args__", (annotation,))[0] if annotation is not None else None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return ""
    return "; allowed: " + ", ".join(model.model_fields)


def apply_override(raw: dict[str, Any], override: str) -> None:
    """Apply one `section.key=value` override to the raw scenario, refusing unknown keys.

    The value is read as a TOML value (so `3`, `0.5`, `true`, `"text"` keep their types); a bare
    word that is not valid TOML is taken as a string. `silos.<name>.<key>` addresses one silo.
    """
    if "=" not in override:
        raise InputError(f"--set '{override}': expected section.key=value")
    dotted, text = override.split("=", 1)
    parts = [part.strip() for part in dotted.strip().split(".")]
    if not all(parts):
        raise InputError(f"--set '{override}': empty key")
    value = _parse_override_value(text.strip())
    if parts[0] == "silos":
        _override_silo(raw, parts, value, override)
        return
    _check_known_key(parts, override)
    target = raw
    for part in parts[:-1]:
        existing = target.get(part)
        if existing is None:
            existing = target[part] = {}
        if not isinstance(existing, dict):
            raise InputError(f"--set '{override}': '{part}' is not a section")
        target = existing
    target[parts[-1]] = value


def _override_silo(raw: dict[str, Any], parts: list[str], value: Any, override: str) -> None:
    silos = raw.get("silos") or []
    names = [str(silo.get("name")) for silo in silos]
    if len(parts) != 3:
        raise InputError(f"--set '{override}': use silos.<silo name>.<key>; silos: {', '.join(names)}")
    if parts[1] not in names:
        raise InputError(f"--set '{override}': unknown silo '{parts[1]}'; silos: {', '.join(names)}")
    if parts[2] not in SiloConfig.model_fields:
        allowed = ", ".join(SiloConfig.model_fields)
        raise InputError(f"--set '{override}': unknown key 'silos.{parts[2]}'; allowed: {allowed}")
    silos[names.index(parts[1])][parts[2]] = value


def _check_known_key(parts: list[str], override: str) -> None:
    model: type[BaseModel] = Scenario
    for depth, part in enumerate(parts):
        fields = model.model_fields
        if model is StrategyConfig:
            return  # strategy parameters are checked by the strategy registry, by name
        if part not in fields:
            where = ".".join(parts[: depth + 1])
            raise InputError(f"--set '{override}': unknown key '{where}'; allowed: {', '.join(fields)}")
        annotation = fields[part].annotation
        if depth < len(parts) - 1:
            keyed = _keyed_section_model(annotation)
            if keyed is not None:
                # `faults.silo.<name>.<key>`: the name is free, the rest is checked against the model.
                _check_keyed_tail(keyed, parts, depth, override)
                return
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                raise InputError(f"--set '{override}': '{'.'.join(parts[: depth + 1])}' is not a section")
            model = annotation


def _keyed_section_model(annotation: Any) -> type[BaseModel] | None:
    """The value model of a `dict[str, Model]` field, else None."""
    if getattr(annotation, "__origin__", None) is not dict:
        return None
    value = annotation.__args__[1]
    return value if isinstance(value, type) and issubclass(value, BaseModel) else None


def _check_keyed_tail(model: type[BaseModel], parts: list[str], depth: int, override: str) -> None:
    where = ".".join(parts[: depth + 1])
    if len(parts) != depth + 3:
        raise InputError(f"--set '{override}': use {where}.<name>.<key>; keys: {', '.join(model.model_fields)}")
    if parts[-1] not in model.model_fields:
        raise InputError(
            f"--set '{override}': unknown key '{where}.{parts[-2]}.{parts[-1]}'; "
            f"allowed: {', '.join(model.model_fields)}"
        )


def _parse_override_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text
