"""Update compression in both directions, around any strategy: what travels is what the ledger counts.

Server side, `CompressedStrategy` wraps the chosen strategy: it encodes the model in every message
the strategy sends and decodes the silos' replies before the strategy aggregates them. Silo side,
`compression_mod` (a ClientApp mod inside the measurement mod) decodes what arrives and encodes the
reply. The measured sizes are therefore those of the compressed records (simulator/flower/payload.py).

Only the model record (`arrays`) is compressed; other records (SCAFFOLD's control variates, configs,
metrics) travel as they are. Layout in a message's content:
- fp16: `arrays` holds float16 arrays;
- int8: `arrays` holds uint8 codes, `arrays.int8-range` (a ConfigRecord) each array's [lowest, step];
- topk: `arrays.topk-values` / `arrays.topk-indices` hold each array's k largest changes against what
  the receiver already holds; arrays sent whole (a silo's first download, non-float arrays) stay in
  `arrays`. Downloads: the server keeps the model each silo holds (a replica) and sends the top-k of
  global minus replica, so what was not sent is sent later (error feedback by construction).
  Uploads: each silo keeps the residual it did not send in its Context.state and adds it to its next
  update (error feedback, Stich et al. 2018). Silos then train and evaluate the replica they hold.
The scheme travels in the message's config (`compression`, `topk-fraction`): a few bytes, counted.
"""

from __future__ import annotations

from collections.abc import Iterable
from logging import INFO

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.common import log
from flwr.serverapp import Grid
from flwr.serverapp.strategy import Strategy

from simulator.flower.flwr_internals import ClientAppCallable
from strategies.compression_codec import (
    Quantized,
    Sparse,
    densify,
    dequantize_int8,
    from_fp16,
    is_compressible,
    quantize_int8,
    to_fp16,
    topk_sparsify,
)
from strategies.state import ROUND_SCOPED, StrategyState, export_state, import_state

MODEL_KEY = "arrays"  # Flower's default arrayrecord_key, used by every strategy here
CONFIG_KEY = "config"
INT8_RANGE_KEY = "arrays.int8-range"
TOPK_VALUES_KEY = "arrays.topk-values"
TOPK_INDICES_KEY = "arrays.topk-indices"
ENCODED_KEYS = (MODEL_KEY, INT8_RANGE_KEY, TOPK_VALUES_KEY, TOPK_INDICES_KEY)
SCHEME_CONFIG = "compression"
FRACTION_CONFIG = "topk-fraction"
# Silo state kept between rounds in Context.state (never sent).
REPLICA_STATE = "silocarbon.topk-replica"
RESIDUAL_STATE = "silocarbon.topk-residual"

Arrays = dict[str, np.ndarray]


# -- encoding and decoding a model record -----------------------------------------------------
def encode(arrays: Arrays, scheme: str, fraction: float, reference: Arrays | None) -> tuple[RecordDict, Arrays]:
    """The records that carry `arrays`, and the arrays the receiver will decode from them.

    topk sends changes against `reference` (what the receiver holds); without one it sends whole.
    """
    records = RecordDict()
    dense: dict[str, Array] = {}
    decoded: Arrays = {}
    ranges: dict[str, list[float]] = {}
    values: dict[str, Array] = {}
    indices: dict[str, Array] = {}
    for key, array in arrays.items():
        if not is_compressible(array):
            dense[key] = Array(array)
            decoded[key] = array
        elif scheme == "fp16":
            half = to_fp16(array)
            dense[key] = Array(half)
            decoded[key] = from_fp16(half)
        elif scheme == "int8":
            quantized = quantize_int8(array)
            dense[key] = Array(quantized.codes)
            ranges[key] = [quantized.lowest, quantized.step]
            decoded[key] = dequantize_int8(quantized)
        elif reference is None or key not in reference:  # topk, nothing to send changes against
            dense[key] = Array(array.astype(np.float32))
            decoded[key] = array.astype(np.float32)
        else:
            sparse = topk_sparsify(array.astype(np.float32) - reference[key], fraction)
            values[key] = Array(sparse.values)
            indices[key] = Array(sparse.indices)
            decoded[key] = reference[key] + densify(sparse, array.shape)
    if dense:
        records[MODEL_KEY] = ArrayRecord(dense)
    if ranges:
        records[INT8_RANGE_KEY] = ConfigRecord(ranges)
    if values:
        records[TOPK_VALUES_KEY] = ArrayRecord(values)
        records[TOPK_INDICES_KEY] = ArrayRecord(indices)
    return records, decoded


def decode(content: RecordDict, scheme: str, reference: Arrays | None) -> Arrays:
    """The arrays carried by `content`'s encoded records (in the reference's key order if any)."""
    dense = _arrays(content, MODEL_KEY)
    ranges = content[INT8_RANGE_KEY] if INT8_RANGE_KEY in content else {}
    values, indices = _arrays(content, TOPK_VALUES_KEY), _arrays(content, TOPK_INDICES_KEY)
    order = list(reference) if reference is not None else list(dense)
    decoded: Arrays = {}
    for key in order:
        if key in values:
            if reference is None:
                raise ValueError(f"top-k changes for '{key}' arrived without a model to apply them to")
            sparse = Sparse(values[key], indices[key])
            decoded[key] = reference[key] + densify(sparse, reference[key].shape)
        elif key in ranges:
            lowest, step = ranges[key]
            decoded[key] = dequantize_int8(Quantized(dense[key], float(lowest), float(step)))
        elif scheme == "fp16" and dense[key].dtype == np.float16:
            decoded[key] = from_fp16(dense[key])
        else:
            decoded[key] = dense[key]
    return decoded


