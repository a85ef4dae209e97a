"""The wire of federated analytics: the silo's `query` handler on Flower's ClientApp, the request,
and the reply's schema, which the server checks before merging.

The server sends the canonical text of one spec; the silo parses it, computes its partial
aggregates over its own training data, applies the disclosure rules (simulator/analytics/
disclosure.py) with its own minimum group size, and replies with one ConfigRecord per group.
Nothing but those aggregates leaves the silo. The handler is registered on the same ClientApp as
training (so the measurement mod wraps it and every runner can serve queries).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp

from simulator.analytics.aggregates import (
    ALL_GROUP,
    SUPPRESSED_KEY,
    WIRE_FIELDS,
    Partial,
    local_partials,
    partial_from_record,
    partial_to_record,
)
from simulator.analytics.disclosure import disclosure_problem, protect
from simulator.scenario.query_spec import LABEL_COLUMN, NODE_MIN_GROUP_SIZE, QuerySpec, parse_spec
from simulator.data.federated import SiloData
from simulator.errors import InputError

QUERY_RECORD = "query"  # the server's request: {"spec": text, "server-round": query number}
SPEC_KEY = "spec"
GROUP_PREFIX = "group:"  # the reply: one ConfigRecord per group, "group:all" or "group:label=3"
# No dataset here has more labels; a reply with more groups is not an honest one.
MAX_GROUPS = 1000
# An exact sum of float64 values as `p/q` text: q is a power of two up to 2^1126 and |p/q| below
# 2^(2 x 1024 + 35) for sums of squares, which fits in about 1,400 digits; the bound leaves room.
MAX_RATIONAL_CHARS = 2500
_GROUP_NAME = re.compile(rf"^(?:{ALL_GROUP}|{LABEL_COLUMN}=-?[0-9]{{1,12}})$")


def register_query_handler(
    app: ClientApp, silo_data_of: Callable[[Context], SiloData], min_group_size_of: Callable[[Context], int]
) -> None:
    """Serve `query` messages on `app` from the silo data that `silo_data_of(context)` returns, with
    the minimum group size `min_group_size_of(context)` (raised to the node's own, if it sets one)."""

    @app.query()
    def query(message: Message, context: Context) -> Message:
        spec = parse_spec(str(message.content.config_records[QUERY_RECORD][SPEC_KEY]))
        silo = silo_data_of(context)
        floor = int(context.node_config.get(NODE_MIN_GROUP_SIZE, 0))
        partials = protected_partials(spec, silo.train_x, silo.train_y, max(min_group_size_of(context), floor))
        content = RecordDict({GROUP_PREFIX + name: partial_to_record(partial) for name, partial in partials.items()})
        return Message(content=content, reply_to=message)


def protected_partials(spec: QuerySpec, features, labels, min_group_size: int) -> dict[str, Partial]:  # type: ignore[no-untyped-def]
    """What one holder of data (a silo, or the central copy) may release for `spec`."""
    return protect(spec, local_partials(spec, features, labels), min_group_size)


def request_content(spec_text: str, query_number: int) -> RecordDict:
    return RecordDict({QUERY_RECORD: ConfigRecord({SPEC_KEY: spec_text, "server-round": query_number})})


def partials_of_reply(content: RecordDict) -> dict[str, Partial]:
    return {
        key[len(GROUP_PREFIX) :]: partial_from_record(record)
        for key, record in content.config_records.items()
        if key.startswith(GROUP_PREFIX)
    }


def query_reply_problem(sent: RecordDict, reply: RecordDict, min_group_size: int) -> str | None:
    """Why a silo's reply to a query does not fit the aggregates' schema and the disclosure rules,
    or None. `reply` holds the app's records only (no telemetry)."""
    try:
        spec = parse_spec(str(sent.config_records[QUERY_RECORD][SPEC_KEY]))
    except (KeyError, InputError):
        return "a reply to a message that is not a query"
    if len(reply) > MAX_GROUPS:
        return f"{len(reply)} groups; at most {MAX_GROUPS}"
    for key, record in reply.items():
        group = key[len(GROUP_PREFIX) :] if key.startswith(GROUP_PREFIX) else None
        if not isinstance(record, ConfigRecord) or group is None or not _GROUP_NAME.match(group):
            return f"unexpected record '{key}' (a query reply carries one ConfigRecord per group)"
        if (group == ALL_GROUP) != (spec.group_by is None):
            return f"group '{group}' does not fit the query '{spec.text}'"
        problem = _partial_problem(spec, record)
        if problem is None:
            problem = disclosure_problem(spec, partial_from_record(record), min_group_size)
        if problem is not None:
            return f"group '{group}': {problem}"
    return None


def _partial_problem(spec: QuerySpec, record: ConfigRecord) -> str | None:
    if SUPPRESSED_KEY in record:
        return None if dict(record) == {SUPPRESSED_KEY: True} else "a withheld group carries more than the flag"
    expected = WIRE_FIELDS[spec.kind]
    if sorted(record) != sorted(expected):
        return f"fields {', '.join(sorted(record))}; a '{spec.kind}' partial holds {', '.join(expected)}"
    if not _whole(record["count"]):
        return "'count' is not a whole number >= 0"
    for key in ("sum", "sum-sq"):
        if key in record and not _exact_sum_text(record[key]):
            return f"'{key}' is not an exact sum (p/q with q a power of two, at most {MAX_RATIONAL_CHARS} characters)"
    if "hist" in record:
        cells = record["hist"]
        assert spec.bins is not None
        if not isinstance(cells, list) or len(cells) != spec.bins + 2 or not all(_whole(c) for c in cells):
            return f"'hist' must be {spec.bins + 2} whole numbers >= 0 (the bins, below, above)"
    return None


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _exact_sum_text(value: object) -> bool:
    if not isinstance(value, str) or len(value) > MAX_RATIONAL_CHARS:
        return False
    try:
        denominator = Fraction(value).denominator
    except (ValueError, ZeroDivisionError):
        return False
    return denominator & (denominator - 1) == 0
