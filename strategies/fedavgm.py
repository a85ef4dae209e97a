"""FedAvgM (Hsu et al., 2019): FedAvg with server-side momentum on the averaged update."""

from flwr.serverapp.strategy import FedAvgM

from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments


def build_fedavgm(
    num_silos: int, server_learning_rate: float = 1.0, server_momentum: float = 0.9, fraction_train: float = 1.0
) -> FedAvgM:
    return FedAvgM(
        **sampling_arguments(num_silos, fraction_train),
        server_learning_rate=server_learning_rate,
        server_momentum=server_momentum,
    )


SPEC = register(StrategySpec("fedavgm", "FedAvg with server momentum (Flower FedAvgM)", build_fedavgm))
