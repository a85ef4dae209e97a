"""Torch models, chosen by name in the scenario. The same seed gives the same initial weights.

Small ones (logreg, mlp, cnn) adapt to the dataset. Two representative ones carry realistic payloads:
`resnet18` (ResNet-18, about 11.2 M parameters, 44.7 MB of float32, for images; CIFAR-10-shaped
3 x 32 x 32 by default) and `transformer` (a 4-layer transformer encoder classifier, about 3.2 M
parameters, 12.8 MB). Both hold every weight as a parameter (no buffers), so the model exchanged in
a round is exactly its parameters.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from simulator.data.dataset import Dataset
from simulator.errors import InputError
from simulator.scenario.schema import ModelConfig

MODEL_NAMES = ("logreg", "mlp", "cnn", "resnet18", "transformer")


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


class BasicBlock(nn.Module):
    """ResNet's two 3x3 convolutions with a shortcut (a 1x1 convolution where the shape changes)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride=stride, padding=1, bias=False)
        self.norm1 = _group_norm(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, stride=1, padding=1, bias=False)
        self.norm2 = _group_norm(channels_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels_in, channels_out, 1, stride=stride, bias=False), _group_norm(channels_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


# GroupNorm with 2 groups instead of BatchNorm: the usual choice for ResNets in federated learning
# (Hsieh et al., ICML 2020: batch statistics break down on non-IID silos); it also keeps no running
# statistics, so every exchanged value is a trained parameter.
NORM_GROUPS = 2
RESNET18_WIDTHS = (64, 128, 256, 512)


def _group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(NORM_GROUPS, channels)


class ResNet18(nn.Module):
    """ResNet-18 (He et al., 2016: four stages of two basic blocks, 64 to 512 channels) with the
    CIFAR stem (one 3x3 convolution, no max-pool), so 32 x 32 images keep their detail."""

    def __init__(self, image_shape: tuple[int, int, int], num_classes: int):
        super().__init__()
        self.image_shape = image_shape
        self.stem = nn.Sequential(
            nn.Conv2d(image_shape[0], RESNET18_WIDTHS[0], 3, stride=1, padding=1, bias=False),
            _group_norm(RESNET18_WIDTHS[0]),
            nn.ReLU(),
        )
        blocks, channels = [], RESNET18_WIDTHS[0]
        for stage, width in enumerate(RESNET18_WIDTHS):
            stride = 1 if stage == 0 else 2
            blocks += [BasicBlock(channels, width, stride), BasicBlock(width, width, 1)]
            channels = width
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x.view(x.shape[0], *self.image_shape)))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


# The transformer's size: d_model 256, 4 heads, 4 layers, feed-forward 1024 (about 3.2 M parameters).
TRANSFORMER_WIDTH = 256
TRANSFORMER_HEADS = 4
TRANSFORMER_LAYERS = 4
TRANSFORMER_FEED_FORWARD = 1024
TOKEN_VALUES = 16  # values per token for flat features (images: 4 x 4 pixel patches per channel)
PATCH = 4


class TransformerClassifier(nn.Module):
    """A transformer encoder over tokens cut from the sample: 4 x 4 patches of an image (as in ViT,
    Dosovitskiy et al., 2021), else consecutive runs of 16 feature values (the last one zero-padded).
    Tokens are embedded linearly, get a learned position, pass 4 pre-norm encoder layers and are
    averaged into the class logits."""

    def __init__(self, num_features: int, num_classes: int, image_shape: tuple[int, int, int] | None):
        super().__init__()
        channels, height, width = image_shape or (0, 0, 0)
        self.patches = image_shape is not None and height % PATCH == 0 and width % PATCH == 0
        self.image_shape = image_shape
        if self.patches:
            tokens, token_values = (height // PATCH) * (width // PATCH), channels * PATCH * PATCH
        else:
            tokens, token_values = math.ceil(num_features / TOKEN_VALUES), TOKEN_VALUES
        self.tokens, self.token_values = tokens, token_values
        self.embed = nn.Linear(token_values, TRANSFORMER_WIDTH)
        self.position = nn.Parameter(torch.randn(1, tokens, TRANSFORMER_WIDTH) * 0.02)
        # Layers built one by one (nn.TransformerEncoder would deep-copy one layer: equal initial weights).
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                TRANSFORMER_WIDTH, TRANSFORMER_HEADS, TRANSFORMER_FEED_FORWARD, dropout=0.0,
                batch_first=True, norm_first=True,
            )
            for _ in range(TRANSFORMER_LAYERS)
        )
        self.norm = nn.LayerNorm(TRANSFORMER_WIDTH)
        self.head = nn.Linear(TRANSFORMER_WIDTH, num_classes)

    def _tokens(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        if self.patches:
            assert self.image_shape is not None
            images = x.view(batch, *self.image_shape)
            patches = images.unfold(2, PATCH, PATCH).unfold(3, PATCH, PATCH)  # B, C, H/4, W/4, 4, 4
            return patches.permute(0, 2, 3, 1, 4, 5).reshape(batch, self.tokens, self.token_values)
        padded = nn.functional.pad(x.view(batch, -1), (0, self.tokens * TOKEN_VALUES - x[0].numel()))
        return padded.view(batch, self.tokens, TOKEN_VALUES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(self._tokens(x)) + self.position
        for layer in self.layers:
            hidden = layer(hidden)
        return self.head(self.norm(hidden).mean(dim=1))


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
    if config.name == "resnet18":
        if dataset.image_shape is None:
            raise InputError(
                f"key 'model.name': resnet18 needs image data (channels x height x width); dataset "
                f"'{dataset.name}' is tabular (use an image dataset, or data.dataset = \"synthetic\", "
                "which takes the model's 3 x 32 x 32 input shape)"
            )
        return ResNet18(dataset.image_shape, dataset.num_classes)
    if config.name == "transformer":
        return TransformerClassifier(dataset.num_features, dataset.num_classes, dataset.image_shape)
    raise ValueError(f"unknown model '{config.name}'; allowed: {' | '.join(MODEL_NAMES)}")
