"""Strategy state as data: what a strategy carries from one round to the next, as named arrays and
JSON values, never as objects. A checkpoint stores the arrays as tensors and the values as JSON text
(simulator/results/checkpoint.py), so resuming a run loads data and runs no code from the file.

The protocol is two functions, `export_state(strategy)` and `import_state(strategy, state)`:
- our strategies implement `StatefulStrategy` (methods `export_state` / `import_state`);
- Flower's built-ins are described in `FLOWER_STATE` by the attributes their rounds change and how
  each one travels. The table goes by exact class, so a subclass with state of its own is never
  taken for its stateless parent.
A strategy neither covers runs, but its checkpoint says why it cannot resume.

Server-side state only. What a silo keeps in its own Context.state (SCAFFOLD's c_i, top-k residuals
and replicas) is the silo's; a resumed run's silos start those afresh (see README, Reliability).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from flwr.app import Array, ArrayRecord
from flwr.serverapp.strategy import (
    Bulyan,
    DifferentialPrivacyServerSideAdaptiveClipping,
    DifferentialPrivacyServerSideFixedClipping,
    FedAdagrad,
    FedAdam,
    FedAvg,
    FedAvgM,
    FedMedian,
    FedProx,
    FedTrimmedAvg,
    FedYogi,
    Krum,
    MultiKrum,
    QFedAvg,
    Strategy,
)

Json = Any  # what json.dumps writes and json.loads reads back: None, bool, int, float, str, list, dict
NAME_SEPARATOR = "/"  # between an attribute and an array's name ("m_t/fc1.weight")


class StateError(ValueError):
    """A state that does not fit the strategy it is imported into (a damaged or foreign checkpoint)."""


class StateNotExportable(TypeError):
    """The strategy declares no state export: it runs, but a checkpoint of it cannot resume."""


@dataclass
class StrategyState:
    """Named arrays (float tensors in a checkpoint) and JSON values, keyed by attribute paths."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, Json] = field(default_factory=dict)

    def add(self, prefix: str, inner: "StrategyState") -> None:
        """Put `inner`'s entries under `prefix` (a wrapped strategy's state inside its wrapper's)."""
        self.arrays.update({f"{prefix}{NAME_SEPARATOR}{k}": v for k, v in inner.arrays.items()})
        self.values.update({f"{prefix}{NAME_SEPARATOR}{k}": v for k, v in inner.values.items()})

    def part(self, prefix: str) -> "StrategyState":
        """The entries under `prefix`, with the prefix taken off."""
        start = f"{prefix}{NAME_SEPARATOR}"
        return StrategyState(
            {k[len(start):]: v for k, v in self.arrays.items() if k.startswith(start)},
            {k[len(start):]: v for k, v in self.values.items() if k.startswith(start)},
        )

    def value(self, key: str) -> Json:
        if key not in self.values:
            raise StateError(f"strategy state lacks '{key}'")
        return self.values[key]


@runtime_checkable
class StatefulStrategy(Protocol):
    def export_state(self) -> StrategyState: ...

    def import_state(self, state: StrategyState) -> None: ...


# -- the shapes of state attributes ----------------------------------------------------------------
def put_named_arrays(state: StrategyState, key: str, arrays: Mapping[str, np.ndarray] | None) -> None:
    """A dict of arrays by name (or None): the names, in order, as a value; each array under key/name."""
    state.values[key] = None if arrays is None else list(arrays)
    for name, array in (arrays or {}).items():
        state.arrays[f"{key}{NAME_SEPARATOR}{name}"] = np.asarray(array)


def get_named_arrays(state: StrategyState, key: str) -> dict[str, np.ndarray] | None:
    names = state.value(key)
    if names is None:
        return None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise StateError(f"strategy state '{key}' is not a list of array names")
    try:
        return {name: state.arrays[f"{key}{NAME_SEPARATOR}{name}"] for name in names}
    except KeyError as missing:
        raise StateError(f"strategy state lacks the array {missing.args[0]}") from None


def put_array_list(state: StrategyState, key: str, arrays: Sequence[np.ndarray] | None) -> None:
    put_named_arrays(state, key, None if arrays is None else {str(i): a for i, a in enumerate(arrays)})


def get_array_list(state: StrategyState, key: str) -> list[np.ndarray] | None:
    named = get_named_arrays(state, key)
    return None if named is None else list(named.values())


def put_array_record(state: StrategyState, key: str, record: ArrayRecord | None) -> None:
    put_named_arrays(state, key, None if record is None else {k: a.numpy() for k, a in record.items()})


