"""What a silo may send back: the model's arrays (same names, shapes and dtypes as the server sent)
and scalar metrics. Anything else could carry a silo's raw data out, so the server refuses it.

`reply_problem` is pure: it compares the content the server sent with the content of the reply and
names the first thing that does not fit, or returns None.
"""

from __future__ import annotations

from flwr.app import ArrayRecord, RecordDict

from simulator.flower.payload import FAILURE_KEY, MEASUREMENT_KEY

# Our own telemetry records; everything else in a reply is the app's payload.
TELEMETRY_KEYS = (MEASUREMENT_KEY, FAILURE_KEY)


def array_layout(record: ArrayRecord) -> dict[str, tuple[tuple[int, ...], str]]:
    """Array name -> (shape, dtype) of an ArrayRecord."""
    return {name: (tuple(array.shape), str(array.dtype)) for name, array in record.items()}


def reply_problem(sent: RecordDict, reply: RecordDict) -> str | None:
    """Why `reply` may not reach the strategy, or None when it only holds what a silo may send."""
    sent_arrays = sent.array_records
    for key, record in reply.array_records.items():
        if key not in sent_arrays:
            return f"unexpected array record '{key}' (the server sent: {', '.join(sent_arrays) or 'none'})"
        problem = _layout_problem(key, array_layout(sent_arrays[key]), array_layout(record))
        if problem is not None:
            return problem
    for key in reply.config_records:
        if key not in TELEMETRY_KEYS:
            return f"unexpected config record '{key}' (a reply carries the model's arrays and scalar metrics only)"
    for key, metrics in reply.metric_records.items():
        for name, value in metrics.items():
            if isinstance(value, list):
                return f"metric '{key}.{name}' is a list of {len(value)} values (only scalar metrics are accepted)"
    return None


def _layout_problem(
    key: str, expected: dict[str, tuple[tuple[int, ...], str]], got: dict[str, tuple[tuple[int, ...], str]]
) -> str | None:
    extra = [name for name in got if name not in expected]
    if extra:
        return f"array record '{key}' has extra arrays {', '.join(extra)} not in the model"
    missing = [name for name in expected if name not in got]
    if missing:
        return f"array record '{key}' lacks the model's arrays {', '.join(missing)}"
    for name, (shape, dtype) in expected.items():
        got_shape, got_dtype = got[name]
        if got_shape != shape:
            return f"array '{key}.{name}' has shape {list(got_shape)}; the model's is {list(shape)}"
        if got_dtype != dtype:
            return f"array '{key}.{name}' has dtype {got_dtype}; the model's is {dtype}"
    return None
