"""One dataset as arrays: what every loader returns and what partitioning, models and analytics read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Dataset:
    name: str
    features: np.ndarray  # float32, shape (n, d) flattened
    labels: np.ndarray  # int64, shape (n,)
    num_classes: int
    # (channels, height, width) when the features are a flattened image; the CNN uses it.
    image_shape: tuple[int, int, int] | None = None
    # Whether features still need standardizing (tabular sets) or are already on a fixed scale.
    needs_standardizing: bool = False

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])
