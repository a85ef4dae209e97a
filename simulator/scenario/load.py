"""Reading a scenario: one TOML loader, the bundled configs, `--set` overrides, validation.

`load_scenario` reads a scenario file (the embedded default when none is given), applies `--set`
overrides through one strict path, and validates it into a typed `Scenario`. Every refusal is an
`InputError` whose one-line message names the file, the key and the allowed values. `read_toml`
is the one TOML reader of the project (scenarios, factors, the default energy profile, inventories).
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from simulator.errors import InputError
from simulator.scenario.messages import describe_validation_error, keyed_section_model
from simulator.scenario.schema import Scenario, SiloConfig, StrategyConfig

DEFAULT_SCENARIO_NAME = "default.toml"
# The shipped configs live inside the package (real files, so wheels and Flower's app bundle carry
# them); the repository's top-level `configs` is a link to this folder, for users' command lines.
BUNDLED_CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def bundled_config_path(file_name: str) -> Path:
    """A file of the shipped configs (scenarios, factors, the default profile), inside the package."""
    return BUNDLED_CONFIGS / file_name


def default_scenario_path() -> Path:
    """The embedded default scenario, shipped inside the package."""
    return bundled_config_path(DEFAULT_SCENARIO_NAME)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name the OS cannot hold (a NUL byte, too long) names no file
        return False


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The TOML file at `path` as a dict; `what` names the kind of file in every refusal."""
    if not _is_file(path):
        raise InputError(f"{what} file '{path}' does not exist")
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise InputError(f"{what} file '{path}' is not valid TOML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"{what} file '{path}' cannot be read: {error}") from None


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
        raw = read_toml(source, "scenario")
    for override in overrides:
        apply_override(raw, override)
    return validate_scenario(raw, source.name)


def validate_scenario(raw: dict[str, Any], origin: str = "scenario") -> Scenario:
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as error:
        raise InputError(f"{origin}: {describe_validation_error(error, Scenario)}") from None
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


# ---------------------------------------------------------------------------------------------
# `--set section.key=value`


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
    value = parse_override_value(text.strip())
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
            keyed = keyed_section_model(annotation)
            if keyed is not None:
                # `faults.silo.<name>.<key>`: the name is free, the rest is checked against the model.
                _check_keyed_tail(keyed, parts, depth, override)
                return
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                raise InputError(f"--set '{override}': '{'.'.join(parts[: depth + 1])}' is not a section")
            model = annotation


def _check_keyed_tail(model: type[BaseModel], parts: list[str], depth: int, override: str) -> None:
    where = ".".join(parts[: depth + 1])
    if len(parts) != depth + 3:
        raise InputError(f"--set '{override}': use {where}.<name>.<key>; keys: {', '.join(model.model_fields)}")
    if parts[-1] not in model.model_fields:
        raise InputError(
            f"--set '{override}': unknown key '{where}.{parts[-2]}.{parts[-1]}'; "
            f"allowed: {', '.join(model.model_fields)}"
        )


def parse_override_value(text: str) -> Any:
    """A command-line value read as a TOML value (`3`, `0.5`, `true`, `"text"`); a bare word is a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text
