"""The training loop's SGD with momentum makes torch.optim.SGD's updates, bit for bit."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from simulator.training import MomentumSGD


def _trained(make_optimizer, momentum: float) -> list[torch.Tensor]:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    model[0].bias.requires_grad_(False)  # a frozen parameter is left alone by both
    x, y = torch.randn(64, 8, generator=torch.Generator().manual_seed(5)), torch.arange(64) % 3
    optimizer = make_optimizer(model.parameters(), momentum)
    for start in range(0, 64, 16):  # several steps: the momentum buffers are used, not only made
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x[start : start + 16]), y[start : start + 16]).backward()
        optimizer.step()
    return [parameter.detach().clone() for parameter in model.parameters()]


@pytest.mark.parametrize("momentum", [0.9, 0.0])
def test_momentum_sgd_is_torch_sgd_bit_for_bit(momentum):
    ours = _trained(lambda parameters, m: MomentumSGD(parameters, learning_rate=0.05, momentum=m), momentum)
    theirs = _trained(lambda parameters, m: torch.optim.SGD(parameters, lr=0.05, momentum=m), momentum)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    assert not torch.equal(ours[0], _trained(lambda p, m: MomentumSGD(p, learning_rate=0.05, momentum=m), 0.5)[0])
