"""The yardstick for `silocarbon run`'s speed: the same training as a plain PyTorch script.

It does what the embedded default scenario trains, and nothing else: scikit-learn's bundled
handwritten digits (1,797 8x8 images, pixels / 16), a stratified 20 % test split, three silos holding
50 / 30 / 20 % of the training and test samples, an MLP (64 -> 64 -> 10), 10 rounds of FedAvg (each
silo one local epoch of mini-batch SGD, batch 32, learning rate 0.05, momentum 0.9, then every silo
evaluates the averaged model on its test shard), and the same MLP trained centrally on the pooled
training data for 10 epochs (the same sample updates), evaluated after every epoch. One torch
thread, silos one after another, no measurement, no files.

It imports neither silocarbon nor Flower, so it is what a researcher would write by hand; the split,
the partition and the seeds follow silocarbon's (`simulator/data/partition.py`,
`simulator/flower/client_app.py: silo_seed`, `simulator/centralized.py`), so both reach the same
accuracies (printed, to check that the work is the same).

    python -m experiments.plain_pytorch_yardstick                   # digits through scikit-learn
    python -m experiments.plain_pytorch_yardstick --digits file     # the same file, read with NumPy

`--digits sklearn` (the default) loads the data the way a plain script does
(`sklearn.datasets.load_digits`); `--digits file` reads the same CSV that scikit-learn ships, as
silocarbon does, so a benchmark can also show what the data loading alone is worth.
"""

from __future__ import annotations

import argparse
import time

PROCESS_STARTED = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

SEED = 0
SHARES = (0.5, 0.3, 0.2)
ROUNDS = 10
LOCAL_EPOCHS = 1
BATCH_SIZE = 32
LEARNING_RATE = 0.05
MOMENTUM = 0.9
HIDDEN_UNITS = 64
TEST_FRACTION = 0.2


def load_digits_arrays(source: str) -> tuple[np.ndarray, np.ndarray]:
    if source == "sklearn":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)
    import gzip
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    assert spec is not None and spec.submodule_search_locations
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rb") as file:
        table = np.loadtxt(file, delimiter=",", dtype=np.float64)
    return (table[:, :-1] / 16.0).astype(np.float32), table[:, -1].astype(np.int64)


def stratified_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([SEED, 0])
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        cut = int(round(len(members) * TEST_FRACTION))
        test.append(members[:cut])
        train.append(members[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def share_split(count: int, stream: int) -> list[np.ndarray]:
    weights = np.asarray(SHARES) / sum(SHARES)
    counts = np.maximum(np.floor(weights * count).astype(int), 1)
    order = np.argsort(-weights, kind="stable")
    i = 0
    while counts.sum() < count:
        counts[order[i % len(order)]] += 1
        i += 1
    permutation = np.random.default_rng([SEED, stream]).permutation(count)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [np.sort(permutation[bounds[k] : bounds[k + 1]]) for k in range(len(SHARES))]


def new_model() -> nn.Module:
    torch.manual_seed(SEED)
    return nn.Sequential(nn.Linear(64, HIDDEN_UNITS), nn.ReLU(), nn.Linear(HIDDEN_UNITS, 10))


def batch_seed(*entropy: int) -> int:
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


def train_one_epoch(model: nn.Module, x: torch.Tensor, y: torch.Tensor, seed: int) -> None:
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    loss_fn = nn.CrossEntropyLoss()
    for start in range(0, len(y), BATCH_SIZE):
        index = order[start : start + BATCH_SIZE]
        optimizer.zero_grad()
        loss_fn(model(x[index]), y[index]).backward()
        optimizer.step()


@torch.no_grad()
def correct_answers(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    model.eval()
    return int((model(x).argmax(dim=1) == y).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", choices=("sklearn", "file"), default="sklearn",
                        help="how to read the digits: scikit-learn's loader, or its CSV file with NumPy")
    arguments = parser.parse_args()
    torch.set_num_threads(1)

    features, labels = load_digits_arrays(arguments.digits)
    train_idx, test_idx = stratified_split(labels)
    train_parts, test_parts = share_split(len(train_idx), 1), share_split(len(test_idx), 2)
    silos = [
        (torch.from_numpy(features[train_idx[tr]]), torch.from_numpy(labels[train_idx[tr]]),
         torch.from_numpy(features[test_idx[te]]), torch.from_numpy(labels[test_idx[te]]))
        for tr, te in zip(train_parts, test_parts)
    ]

    # Federated: every silo trains a copy of the global model; FedAvg weights by training samples.
    global_model, silo_models = new_model(), [new_model() for _ in silos]
    training_started = time.perf_counter()
    for round_number in range(1, ROUNDS + 1):
        states, weights = [], []
        for index, (train_x, train_y, _, _) in enumerate(silos):
            model = silo_models[index]
            model.load_state_dict(global_model.state_dict())
            for _ in range(LOCAL_EPOCHS):
                train_one_epoch(model, train_x, train_y, batch_seed(SEED, index, round_number))
            states.append({name: value.detach().clone() for name, value in model.state_dict().items()})
            weights.append(len(train_y))
        total = float(sum(weights))
        global_model.load_state_dict(
            {name: sum(state[name] * (w / total) for state, w in zip(states, weights)) for name in states[0]}
        )
        correct = 0
        for index, (_, _, test_x, test_y) in enumerate(silos):
            silo_models[index].load_state_dict(global_model.state_dict())
            correct += correct_answers(silo_models[index], test_x, test_y)
    fl_accuracy = correct / len(test_idx)
    fl_s = time.perf_counter() - training_started

    # Centralized: the pooled training data (silo by silo), the same sample updates.
    pooled_x = torch.cat([silo[0] for silo in silos])
    pooled_y = torch.cat([silo[1] for silo in silos])
    test_x, test_y = torch.from_numpy(features[test_idx]), torch.from_numpy(labels[test_idx])
    central = new_model()
    cl_started = time.perf_counter()
    for epoch in range(1, ROUNDS * LOCAL_EPOCHS + 1):
        train_one_epoch(central, pooled_x, pooled_y, batch_seed(SEED, 10_000, epoch))
        cl_accuracy = correct_answers(central, test_x, test_y) / len(test_y)
    cl_s = time.perf_counter() - cl_started
    print(f"FL accuracy {fl_accuracy:.4f} ({fl_s:.2f} s), CL accuracy {cl_accuracy:.4f} ({cl_s:.2f} s), "
          f"digits via {arguments.digits}, process so far {time.perf_counter() - PROCESS_STARTED:.2f} s")


if __name__ == "__main__":
    main()
