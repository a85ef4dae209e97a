"""Several messages for one silo carried as one: a round's evaluation travelling with the next
round's training, so that a deployed silo meets its SuperNode's idle wait once per round, not twice.

Flower 1.42's SuperNode sleeps 3 s whenever it polls and finds no message, and the server cannot
have round r's evaluation ready before round r's training replies are in: two exchanges per round
cost two of those sleeps. One message holding both costs one.

- Server side, `BundlingGrid` wraps the transport grid, under the measured grid (which still sees,
  sizes and screens every message and every reply on its own): messages pushed together for one
  node travel as one bundle; its reply is split back into one reply per message.
- Silo side, `answer_bundle` (called by the ClientApp before Flower's dispatch) splits a bundle into
  its messages, has the ClientApp answer each in order as if it came alone (its fault, measurement
  and compression mods included), and packs their replies into one. Each part keeps its own records under its own prefix, so every
  message's payload bytes in the ledger are those of the separate messages; what changes is the
  wire (one HTTP exchange instead of two, and an array held by both parts crosses once).

The silo answers the parts in the order they were pushed, as it would separate messages.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from flwr.app import ConfigRecord, Context, Error, Message, RecordDict
from flwr.serverapp import Grid

from simulator.flower.wrapped_grid import WrappedGrid
from simulator.flower.flwr_internals import (
    ERROR_CLIENT_APP_RAISED,
    ClientAppCallable,
    message_of_type,
    set_message_id,
)

# A Flower message type is "<train|evaluate|query>.<identifier>"; the category is only a label here,
# since `answer_bundle` takes the message before Flower's dispatch does.
BUNDLE_MESSAGE_TYPE = "train.silocarbon_bundle"
BUNDLE_KEY = "silocarbon.bundle"  # the parts' message types (request) or the part count (reply)
PART_PREFIX = "part{index}."
PART_ERROR = "silocarbon.error"  # a part that ended in an error reply: its code and reason
MAX_PARTS = 8  # a round bundles two; anything beyond a handful is not ours
REPLY_POLL_S = 0.05  # send_and_receive's pause between pulls


class BundleError(ValueError):
    """A bundle (or a bundle's reply) that does not have the layout described above."""


# -- packing (both sides) -----------------------------------------------------------------------------------


def _prefix(index: int) -> str:
    return PART_PREFIX.format(index=index)


def pack(contents: list[RecordDict], header: ConfigRecord) -> RecordDict:
    """One content holding each part's records under its prefix, and the header."""
    packed = RecordDict({BUNDLE_KEY: header})
    for index, content in enumerate(contents):
        for key, record in content.items():
            packed[_prefix(index) + key] = record
    return packed


def unpack(packed: RecordDict, parts: int) -> list[RecordDict]:
    """The parts' contents; BundleError when a key belongs to no part."""
    contents = [RecordDict() for _ in range(parts)]
    for key, record in packed.items():
        if key == BUNDLE_KEY:
            continue
        index = _part_index(key, parts)
        if index is None:
            raise BundleError(f"record '{key}' belongs to no part of a {parts}-part bundle")
        contents[index][key[len(_prefix(index)) :]] = record
    return contents


def _part_index(key: str, parts: int) -> int | None:
    for index in range(parts):
        if key.startswith(_prefix(index)):
            return index
    return None


def _error_record(error: Error) -> ConfigRecord:
    return ConfigRecord({"code": int(error.code), "reason": str(error.reason)})


# -- server side ---------------------------------------------------------------------------------------------


class BundlingGrid(WrappedGrid):
    """`inner` with the messages of one push that go to the same node sent as one bundle."""

    def __init__(self, inner: Grid):
        super().__init__(inner)
        # part id -> (bundle id, index in the bundle, the part's own message)
        self._parts: dict[str, tuple[str, int, Message]] = {}
        self._bundle_parts: dict[str, list[str]] = {}  # bundle id -> its part ids
        self._held: dict[str, Message] = {}  # part replies split off a bundle reply, not yet pulled

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        """Push, then pull until every reply is in or `timeout` seconds pass (the measured grid polls
        push/pull itself; this serves a caller that uses the Grid's one-call form)."""
        pending = list(self.push_messages(messages))
        deadline = None if timeout is None else time.monotonic() + timeout
        replies: list[Message] = []
        while pending:
            arrived = list(self.pull_messages(pending))
            replies.extend(arrived)
            answered = {reply.metadata.reply_to_message_id for reply in arrived}
            pending = [message_id for message_id in pending if message_id not in answered]
            if not pending or (deadline is not None and time.monotonic() >= deadline):
                break
            time.sleep(REPLY_POLL_S)
        return replies

    # -- bundles
    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        messages = list(messages)
        by_node: dict[int, list[int]] = {}
        for position, message in enumerate(messages):
            by_node.setdefault(message.metadata.dst_node_id, []).append(position)
        singles = [positions[0] for positions in by_node.values() if len(positions) == 1]
        groups = [positions for positions in by_node.values() if len(positions) > 1]
        bundles = [self._bundle([messages[position] for position in positions]) for positions in groups]
        pushed = list(self._inner.push_messages([messages[position] for position in singles] + bundles))
        ids: list[str | None] = [None] * len(messages)
        for position, message_id in zip(singles, pushed[: len(singles)]):
            ids[position] = message_id
        for positions, bundle_id in zip(groups, pushed[len(singles) :]):
            if bundle_id is None:
                continue
            part_ids = []
            for index, position in enumerate(positions):
                part_id = f"{bundle_id}.{index}"
                set_message_id(messages[position], part_id)  # a reply built for the part points back to it
                self._parts[part_id] = (bundle_id, index, messages[position])
                part_ids.append(part_id)
                ids[position] = part_id
            self._bundle_parts[bundle_id] = part_ids
        return ids  # type: ignore[return-value]

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        wanted = list(message_ids)
        plain = [message_id for message_id in wanted if message_id not in self._parts]
        bundles = {self._parts[message_id][0] for message_id in wanted if message_id in self._parts}
        waiting = [bundle_id for bundle_id in bundles if not any(p in self._held for p in self._bundle_parts[bundle_id])]
        arrived = list(self._inner.pull_messages(plain + waiting))
        replies = [reply for reply in arrived if reply.metadata.reply_to_message_id not in self._bundle_parts]
        for reply in arrived:
            bundle_id = reply.metadata.reply_to_message_id
            if bundle_id in self._bundle_parts:
                for part_reply in self._split(bundle_id, reply):
                    self._held[part_reply.metadata.reply_to_message_id] = part_reply
        for message_id in wanted:
            if message_id in self._held:
                replies.append(self._held.pop(message_id))
                self._forget(message_id)
        return replies

    def _bundle(self, messages: list[Message]) -> Message:
        if len(messages) > MAX_PARTS:
            raise BundleError(f"{len(messages)} messages for one node in one push; at most {MAX_PARTS} are bundled")
        first = messages[0]
        header = ConfigRecord({"message-types": [message.metadata.message_type for message in messages]})
        return Message(
            pack([message.content for message in messages], header),
            first.metadata.dst_node_id,
            BUNDLE_MESSAGE_TYPE,
            ttl=min(message.metadata.ttl for message in messages),
            group_id=first.metadata.group_id,
        )

    def _split(self, bundle_id: str, reply: Message) -> list[Message]:
        parts = [self._parts[part_id][2] for part_id in self._bundle_parts[bundle_id]]
        if reply.has_error():
            return [Message(reply.error, reply_to=part) for part in parts]
        try:
            count = reply.content[BUNDLE_KEY]["parts"] if BUNDLE_KEY in reply.content else None
            if count != len(parts):
                raise BundleError(f"the reply says {count} parts, the bundle had {len(parts)}")
            contents = unpack(reply.content, len(parts))
        except (BundleError, KeyError, TypeError) as error:
            reason = f"malformed bundle reply: {error}"
            return [Message(Error(ERROR_CLIENT_APP_RAISED, reason), reply_to=part) for part in parts]
        split = []
        for part, content in zip(parts, contents):
            if PART_ERROR in content and isinstance(content[PART_ERROR], ConfigRecord):
                record = content[PART_ERROR]
                error = Error(int(record.get("code", ERROR_CLIENT_APP_RAISED)), str(record.get("reason", "")))
                split.append(Message(error, reply_to=part))
            else:
                split.append(Message(content, reply_to=part))
        return split

    def _forget(self, part_id: str) -> None:
        bundle_id, _, _ = self._parts.pop(part_id)
        remaining = [p for p in self._bundle_parts[bundle_id] if p in self._parts]
        if not remaining:
            del self._bundle_parts[bundle_id]


# -- silo side -----------------------------------------------------------------------------------------------


def is_bundle(message: Message) -> bool:
    return message.metadata.message_type == BUNDLE_MESSAGE_TYPE


def answer_bundle(message: Message, context: Context, answer: ClientAppCallable) -> Message:
    """The reply to a bundle: `answer` called on each part in turn (one that raises gives an error
    part, as a runtime answers a ClientApp that raised), the replies packed."""
    header = message.content[BUNDLE_KEY] if BUNDLE_KEY in message.content else None
    types = list(header.get("message-types", [])) if isinstance(header, ConfigRecord) else []
    if not 0 < len(types) <= MAX_PARTS:
        raise BundleError(f"a bundle names {len(types)} message types; 1 to {MAX_PARTS} are accepted")
    replies = []
    for message_type, content in zip(types, unpack(message.content, len(types))):
        part = message_of_type(message, content, str(message_type))
        try:
            reply = answer(part, context)
        except Exception as error:  # as a runtime answers a ClientApp that raised: an error reply
            reply = Message(Error(ERROR_CLIENT_APP_RAISED, f"{type(error).__name__}: {error}"), reply_to=part)
        replies.append(reply if not reply.has_error() else RecordDict({PART_ERROR: _error_record(reply.error)}))
    contents = [reply.content if isinstance(reply, Message) else reply for reply in replies]
    return Message(pack(contents, ConfigRecord({"parts": len(contents)})), reply_to=message)
