"""The fork server's request queue: SuperNodes can be taken out first (they are forked before the
workers' imports), the rest stay in the order they came, and the runner closing its end is noticed."""

from __future__ import annotations

import json
import os

from simulator.deployment.fork_server import Requests


def _line(role: str, program: str) -> bytes:
    return (json.dumps({"role": role, "program": program, "argv": [], "log": "/dev/null"}) + "\n").encode()


def test_supernodes_first_then_the_rest_in_order():
    read_end, write_end = os.pipe()
    try:
        requests = Requests(read_end)
        os.write(write_end, _line("serverapp worker", "server-worker") + _line("supernode a", "supernode")
                 + _line("silo worker a", "silo-worker") + _line("supernode b", "supernode")
                 + _line("silo worker b", "silo-worker")[:20])  # the last line not complete yet
        requests.read(0)
        assert [request["role"] for request in requests.take("supernode")] == ["supernode a", "supernode b"]
        assert requests.take("supernode") == []
        os.write(write_end, _line("silo worker b", "silo-worker")[20:])
        requests.read(1)
        assert [request["role"] for request in requests.take()] == ["serverapp worker", "silo worker a", "silo worker b"]
        assert not requests.ended
    finally:
        os.close(write_end)
    requests.read(1)
    assert requests.ended
    os.close(read_end)


def test_nothing_arrived_yet():
    read_end, write_end = os.pipe()
    try:
        requests = Requests(read_end)
        requests.read(0)
        assert requests.take() == [] and not requests.ended
    finally:
        os.close(write_end)
        os.close(read_end)
