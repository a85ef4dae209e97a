"""One dataset, two views, one split seed: each silo's data and the pooled data come from one split.

The held-out test set is partitioned between the silos with the same scheme as the training set, so
silos evaluate on local data and the union of their test shards is exactly the global test set on
which the centralized model is evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simulator.scenario.schema import Scenario
from simulator.data.partition import partition, split_train_test
from simulator.data.dataset import Dataset
from simulator.data.registry import load_dataset


@dataclass(frozen=True)
class SiloData:
    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


@dataclass(frozen=True)
class FederatedData:
    dataset: Dataset
    silos: tuple[SiloData, ...]
    test_x: np.ndarray
    test_y: np.ndarray

    @property
    def pooled_train(self) -> tuple[np.ndarray, np.ndarray]:
        """The union of the silos' training data, silo by silo: what centralized learning copies."""
        return (
            np.concatenate([silo.train_x for silo in self.silos]),
            np.concatenate([silo.train_y for silo in self.silos]),
        )

    def silo(self, name: str) -> SiloData:
        for silo in self.silos:
            if silo.name == name:
                return silo
        raise KeyError(name)


def build_federated_data(scenario: Scenario) -> FederatedData:
    # Cached by the scenario's JSON: every ClientApp call in a process reuses one split.
    return _build(scenario.model_dump_json())


@lru_cache(maxsize=4)
def _build(scenario_json: str) -> FederatedData:
    scenario = Scenario.model_validate_json(scenario_json)
    data = scenario.data
    dataset = load_dataset(data, scenario.seed, scenario.model.input_shape)
    train_idx, test_idx = split_train_test(dataset.labels, data.test_fraction, scenario.seed)
    features = dataset.features
    if dataset.needs_standardizing:
        # Tabular sets are standardized with statistics of the training pool (the federated
        # equivalent is a federated mean and variance, which `silocarbon query` computes exactly).
        mean = features[train_idx].mean(axis=0)
        std = features[train_idx].std(axis=0)
        features = ((features - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)
    shares = [silo.share for silo in scenario.silos] if data.partition == "shares" else None
    n = len(scenario.silos)
    train_parts = partition(dataset.labels[train_idx], data.partition, n, scenario.seed, data.alpha, shares, "training")
    test_parts = partition(dataset.labels[test_idx], data.partition, n, scenario.seed, data.alpha, shares, "test")
    silos = tuple(
        SiloData(
            name=silo.name,
            train_x=features[train_idx[train_part]],
            train_y=dataset.labels[train_idx[train_part]],
            test_x=features[test_idx[test_part]],
            test_y=dataset.labels[test_idx[test_part]],
        )
        for silo, train_part, test_part in zip(scenario.silos, train_parts, test_parts)
    )
    return FederatedData(dataset, silos, features[test_idx], dataset.labels[test_idx])
