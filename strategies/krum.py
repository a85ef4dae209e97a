"""Krum (Blanchard et al., 2017): keep the one silo model closest to its n - f - 2 nearest others.

Its score needs n - f - 2 >= 1 neighbours: at least f + 3 silos (3 with no assumed attacker).
"""

from flwr.serverapp.strategy import Krum

from simulator.errors import InputError
from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments, train_sample_size


def krum_min_silos(num_malicious_nodes: int) -> int:
    return num_malicious_nodes + 3


def build_krum(num_silos: int, num_malicious_nodes: int = 0, fraction_train: float = 1.0) -> Krum:
    needed = krum_min_silos(num_malicious_nodes)
    if train_sample_size(num_silos, fraction_train) < needed:
        raise InputError(f"key 'strategy.num_malicious_nodes': krum with {num_malicious_nodes} needs {needed} "
                         "silos training per round")
    return Krum(**sampling_arguments(num_silos, fraction_train), num_malicious_nodes=num_malicious_nodes)


SPEC = register(StrategySpec("krum", "Byzantine-robust: keep the most central silo model (Flower Krum)",
                             build_krum, min_silos=krum_min_silos(0)))
