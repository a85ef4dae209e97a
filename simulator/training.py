"""The one training loop and the one evaluation, shared by silos and the centralized baseline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from simulator.collector import end_of_setup
from simulator.probes.gpu_time import gpu_busy
from simulator.probes.sample_updates import count_sample_updates
from simulator.stopping import raise_if_stopped


@dataclass(frozen=True)
class TrainStats:
    num_examples: int
    sample_updates: int  # examples x epochs: the unit of work FL and CL are matched on
    mean_loss: float
    steps: int = 0  # optimizer steps taken (SCAFFOLD divides the model change by it)


@dataclass(frozen=True)
class EvalStats:
    num_examples: int
    correct: int
    mean_loss: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.num_examples if self.num_examples else float("nan")


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class MomentumSGD:
    """SGD with momentum: the update `torch.optim.SGD(parameters, lr, momentum)` makes with its
    defaults (no dampening, weight decay or Nesterov), parameter by parameter as it runs on a CPU:
    the first step's buffer is the gradient, later ones `buffer = momentum * buffer + gradient`, then
    `parameter -= learning_rate * buffer`. tests/test_training_sgd.py checks it is bit for bit
    torch.optim.SGD's.

    Why not torch.optim.SGD itself: the first optimizer a process builds imports torch._dynamo (with
    SymPy), to keep the optimizer's own methods out of torch.compile, which this tool never calls.
    That import cost as much CPU as importing torch itself (2.1-2.7 s of CPU per process here, at
    load 8-10), in the CLI and in every Ray worker.
    """

    def __init__(self, parameters, *, learning_rate: float, momentum: float):  # type: ignore[no-untyped-def]
        self.parameters = [parameter for parameter in parameters if parameter.requires_grad]
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.buffers: list[torch.Tensor | None] = [None] * len(self.parameters)

    def zero_grad(self) -> None:
        for parameter in self.parameters:
            parameter.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for index, parameter in enumerate(self.parameters):
            gradient = parameter.grad
            if gradient is None:
                continue
            if self.momentum != 0:
                buffer = self.buffers[index]
                if buffer is None:
                    buffer = self.buffers[index] = gradient.detach().clone()
                else:
                    buffer.mul_(self.momentum).add_(gradient, alpha=1)
                gradient = buffer
            parameter.add_(gradient, alpha=-self.learning_rate)


def train_epochs(
    model: nn.Module,
    features: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    momentum: float,
    seed: int,
    device: torch.device,
    proximal_mu: float = 0.0,
    gradient_correction: dict[str, torch.Tensor] | None = None,
) -> TrainStats:
    """Mini-batch SGD; the batch order comes from `seed` alone.

    `proximal_mu` > 0 adds FedProx's term mu/2 * ||w - w_start||^2 (w_start: the weights on entry).
    `gradient_correction` (by parameter name) is added to each gradient before every step (SCAFFOLD).
    """
    model.to(device).train()
    x = torch.from_numpy(features).to(device)
    y = torch.from_numpy(labels).to(device)
    optimizer = MomentumSGD(model.parameters(), learning_rate=learning_rate, momentum=momentum)
    generator = torch.Generator().manual_seed(seed)
    anchor = [p.detach().clone() for p in model.parameters()] if proximal_mu > 0 else None
    loss_fn = nn.CrossEntropyLoss()
    corrections = [
        (p, gradient_correction[name].to(device)) for name, p in model.named_parameters() if name in gradient_correction
    ] if gradient_correction else []
    total_loss, batches = 0.0, 0
    with gpu_busy(device):
        for _ in range(epochs):
            order = torch.randperm(len(y), generator=generator).to(device)
            for start in range(0, len(y), batch_size):
                raise_if_stopped()  # a silo thread ends within one batch of a stop signal
                index = order[start : start + batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model(x[index]), y[index])
                if anchor is not None:
                    loss = loss + proximal_mu / 2 * sum(
                        torch.sum((p - a) ** 2) for p, a in zip(model.parameters(), anchor)
                    )
                loss.backward()
                for parameter, correction in corrections:
                    parameter.grad.add_(correction)
                optimizer.step()
                total_loss += float(loss.detach())
                batches += 1
                count_sample_updates(len(index))  # as it happens: a window closing mid-epoch counts what ran
    return TrainStats(len(y), len(y) * epochs, total_loss / max(batches, 1), steps=batches)


@torch.no_grad()
def evaluate(model: nn.Module, features: np.ndarray, labels: np.ndarray, device: torch.device) -> EvalStats:
    model.to(device).eval()
    with gpu_busy(device):
        x = torch.from_numpy(features).to(device)
        y = torch.from_numpy(labels).to(device)
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y, reduction="sum")
        correct = int((logits.argmax(dim=1) == y).sum())
    return EvalStats(len(y), correct, float(loss) / max(len(y), 1))


def centralized_epochs(rounds: int, local_epochs: int) -> int:
    """Pooled epochs that give CL the same number of sample updates as FL with every silo training
    every round: each FL round, every sample is seen `local_epochs` times."""
    return rounds * local_epochs


def warm_up_torch(threads: int = 1) -> None:
    """Pay torch's one-time start-up costs (the first forward, backward and update load kernels and
    modules) before any measured window, so that cost is not charged to whichever silo trains first.

    Also sets torch's thread count, and ends set-up for Python's garbage collector
    (`simulator.collector`): the objects alive after start-up are frozen out of later collections,
    since Flower calls `gc.collect()` for every reply it converts to NumPy, which otherwise walks every
    object of torch, Flower and Ray each time (up to 0.7 s per call here).
    """
    torch.set_num_threads(threads)
    model = nn.Linear(2, 2)
    optimizer = MomentumSGD(model.parameters(), learning_rate=0.1, momentum=0.9)
    nn.functional.cross_entropy(model(torch.zeros(1, 2)), torch.zeros(1, dtype=torch.long)).backward()
    optimizer.step()
    end_of_setup()
