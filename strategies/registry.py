"""The strategy registry: name -> typed keyword parameters and a factory."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flwr.serverapp.strategy import Strategy

from simulator.config import StrategyConfig
from simulator.errors import InputError


@dataclass(frozen=True)
class StrategySpec:
    name: str
    summary: str
    # factory(num_silos, **parameters) -> Strategy; its keyword defaults are the parameters.
    factory: Callable[..., Strategy]
    # Parameters our ClientApp needs (e.g. FedProx's proximal_mu) travel in the train config.
    client_config_keys: tuple[str, ...] = field(default=())

    def parameters(self) -> dict[str, inspect.Parameter]:
        signature = inspect.signature(self.factory)
        return {name: p for name, p in signature.parameters.items() if name != "num_silos"}


_REGISTRY: dict[str, StrategySpec] = {}


def register(spec: StrategySpec) -> StrategySpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"strategy '{spec.name}' registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def registered_strategies() -> dict[str, StrategySpec]:
    _load_strategy_modules()
    return dict(sorted(_REGISTRY.items()))


def _load_strategy_modules() -> None:
    import strategies

    for module in pkgutil.iter_modules(strategies.__path__):
        if module.name not in ("registry",):
            importlib.import_module(f"strategies.{module.name}")


def strategy_spec(config: StrategyConfig) -> StrategySpec:
    specs = registered_strategies()
    if config.name not in specs:
        raise InputError(f"key 'strategy.name': unknown strategy '{config.name}'; allowed: {', '.join(specs)}")
    return specs[config.name]


def checked_parameters(config: StrategyConfig) -> dict[str, Any]:
    """The [strategy] parameters, refused by name when unknown or of the wrong type."""
    spec = strategy_spec(config)
    allowed = spec.parameters()
    given = config.parameters()
    checked: dict[str, Any] = {}
    for name, value in given.items():
        if name not in allowed:
            names = ", ".join(allowed) or "(none)"
            raise InputError(f"key 'strategy.{name}': unknown parameter of '{spec.name}'; allowed: {names}")
        default = allowed[name].default
        checked[name] = _converted(spec.name, name, value, default)
    return checked


def _converted(strategy: str, name: str, value: Any, default: Any) -> Any:
    expected = type(default)
    if default is None or isinstance(value, expected):
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise InputError(
        f"key 'strategy.{name}': '{strategy}' expects {expected.__name__} (default {default!r}), got {value!r}"
    )


def build_strategy(config: StrategyConfig, num_silos: int) -> Strategy:
    spec = strategy_spec(config)
    return spec.factory(num_silos, **checked_parameters(config))


def client_train_config(config: StrategyConfig) -> dict[str, Any]:
    """Strategy parameters our ClientApp must know (sent in every train message's config)."""
    spec = strategy_spec(config)
    parameters = {name: p.default for name, p in spec.parameters().items()}
    parameters.update(checked_parameters(config))
    return {key.replace("_", "-"): parameters[key] for key in spec.client_config_keys}