def get_array_record(state: StrategyState, key: str) -> ArrayRecord | None:
    named = get_named_arrays(state, key)
    return None if named is None else ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in named.items()})


def get_number(state: StrategyState, key: str) -> float:
    value = state.value(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StateError(f"strategy state '{key}' is not a number")
    return float(value)


_PUT = {"named_arrays": put_named_arrays, "array_list": put_array_list, "array_record": put_array_record,
        "number": lambda state, key, value: state.values.__setitem__(key, float(value))}
_GET = {"named_arrays": get_named_arrays, "array_list": get_array_list, "array_record": get_array_record,
        "number": get_number}


# -- Flower's built-ins ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CarriedAttribute:
    name: str
    shape: Literal["named_arrays", "array_list", "array_record", "number"]


@dataclass(frozen=True)
class FlowerStrategyState:
    """What a round of one Flower strategy class changes, and what of it must be carried."""

    carried: tuple[CarriedAttribute, ...] = ()
    # Attributes a round changes that need no carrying, each with the reason.
    not_carried: Mapping[str, str] = field(default_factory=dict)
    wrapped: str | None = None  # the attribute holding a wrapped strategy (the DP wrappers)


ROUND_SCOPED = "set in configure_train before aggregate_train reads it"
STATELESS = FlowerStrategyState()
_FEDOPT = FlowerStrategyState(
    carried=(CarriedAttribute("m_t", "named_arrays"), CarriedAttribute("v_t", "named_arrays")),
    not_carried={"current_arrays": ROUND_SCOPED},
)
FLOWER_STATE: dict[type, FlowerStrategyState] = {
    FedAvg: STATELESS,
    FedProx: STATELESS,
    FedMedian: STATELESS,
    FedTrimmedAvg: STATELESS,
    Krum: STATELESS,
    MultiKrum: STATELESS,
    Bulyan: STATELESS,
    FedAdam: _FEDOPT,
    FedYogi: _FEDOPT,
    FedAdagrad: _FEDOPT,
    # FedAvgM sets current_arrays once, then moves it by its own update: not the global model
    # when a DP wrapper adds noise after it, so it is carried.
    FedAvgM: FlowerStrategyState(
        carried=(CarriedAttribute("current_arrays", "array_record"), CarriedAttribute("momentum_vector", "array_list")),
    ),
    QFedAvg: FlowerStrategyState(not_carried={"current_arrays": ROUND_SCOPED}),
    DifferentialPrivacyServerSideFixedClipping: FlowerStrategyState(
        not_carried={"current_arrays": ROUND_SCOPED,
                     "_pending_events": "privacy events of the round in progress (none without an accountant)"},
        wrapped="strategy",
    ),
    DifferentialPrivacyServerSideAdaptiveClipping: FlowerStrategyState(
        carried=(CarriedAttribute("clipping_norm", "number"),),
        not_carried={"current_arrays": ROUND_SCOPED},
        wrapped="strategy",
    ),
}


def export_state(strategy: Strategy) -> StrategyState:
    if isinstance(strategy, StatefulStrategy):
        return strategy.export_state()
    description = _flower_description(strategy)
    state = StrategyState()
    for attribute in description.carried:
        _PUT[attribute.shape](state, attribute.name, getattr(strategy, attribute.name))
    if description.wrapped is not None:
        state.add(description.wrapped, export_state(getattr(strategy, description.wrapped)))
    return state


def import_state(strategy: Strategy, state: StrategyState) -> None:
    """Put `state` into a freshly built strategy; StateError when it does not fit."""
    if isinstance(strategy, StatefulStrategy):
        strategy.import_state(state)
        return
    description = _flower_description(strategy)
    for attribute in description.carried:
        setattr(strategy, attribute.name, _GET[attribute.shape](state, attribute.name))
    if description.wrapped is not None:
        import_state(getattr(strategy, description.wrapped), state.part(description.wrapped))


def not_carried(strategy: Strategy) -> Mapping[str, str]:
    """Attributes a round of `strategy` (not of a strategy it wraps) changes without their being carried."""
    if isinstance(strategy, StatefulStrategy):
        return getattr(strategy, "NOT_CARRIED", {})
    return _flower_description(strategy).not_carried


def _flower_description(strategy: Strategy) -> FlowerStrategyState:
    description = FLOWER_STATE.get(type(strategy))
    if description is None:
        raise StateNotExportable(
            f"{type(strategy).__name__} declares no state export (strategies/state.py: implement "
            "export_state/import_state or describe it in FLOWER_STATE)"
        )
    return description
