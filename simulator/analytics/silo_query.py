"""The silo side of federated analytics: a `query` handler on Flower's ClientApp.

The server sends the canonical text of one spec; the silo parses it, computes its partial
aggregates over its own training data and replies with them, one ConfigRecord per group. Nothing
but the aggregates leaves the silo. The handler is registered on the same ClientApp as training
(so the measurement mod wraps it and every runner can serve queries).
"""

from __future__ import annotations

from collections.abc import Callable

from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp

from simulator.analytics.aggregates import Partial, local_partials, partial_from_record, partial_to_record
from simulator.scenario.query_spec import parse_spec
from simulator.data.federated import SiloData

QUERY_RECORD = "query"  # the server's request: {"spec": text, "server-round": query number}
SPEC_KEY = "spec"
GROUP_PREFIX = "group:"  # the reply: one ConfigRecord per group, "group:all" or "group:label=3"


def register_query_handler(app: ClientApp, silo_data_of: Callable[[Context], SiloData]) -> None:
    """Serve `query` messages on `app` from the silo data that `silo_data_of(context)` returns."""

    @app.query()
    def query(message: Message, context: Context) -> Message:
        spec = parse_spec(str(message.content.config_records[QUERY_RECORD][SPEC_KEY]))
        silo = silo_data_of(context)
        partials = local_partials(spec, silo.train_x, silo.train_y)
        content = RecordDict({GROUP_PREFIX + name: partial_to_record(partial) for name, partial in partials.items()})
        return Message(content=content, reply_to=message)


def request_content(spec_text: str, query_number: int) -> RecordDict:
    return RecordDict({QUERY_RECORD: ConfigRecord({SPEC_KEY: spec_text, "server-round": query_number})})


def partials_of_reply(content: RecordDict) -> dict[str, Partial]:
    return {
        key[len(GROUP_PREFIX) :]: partial_from_record(record)
        for key, record in content.config_records.items()
        if key.startswith(GROUP_PREFIX)
    }
