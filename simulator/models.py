"""Small torch models, chosen by name in the scenario. The same seed gives the same initial weights."""

from __future__ import annotations

import torch
from torch import nn

from simulator.scenario.schema import ModelConfig
from simulator.data.dataset import Dataset

MODEL_NAMES = ("logreg", "mlp", "cnn")


class ConvNet(nn.Module):
    """A small CNN: 2-D convolutions for image data, 1-D over the features of tabular data."""

    def __init__(self, num_features: int, num_classes: int, image_shape: tuple[int, int, int] | None):
        super().__init__()
        self.image_shape = image_shape
        if image_shape is not None:
            channels, height, width = image_shape
            self.features = nn.Sequential(
                nn.Conv2d(channels, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
            )
            flat = 8 * (height // 2) * (width // 2)
        else:
            self.features = nn.Sequential(nn.Conv1d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool1d(2))
            flat = 8 * (num_features // 2)
        self.head = nn.Linear(flat, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.image_shape is not None:
            x = x.view(x.shape[0], *self.image_shape)
        else:
            x = x.view(x.shape[0], 1, -1)
        return self.head(torch.flatten(self.features(x), 1))


def build_model(config: ModelConfig, dataset: Dataset, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    if config.name == "logreg":
        return nn.Linear(dataset.num_features, dataset.num_classes)
    if config.name == "mlp":
        return nn.Sequential(
            nn.Linear(dataset.num_features, config.hidden_units),
            nn.ReLU(),
            nn.Linear(config.hidden_units, dataset.num_classes),
        )
    if config.name == "cnn":
        if dataset.image_shape is None and dataset.num_features < 2:
            raise ValueError("the CNN needs at least 2 features")
        return ConvNet(dataset.num_features, dataset.num_classes, dataset.image_shape)
    raise ValueError(f"unknown model '{config.name}'; allowed: {' | '.join(MODEL_NAMES)}")
