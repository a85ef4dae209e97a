"""Multi-Krum (El Mhamdi et al., 2018): average the m silo models with the best Krum scores."""

from flwr.serverapp.strategy import MultiKrum

from simulator.errors import InputError
from strategies.krum import krum_min_silos
from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments, train_sample_size


def build_multikrum(
    num_silos: int, num_malicious_nodes: int = 0, num_nodes_to_select: int = 2, fraction_train: float = 1.0
) -> MultiKrum:
    sampled = train_sample_size(num_silos, fraction_train)
    if sampled < krum_min_silos(num_malicious_nodes):
        raise InputError(f"key 'strategy.num_malicious_nodes': multikrum with {num_malicious_nodes} needs "
                         f"{krum_min_silos(num_malicious_nodes)} silos training per round")
    if not 1 <= num_nodes_to_select <= sampled:
        raise InputError(f"key 'strategy.num_nodes_to_select': must be in 1..{sampled}, got {num_nodes_to_select}")
    return MultiKrum(
        **sampling_arguments(num_silos, fraction_train),
        num_malicious_nodes=num_malicious_nodes,
        num_nodes_to_select=num_nodes_to_select,
    )


SPEC = register(StrategySpec("multikrum", "Average of the m most central silo models (Flower MultiKrum)",
                             build_multikrum, min_silos=krum_min_silos(0)))
