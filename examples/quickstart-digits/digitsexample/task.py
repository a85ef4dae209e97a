"""The model, the data of one partition, and the training and test loops."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

SPLIT_SEED = 42  # the same partitions in every process
TEST_SHARE = 0.2


class Net(nn.Module):
    """Two small convolutions over the 8x8 grey images, then two dense layers."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 8 x 4 x 4
            nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16 x 2 x 2
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(images))


_partitions: dict[tuple[int, int], tuple[TensorDataset, TensorDataset]] = {}


def load_data(partition_id: int, num_partitions: int, batch_size: int) -> tuple[DataLoader, DataLoader]:
    """Partition `partition_id` of `num_partitions` equal random shares, split 80/20 into train and
    test loaders. Partition 0 of 1 is the whole dataset. Loaded once per process."""
    key = (partition_id, num_partitions)
    if key not in _partitions:
        digits = load_digits()
        images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
        labels = torch.tensor(digits.target, dtype=torch.int64)
        order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
        mine = torch.from_numpy(order[partition_id::num_partitions])
        cut = int(len(mine) * (1 - TEST_SHARE))
        _partitions[key] = (
            TensorDataset(images[mine[:cut]], labels[mine[:cut]]),
            TensorDataset(images[mine[cut:]], labels[mine[cut:]]),
        )
    train_set, test_set = _partitions[key]
    return DataLoader(train_set, batch_size=batch_size, shuffle=True), DataLoader(test_set, batch_size=batch_size)


def train(net: Net, loader: DataLoader, epochs: int, learning_rate: float) -> float:
    """SGD with momentum for `epochs` passes; the mean training loss."""
    optimizer = torch.optim.SGD(net.parameters(), lr=learning_rate, momentum=0.9)
    loss_of = nn.CrossEntropyLoss()
    net.train()
    total, batches = 0.0, 0
    for _ in range(epochs):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_of(net(images), labels)
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
    return total / max(batches, 1)


def test(net: Net, loader: DataLoader) -> tuple[float, float]:
    """Mean loss and accuracy (fraction correct) on `loader`."""
    loss_of = nn.CrossEntropyLoss(reduction="sum")
    net.eval()
    loss, correct, seen = 0.0, 0, 0
    with torch.no_grad():
        for images, labels in loader:
            outputs = net(images)
            loss += loss_of(outputs, labels).item()
            correct += int((outputs.argmax(dim=1) == labels).sum())
            seen += len(labels)
    return loss / max(seen, 1), correct / max(seen, 1)
