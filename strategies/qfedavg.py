"""q-FedAvg (Li et al., 2020, q-FFL): silos with a higher loss weigh more, for fairer accuracy.

Flower's QFedAvg estimates the Lipschitz constant as 1 / the silos' learning rate (the scenario's
[training] learning_rate) and reads each silo's loss from its reply: our ClientApp's `train-loss`
(the mean loss over its local epochs, Flower's convention, not the loss of the received model).
"""

from flwr.serverapp.strategy import QFedAvg

from strategies.registry import FederationFacts, StrategySpec, register
from strategies.sampling import sampling_arguments

TRAIN_LOSS_KEY = "train-loss"  # the metric our ClientApp sends


def build_qfedavg(num_silos: int, facts: FederationFacts, q: float = 0.1, fraction_train: float = 1.0) -> QFedAvg:
    return QFedAvg(
        client_learning_rate=facts.learning_rate,
        q=q,
        train_loss_key=TRAIN_LOSS_KEY,
        **sampling_arguments(num_silos, fraction_train),
    )


SPEC = register(StrategySpec("qfedavg", "Loss-weighted fair aggregation q-FFL (Flower QFedAvg)", build_qfedavg,
                             uses_facts=True))
