"""Finding a user's own Flower app: a ClientApp and a ServerApp, and the run config they read.

`--app` names either a Flower app folder (a pyproject.toml with `[tool.flwr.app.components]`, whose
`[tool.flwr.app.config]` gives the run config, as `flwr run` reads it) or the two objects directly,
`client_module:attribute,server_module:attribute`. The folder (or, for the second form, the current
folder) goes first on `sys.path`, as Flower does for an app it runs. Every refusal names `--app`.
"""

from __future__ import annotations

import importlib
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flwr.clientapp import ClientApp
from flwr.serverapp import ServerApp

from simulator.errors import InputError
from simulator.flower.flwr_internals import client_app_message_types, server_app_has_main
from simulator.scenario.load import parse_override_value

APP_OPTION = "--app"


@dataclass(frozen=True)
class FlowerApps:
    """A user's ClientApp and ServerApp, where they came from, and the run config they will see."""

    client: ClientApp
    server: ServerApp
    client_ref: str  # "module:attribute"
    server_ref: str
    run_config: dict[str, Any] = field(default_factory=dict)
    app_dir: Path | None = None


def load_flower_apps(spec: str, run_config_overrides: list[str] | tuple[str, ...] = ()) -> FlowerApps:
    """The apps `spec` names (an app folder, or `client_ref,server_ref`), with `key=value` overrides
    (TOML values) applied to the run config."""
    folder = Path(spec).expanduser()
    if folder.is_dir():
        client_ref, server_ref, run_config = _from_app_folder(folder)
        app_dir: Path | None = folder.resolve()
    elif "," in spec:
        client_ref, server_ref = (part.strip() for part in spec.split(",", 1))
        run_config, app_dir = {}, None
    else:
        raise InputError(
            f"{APP_OPTION} '{spec}': expected a Flower app folder (with a pyproject.toml) or "
            "'client_module:attribute,server_module:attribute'"
        )
    for override in run_config_overrides:
        key, separator, value = override.partition("=")
        if not separator or not key.strip():
            raise InputError(f"--run-config '{override}': expected key=value")
        run_config[key.strip()] = parse_override_value(value.strip())
    search_path = str(app_dir if app_dir is not None else Path.cwd())
    if search_path not in sys.path:
        sys.path.insert(0, search_path)
    return FlowerApps(
        client=_load(client_ref, ClientApp, "ClientApp"),
        server=_load(server_ref, ServerApp, "ServerApp"),
        client_ref=client_ref,
        server_ref=server_ref,
        run_config=run_config,
        app_dir=app_dir,
    )


def _from_app_folder(folder: Path) -> tuple[str, str, dict[str, Any]]:
    pyproject = folder / "pyproject.toml"
    try:
        with pyproject.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise InputError(f"{APP_OPTION} '{folder}': no pyproject.toml there (a Flower app folder has one)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{APP_OPTION} '{folder}': {pyproject} cannot be read: {error}") from None
    app = _table(_table(_table(raw, "tool"), "flwr"), "app")
    components = _table(app, "components")
    client_ref, server_ref = components.get("clientapp"), components.get("serverapp")
    if not isinstance(client_ref, str) or not isinstance(server_ref, str):
        raise InputError(
            f"{APP_OPTION} '{folder}': {pyproject} needs [tool.flwr.app.components] with clientapp and serverapp"
        )
    config = app.get("config", {})
    if not isinstance(config, dict):
        raise InputError(f"{APP_OPTION} '{folder}': [tool.flwr.app.config] in {pyproject} is not a table")
    return client_ref, server_ref, _flattened(config)


def _table(table: dict[str, Any], key: str) -> dict[str, Any]:
    value = table.get(key, {})
    return value if isinstance(value, dict) else {}


def _flattened(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    # Flower flattens nested run-config tables into dotted keys.
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flattened(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _load(ref: str, kind: type, kind_name: str) -> Any:
    module_name, separator, attribute = ref.partition(":")
    if not (separator and _dotted_name(module_name) and _dotted_name(attribute)):
        raise InputError(f"{APP_OPTION}: {ref!r} is not 'module:attribute' (dotted Python names, no relative import)")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"{APP_OPTION}: module '{module_name}' cannot be imported: {error}") from None
    except (Exception, SystemExit) as error:  # the app's own code failed as it was imported (or exited)
        raise InputError(
            f"{APP_OPTION}: importing module '{module_name}' raised {type(error).__name__}: {error}"
        ) from None
    value: Any = module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise InputError(f"{APP_OPTION}: '{ref}': module '{module_name}' has no attribute '{attribute}'") from None
        except Exception as error:  # a module-level __getattr__ or a property of the app's own
            raise InputError(f"{APP_OPTION}: '{ref}': reading '{part}' raised {type(error).__name__}: {error}") from None
    if not isinstance(value, kind):
        raise InputError(f"{APP_OPTION}: '{ref}' is a {type(value).__name__}, not a Flower {kind_name}")
    problem = _legacy_problem(value)
    if problem is not None:
        raise InputError(f"{APP_OPTION}: '{ref}' {problem}")
    return value


def _dotted_name(text: str) -> bool:
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _legacy_problem(app: ClientApp | ServerApp) -> str | None:
    """Why the app cannot be measured: the measured grid speaks Flower's Message API (Flower >= 1.21),
    not the legacy one (a `client_fn` ClientApp, a ServerApp built from a strategy or `server_fn`)."""
    if isinstance(app, ServerApp):
        if not server_app_has_main(app):
            return "has no main function: write it with @app.main() (Flower's Message API), not a legacy strategy or server_fn"
        return None
    if not any(name.startswith("train.") for name in client_app_message_types(app)):
        return "registers no train function: write it with @app.train() (Flower's Message API), not a legacy client_fn"
    return None
