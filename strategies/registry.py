"""The strategy registry: name -> typed keyword parameters and a factory.

Every strategy also accepts the generic [strategy] keys of `GENERIC_PARAMETERS` (update compression),
which wrap whatever the factory builds.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flwr.serverapp.strategy import Strategy

from simulator.scenario.schema import SiloConfig, StrategyConfig
from simulator.errors import InputError


@dataclass(frozen=True)
class FederationFacts:
    """What a factory may know of the scenario beyond its own parameters."""

    silos: tuple[SiloConfig, ...]
    learning_rate: float  # the silos' SGD step size (QFedAvg's Lipschitz estimate uses it)


@dataclass(frozen=True)
class StrategySpec:
    name: str
    summary: str
    # factory(num_silos, **parameters) -> Strategy; its keyword defaults are the parameters.
    # With `uses_facts`, it is called as factory(num_silos, facts=FederationFacts, **parameters).
    factory: Callable[..., Strategy]
    # Parameters our ClientApp needs (e.g. FedProx's proximal_mu) travel in the train config.
    client_config_keys: tuple[str, ...] = field(default=())
    uses_facts: bool = False
    # The fewest silos the strategy works with at its default parameters (Krum, Bulyan need more).
    min_silos: int = 1

    def parameters(self) -> dict[str, inspect.Parameter]:
        signature = inspect.signature(self.factory)
        return {name: p for name, p in signature.parameters.items() if name not in ("num_silos", "facts")}


# Generic [strategy] keys every strategy accepts: update compression in both directions.
COMPRESSION_SCHEMES = ("none", "fp16", "int8", "topk")
GENERIC_PARAMETERS: dict[str, Any] = {"compression": "none", "topk_fraction": 0.01}

_REGISTRY: dict[str, StrategySpec] = {}


def register(spec: StrategySpec) -> StrategySpec:
    if spec.name in _REGISTRY:
        raise ValueError(f"strategy '{spec.name}' registered twice")
    overlap = set(spec.parameters()) & set(GENERIC_PARAMETERS)
    if overlap:
        raise ValueError(f"strategy '{spec.name}' redefines generic parameters {sorted(overlap)}")
    _REGISTRY[spec.name] = spec
    return spec


def registered_strategies() -> dict[str, StrategySpec]:
    _load_strategy_modules()
    return dict(sorted(_REGISTRY.items()))


def _load_strategy_modules() -> None:
    # The modules beside this one, found by path: importing the `strategies` package here would
    # make it and its registry import each other.
    for module in pkgutil.iter_modules([str(Path(__file__).resolve().parent)]):
        if module.name not in ("registry",):
            importlib.import_module(f"strategies.{module.name}")


def strategy_spec(config: StrategyConfig) -> StrategySpec:
    return spec_named(config.name, "strategy.name")


def spec_named(name: str, key: str) -> StrategySpec:
    specs = registered_strategies()
    if name not in specs:
        raise InputError(f"key '{key}': unknown strategy '{name}'; allowed: {', '.join(specs)}")
    return specs[name]


def checked_parameters(config: StrategyConfig) -> dict[str, Any]:
    """The strategy's own [strategy] parameters, refused by name when unknown or of the wrong type.

    The generic keys are checked too (`generic_parameters`) but not returned here.
    """
    spec = strategy_spec(config)
    generic_parameters(config)
    allowed = spec.parameters()
    given = {k: v for k, v in config.parameters().items() if k not in GENERIC_PARAMETERS}
    checked: dict[str, Any] = {}
    for name, value in given.items():
        if name not in allowed:
            names = ", ".join([*allowed, *GENERIC_PARAMETERS]) or "(none)"
            raise InputError(f"key 'strategy.{name}': unknown parameter of '{spec.name}'; allowed: {names}")
        default = allowed[name].default
        checked[name] = _converted(spec.name, name, value, default)
    return checked


@dataclass(frozen=True)
class CompressionChoice:
    scheme: str  # one of COMPRESSION_SCHEMES
    topk_fraction: float  # share of each array's entries top-k sends (topk only)


def generic_parameters(config: StrategyConfig) -> CompressionChoice:
    given = config.parameters()
    values = {name: _converted(config.name, name, given.get(name, default), default)
              for name, default in GENERIC_PARAMETERS.items()}
    if values["compression"] not in COMPRESSION_SCHEMES:
        raise InputError(
            f"key 'strategy.compression': unknown scheme {values['compression']!r}; "
            f"allowed: {' | '.join(COMPRESSION_SCHEMES)}"
        )
    if not 0.0 < values["topk_fraction"] <= 1.0:
        raise InputError(f"key 'strategy.topk_fraction': must be in (0, 1], got {values['topk_fraction']!r}")
    return CompressionChoice(values["compression"], values["topk_fraction"])


def _converted(strategy: str, name: str, value: Any, default: Any) -> Any:
    expected = type(default)
    if default is None or isinstance(value, expected):
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    raise InputError(
        f"key 'strategy.{name}': '{strategy}' expects {expected.__name__} (default {default!r}), got {value!r}"
    )


def build_strategy(
    config: StrategyConfig, num_silos: int, silos: Sequence[SiloConfig] = (), learning_rate: float = 0.05
) -> Strategy:
    """The scenario's strategy, wrapped for update compression when `compression` is not "none"."""
    spec = strategy_spec(config)
    parameters = checked_parameters(config)
    base = build_named(spec, num_silos, parameters, FederationFacts(tuple(silos), learning_rate))
    choice = generic_parameters(config)
    if choice.scheme == "none":
        return base
    from strategies.compression import CompressedStrategy

    return CompressedStrategy(base, choice.scheme, choice.topk_fraction)


def build_named(spec: StrategySpec, num_silos: int, parameters: dict[str, Any], facts: FederationFacts) -> Strategy:
    if num_silos < spec.min_silos:
        raise InputError(
            f"key 'strategy.name': '{spec.name}' needs at least {spec.min_silos} silos; the scenario has {num_silos}"
        )
    try:
        if spec.uses_facts:
            return spec.factory(num_silos, facts=facts, **parameters)
        return spec.factory(num_silos, **parameters)
    except ValueError as error:  # Flower's own range checks (e.g. FedTrimmedAvg's beta)
        raise InputError(f"[strategy] of '{spec.name}': {error}") from None


def client_train_config(config: StrategyConfig) -> dict[str, Any]:
    """Strategy parameters our ClientApp must know (sent in every train message's config)."""
    spec = strategy_spec(config)
    parameters = {name: p.default for name, p in spec.parameters().items()}
    parameters.update(checked_parameters(config))
    return {key.replace("_", "-"): parameters[key] for key in spec.client_config_keys}
