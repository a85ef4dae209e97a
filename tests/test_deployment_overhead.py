"""The deployment benchmark's breakdown of an exchange, read from SuperNode logs in Flower's
timestamped format (the fork server turns timestamps on)."""

from __future__ import annotations

import pytest

from experiments.deployment_overhead import exchange_phases, floor_with_new_supernodes_s, flower_floor_s

LOG = """INFO 2026-12-02 06:21:51,000:      Starting Flower SuperNode
INFO 2026-12-02 06:21:54,578:      Receiving: train message (ID: 0b88)
INFO 2026-12-02 06:21:54,688:      Received successfully
INFO 2026-12-02 06:21:55,188:      [RUN 88]
INFO 2026-12-02 06:21:55,188:      Sending: train message (ID: 87cf)
INFO 2026-12-02 06:21:55,365:      Sent successfully
INFO 2026-12-02 06:21:58,384:      Receiving: train.silocarbon_bundle message (ID: 6a24)
INFO 2026-12-02 06:21:58,486:      Received successfully
INFO 2026-12-02 06:21:58,987:      Sending: train.silocarbon_bundle message (ID: 7a1d)
INFO 2026-12-02 06:21:59,076:      Sent successfully
"""


def test_exchange_phases_from_supernode_logs(tmp_path):
    (tmp_path / "supernode-paris.log").write_text(LOG)
    (tmp_path / "silo-worker-paris.log").write_text("not a SuperNode's log\n")
    phases = exchange_phases(tmp_path)
    assert phases["receive"] == pytest.approx([0.110, 0.102], abs=1e-6)
    assert phases["reply_wait"] == pytest.approx([0.500, 0.501], abs=1e-6)
    assert phases["send"] == pytest.approx([0.177, 0.089], abs=1e-6)
    assert phases["idle"] == pytest.approx([3.019], abs=1e-6)  # from one reply sent to the next message


def test_floors():
    # 10 rounds, one exchange per round: 11 exchanges of 3 s sleep + 0.5 s reply check, the first
    # one 0.5 s when its message waits for the SuperNode's first poll, 3.5 s when the SuperNode is new
    assert flower_floor_s(10, 1) == pytest.approx(35.5)
    assert floor_with_new_supernodes_s(10, 1) == pytest.approx(38.5)
    assert flower_floor_s(3, 2) == pytest.approx(0.5 + 3.5 * 5)
