"""Central DP with adaptive clipping (Flower DifferentialPrivacyServerSideAdaptiveClipping, after
Andrew et al., 2021): the clipping norm follows a target quantile of the silos' update norms,
learnt at rate `clip_norm_lr`; Gaussian noise is added to the aggregate as with fixed clipping."""

from flwr.serverapp.strategy import DifferentialPrivacyServerSideAdaptiveClipping

from strategies.dp_base import dp_base_strategy
from strategies.registry import FederationFacts, StrategySpec, register


def build_dp_adaptive_clipping(
    num_silos: int, facts: FederationFacts, base: str = "fedavg", noise_multiplier: float = 0.1,
    initial_clipping_norm: float = 1.0, target_clipped_quantile: float = 0.5, clip_norm_lr: float = 0.2,
) -> DifferentialPrivacyServerSideAdaptiveClipping:
    return DifferentialPrivacyServerSideAdaptiveClipping(
        dp_base_strategy(base, num_silos, facts),
        noise_multiplier,
        num_sampled_clients=num_silos,
        initial_clipping_norm=initial_clipping_norm,
        target_clipped_quantile=target_clipped_quantile,
        clip_norm_lr=clip_norm_lr,
    )


SPEC = register(
    StrategySpec(
        "dp_adaptive_clipping",
        "Server-side DP, adaptive clipping, around a base strategy (Flower ...ServerSideAdaptiveClipping)",
        build_dp_adaptive_clipping,
        uses_facts=True,
    )
)
