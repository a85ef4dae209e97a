"""The online loaders' conversion, on locally built data (nothing here can be downloaded)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from simulator.data.online import arrays_from_image_samples, load_huggingface


def test_pil_images_become_scaled_channel_first_arrays():
    rng = np.random.default_rng(0)
    pixels = [(rng.random((5, 7)) * 255).astype(np.uint8) for _ in range(6)]
    samples = [(Image.fromarray(p), i % 3) for i, p in enumerate(pixels)]
    dataset = arrays_from_image_samples(samples, "local")
    assert dataset.image_shape == (1, 5, 7) and dataset.num_classes == 3
    assert np.allclose(dataset.features[2], pixels[2].reshape(-1) / 255.0)


def test_rgb_height_width_channel_images_are_transposed():
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    image[..., 2] = 255
    dataset = arrays_from_image_samples([(image, 0), (image, 1)], "rgb")
    assert dataset.image_shape == (3, 4, 6)
    assert dataset.features[0].reshape(3, 4, 6)[2].min() == 1.0


def test_flwr_datasets_loader_reads_a_local_csv_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    folder = tmp_path / "table"
    folder.mkdir()
    rows = ["x1,x2,label"] + [f"{i * 0.5},{-i},{'spam' if i % 3 == 0 else 'ham'}" for i in range(30)]
    (folder / "data.csv").write_text("\n".join(rows) + "\n")
    dataset = load_huggingface(str(folder), str(tmp_path / "cache"))
    assert dataset.features.shape == (30, 2) and dataset.num_classes == 2
    assert dataset.needs_standardizing


def test_flwr_datasets_loader_reads_a_local_image_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    for label in ("cat", "dog"):
        (tmp_path / "images" / "train" / label).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((4, 4), 40 * i, dtype=np.uint8)).save(tmp_path / "images" / "train" / label / f"{i}.png")
    dataset = load_huggingface(str(tmp_path / "images"), str(tmp_path / "cache"))
    assert dataset.image_shape == (1, 4, 4) and len(dataset.labels) == 6 and dataset.num_classes == 2
