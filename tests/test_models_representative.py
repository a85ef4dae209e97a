"""The representative models (resnet18, transformer): they train through a real run, their payload per
silo-round follows from their parameter count, and they take the data's shape (synthetic data takes
theirs). Kept tiny: a ResNet-18 step on this CPU costs about 40 ms per sample."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from simulator.scenario.schema import DataConfig, ModelConfig
from simulator.data.online import arrays_from_image_samples
from simulator.data.registry import load_dataset
from simulator.errors import InputError
from simulator.ledger import APPROACH_FL, SERVER_SILO, Ledger
from simulator.models import build_model
from simulator.pipeline import run_scenario
from tests.conftest import run_cli, tiny_scenario
from tests.test_payload_bytes import FLOAT32_BYTES, NPY_HEADER_BYTES, record_bytes

TINY_TRAINING = ["training.rounds=1", "training.batch_size=8", "data.synthetic_samples=30", "data.partition=\"iid\""]


def model_array_bytes(model: torch.nn.Module) -> int:
    """What one copy of the model weighs in a message: per array its .npy header, float32 data and key."""
    return sum(NPY_HEADER_BYTES + FLOAT32_BYTES * value.numel() + len(key) for key, value in model.state_dict().items())


def assert_bytes_per_silo_round_follow_from_parameters(ledger: Ledger, model: torch.nn.Module, silos: int) -> None:
    arrays = model_array_bytes(model)
    # Per silo and round: the model down and up for training, down for evaluation (FedAvg's records).
    per_silo_round = (
        arrays + record_bytes(["local-epochs", "server-round"])
        + arrays + record_bytes(["num-examples", "train-loss"])
        + arrays + record_bytes(["server-round"])
        + record_bytes(["num-examples", "eval-loss", "eval-acc"])
    )
    rows = [row for row in ledger.select(approach=APPROACH_FL) if row.silo != SERVER_SILO]
    rounds = {row.round for row in rows}
    assert sum(row.bytes_down + row.bytes_up for row in rows) == per_silo_round * silos * len(rounds)


def test_resnet18_trains_through_silocarbon_run_on_synthetic_data(tmp_path):
    args = ["run", "--set", "model.name=resnet18", "--set", "data.dataset=synthetic"]
    for override in TINY_TRAINING:
        args += ["--set", override]
    completed = run_cli(*args, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    run_dir = next((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert 0.0 <= summary["fl"]["accuracy"] <= 1.0 and summary["cl"]["energy_kwh"] > 0
    scenario = tiny_scenario(model__name="resnet18", data__dataset="synthetic")
    dataset = load_dataset(DataConfig(dataset="synthetic", synthetic_samples=30), 0, (3, 32, 32))
    model = build_model(ModelConfig(name="resnet18"), dataset, 0)
    # ResNet-18: about 11.2 M parameters, about 45 MB of float32.
    parameters = sum(p.numel() for p in model.parameters())
    assert 11.0e6 < parameters < 11.3e6
    assert parameters == sum(v.numel() for v in model.state_dict().values())  # no buffers: all is exchanged
    default_silos = 3  # the embedded default scenario's
    assert len(scenario.silos) == 2
    assert_bytes_per_silo_round_follow_from_parameters(Ledger.from_csv(run_dir / "ledger.csv"), model, default_silos)


def test_transformer_trains_in_a_run_and_its_bytes_follow_from_its_parameters(tmp_path):
    scenario = tiny_scenario(model__name="transformer", data__dataset="synthetic", data__synthetic_samples=30,
                             data__partition="iid", training__rounds=2, training__batch_size=8)
    result = run_scenario(scenario, tmp_path / "runs")
    dataset = load_dataset(scenario.data, scenario.seed, scenario.model.input_shape)
    assert dataset.features.shape[1] == 64 * 16 and dataset.image_shape is None
    model = build_model(scenario.model, dataset, scenario.seed)
    assert 2.5e6 < sum(p.numel() for p in model.parameters()) < 5e6
    assert_bytes_per_silo_round_follow_from_parameters(result.ledger, model, len(scenario.silos))
    assert result.summary.fl.accuracy is not None and result.summary.fl.accuracy >= 0.0


def test_transformer_trains_on_a_user_image_folder_through_the_real_loader(tmp_path, monkeypatch):
    """A user's own images (here: 32 x 32 RGB PNGs written locally) through the `hf:` loader: the
    model cuts them into 4 x 4 patches, as it would CIFAR-10 from `torchvision:CIFAR10`."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        folder = tmp_path / "images" / "train" / label
        folder.mkdir(parents=True)
        for index in range(8):
            pixels = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
            Image.fromarray(pixels, mode="RGB").save(folder / f"{index}.png")
    scenario = tiny_scenario(model__name="transformer", data__dataset=f"hf:{tmp_path / 'images'}",
                             data__cache_dir=str(tmp_path / "cache"), data__partition="iid",
                             training__rounds=1, training__batch_size=4)
    result = run_scenario(scenario, tmp_path / "runs")
    dataset = load_dataset(scenario.data, scenario.seed, scenario.model.input_shape)
    assert dataset.image_shape == (3, 32, 32)
    model = build_model(scenario.model, dataset, scenario.seed)
    assert model.tokens == 64 and model.token_values == 3 * 16
    assert_bytes_per_silo_round_follow_from_parameters(result.ledger, model, len(scenario.silos))


