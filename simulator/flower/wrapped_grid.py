"""A Grid that hands every call to the grid it wraps: the base of the grids that add to another one
(the measured grid, the bundling grid), which override only what they change."""

from __future__ import annotations

from collections.abc import Iterable

from flwr.app import Message
from flwr.serverapp import Grid


class WrappedGrid(Grid):
    def __init__(self, inner: Grid):
        self._inner = inner

    def set_run(self, run):  # type: ignore[no-untyped-def]
        self._inner.set_run(run)

    @property
    def run(self):  # type: ignore[no-untyped-def]
        return self._inner.run

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):  # type: ignore[no-untyped-def]
        return self._inner.create_message(content, message_type, dst_node_id, group_id, ttl)

    def get_node_ids(self) -> Iterable[int]:
        return self._inner.get_node_ids()

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self._inner.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self._inner.pull_messages(message_ids)

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        return self._inner.send_and_receive(messages, timeout=timeout)
