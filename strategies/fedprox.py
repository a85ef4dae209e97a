"""FedProx (Li et al., 2020): FedAvg on the server; each silo adds mu/2 * ||w - w_global||^2 to its loss.

Flower's FedProx sends `proximal-mu` in every train config; our ClientApp's training loop adds the term.
"""

from flwr.serverapp.strategy import FedProx

from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments


def build_fedprox(num_silos: int, proximal_mu: float = 0.1, fraction_train: float = 1.0) -> FedProx:
    return FedProx(**sampling_arguments(num_silos, fraction_train), proximal_mu=proximal_mu)


SPEC = register(StrategySpec("fedprox", "FedAvg plus a proximal term in each silo's loss (Flower FedProx)", build_fedprox))
