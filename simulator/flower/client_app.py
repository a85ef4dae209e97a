"""The ClientApp: one silo's training and evaluation on its own data, measured by the mod.

`app` is what Flower loads (`[tool.flwr.app.components]`); it reads the scenario from the run config.
The runners build theirs with `make_client_app(scenario)`.
"""

from __future__ import annotations

import numpy as np
import torch
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from simulator.analytics.silo_query import register_query_handler
from simulator.scenario.schema import Scenario
from simulator.data import build_federated_data
from simulator.flower.bundle import answer_bundle, is_bundle
from simulator.flower.faults import make_crash_mod, make_fault_gate_mod
from simulator.flower.instrumentation import make_measurement_mod
from simulator.flower.scenario_source import scenario_from_run_config
from simulator.models import build_model
from simulator.training import evaluate, resolve_device, train_epochs, warm_up_torch
from strategies.compression import compression_mod
from strategies.scaffold import add_scaffold_reply, scaffold_correction

PARTITION_ID_KEY = "partition-id"  # set by Flower's simulation and by our runners for each silo


def silo_seed(seed: int, silo_index: int, round_number: int) -> int:
    """The batch-order seed of one silo in one round: a function of the scenario seed alone."""
    return int(np.random.SeedSequence([seed, silo_index, round_number]).generate_state(1)[0])


def make_client_app(scenario: Scenario | None = None) -> ClientApp:
    def scenario_of(context: Context) -> Scenario:
        return scenario if scenario is not None else scenario_from_run_config(context.run_config)

    def silo_index(context: Context) -> int:
        return int(context.node_config[PARTITION_ID_KEY])

    def silo_name(context: Context) -> str:
        return scenario_of(context).silos[silo_index(context)].name

    def faults_of(context: Context):
        current = scenario_of(context)
        index = silo_index(context)
        return current, index, current.faults.silo.get(current.silos[index].name)

    # Outermost first. Faults that keep a silo from working sit outside its measurement window; the
    # measurement mod sizes messages as they travel (compressed, if they are); a crash after the work
    # sits inside the window, so the wasted work is still measured.
    app = _BundlingClientApp(
        mods=[make_fault_gate_mod(faults_of), make_measurement_mod(silo_name), compression_mod, make_crash_mod(faults_of)]
    )

    @app.lifespan()
    def prepare_process(context: Context):
        # Runs outside the mod's measurement window: a worker process's one-time torch start-up
        # and the silo's data split are not charged to the silo's first round.
        _prepare_once(scenario_of(context))
        yield

    def local_model(message: Message, context: Context):
        current = scenario_of(context)
        data = build_federated_data(current)
        index = silo_index(context)
        model = _silo_model(current, data.dataset, index)
        model.load_state_dict(message.content.array_records["arrays"].to_torch_state_dict())
        device = resolve_device(current.silos[index].device or current.training.device)
        return current, data.silos[index], model, device, index

    @app.train()
    def train(message: Message, context: Context) -> Message:
        current, silo, model, device, index = local_model(message, context)
        config = message.content.config_records["config"]
        round_number = int(config.get("server-round", 0))
        stats = train_epochs(
            model,
            silo.train_x,
            silo.train_y,
            epochs=current.training.local_epochs,
            batch_size=current.training.batch_size,
            learning_rate=current.training.learning_rate,
            momentum=current.training.momentum,
            seed=silo_seed(current.seed, index, round_number),
            device=device,
            proximal_mu=float(config.get("proximal-mu", 0.0)),
            gradient_correction=scaffold_correction(message.content, context.state),
        )
        content = RecordDict(
            {
                "arrays": ArrayRecord(model.to("cpu").state_dict()),
                "metrics": MetricRecord({"num-examples": stats.num_examples, "train-loss": stats.mean_loss}),
            }
        )
        add_scaffold_reply(content, message.content, context.state, model.state_dict(), stats.steps,
                           current.training.learning_rate, current.training.momentum)
        return Message(content=content, reply_to=message)

    @app.evaluate()
    def evaluate_global(message: Message, context: Context) -> Message:
        _, silo, model, device, _ = local_model(message, context)
        stats = evaluate(model, silo.test_x, silo.test_y, device)
        metrics = MetricRecord(
            {"num-examples": stats.num_examples, "eval-loss": stats.mean_loss, "eval-acc": stats.accuracy}
        )
        return Message(content=RecordDict({"metrics": metrics}), reply_to=message)

    # Federated analytics: `query` messages, answered with aggregates of the silo's own data.
    register_query_handler(
        app,
        lambda context: build_federated_data(scenario_of(context)).silos[silo_index(context)],
        lambda context: scenario_of(context).analytics.min_group_size,
    )
    return app


class _BundlingClientApp(ClientApp):
    """Flower's ClientApp that also answers a bundle (a round's evaluation with the next round's
    training, simulator.flower.bundle): each message in it is answered as if it came alone, through
    the same dispatch and mods, so it is handled and measured the same."""

    def __call__(self, message: Message, context: Context) -> Message:
        if is_bundle(message):
            return answer_bundle(message, context, super().__call__)
        return super().__call__(message, context)


_PREPARED: set[str] = set()
_MODELS: dict[tuple[str, int], torch.nn.Module] = {}


def _silo_model(scenario: Scenario, dataset, silo_index: int) -> torch.nn.Module:
    """The silo's model object, built once per process and overwritten by every message's weights
    (a silo keeps its model in memory between rounds; rebuilding it per call cost FL ~2 ms a call)."""
    key = (scenario.model_dump_json(), silo_index)
    if key not in _MODELS:
        _MODELS[key] = build_model(scenario.model, dataset, scenario.seed)
    return _MODELS[key]


def _prepare_once(scenario: Scenario) -> None:
    # Per call, not once: a runner may call a silo from another thread, and torch's thread count
    # belongs to the calling thread's OpenMP team.
    torch.set_num_threads(scenario.training.threads)
    key = scenario.model_dump_json()
    if key not in _PREPARED:
        warm_up_torch(scenario.training.threads)
        build_federated_data(scenario)
        _PREPARED.add(key)


app = make_client_app()
