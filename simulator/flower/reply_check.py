"""What a silo may send back: a positive contract per message type. Anything it does not list could
carry a silo's raw data out, so the server refuses it before the strategy (or the analytics merge)
sees the reply.

- train: the model's arrays (the names, shapes and dtypes the server sent), the records derived
  from sent ones that the codecs and SCAFFOLD send (bounded, below), one MetricRecord holding
  `num-examples` and the named scalar metrics of `TRAIN_METRICS`;
- evaluate: one MetricRecord with the named scalars of `EVALUATE_METRICS`;
- query: the analytics aggregates' own schema and disclosure rules (simulator/analytics/silo_query.py);
- every type: our telemetry, the measurement record (`SiloMeasurement`, a fixed schema of numbers)
  and, after a failure, the failure record (one bounded line).

`reply_problem` is pure: it compares the content the server sent with the content of the reply and
names the first thing that does not fit, or returns None.
"""

from __future__ import annotations

import math

from flwr.app import ArrayRecord, ConfigRecord, MetricRecord, RecordDict

from simulator.analytics.disclosure import DEFAULT_MIN_GROUP_SIZE
from simulator.analytics.silo_query import query_reply_problem
from simulator.flower.payload import FAILURE_KEY, MEASUREMENT_KEY
from simulator.records.measurement import MAX_SILO_TEXT, MeasurementRefused, SiloMeasurement
from strategies.compression import (
    CONFIG_KEY,
    INT8_RANGE_KEY,
    MODEL_KEY,
    SCHEME_CONFIG,
    TOPK_INDICES_KEY,
    TOPK_VALUES_KEY,
)
from strategies.scaffold import CONTROL_DELTA_KEY, CONTROL_KEY

# Our own telemetry records; everything else in a reply is the app's payload.
TELEMETRY_KEYS = (MEASUREMENT_KEY, FAILURE_KEY)

# The scalar metrics a silo may report, by message type (our ClientApp's; qfedavg reads train-loss).
TRAIN_METRICS = ("num-examples", "train-loss")
EVALUATE_METRICS = ("num-examples", "eval-loss", "eval-acc")
METRICS_OF = {"train": TRAIN_METRICS, "evaluate": EVALUATE_METRICS}
# A silo cannot hold more samples than this; a larger count is a lie that would skew weighted means.
MAX_NUM_EXAMPLES = 10**12
# A user's own Flower app (`silocarbon run --app`) names its own metrics: any names, but scalars only,
# at most this many, with short printable names, so what a reply carries stays a handful of numbers.
MAX_APP_METRICS = 16
MAX_APP_METRIC_NAME = 64

# Records derived from a sent one: reply key -> (the sent record it derives from, the compression
# scheme under which it may appear, or None for any).
DERIVED_ARRAY_RECORDS = {
    TOPK_VALUES_KEY: (MODEL_KEY, "topk"),
    TOPK_INDICES_KEY: (MODEL_KEY, "topk"),
    CONTROL_DELTA_KEY: (CONTROL_KEY, None),
}
DERIVED_CONFIG_RECORDS = {INT8_RANGE_KEY: (MODEL_KEY, "int8")}
# The int8 codec sends two numbers per array: its lowest value and its step.
INT8_RANGE_NUMBERS = 2


def array_layout(record: ArrayRecord) -> dict[str, tuple[tuple[int, ...], str]]:
    """Array name -> (shape, dtype) of an ArrayRecord."""
    return {name: (tuple(array.shape), str(array.dtype)) for name, array in record.items()}