def _arrays(content: RecordDict, key: str) -> Arrays:
    if key not in content:
        return {}
    return {name: array.numpy() for name, array in content[key].items()}


def _with_model(content: RecordDict, model: RecordDict) -> RecordDict:
    """`content` with its encoded model records replaced by `model`'s records."""
    result = RecordDict({key: record for key, record in content.items() if key not in ENCODED_KEYS})
    for key, record in model.items():
        result[key] = record
    return result


def _decoded_content(content: RecordDict, arrays: Arrays) -> RecordDict:
    return _with_model(content, RecordDict({MODEL_KEY: ArrayRecord({k: Array(v) for k, v in arrays.items()})}))


# -- server side --------------------------------------------------------------------------------
class CompressedStrategy(Strategy):
    """`inner` with its model compressed in every message, both directions."""

    NOT_CARRIED = {
        "_sent": ROUND_SCOPED,
        # Each replica mirrors what a silo holds in its own state, which a resumed run's silos start
        # afresh; so the server starts afresh too and sends each silo the whole model once.
        "_replicas": "mirrors the silos' own replicas, which restart with them",
    }

    def __init__(self, inner: Strategy, scheme: str, topk_fraction: float):
        self.inner = inner
        self.scheme = scheme
        self.topk_fraction = topk_fraction
        self._replicas: dict[int, Arrays] = {}  # topk: the model each silo holds
        self._sent: dict[int, Arrays] = {}  # the model each silo trains from this round

    def export_state(self) -> StrategyState:
        state = StrategyState()
        state.add("inner", export_state(self.inner))
        return state

    def import_state(self, state: StrategyState) -> None:
        import_state(self.inner, state.part("inner"))

    def summary(self) -> None:
        log(INFO, "\t├──> Update compression: %s (top-k fraction %s)", self.scheme, self.topk_fraction)
        self.inner.summary()

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
                        ) -> Iterable[Message]:
        return [self._encoded(m, remember=True) for m in self.inner.configure_train(server_round, arrays, config, grid)]

    def aggregate_train(self, server_round: int, replies: Iterable[Message]
                        ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        return self.inner.aggregate_train(server_round, [self._decoded_reply(m) for m in replies])

    def configure_evaluate(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
                           ) -> Iterable[Message]:
        return [self._encoded(m) for m in self.inner.configure_evaluate(server_round, arrays, config, grid)]

    def aggregate_evaluate(self, server_round: int, replies: Iterable[Message]) -> MetricRecord | None:
        return self.inner.aggregate_evaluate(server_round, replies)

    def _encoded(self, message: Message, remember: bool = False) -> Message:
        content = message.content
        if MODEL_KEY not in content:
            return message
        node = message.metadata.dst_node_id
        arrays = {k: a.numpy() for k, a in content[MODEL_KEY].items()}
        reference = self._replicas.get(node) if self.scheme == "topk" else None
        records, decoded = encode(arrays, self.scheme, self.topk_fraction, reference)
        if self.scheme == "topk":
            self._replicas[node] = decoded
        if remember:
            self._sent[node] = decoded
        encoded = _with_model(content, records)
        config = ConfigRecord(dict(content[CONFIG_KEY])) if CONFIG_KEY in content else ConfigRecord()
        config[SCHEME_CONFIG] = self.scheme
        if self.scheme == "topk":
            config[FRACTION_CONFIG] = self.topk_fraction
        encoded[CONFIG_KEY] = config
        return Message(
            content=encoded,
            dst_node_id=node,
            message_type=message.metadata.message_type,
            group_id=message.metadata.group_id,
        )

    def _decoded_reply(self, reply: Message) -> Message:
        if reply.has_error() or not any(key in reply.content for key in ENCODED_KEYS):
            return reply
        reference = self._sent.get(reply.metadata.src_node_id)
        reply.content = _decoded_content(reply.content, decode(reply.content, self.scheme, reference))
        return reply


# -- silo side ----------------------------------------------------------------------------------
def compression_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Decode a compressed model on arrival; encode the reply's model the same way (with error feedback)."""
    config = message.content.config_records.get(CONFIG_KEY) if message.has_content() else None
    scheme = str(config.get(SCHEME_CONFIG, "none")) if config is not None else "none"
    if scheme == "none":
        return call_next(message, context)
    fraction = float(config.get(FRACTION_CONFIG, 1.0))
    replica = _state(context, REPLICA_STATE) if scheme == "topk" else None
    received = decode(message.content, scheme, replica)
    if scheme == "topk":
        context.state[REPLICA_STATE] = _record(received)
    message.content = _decoded_content(message.content, received)
    reply = call_next(message, context)
    if reply.has_error() or MODEL_KEY not in reply.content:
        return reply
    trained = {k: a.numpy() for k, a in reply.content[MODEL_KEY].items()}
    if scheme == "topk":
        residual = _state(context, RESIDUAL_STATE) or {}
        trained = {k: v + residual[k] if k in residual else v for k, v in trained.items()}
    records, decoded = encode(trained, scheme, fraction, received)
    if scheme == "topk":
        context.state[RESIDUAL_STATE] = _record(
            {k: trained[k] - decoded[k] for k in trained if is_compressible(trained[k])}
        )
    reply.content = _with_model(reply.content, records)
    return reply


def _state(context: Context, key: str) -> Arrays | None:
    if key not in context.state:
        return None
    return {name: array.numpy() for name, array in context.state[key].items()}


def _record(arrays: Arrays) -> ArrayRecord:
    return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in arrays.items()})
