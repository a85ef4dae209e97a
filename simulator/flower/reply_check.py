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


def reply_problem(sent: RecordDict, reply: RecordDict, model_dtypes: dict[str, str] | None = None) -> str | None:
    """Why `reply` may not reach the strategy, or None when it only holds what a silo may send.

    - A record under a key the server sent: the same array names and shapes, and the dtype sent or,
      where the server's arithmetic widened it (FedAdam sends float64), the model's own dtype
      (`model_dtypes`, array name -> dtype).
    - A record derived from one the server sent (its key extends the sent key: `arrays.topk-values`,
      `scaffold.control-delta`): only the sent record's array names, none larger than the original
      array; a derived config record holds at most a few numbers per array (a codec's ranges).
    - Metrics: scalars only. Nothing else.
    """
    sent_arrays = sent.array_records
    for key, record in reply.array_records.items():
        if key in sent_arrays:
            problem = _layout_problem(key, array_layout(sent_arrays[key]), array_layout(record), model_dtypes or {})
        else:
            base = _base_key(key, sent_arrays)
            if base is None:
                return f"unexpected array record '{key}' (the server sent: {', '.join(sent_arrays) or 'none'})"
            problem = _derived_problem(key, sent_arrays[base], record)
        if problem is not None:
            return problem
    for key, config in reply.config_records.items():
        if key in TELEMETRY_KEYS:
            continue
        base = _base_key(key, sent_arrays)
        if base is None:
            return f"unexpected config record '{key}' (a reply carries the model's arrays and scalar metrics only)"
        problem = _derived_config_problem(key, sent_arrays[base], config)
        if problem is not None:
            return problem
    for key, metrics in reply.metric_records.items():
        for name, value in metrics.items():
            if isinstance(value, list):
                return f"metric '{key}.{name}' is a list of {len(value)} values (only scalar metrics are accepted)"
    return None


# A codec may send a few numbers per array (int8: lowest value and step).
MAX_NUMBERS_PER_ARRAY = 4


def _base_key(key: str, sent: dict[str, ArrayRecord]) -> str | None:
    """The sent record that `key` is derived from (`arrays` for `arrays.topk-values`), if any."""
    bases = [base for base in sent if key.startswith(base) and len(key) > len(base)]
    return max(bases, key=len) if bases else None


def _derived_problem(key: str, original: ArrayRecord, record: ArrayRecord) -> str | None:
    sizes = {name: array_size(array) for name, array in original.items()}
    extra = [name for name in record if name not in sizes]
    if extra:
        return f"array record '{key}' has extra arrays {', '.join(extra)} not in the model"
    for name, array in record.items():
        if array_size(array) > sizes[name]:
            return f"array '{key}.{name}' has {array_size(array)} values; the model's array has {sizes[name]}"
    return None


def _derived_config_problem(key: str, original: ArrayRecord, config) -> str | None:  # type: ignore[no-untyped-def]
    for name, value in config.items():
        if name not in original:
            return f"config record '{key}' names '{name}', not an array of the model"
        count = len(value) if isinstance(value, list) else 1
        if count > MAX_NUMBERS_PER_ARRAY or isinstance(value, str | bytes):
            return f"config record '{key}.{name}' holds {count} values; at most {MAX_NUMBERS_PER_ARRAY} numbers"
    return None


def array_size(array) -> int:  # type: ignore[no-untyped-def]
    count = 1
    for dimension in array.shape:
        count *= int(dimension)
    return count


def _layout_problem(
    key: str,
    expected: dict[str, tuple[tuple[int, ...], str]],
    got: dict[str, tuple[tuple[int, ...], str]],
    model_dtypes: dict[str, str],
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
        allowed = {dtype, model_dtypes.get(name, dtype)}
        if got_dtype not in allowed:
            return f"array '{key}.{name}' has dtype {got_dtype}; the model's is {' or '.join(sorted(allowed))}"
    return None
