"""FedTrimmedAvg (Yin et al., 2018): the coordinate-wise mean after cutting the `beta` share of
largest and smallest values. With n silos it cuts int(beta * n) from each end, so it trims nothing
below 1 / beta silos (5 at the default 0.2): that is its minimum here."""

import math

from flwr.serverapp.strategy import FedTrimmedAvg

from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments

DEFAULT_BETA = 0.2


def build_fedtrimmedavg(num_silos: int, beta: float = DEFAULT_BETA, fraction_train: float = 1.0) -> FedTrimmedAvg:
    return FedTrimmedAvg(**sampling_arguments(num_silos, fraction_train), beta=beta)


SPEC = register(
    StrategySpec(
        "fedtrimmedavg",
        "Coordinate-wise trimmed mean (Flower FedTrimmedAvg)",
        build_fedtrimmedavg,
        min_silos=math.ceil(1 / DEFAULT_BETA),
    )
)
