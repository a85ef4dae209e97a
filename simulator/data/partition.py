"""Partitioners: which sample goes to which silo. Pure functions of labels, scheme and seed."""

from __future__ import annotations

import numpy as np

from simulator.errors import InputError

# Dirichlet draws can leave a silo empty; redraw up to this many times before giving up.
MAX_DIRICHLET_DRAWS = 100


def split_train_test(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified held-out split: the same fraction of every class goes to the test set."""
    rng = np.random.default_rng([seed, 0])
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(len(members) * test_fraction))
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def partition_iid(num_samples: int, num_silos: int, rng: np.random.Generator) -> list[np.ndarray]:
    return [np.sort(part) for part in np.array_split(rng.permutation(num_samples), num_silos)]


def partition_shares(num_samples: int, shares: list[float], rng: np.random.Generator) -> list[np.ndarray]:
    """Quantity skew: silo i gets about shares[i] / sum(shares) of the samples (at least one)."""
    weights = np.asarray(shares, dtype=float) / float(np.sum(shares))
    counts = np.floor(weights * num_samples).astype(int)
    counts = np.maximum(counts, 1)
    # Hand out (or take back) the rounding remainder largest-share first, deterministically.
    order = np.argsort(-weights, kind="stable")
    i = 0
    while counts.sum() < num_samples:
        counts[order[i % len(order)]] += 1
        i += 1
    while counts.sum() > num_samples:
        j = order[i % len(order)]
        if counts[j] > 1:
            counts[j] -= 1
        i += 1
    permutation = rng.permutation(num_samples)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [np.sort(permutation[bounds[k] : bounds[k + 1]]) for k in range(len(shares))]


def partition_dirichlet(labels: np.ndarray, num_silos: int, alpha: float, rng: np.random.Generator) -> list[np.ndarray]:
    """Label skew: each class is split between silos by proportions drawn from Dirichlet(alpha)."""
    classes = np.unique(labels)
    for _ in range(MAX_DIRICHLET_DRAWS):
        parts: list[list[int]] = [[] for _ in range(num_silos)]
        for label in classes:
            members = rng.permutation(np.flatnonzero(labels == label))
            proportions = rng.dirichlet(np.full(num_silos, alpha))
            cuts = (np.cumsum(proportions)[:-1] * len(members)).astype(int)
            for silo, chunk in enumerate(np.split(members, cuts)):
                parts[silo].extend(chunk.tolist())
        if all(parts):
            return [np.sort(np.asarray(part, dtype=np.int64)) for part in parts]
    raise InputError(
        f"key 'data.alpha': Dirichlet({alpha}) left a silo without samples in {MAX_DIRICHLET_DRAWS} draws; "
        "raise alpha or use fewer silos"
    )


def partition(
    labels: np.ndarray, scheme: str, num_silos: int, seed: int, alpha: float, shares: list[float] | None, what: str
) -> list[np.ndarray]:
    """Indices into `labels` for each silo. `what` names the split in error messages."""
    if num_silos > len(labels):
        raise InputError(
            f"key 'silos': {num_silos} silos but only {len(labels)} {what} samples; "
            "use fewer silos or more data"
        )
    rng = np.random.default_rng([seed, 1 if what == "training" else 2])
    if scheme == "iid":
        return partition_iid(len(labels), num_silos, rng)
    if scheme == "shares":
        assert shares is not None
        return partition_shares(len(labels), shares, rng)
    if scheme == "dirichlet":
        return partition_dirichlet(labels, num_silos, alpha, rng)
    raise InputError(f"key 'data.partition': unknown partition '{scheme}'; allowed: iid | dirichlet | shares")
