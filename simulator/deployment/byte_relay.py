"""A byte-counting TCP relay between one silo's SuperNode and the SuperLink (loopback runs).

Method (as labelled in the run folder): the SuperNode dials the relay instead of the SuperLink; the
relay forwards every byte unchanged and counts the TCP payload in each direction. The count
therefore includes everything the silo's process sent or received on the wire: TLS records and
handshakes, HTTP headers, protobuf framing, Flower's polling, heartbeats and the app download. It
excludes TCP/IP headers (about 52 bytes per segment on Linux loopback) and retransmissions. Linux
has no per-process network counters (psutil's are host-wide), and /proc/<pid>/io counts all reads
and writes (files, local sockets), so counting at the one connection that matters is the honest
measurement here.

A relay can start closed (`opened=False`): it accepts connections but holds them, unanswered, until
`open()`, and only then dials the SuperLink. A SuperNode can so start before its key is registered
without being refused by the SuperLink (an unknown key ends a SuperNode), and it connects the moment
the relay opens. Refusing it instead made it back off (Flower retries after a random, growing wait:
up to 2 s later here). A TLS handshake left unanswered for 30 s ends a SuperNode, so a connection is
held at most HOLD_LIMIT_S; then it is closed and the SuperNode retries as if the SuperLink were not
up yet.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

RELAY_BUFFER_BYTES = 256 * 1024
LISTEN_BACKLOG = 16
HOLD_LIMIT_S = 20.0  # below the 30 s after which an unanswered TLS handshake ends a SuperNode


@dataclass(frozen=True)
class WireCount:
    """TCP payload bytes through a relay: `to_superlink` = silo -> server, `from_superlink` = server -> silo."""

    to_superlink_bytes: int
    from_superlink_bytes: int
    connections: int


class CountingRelay:
    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        listen_host: str = "127.0.0.1",
        *,
        opened: bool = True,
        hold_limit_s: float = HOLD_LIMIT_S,
    ):
        self._upstream = (upstream_host, upstream_port)
        self._hold_limit_s = hold_limit_s
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind((listen_host, 0))
        self.host, self.port = self._server.getsockname()[:2]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._to_upstream = 0
        self._from_upstream = 0
        self._connections = 0
        self._closed = False
        self._opened = threading.Event()
        self._server.listen(LISTEN_BACKLOG)
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"relay-{self.port}", daemon=True)
        self._acceptor.start()
        if opened:
            self.open()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self) -> None:
        """Relay connections to the SuperLink from now on, the held ones first."""
        self._opened.set()

    def count(self) -> WireCount:
        with self._lock:
            return WireCount(self._to_upstream, self._from_upstream, self._connections)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
        self._opened.set()  # held connections wake up, find the relay closed and close
        self._server.close()
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass

    def _accept_loop(self) -> None:
        while True:
            try:
                downstream, _ = self._server.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._connect, args=(downstream,), daemon=True).start()

    def _connect(self, downstream: socket.socket) -> None:
        if not self._opened.wait(self._hold_limit_s) or self._closed:
            downstream.close()  # held too long (the SuperNode retries), or the relay is closing
            return
        try:
            upstream = socket.create_connection(self._upstream)
        except OSError:
            downstream.close()
            return
        for sock in (downstream, upstream):
            # Forward each chunk at once, as the direct connection would carry it: with Nagle's
            # algorithm a request written in two parts (headers, then body) waits for the peer's
            # delayed ACK (40 ms on Linux) at the relay, which made every Flower object pull or push
            # cost 40-90 ms and a round's message exchange about a second.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._closed:
                downstream.close()
                upstream.close()
                return
            self._sockets += [downstream, upstream]
            self._connections += 1
        threading.Thread(target=self._pump, args=(upstream, downstream, False), daemon=True).start()
        self._pump(downstream, upstream, True)

    def _pump(self, source: socket.socket, target: socket.socket, upward: bool) -> None:
        try:
            while data := source.recv(RELAY_BUFFER_BYTES):
                target.sendall(data)
                with self._lock:
                    if upward:
                        self._to_upstream += len(data)
                    else:
                        self._from_upstream += len(data)
        except OSError:
            pass
        finally:
            # Pass the end of the stream on, so the other side sees the close as it would directly.
            try:
                target.shutdown(socket.SHUT_WR)
            except OSError:
                pass