def reply_problem(
    message_type: str,
    sent: RecordDict,
    reply: RecordDict,
    model_dtypes: dict[str, str] | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
    app_metrics: bool = False,
) -> str | None:
    """Why `reply` (to a message of `message_type` whose content was `sent`) may not be accepted,
    or None when it holds only what the contract allows.

    `model_dtypes` (array name -> dtype): where the server's arithmetic widened the model (FedAdam
    sends float64), the model's own dtype may come back. `min_group_size`: the analytics minimum
    group size that a query reply must respect. `app_metrics`: the reply comes from a user's own
    ClientApp, whose metric names are its own (bounded in number and length, scalars only).
    """
    phase = message_type.split(".")[0]
    problem = _telemetry_problem(reply)
    if problem is not None or FAILURE_KEY in reply:
        return problem
    if phase == "query":
        return query_reply_problem(sent, _without_telemetry(reply), min_group_size)
    if phase not in METRICS_OF:
        return f"no reply contract for message type '{message_type}'"
    problem = _metrics_problem(phase, reply, app_metrics)
    if problem is not None:
        return problem
    if phase == "evaluate":
        extra = [key for key in _without_telemetry(reply) if key not in reply.metric_records]
        return f"unexpected record '{extra[0]}' (an evaluate reply carries scalar metrics only)" if extra else None
    return _train_records_problem(sent, reply, model_dtypes or {})


def _without_telemetry(reply: RecordDict) -> RecordDict:
    return RecordDict({key: record for key, record in reply.items() if key not in TELEMETRY_KEYS})


# -- telemetry --------------------------------------------------------------------------------------


def _telemetry_problem(reply: RecordDict) -> str | None:
    if MEASUREMENT_KEY in reply:
        record = reply[MEASUREMENT_KEY]
        if not isinstance(record, ConfigRecord):
            return f"'{MEASUREMENT_KEY}' is a {type(record).__name__}, not the measurement ConfigRecord"
        try:
            SiloMeasurement.from_record(record)
        except MeasurementRefused as refused:
            return str(refused)
    if FAILURE_KEY in reply:
        record = reply[FAILURE_KEY]
        if not isinstance(record, ConfigRecord) or set(record) != {"reason"}:
            return f"'{FAILURE_KEY}' must be a ConfigRecord holding only 'reason'"
        reason = record["reason"]
        if not isinstance(reason, str) or len(reason) > MAX_SILO_TEXT or not reason.isprintable():
            return f"failure reason must be one printable line of at most {MAX_SILO_TEXT} characters"
        extra = [key for key in reply if key not in TELEMETRY_KEYS]
        if extra:
            return f"a failure reply carries '{extra[0]}' beside the failure record"
    return None


# -- metrics ----------------------------------------------------------------------------------------


def _metrics_problem(phase: str, reply: RecordDict, app_metrics: bool = False) -> str | None:
    records = reply.metric_records
    if len(records) != 1:
        return f"a {phase} reply carries exactly one MetricRecord; this one has {len(records)}"
    (key, metrics), = records.items()
    allowed = METRICS_OF[phase]
    if app_metrics and len(metrics) > MAX_APP_METRICS:
        return f"metric record '{key}' holds {len(metrics)} metrics; an app's reply may carry at most {MAX_APP_METRICS}"
    for name, value in metrics.items():
        if app_metrics:
            if len(name) > MAX_APP_METRIC_NAME or not name.isprintable():
                return f"metric name '{key}.{name[:MAX_APP_METRIC_NAME]}...' is not a printable name of at most {MAX_APP_METRIC_NAME} characters"
        elif name not in allowed:
            return f"metric '{key}.{name}' is not one a {phase} reply may carry ({', '.join(allowed)})"
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"metric '{key}.{name}' is a {type(value).__name__} (only scalar numbers are accepted)"
        if not math.isfinite(value):
            return f"metric '{key}.{name}' is not finite"
    examples = metrics.get("num-examples")
    if not isinstance(examples, int) or not 0 <= examples <= MAX_NUM_EXAMPLES:
        return f"metric '{key}.num-examples' must be a whole number in [0, {MAX_NUM_EXAMPLES}]"
    return None


# -- train records ----------------------------------------------------------------------------------


def _train_records_problem(sent: RecordDict, reply: RecordDict, model_dtypes: dict[str, str]) -> str | None:
    sent_arrays = sent.array_records
    scheme = _scheme(sent)
    for key, record in reply.items():
        if key in TELEMETRY_KEYS or isinstance(record, MetricRecord):
            continue
        if isinstance(record, ArrayRecord):
            if key in sent_arrays:
                problem = _layout_problem(key, sent_arrays[key], record, model_dtypes, reply)
            elif key in DERIVED_ARRAY_RECORDS and _derivable(key, DERIVED_ARRAY_RECORDS, sent_arrays, scheme):
                problem = _derived_array_problem(key, sent_arrays[DERIVED_ARRAY_RECORDS[key][0]], record, reply)
            else:
                problem = f"unexpected array record '{key}' (the server sent: {', '.join(sent_arrays) or 'none'})"
        elif key in DERIVED_CONFIG_RECORDS and _derivable(key, DERIVED_CONFIG_RECORDS, sent_arrays, scheme):
            problem = _int8_range_problem(key, sent_arrays[MODEL_KEY], record)
        else:
            problem = f"unexpected config record '{key}' (a train reply carries the model's arrays and scalar metrics)"
        if problem is not None:
            return problem
    return None


