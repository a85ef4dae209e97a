"""A deployed ServerApp starts its first round as soon as every silo is connected, not at Flower's
next once-a-second check; it gives up waiting after the start-up limit (the strategy then waits)."""

from __future__ import annotations

from simulator.flower.server_app import wait_for_silos


class ConnectingGrid:
    """Lists one more node at each look, up to `silos`."""

    def __init__(self, silos: int):
        self.silos = silos
        self.looks = 0

    def get_node_ids(self):
        self.looks += 1
        return list(range(min(self.looks - 1, self.silos)))


def test_waits_until_every_silo_is_connected():
    grid = ConnectingGrid(3)
    assert wait_for_silos(grid, 3, timeout_s=30, poll_s=0.001)
    assert grid.looks == 4  # 0, 1, 2, then 3 nodes


def test_gives_up_after_the_start_up_limit():
    grid = ConnectingGrid(2)
    assert not wait_for_silos(grid, 3, timeout_s=0.05, poll_s=0.001)
