"""Central DP with fixed clipping (Flower DifferentialPrivacyServerSideFixedClipping, after
McMahan et al., 2018): the server clips each silo's update to `clipping_norm` (L2) and adds Gaussian
noise of standard deviation noise_multiplier * clipping_norm / silos sampled to the aggregate."""

from flwr.serverapp.strategy import DifferentialPrivacyServerSideFixedClipping

from strategies.dp_base import dp_base_strategy
from strategies.registry import FederationFacts, StrategySpec, register


def build_dp_fixed_clipping(
    num_silos: int, facts: FederationFacts, base: str = "fedavg", noise_multiplier: float = 0.1,
    clipping_norm: float = 1.0,
) -> DifferentialPrivacyServerSideFixedClipping:
    return DifferentialPrivacyServerSideFixedClipping(
        dp_base_strategy(base, num_silos, facts), noise_multiplier, clipping_norm, num_sampled_clients=num_silos
    )


SPEC = register(
    StrategySpec(
        "dp_fixed_clipping",
        "Server-side DP, fixed clipping, around a base strategy (Flower DifferentialPrivacyServerSideFixedClipping)",
        build_dp_fixed_clipping,
        uses_facts=True,
    )
)
