"""A byte-counting TCP relay between one silo's SuperNode and the SuperLink (loopback runs).

Method (as labelled in the run folder): the SuperNode dials the relay instead of the SuperLink; the
relay forwards every byte unchanged and counts the TCP payload in each direction. The count
therefore includes everything the silo's process sent or received on the wire: TLS records and
handshakes, HTTP headers, protobuf framing, Flower's polling, heartbeats and the app download. It
excludes TCP/IP headers (about 52 bytes per segment on Linux loopback) and retransmissions. Linux
has no per-process network counters (psutil's are host-wide), and /proc/<pid>/io counts all reads
and writes (files, local sockets), so counting at the one connection that matters is the honest
measurement here.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

RELAY_BUFFER_BYTES = 256 * 1024


@dataclass(frozen=True)
class WireCount:
    """TCP payload bytes through a relay: `to_superlink` = silo -> server, `from_superlink` = server -> silo."""

    to_superlink_bytes: int
    from_superlink_bytes: int
    connections: int


class CountingRelay:
    def __init__(self, upstream_host: str, upstream_port: int, listen_host: str = "127.0.0.1"):
        self._upstream = (upstream_host, upstream_port)
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

    def count(self) -> WireCount:
        with self._lock:
            return WireCount(self._to_upstream, self._from_upstream, self._connections)

    def close(self) -> None:
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
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:
                downstream.close()
                continue
            with self._lock:
                if self._closed:
                    downstream.close()
                    upstream.close()
                    return
                self._sockets += [downstream, upstream]
                self._connections += 1
            for source, target, upward in ((downstream, upstream, True), (upstream, downstream, False)):
                threading.Thread(target=self._pump, args=(source, target, upward), daemon=True).start()

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
