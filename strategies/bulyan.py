"""Bulyan (El Mhamdi et al., 2018): Multi-Krum selection, then a coordinate-wise trimmed mean around
the median. Flower's Bulyan skips aggregation with fewer than 4f + 3 replies (f: assumed attackers)."""

from flwr.serverapp.strategy import Bulyan

from simulator.errors import InputError
from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments, train_sample_size


def bulyan_min_silos(num_malicious_nodes: int) -> int:
    return 4 * num_malicious_nodes + 3


def build_bulyan(num_silos: int, num_malicious_nodes: int = 0, fraction_train: float = 1.0) -> Bulyan:
    needed = bulyan_min_silos(num_malicious_nodes)
    if train_sample_size(num_silos, fraction_train) < needed:
        raise InputError(f"key 'strategy.num_malicious_nodes': bulyan with {num_malicious_nodes} needs {needed} "
                         "silos training per round (4f + 3)")
    return Bulyan(**sampling_arguments(num_silos, fraction_train), num_malicious_nodes=num_malicious_nodes)


SPEC = register(StrategySpec("bulyan", "Byzantine-robust Multi-Krum plus trimmed median (Flower Bulyan)",
                             build_bulyan, min_silos=bulyan_min_silos(0)))
