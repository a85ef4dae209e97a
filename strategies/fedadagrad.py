"""FedAdagrad (Reddi et al., 2021): FedAvg's average taken as a pseudo-gradient for a server-side optimizer.

eta: server learning rate; eta_l: the silos' learning rate as Flower records it (our silos use
[training] learning_rate); tau: the optimizer's degree of adaptivity (Flower's defaults).
"""

from flwr.serverapp.strategy import FedAdagrad

from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments


def build_fedadagrad(num_silos: int, eta: float = 0.1, eta_l: float = 0.1, tau: float = 0.001, fraction_train: float = 1.0) -> FedAdagrad:
    return FedAdagrad(**sampling_arguments(num_silos, fraction_train), eta=eta, eta_l=eta_l, tau=tau)


SPEC = register(StrategySpec("fedadagrad", "Adagrad on the server over the averaged update (Flower FedAdagrad)", build_fedadagrad))
