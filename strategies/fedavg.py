"""FedAvg (McMahan et al., 2017): Flower's own implementation, every silo every round."""

from flwr.serverapp.strategy import FedAvg

from strategies.registry import StrategySpec, register


def build_fedavg(num_silos: int, fraction_train: float = 1.0) -> FedAvg:
    """fraction_train: share of silos sampled for training each round (at least one)."""
    train_nodes = max(1, round(num_silos * fraction_train))
    return FedAvg(
        fraction_train=fraction_train,
        fraction_evaluate=1.0,  # every silo evaluates: their test shards together are the test set
        min_train_nodes=train_nodes,
        min_evaluate_nodes=num_silos,
        min_available_nodes=num_silos,
    )


SPEC = register(StrategySpec("fedavg", "Federated averaging weighted by examples (Flower FedAvg)", build_fedavg))
