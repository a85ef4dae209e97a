"""FedAvg (McMahan et al., 2017): Flower's own implementation."""

from flwr.serverapp.strategy import FedAvg

from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments


def build_fedavg(num_silos: int, fraction_train: float = 1.0) -> FedAvg:
    """fraction_train: share of silos sampled for training each round (at least one)."""
    return FedAvg(**sampling_arguments(num_silos, fraction_train))


SPEC = register(StrategySpec("fedavg", "Federated averaging weighted by examples (Flower FedAvg)", build_fedavg))
