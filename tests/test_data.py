"""Datasets and partitioners: seeded, deterministic, disjoint, and one split for both views."""

from __future__ import annotations

import gzip
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.scenario.schema import DataConfig
from simulator.data import build_federated_data
from simulator.data.registry import load_dataset
from simulator.data.partition import partition, partition_shares, split_train_test
from simulator.errors import InputError
from tests.conftest import tiny_scenario


@pytest.mark.parametrize("scheme", ["iid", "dirichlet", "shares"])
def test_partitions_are_disjoint_complete_and_seeded(scheme):
    labels = np.random.default_rng(3).integers(0, 5, size=400)
    shares = [0.5, 0.3, 0.2]
    first = partition(labels, scheme, 3, seed=7, alpha=0.5, shares=shares, what="training")
    again = partition(labels, scheme, 3, seed=7, alpha=0.5, shares=shares, what="training")
    other = partition(labels, scheme, 3, seed=8, alpha=0.5, shares=shares, what="training")
    joined = np.concatenate(first)
    assert sorted(joined.tolist()) == list(range(400))
    assert all(len(part) > 0 for part in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


@given(
    shares=st.lists(st.floats(min_value=0.01, max_value=10), min_size=1, max_size=8),
    samples=st.integers(min_value=8, max_value=2000),
)
@settings(max_examples=200, deadline=None)
def test_quantity_skew_follows_the_shares(shares, samples):
    if samples < len(shares):
        return
    parts = partition_shares(samples, shares, np.random.default_rng(0))
    counts = np.array([len(p) for p in parts])
    assert counts.sum() == samples and counts.min() >= 1
    expected = np.asarray(shares) / np.sum(shares) * samples
    assert np.all(np.abs(counts - expected) <= len(shares) + 1)


def test_dirichlet_small_alpha_skews_labels():
    labels = np.repeat(np.arange(10), 100)
    parts = partition(labels, "dirichlet", 4, seed=0, alpha=0.1, shares=None, what="training")
    # With alpha = 0.1 most silos hold a few dominant classes: the largest class share is high.
    dominant = [np.bincount(labels[p], minlength=10).max() / len(p) for p in parts]
    assert np.mean(dominant) > 0.4


def test_train_test_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(4), 50)
    train, test = split_train_test(labels, 0.2, seed=0)
    assert set(train).isdisjoint(test) and len(train) + len(test) == 200
    assert np.all(np.bincount(labels[test]) == 10)


def test_federated_and_pooled_views_come_from_one_split():
    scenario = tiny_scenario(data__partition="iid")
    data = build_federated_data(scenario)
    pooled_x, pooled_y = data.pooled_train
    assert len(pooled_y) == sum(len(s.train_y) for s in data.silos)
    silo_test = np.concatenate([s.test_y for s in data.silos])
    assert sorted(silo_test.tolist()) == sorted(data.test_y.tolist())
    # No test sample sits in any silo's training data.
    train_rows = {row.tobytes() for row in pooled_x}
    assert sum(row.tobytes() in train_rows for row in data.test_x) <= 5  # digits has a few exact duplicates


@pytest.mark.parametrize("dataset", ["digits", "breast_cancer", "wine", "synthetic"])
def test_every_offline_dataset_loads(dataset):
    data = build_federated_data(tiny_scenario(data__dataset=dataset))
    assert len(data.test_y) > 0 and all(len(s.train_y) > 0 for s in data.silos)
    assert data.dataset.features.dtype == np.float32


def test_synthetic_dataset_has_the_requested_size():
    data = build_federated_data(tiny_scenario(data__dataset="synthetic", data__synthetic_samples=5000,
                                              data__synthetic_features=12, data__synthetic_classes=3))
    assert len(data.test_y) + sum(len(s.train_y) for s in data.silos) == 5000
    assert data.dataset.num_features == 12 and data.dataset.num_classes == 3


def test_more_silos_than_samples_is_refused():
    silos = [{"name": f"s{i}", "country": "FRA", "share": 1.0} for i in range(20)]
    with pytest.raises(InputError, match="20 silos but only"):
        build_federated_data(tiny_scenario(data__dataset="synthetic", data__synthetic_samples=10, silos=silos))


def test_digits_are_scikit_learns_read_from_its_file_without_importing_it():
    code = (
        "import sys\nfrom simulator.scenario.schema import DataConfig\nfrom simulator.data.registry import load_dataset\n"
        "d = load_dataset(DataConfig(dataset='digits'), 0)\n"
        "print(d.features.shape, d.labels.shape, 'sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "(1797, 64) (1797,) False False", done.stderr

    from sklearn.datasets import load_digits

    dataset = load_dataset(DataConfig(dataset="digits"), 0)
    bunch = load_digits()
    assert np.array_equal(dataset.features, (bunch.data / 16.0).astype(np.float32))
    assert np.array_equal(dataset.labels, bunch.target) and dataset.labels.dtype == np.int64
    dataset.features[0, 0] = 5.0  # a caller's copy: the next load is unchanged
    assert load_dataset(DataConfig(dataset="digits"), 0).features[0, 0] == bunch.data[0, 0] / 16.0


def test_a_damaged_digits_file_is_one_clear_error(tmp_path, monkeypatch):
    from simulator.data import registry

    damaged = tmp_path / "digits.csv.gz"
    with gzip.open(damaged, "wt") as stream:
        stream.write("1,2,3\n4,5,6\n")
    monkeypatch.setattr(registry, "package_data_file", lambda package, relative: damaged)
    registry.digits_table.cache_clear()
    try:
        with pytest.raises(InputError, match="is not the 1,797 x 64 digits file"):
            load_dataset(DataConfig(dataset="digits"), 0)
    finally:
        registry.digits_table.cache_clear()
