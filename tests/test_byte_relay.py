"""The counting relay between a deployed silo and the SuperLink: bytes unchanged and counted, each
chunk forwarded at once (no Nagle delay), and a closed relay holding connections until it is opened
(at most its hold limit)."""

from __future__ import annotations

import socket
import threading

import pytest

from simulator.deployment.byte_relay import CountingRelay


class EchoServer:
    """Answers every chunk with the same bytes, upper-cased."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(connection)
            threading.Thread(target=self._echo, args=(connection,), daemon=True).start()

    @staticmethod
    def _echo(connection: socket.socket) -> None:
        with connection:
            while data := connection.recv(65536):
                connection.sendall(data.upper())

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def _exchange(address: tuple[str, int], parts: list[bytes]) -> bytes:
    with socket.create_connection(address, timeout=10) as client:
        for part in parts:  # written in pieces, as an HTTP client writes headers and then a body
            client.sendall(part)
        client.shutdown(socket.SHUT_WR)
        received = b""
        while data := client.recv(65536):
            received += data
        return received


def test_relay_forwards_unchanged_and_counts_both_directions(echo):
    relay = CountingRelay("127.0.0.1", echo.port)
    try:
        parts = [b"POST /v1/fleet/pull-object HTTP/1.1\r\n\r\n", b"x" * 70_000]
        received = _exchange((relay.host, relay.port), parts)
        sent = b"".join(parts)
        assert received == sent.upper()
        count = relay.count()
        assert count.to_superlink_bytes == len(sent)
        assert count.from_superlink_bytes == len(received)
        assert count.connections == 1
    finally:
        relay.close()


def test_relay_sockets_forward_each_chunk_at_once(echo):
    """With Nagle's algorithm on, a request written in two parts waits at the relay for the peer's
    delayed ACK (40 ms on Linux): every Flower object pull paid it. Both relay sockets turn it off."""
    relay = CountingRelay("127.0.0.1", echo.port)
    try:
        with socket.create_connection((relay.host, relay.port), timeout=10) as client:
            client.sendall(b"ping")
            assert client.recv(16) == b"PING"
            relayed = list(relay._sockets)  # downstream and upstream of the one connection
        assert len(relayed) == 2
        for sock in relayed:
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        relay.close()


def test_a_closed_relay_holds_a_connection_until_it_opens(echo):
    """A SuperNode started before its key is registered connects at once and waits, unanswered, for
    the relay to open (refused, it would back off for up to seconds); nothing reaches the SuperLink
    before that."""
    relay = CountingRelay("127.0.0.1", echo.port, opened=False)
    try:
        with socket.create_connection((relay.host, relay.port), timeout=10) as client:
            client.sendall(b"early")
            client.settimeout(0.3)
            with pytest.raises(socket.timeout):
                client.recv(16)  # held: no answer while closed
            assert echo.accepted == [] and relay.count().connections == 0
            relay.open()
            client.settimeout(10)
            assert client.recv(16) == b"EARLY"
        assert relay.count().connections == 1
    finally:
        relay.close()


def test_a_connection_held_past_the_limit_is_closed(echo):
    """Held longer than the limit (an unanswered TLS handshake ends a SuperNode after 30 s), the
    connection is closed, so the SuperNode retries as if the SuperLink were not up yet."""
    relay = CountingRelay("127.0.0.1", echo.port, opened=False, hold_limit_s=0.2)
    try:
        with socket.create_connection((relay.host, relay.port), timeout=10) as client:
            client.sendall(b"early")
            try:
                answer = client.recv(16)
            except ConnectionResetError:  # closed with the unread request in its buffer: a reset
                answer = b""
            assert answer == b""  # closed by the relay
        assert echo.accepted == []
    finally:
        relay.close()