def _scheme(sent: RecordDict) -> str:
    config = sent.config_records.get(CONFIG_KEY)
    return str(config.get(SCHEME_CONFIG, "none")) if config is not None else "none"


def _derivable(key: str, table: dict[str, tuple[str, str | None]], sent: dict[str, ArrayRecord], scheme: str) -> bool:
    base, needs_scheme = table[key]
    return base in sent and (needs_scheme is None or needs_scheme == scheme)


def _layout_problem(
    key: str, sent: ArrayRecord, record: ArrayRecord, model_dtypes: dict[str, str], reply: RecordDict
) -> str | None:
    expected, got = array_layout(sent), array_layout(record)
    extra = [name for name in got if name not in expected]
    if extra:
        return f"array record '{key}' has extra arrays {', '.join(extra)} not in the model"
    # Under top-k, the model's float arrays may come back as changes in `arrays.topk-values` instead.
    elsewhere = set(reply[TOPK_VALUES_KEY]) if key == MODEL_KEY and TOPK_VALUES_KEY in reply else set()
    missing = [name for name in expected if name not in got and name not in elsewhere]
    if missing:
        return f"array record '{key}' lacks the model's arrays {', '.join(missing)}"
    for name, (got_shape, got_dtype) in got.items():
        shape, dtype = expected[name]
        if got_shape != shape:
            return f"array '{key}.{name}' has shape {list(got_shape)}; the model's is {list(shape)}"
        allowed = {dtype, model_dtypes.get(name, dtype)}
        if got_dtype not in allowed:
            return f"array '{key}.{name}' has dtype {got_dtype}; the model's is {' or '.join(sorted(allowed))}"
    return None


def _derived_array_problem(key: str, base: ArrayRecord, record: ArrayRecord, reply: RecordDict) -> str | None:
    if key == CONTROL_DELTA_KEY:  # SCAFFOLD's control change: exactly the control variate's layout
        return _layout_problem(key, base, record, {}, reply)
    sizes = {name: array_size(array) for name, array in base.items()}
    extra = [name for name in record if name not in sizes]
    if extra:
        return f"array record '{key}' has extra arrays {', '.join(extra)} not in the model"
    partner_key = TOPK_INDICES_KEY if key == TOPK_VALUES_KEY else TOPK_VALUES_KEY
    partner = reply.array_records.get(partner_key)
    for name, array in record.items():
        if len(array.shape) != 1 or array_size(array) > sizes[name]:
            return f"array '{key}.{name}' has shape {list(array.shape)}; at most {sizes[name]} values in one dimension"
        kind = "float" if key == TOPK_VALUES_KEY else "int"
        if not str(array.dtype).startswith(kind):
            return f"array '{key}.{name}' has dtype {array.dtype}; expected {kind}"
        if partner is None or name not in partner or tuple(partner[name].shape) != tuple(array.shape):
            return f"array '{key}.{name}' has no matching '{partner_key}.{name}'"
    return None


def _int8_range_problem(key: str, base: ArrayRecord, config: ConfigRecord) -> str | None:
    for name, value in config.items():
        if name not in base:
            return f"config record '{key}' names '{name}', not an array of the model"
        numbers = value if isinstance(value, list) else [value]
        if len(numbers) != INT8_RANGE_NUMBERS or not all(_finite_number(number) for number in numbers):
            return f"config record '{key}.{name}' must hold {INT8_RANGE_NUMBERS} finite numbers"
    return None


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def array_size(array) -> int:  # type: ignore[no-untyped-def]
    count = 1
    for dimension in array.shape:
        count *= int(dimension)
    return count
