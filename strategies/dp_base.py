"""The base strategy a server-side differential-privacy wrapper wraps, built from the registry.

Only strategies that sample every silo and reply with one model are allowed: Flower's DP wrappers
clip every ArrayRecord of a reply against the global model and calibrate noise to a fixed sample.
"""

from __future__ import annotations

from flwr.serverapp.strategy import Strategy

from simulator.errors import InputError
from strategies.registry import FederationFacts, build_named, spec_named

DP_BASES = ("fedavg", "fedprox", "fedadam", "fedyogi", "fedadagrad", "fedavgm", "fedmedian", "fedtrimmedavg",
            "krum", "multikrum", "bulyan", "qfedavg")


def dp_base_strategy(base: str, num_silos: int, facts: FederationFacts) -> Strategy:
    """The named base at its default parameters, training every silo every round."""
    if base not in DP_BASES:
        raise InputError(f"key 'strategy.base': '{base}' cannot be wrapped for DP; allowed: {', '.join(DP_BASES)}")
    return build_named(spec_named(base, "strategy.base"), num_silos, {}, facts)
