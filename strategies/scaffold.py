"""SCAFFOLD (Karimireddy et al., ICML 2020): control variates correct the silos' drift on skewed data.

The server keeps a control variate c, each silo its own c_i (in its Context.state, never sent whole).
Each round the server sends the model x and c; a sampled silo trains K SGD steps on gradients
corrected by (c - c_i), then (the paper's option II) sets c_i+ = c_i - c + (x - y) / (K * lr) and
replies with its model y and the change c_i+ - c_i. The server moves x by eta_g times the mean model
change and c by the sum of the control changes divided by the number of silos N.
With SGD momentum beta, lr in the c_i+ formula is the effective step lr / (1 - beta).
Control variates cover the model's floating arrays, keyed like the model.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg

from simulator.flower.flwr_internals import check_replies
from strategies.registry import StrategySpec, register
from strategies.sampling import sampling_arguments
from strategies.state import ROUND_SCOPED, StrategyState, get_named_arrays, put_named_arrays

CONTROL_KEY = "scaffold.control"  # server -> silo: c
CONTROL_DELTA_KEY = "scaffold.control-delta"  # silo -> server: c_i+ - c_i
SILO_CONTROL_STATE = "silocarbon.scaffold-control"  # c_i in the silo's Context.state

Arrays = dict[str, np.ndarray]


# -- arithmetic (pure) ----------------------------------------------------------------------------
def silo_control_update(silo_control: Arrays, server_control: Arrays, start: Arrays, trained: Arrays,
                        steps: int, learning_rate: float) -> Arrays:
    """c_i+ = c_i - c + (x - y) / (K * lr), option II of the paper."""
    scale = 1.0 / (steps * learning_rate)
    return {k: silo_control[k] - server_control[k] + (start[k] - trained[k]) * scale for k in server_control}


def server_model_update(model: Arrays, silo_models: list[Arrays], server_learning_rate: float) -> Arrays:
    """x + eta_g * mean_i (y_i - x)."""
    return {k: model[k] + server_learning_rate * np.mean([y[k] - model[k] for y in silo_models], axis=0)
            for k in model}


def server_control_update(control: Arrays, control_deltas: list[Arrays], num_silos: int) -> Arrays:
    """c + (|S| / N) * mean_i delta_c_i = c + sum_i delta_c_i / N."""
    return {k: control[k] + sum(delta[k] for delta in control_deltas) / num_silos for k in control}


def _arrays(record: ArrayRecord) -> Arrays:
    return {k: a.numpy() for k, a in record.items()}


def _record(arrays: Arrays) -> ArrayRecord:
    return ArrayRecord({k: Array(np.ascontiguousarray(v, dtype=np.float32)) for k, v in arrays.items()})


# -- server ---------------------------------------------------------------------------------------
class Scaffold(FedAvg):
    NOT_CARRIED = {"_round_start": ROUND_SCOPED}

    def __init__(self, num_silos: int, server_learning_rate: float, **sampling):
        super().__init__(**sampling)
        self.num_silos = num_silos
        self.server_learning_rate = server_learning_rate
        self.control: Arrays | None = None
        self._round_start: Arrays = {}

    def export_state(self) -> StrategyState:
        """The server's control variate c (the silos keep their own c_i)."""
        state = StrategyState()
        put_named_arrays(state, "control", self.control)
        return state

    def import_state(self, state: StrategyState) -> None:
        control = get_named_arrays(state, "control")
        self.control = None if control is None else {k: v.astype(np.float32) for k, v in control.items()}

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
                        ) -> Iterable[Message]:
        self._round_start = {k: v for k, v in _arrays(arrays).items() if np.issubdtype(v.dtype, np.floating)}
        if self.control is None:
            self.control = {k: np.zeros_like(v, dtype=np.float32) for k, v in self._round_start.items()}
        messages = list(super().configure_train(server_round, arrays, config, grid))
        for message in messages:  # FedAvg's messages share one content: one record serves all
            message.content[CONTROL_KEY] = _record(self.control)
        return messages

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        deltas = [_arrays(r.content.pop(CONTROL_DELTA_KEY)) for r in replies
                  if not r.has_error() and CONTROL_DELTA_KEY in r.content]
        valid, _ = check_replies(self, replies, is_train=True)
        if not valid or self.control is None:
            return None, None
        models = [_arrays(r.content[self.arrayrecord_key]) for r in valid]
        first = models[0]
        updated = server_model_update(self._round_start, models, self.server_learning_rate)
        new_model = {k: updated.get(k, first[k]) for k in first}  # non-float arrays: first silo's
        self.control = server_control_update(self.control, deltas, self.num_silos)
        metrics = self.train_metrics_aggr_fn([r.content for r in valid], self.weighted_by_key)
        return ArrayRecord({k: Array(np.asarray(v)) for k, v in new_model.items()}), metrics


def build_scaffold(num_silos: int, server_learning_rate: float = 1.0, fraction_train: float = 1.0) -> Scaffold:
    return Scaffold(num_silos, server_learning_rate, **sampling_arguments(num_silos, fraction_train))


SPEC = register(StrategySpec("scaffold", "Control variates against client drift (ours, SCAFFOLD option II)",
                             build_scaffold))


# -- silo (called by our ClientApp's train) -------------------------------------------------------
def scaffold_correction(content: RecordDict, state: RecordDict) -> dict[str, torch.Tensor] | None:
    """c - c_i for the gradient of each parameter; None when the server is not SCAFFOLD."""
    if CONTROL_KEY not in content:
        return None
    server = _arrays(content[CONTROL_KEY])
    silo = _arrays(state[SILO_CONTROL_STATE]) if SILO_CONTROL_STATE in state else {}
    return {k: torch.from_numpy(v - silo[k] if k in silo else v.copy()) for k, v in server.items()}


def effective_learning_rate(learning_rate: float, momentum: float) -> float:
    """SGD with momentum beta moves about lr / (1 - beta) per unit gradient in steady state; the
    paper's (x - y) / (K lr) assumes plain SGD, so with momentum it would overstate the gradient
    by 1 / (1 - beta) (10x at 0.9) and the control variates would drive training apart."""
    return learning_rate / (1.0 - momentum)


def add_scaffold_reply(reply: RecordDict, content: RecordDict, state: RecordDict, trained: dict[str, torch.Tensor],
                       steps: int, learning_rate: float, momentum: float = 0.0) -> None:
    """Update c_i in the silo's state and put c_i+ - c_i into the reply (SCAFFOLD only)."""
    if CONTROL_KEY not in content or steps == 0:
        return
    server = _arrays(content[CONTROL_KEY])
    silo = _arrays(state[SILO_CONTROL_STATE]) if SILO_CONTROL_STATE in state else {
        k: np.zeros_like(v) for k, v in server.items()}
    start = _arrays(content["arrays"])
    end = {k: trained[k].detach().cpu().numpy() for k in server}
    updated = silo_control_update(silo, server, start, end, steps, effective_learning_rate(learning_rate, momentum))
    state[SILO_CONTROL_STATE] = _record(updated)
    reply[CONTROL_DELTA_KEY] = _record({k: updated[k] - silo[k] for k in server})
