"""The inline runner's Grid: Flower's ServerApp and ClientApp driven in one process, silo after silo.

No Ray and no SuperLink: `send_and_receive` hands each message to the ClientApp of its node (with one
persistent `Context` per node, as a SuperNode keeps) and returns the replies in the order sent. A
ClientApp that raises gives an error reply, as Flower's runtimes do; one that does not answer within
the round timeout gives none (the server stops waiting; a late reply is dropped). Messages are copied on the way
in and out, as serialization would, so a silo can never alter the server's arrays in place.

What this relies on in Flower 1.42 (pinned in pyproject, covered by tests/test_inline_grid.py):
`Grid`'s abstract methods, `Message(content|error, reply_to=...)`, the node config key `partition-id` that
Flower's simulation also sets, and, through simulator.flower.flwr_internals (its contract tests in
tests/test_flwr_internals.py), the process's task identity, an empty `Run` and message ids.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
import uuid
from collections.abc import Iterable

from flwr.app import Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid

from simulator.flower.client_app import PARTITION_ID_KEY
from simulator.flower.flwr_internals import (
    ERROR_CLIENT_APP_RAISED,
    ERROR_NODE_UNAVAILABLE,
    SUPERLINK_NODE_ID,
    empty_run,
    set_message_id,
    set_task_identity,
)
from simulator.stopping import StopRequested

FIRST_NODE_ID = 101  # deterministic node ids; 1 is Flower's SuperLink


class InlineGrid(Grid):
    # Silos are served one after another in this process: a caller may send one message at a time
    # (to follow progress per silo) without changing what any silo does or measures.
    answers_one_at_a_time = True

    def __init__(self, client_app: ClientApp, num_silos: int, run_config: dict | None = None, run_id: int = 1):
        self._client_app = client_app
        self._run = empty_run(run_id)
        self._contexts = {
            FIRST_NODE_ID + index: Context(
                run_id=run_id,
                node_id=FIRST_NODE_ID + index,
                node_config={PARTITION_ID_KEY: index, "num-partitions": num_silos},
                state=RecordDict(),
                run_config=dict(run_config or {}),
            )
            for index in range(num_silos)
        }
        self._replies: dict[str, Message] = {}
        self._stray_calls: list[_SiloWorker] = []  # threads of calls the server gave up on
        self._workers: dict[int, _SiloWorker] = {}
        # Messages take their sender from the process's task identity, as Flower's simulation sets it.
        set_task_identity(task_id=1, run_id=run_id, node_id=SUPERLINK_NODE_ID)

    @property
    def node_to_partition(self) -> dict[int, int]:
        return {node_id: int(ctx.node_config[PARTITION_ID_KEY]) for node_id, ctx in self._contexts.items()}

    def set_run(self, run) -> None:  # type: ignore[no-untyped-def]
        self._run = run

    @property
    def run(self):  # type: ignore[no-untyped-def]
        return self._run

    def create_message(self, content, message_type, dst_node_id, group_id, ttl=None):  # type: ignore[no-untyped-def]
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self._contexts)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self._push(messages, timeout=None)

    def _push(self, messages: Iterable[Message], timeout: float | None) -> list[str]:
        ids = []
        for message in messages:
            message_id = str(uuid.uuid4())
            set_message_id(message, message_id)
            reply = self._deliver(message, timeout)
            if reply is not None:
                self._replies[message_id] = reply
            ids.append(message_id)
        return ids

    def _deliver(self, message: Message, timeout: float | None) -> Message | None:
        """The silo's reply, or None when it did not answer within `timeout` seconds.

        The call runs in a daemon thread so the server can stop waiting for a hung silo, as a real
        server stops waiting at the round's deadline; a reply that comes later is dropped.
        """
        context = self._contexts.get(message.metadata.dst_node_id)
        if context is None:
            return Message(Error(ERROR_NODE_UNAVAILABLE, f"unknown node {message.metadata.dst_node_id}"),
                           reply_to=message)
        incoming = copy.deepcopy(message)
        outcome: list[Message | Exception] = []

        def call() -> None:
            try:
                outcome.append(self._client_app(incoming, context))
            except Exception as error:  # a silo's failure is a reply, not the server's crash
                outcome.append(error)
            except StopRequested as stop:  # the process is stopping: the silo's work ends here
                outcome.append(stop)

        node_id = message.metadata.dst_node_id
        worker = self._workers.get(node_id)
        if worker is None:
            worker = self._workers[node_id] = _SiloWorker(f"silo-node-{node_id}")
        done = worker.submit(call)
        try:
            done.wait(timeout)
        except BaseException:  # a stop signal in this thread: the call ends at its next check
            self._give_up(node_id, worker)
            raise
        if not outcome:
            # The silo's thread is stuck in this call: later calls get a new thread, this one ends
            # when the call does.
            self._give_up(node_id, worker)
            return None
        result = outcome[0]
        if isinstance(result, StopRequested):
            raise result
        if isinstance(result, Exception):
            return Message(
                Error(ERROR_CLIENT_APP_RAISED, f"{type(result).__name__}: {result}"), reply_to=message
            )
        return copy.deepcopy(result)

    def _give_up(self, node_id: int, worker: "_SiloWorker") -> None:
        self._stray_calls.append(worker)
        del self._workers[node_id]
        worker.stop_after_current()

    def wait_for_stray_calls(self, limit_s: float) -> None:
        """Let calls the server gave up on finish (their replies are dropped), up to `limit_s` seconds:
        a process that exits while one of them runs torch code is aborted by torch."""
        deadline = time.monotonic() + limit_s
        for worker in self._stray_calls:
            worker.thread.join(max(0.0, deadline - time.monotonic()))
        self._stray_calls = [worker for worker in self._stray_calls if worker.thread.is_alive()]

    @property
    def running_stray_calls(self) -> int:
        """Calls the server gave up on whose thread still runs."""
        return sum(worker.thread.is_alive() for worker in self._stray_calls)

    def close(self) -> None:
        """End the silos' idle threads (a call still running ends its thread when it returns)."""
        for worker in self._workers.values():
            worker.stop_after_current()
        self._workers.clear()

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(message_id) for message_id in message_ids if message_id in self._replies]

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        # Silos answer one after another here; each gets the whole round timeout, as it would if the
        # silos of a round ran side by side. A silo that misses it has no reply.
        return list(self.pull_messages(self._push(messages, timeout)))


class _SiloWorker:
    """One long-lived daemon thread per silo: the silo's calls run on the same thread every round,
    as in a SuperNode's process (a fresh thread per call re-creates torch's OpenMP thread team each
    time, measured here at about 3 ms per small evaluation), and the server can still stop waiting."""

    def __init__(self, name: str):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while (task := self._tasks.get()) is not None:
            task()

    def submit(self, function) -> threading.Event:  # type: ignore[no-untyped-def]
        done = threading.Event()

        def run() -> None:
            try:
                function()
            finally:
                done.set()

        self._tasks.put(run)
        return done

    def stop_after_current(self) -> None:
        self._tasks.put(None)
