"""A ray run prints no notice of Flower's or Ray's about choices the runner made on purpose, while
their other warnings still get through. (A real ray run is checked in tests/test_determinism.py.)"""

from __future__ import annotations

import logging
import warnings

from simulator.flower.runners import (
    FLOWER_RUN_SIMULATION_DEPRECATED,
    RAY_ACCELERATOR_OVERRIDE_TIP,
    engine_notices_filtered,
)


def test_only_those_two_are_filtered(caplog):
    flower = logging.getLogger("flwr")
    with caplog.at_level(logging.WARNING, logger="flwr"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with engine_notices_filtered():
            flower.warning("DEPRECATED FEATURE: The %s", FLOWER_RUN_SIMULATION_DEPRECATED)
            flower.warning("another Flower warning")
            warnings.warn(RAY_ACCELERATOR_OVERRIDE_TIP + " ...", FutureWarning)
            warnings.warn("another Ray warning", FutureWarning)
    assert [record.getMessage() for record in caplog.records] == ["another Flower warning"]
    assert [str(warning.message) for warning in caught] == ["another Ray warning"]