def test_resnet18_takes_the_shape_of_real_images():
    """CIFAR-10 as torchvision yields it (32 x 32 RGB PIL images) and MNIST-like grey 28 x 28 images."""
    rng = np.random.default_rng(1)
    cifar = arrays_from_image_samples(
        [(Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8), mode="RGB"), i % 10) for i in range(10)],
        "torchvision:CIFAR10",
    )
    synthetic = load_dataset(DataConfig(dataset="synthetic", synthetic_samples=20, synthetic_classes=10), 0, (3, 32, 32))
    config = ModelConfig(name="resnet18")
    assert cifar.image_shape == synthetic.image_shape == config.input_shape
    from_cifar, from_synthetic = build_model(config, cifar, 0), build_model(config, synthetic, 0)
    assert [v.shape for v in from_cifar.state_dict().values()] == [v.shape for v in from_synthetic.state_dict().values()]
    grey = arrays_from_image_samples([(np.zeros((28, 28), dtype=np.uint8), i % 2) for i in range(4)], "grey")
    model = build_model(config, grey, 0)
    with torch.no_grad():
        assert model(torch.from_numpy(grey.features)).shape == (4, 2)


def test_resnet18_refuses_tabular_data_naming_the_key():
    wine = load_dataset(DataConfig(dataset="wine"), 0)
    with pytest.raises(InputError, match="key 'model.name': resnet18 needs image data"):
        build_model(ModelConfig(name="resnet18"), wine, 0)


def test_a_stated_synthetic_feature_count_that_contradicts_the_model_is_refused(tmp_path):
    completed = run_cli("validate", "--set", "model.name=resnet18", "--set", "data.dataset=synthetic",
                        "--set", "data.synthetic_features=20", cwd=tmp_path)
    assert completed.returncode == 2
    assert "data.synthetic_features" in completed.stderr and "3 x 32 x 32 = 3072" in completed.stderr


def test_synthetic_data_takes_every_scenario_seed(tmp_path):
    """Seeds beyond scikit-learn's 32-bit random_state (the scenario allows up to 2**63 - 1) give
    valid, repeatable data instead of an error; smaller seeds keep their data."""
    from simulator.data.registry import synthetic_dataset

    big = 2**32 + 5
    first, again = synthetic_dataset(40, 8, 2, big), synthetic_dataset(40, 8, 2, big)
    assert (first.features == again.features).all() and (first.labels == again.labels).all()
    assert not (synthetic_dataset(40, 8, 2, 2**63 - 1).features == first.features).all()
    done = run_cli("validate", "--set", 'data.dataset="synthetic"', "--set", f"seed={big}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
