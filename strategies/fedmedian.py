"""FedMedian (Yin et al., 2018): the coordinate-wise median of the silos' models, robust to outliers."""

from flwr.serverapp.strategy import FedMedian

from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments


def build_fedmedian(num_silos: int, fraction_train: float = 1.0) -> FedMedian:
    return FedMedian(**sampling_arguments(num_silos, fraction_train))


SPEC = register(StrategySpec("fedmedian", "Coordinate-wise median of the silos' models (Flower FedMedian)",
                             build_fedmedian))
