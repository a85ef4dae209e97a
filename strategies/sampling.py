"""How the Flower strategies here sample silos: a share of them for training, all for evaluation."""

from __future__ import annotations

from typing import Any

from simulator.errors import InputError


def train_sample_size(num_silos: int, fraction_train: float) -> int:
    """Silos trained per round: the rounded share, at least one."""
    if not 0.0 < fraction_train <= 1.0:
        raise InputError(f"key 'strategy.fraction_train': must be in (0, 1], got {fraction_train!r}")
    return max(1, round(num_silos * fraction_train))


def sampling_arguments(num_silos: int, fraction_train: float) -> dict[str, Any]:
    """Keyword arguments of Flower's FedAvg family for this sampling."""
    return {
        "fraction_train": fraction_train,
        "fraction_evaluate": 1.0,  # every silo evaluates: their test shards together are the test set
        "min_train_nodes": train_sample_size(num_silos, fraction_train),
        "min_evaluate_nodes": num_silos,
        "min_available_nodes": num_silos,
    }
