"""FedAdam (Reddi et al., 2021): FedAvg's average taken as a pseudo-gradient for a server-side optimizer.

eta: server learning rate; eta_l: the silos' learning rate as Flower records it (our silos use
[training] learning_rate); tau: the optimizer's degree of adaptivity (Flower's defaults).
"""

from flwr.serverapp.strategy import FedAdam

from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments


def build_fedadam(num_silos: int, eta: float = 0.1, eta_l: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.99, tau: float = 0.001, fraction_train: float = 1.0) -> FedAdam:
    return FedAdam(**sampling_arguments(num_silos, fraction_train), eta=eta, eta_l=eta_l, beta_1=beta_1, beta_2=beta_2, tau=tau)


SPEC = register(StrategySpec("fedadam", "Adam on the server over the averaged update (Flower FedAdam)", build_fedadam))
