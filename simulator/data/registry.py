"""Dataset registry: name -> features and labels as arrays.

Offline sets come from installed packages (scikit-learn's bundled digits, breast cancer, wine) or are
generated (`synthetic`, seeded, any size); the digits, the default scenario's set, are read straight
from scikit-learn's data file, without importing scikit-learn. `torchvision:<name>` and `hf:<name>`
load real datasets for users who are online (see `simulator.data.online`).
"""

from __future__ import annotations

import gzip
import importlib.util
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from simulator.data.dataset import Dataset
from simulator.errors import InputError
from simulator.scenario.schema import DataConfig, Scenario


def load_dataset(config: DataConfig, seed: int, input_shape: tuple[int, ...] | None = None) -> Dataset:
    """The scenario's dataset. `input_shape`: the model's own input shape (`ModelConfig.input_shape`),
    which synthetic data then takes (a 3-long shape makes images)."""
    name = config.dataset
    if name == "digits":
        pixels, labels = digits_table()
        # Pixel values are 0..16: a fixed scale known in advance, so no statistics are pooled.
        return Dataset("digits", (pixels / 16.0).astype(np.float32), labels.astype(np.int64), 10, (1, 8, 8))
    if name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer()
        return Dataset("breast_cancer", bunch.data.astype(np.float32), bunch.target.astype(np.int64), 2, None, True)
    if name == "wine":
        from sklearn.datasets import load_wine

        bunch = load_wine()
        return Dataset("wine", bunch.data.astype(np.float32), bunch.target.astype(np.int64), 3, None, True)
    if name == "synthetic":
        if input_shape is not None:
            return synthetic_dataset(config.synthetic_samples, math.prod(input_shape), config.synthetic_classes, seed,
                                     image_shape=_image_shape(input_shape))
        return synthetic_dataset(
            config.synthetic_samples, config.synthetic_features, config.synthetic_classes, seed
        )
    if name.startswith("torchvision:"):
        from simulator.data.online import load_torchvision

        return load_torchvision(name.split(":", 1)[1], config.cache_dir)
    if name.startswith("hf:"):
        from simulator.data.online import load_huggingface

        return load_huggingface(name.split(":", 1)[1], config.cache_dir)
    raise InputError(f"key 'data.dataset': unknown dataset '{name}'")


# The digits as scikit-learn ships them (its `load_digits` reads this file): the UCI "Optical
# Recognition of Handwritten Digits" test set, 1,797 rows of 64 pixel counts (0..16, 8x8) and the
# label. Read with NumPy: importing scikit-learn and SciPy for it cost ~1.4 s of CPU per process.
DIGITS_FILE = ("sklearn", "datasets/data/digits.csv.gz")
DIGITS_SHAPE = (1797, 65)


@lru_cache(maxsize=1)
def digits_table() -> tuple[np.ndarray, np.ndarray]:
    """(pixels as float64 (1797, 64), labels as int64 (1797,)) from scikit-learn's bundled file, read
    once per process (read-only arrays: every caller derives its own)."""
    path = package_data_file(*DIGITS_FILE)
    try:
        with gzip.open(path, "rb") as stream:
            table = np.loadtxt(stream, delimiter=",", dtype=np.float64)
    except (OSError, ValueError) as error:
        raise InputError(f"key 'data.dataset': cannot read the digits from {path}: {error}") from error
    labels = table[:, -1]
    if table.shape != DIGITS_SHAPE or not np.isin(labels, np.arange(10)).all() or table[:, :-1].max() > 16:
        raise InputError(f"key 'data.dataset': {path} is not the 1,797 x 64 digits file with labels 0..9 "
                         "that scikit-learn ships; reinstall scikit-learn")
    pixels, labels = table[:, :-1], labels.astype(np.int64)
    pixels.flags.writeable = labels.flags.writeable = False
    return pixels, labels


def package_data_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"key 'data.dataset': the package '{package}' that ships this dataset is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise InputError(f"key 'data.dataset': {path} is missing from the installed '{package}'; reinstall it")
    return path


def _image_shape(shape: tuple[int, ...]) -> tuple[int, int, int] | None:
    return (shape[0], shape[1], shape[2]) if len(shape) == 3 else None


def synthetic_dataset(
    samples: int, num_features: int, num_classes: int, seed: int, image_shape: tuple[int, int, int] | None = None
) -> Dataset:
    """A seeded classification problem of any size (for scaling studies); with `image_shape`, the
    features are read as images of that shape (channels x height x width)."""
    from sklearn.datasets import make_classification

    informative = max(2, min(num_features, num_features // 2 + 1))
    if num_classes * 2 > 2**informative:
        raise InputError(
            f"key 'data.synthetic_classes': {num_classes} classes need more informative features than "
            f"data.synthetic_features = {num_features} gives; raise synthetic_features"
        )
    features, labels = make_classification(
        n_samples=samples,
        n_features=num_features,
        n_informative=informative,
        n_redundant=0,
        n_classes=num_classes,
        n_clusters_per_class=2,
        class_sep=1.5,
        random_state=sklearn_seed(seed),
    )
    return Dataset("synthetic", features.astype(np.float32), labels.astype(np.int64), num_classes, image_shape, True)


SKLEARN_SEED_LIMIT = 2**32  # scikit-learn's random_state takes 0 .. 2**32 - 1; scenario seeds go to 2**63 - 1


def sklearn_seed(seed: int) -> int:
    """The scenario's seed where scikit-learn takes it (so every such seed keeps its data), else a
    32-bit seed derived from it by numpy's SeedSequence (still one fixed value per seed)."""
    if 0 <= seed < SKLEARN_SEED_LIMIT:
        return seed
    return int(np.random.SeedSequence(seed).generate_state(1)[0])


@lru_cache(maxsize=16)
def dataset_features(config: DataConfig, seed: int, input_shape: tuple[int, ...] | None = None) -> int:
    """The dataset's number of features (cached: a sweep may ask for every point). Synthetic data in
    a model's input shape has as many as the shape holds: nothing is generated to count them."""
    if config.dataset == "synthetic" and input_shape is not None:
        return math.prod(input_shape)
    return load_dataset(config, seed, input_shape).num_features


def dataset_features_for_lifecycle(scenario: Scenario) -> int | None:
    """The feature count the lifecycle model derives a silo's samples per GB from, read only where a
    silo's [lifecycle] entry does not state samples_per_gb; None where every silo states it.

    Online datasets are read through their loader (from its cache after a run); where that fails,
    the refusal names the key that avoids it."""
    stated = {silo.name for silo in scenario.lifecycle.silos if silo.samples_per_gb is not None}
    deriving = [silo.name for silo in scenario.silos if silo.name not in stated]
    if not deriving:
        return None
    try:
        return dataset_features(scenario.data, scenario.seed, scenario.model.input_shape)
    except InputError as error:
        raise InputError(
            f"key 'lifecycle.silos.{deriving[0]}.samples_per_gb': not given, and the dataset cannot be read "
            f"to derive it ({error})"
        ) from None
