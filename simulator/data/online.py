"""Real datasets for users who are online: torchvision's and the Hugging Face hub's (through
`flwr-datasets`). Both are turned into one `Dataset` (all splits pooled), which silocarbon then
splits and partitions itself, like the offline sets, so FL and CL see the same data.

Neither is reachable offline; the conversion functions below are tested on locally built data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from simulator.data.dataset import Dataset
from simulator.errors import InputError

# Column names tried, in order, for the image/feature and label columns of a Hugging Face dataset.
IMAGE_COLUMNS = ("image", "img", "pixel_values")
LABEL_COLUMNS = ("label", "labels", "fine_label", "target", "y")


def arrays_from_image_samples(samples: Iterable[tuple[Any, int]], name: str) -> Dataset:
    """(image, label) pairs -> a Dataset of flattened images scaled to [0, 1].

    An image may be a PIL image (what torchvision and Hugging Face yield), a numpy array or a
    tensor, as H x W, H x W x C or C x H x W with 8-bit or float values.
    """
    images, labels = [], []
    for image, label in samples:
        images.append(_image_array(image))
        labels.append(int(label))
    if not images:
        raise InputError(f"key 'data.dataset': dataset '{name}' is empty")
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise InputError(f"key 'data.dataset': images of '{name}' differ in shape ({sorted(shapes)[:3]}...)")
    stacked = np.stack(images)  # n, C, H, W
    label_array = np.asarray(labels, dtype=np.int64)
    channels, height, width = stacked.shape[1:]
    return Dataset(
        name=name,
        features=stacked.reshape(len(stacked), -1).astype(np.float32),
        labels=label_array,
        num_classes=int(label_array.max()) + 1,
        image_shape=(int(channels), int(height), int(width)),
    )


def _image_array(image: Any) -> np.ndarray:
    array = np.asarray(image.numpy() if hasattr(image, "numpy") else image)
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    array = array.astype(np.float32) / scale
    if array.ndim == 2:
        return array[None, :, :]
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4) and array.shape[0] not in (1, 3):
        return np.transpose(array, (2, 0, 1))  # H x W x C -> C x H x W
    if array.ndim == 3:
        return array
    raise InputError(f"key 'data.dataset': cannot use an image of shape {array.shape}")


def load_torchvision(name: str, cache_dir: str) -> Dataset:
    """torchvision.datasets.<name>, train and test splits pooled, downloaded into `cache_dir`."""
    try:
        import torchvision.datasets as tv_datasets
    except Exception as error:  # not installed, or a build that does not match the installed torch
        raise InputError(
            f"key 'data.dataset': 'torchvision:{name}' needs a torchvision that matches the installed torch "
            f"({type(error).__name__}: {error})"
        ) from None
    factory = getattr(tv_datasets, name, None)
    if factory is None:
        raise InputError(f"key 'data.dataset': torchvision has no dataset '{name}' (e.g. MNIST, FashionMNIST, CIFAR10)")
    root = Path(cache_dir).expanduser() / "torchvision"
    splits: list[Sequence] = [factory(root=str(root), train=True, download=True),
                              factory(root=str(root), train=False, download=True)]
    return arrays_from_image_samples((sample for split in splits for sample in split), f"torchvision:{name}")


def load_huggingface(name: str, cache_dir: str) -> Dataset:
    """A Hugging Face dataset through flwr-datasets, every split pooled.

    `name` is a hub id (e.g. `ylecun/mnist`) or a local folder of data files (CSV, Parquet, JSON).
    Image datasets use their image column; tabular ones use every numeric column but the label.
    """
    try:
        from flwr_datasets import FederatedDataset
    except ImportError:
        raise InputError("key 'data.dataset': 'hf:' datasets need flwr-datasets (pip install 'silocarbon[online]')") from None
    from datasets import get_dataset_split_names

    try:
        split_names = get_dataset_split_names(name, cache_dir=cache_dir)
        federated = FederatedDataset(dataset=name, partitioners={split_names[0]: 1}, shuffle=False,
                                     cache_dir=str(Path(cache_dir).expanduser() / "hf"))
        splits = [federated.load_split(split) for split in split_names]
    except (FileNotFoundError, ValueError, ConnectionError, OSError) as error:
        raise InputError(f"key 'data.dataset': cannot load 'hf:{name}': {type(error).__name__}: {error}") from None
    return dataset_from_table_splits(splits, f"hf:{name}")


def dataset_from_table_splits(splits: Sequence, name: str) -> Dataset:
    """Hugging Face `datasets.Dataset` splits -> one Dataset (images, or numeric tabular columns)."""
    columns = list(splits[0].column_names)
    label = next((c for c in LABEL_COLUMNS if c in columns), None)
    if label is None:
        raise InputError(f"key 'data.dataset': '{name}' has no label column (looked for {', '.join(LABEL_COLUMNS)})")
    image = next((c for c in IMAGE_COLUMNS if c in columns), None)
    if image is not None:
        return arrays_from_image_samples(
            ((row[image], row[label]) for split in splits for row in split), name
        )
    feature_columns = [c for c in columns if c != label]
    table = np.concatenate(
        [np.column_stack([np.asarray(split[c], dtype=np.float32) for c in feature_columns]) for split in splits]
    )
    raw_labels = np.concatenate([np.asarray(split[label]) for split in splits])
    classes, encoded = np.unique(raw_labels, return_inverse=True)
    return Dataset(name, table, encoded.astype(np.int64), len(classes), None, needs_standardizing=True)
