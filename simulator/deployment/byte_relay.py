"""A byte-counting TCP relay between one silo's SuperNode and the SuperLink (loopback runs).

Method (as labelled in the run folder): the SuperNode dials the relay instead of the SuperLink; the
relay forwards every byte unchanged and counts the TCP payload in each direction. The count
therefore includes everything the silo's process sent or received on the wire: TLS records and
handshakes, HTTP headers, protobuf framing, Flower's polling, heartbeats and the app download. It
excludes TCP/IP headers (about 52 bytes per segment on Linux loopback) and retransmissions. Linux
has no per-process network counters (psutil's are host-wide), and /proc/<pid>/io counts all reads
and writes (files, local sockets), so counting at the one connection that matters is the honest
measurement here.

A relay can start closed (`opened=False`): connections are accepted and held, unanswered, until
`open()`; then each is connected to the SuperLink. A SuperNode can so start together with the
SuperLink and dial at once: it waits on the held connection instead of failing and backing off
(Flower's retries wait 1, 2, 4 ... s), and it reaches the SuperLink only once its key is registered.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

RELAY_BUFFER_BYTES = 256 * 1024
# How long a held connection waits for the relay to open; Flower's HTTP clients give a request 30 s.
HOLD_LIMIT_S = 25.0


@dataclass(frozen=True)
class WireCount:
    """TCP payload bytes through a relay: `to_superlink` = silo -> server, `from_superlink` = server -> silo."""

    to_superlink_bytes: int
    from_superlink_bytes: int
    connections: int


class CountingRelay:
    def __init__(
        self, upstream_host: str, upstream_port: int, listen_host: str = "127.0.0.1", *, opened: bool = True
    ):
        self._upstream = (upstream_host, upstream_port)
        self._open = threading.Event()
        if opened:
            self._open.set()
        self._server = socket.create_server((listen_host, 0))
        self.host, self.port = self._server.getsockname()[:2]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._to_upstream = 0
        self._from_upstream = 0
        self._connections = 0
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"relay-{self.port}", daemon=True)
        self._acceptor.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self) -> None:
        """Connect the held connections (and every later one) to the SuperLink."""
        self._open.set()

    def count(self) -> WireCount:
        with self._lock:
            return WireCount(self._to_upstream, self._from_upstream, self._connections)

    def close(self) -> None:
        self._open.set()  # held connections give up at once (the relay is closed)
        with self._lock:
            self._closed = True
            sockets, self._sockets = self._sockets, []
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
        if not self._open.wait(HOLD_LIMIT_S):
            downstream.close()  # never opened: the client retries as if the SuperLink were down
            return
        try:
            upstream = socket.create_connection(self._upstream)
        except OSError:
            downstream.close()
            return
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
