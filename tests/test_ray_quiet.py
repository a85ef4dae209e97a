"""A ray run prints no notice of Flower's or Ray's about choices the runner made on purpose, while
their other warnings still get through."""

from __future__ import annotations

import logging
import warnings

from conftest import tiny_scenario

from simulator.flower.runners import (
    FLOWER_RUN_SIMULATION_DEPRECATED,
    RAY_ACCELERATOR_OVERRIDE_TIP,
    _engine_notices_filtered,
    run_ray,
)


def test_a_ray_run_prints_neither_notice(tmp_path, capfd):
    outcome = run_ray(tiny_scenario(runner="ray", training__rounds=1, probes__energy=False), tmp_path)
    assert [record.round for record in outcome.rounds] == [1]
    printed = "".join(capfd.readouterr())
    assert "DEPRECATED FEATURE" not in printed and "run_simulation" not in printed
    assert "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO" not in printed


def test_only_those_two_are_filtered(caplog):
    flower = logging.getLogger("flwr")
    with caplog.at_level(logging.WARNING, logger="flwr"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _engine_notices_filtered():
            flower.warning("DEPRECATED FEATURE: The %s", FLOWER_RUN_SIMULATION_DEPRECATED)
            flower.warning("another Flower warning")
            warnings.warn(RAY_ACCELERATOR_OVERRIDE_TIP + " ...", FutureWarning)
            warnings.warn("another Ray warning", FutureWarning)
    assert [record.getMessage() for record in caplog.records] == ["another Flower warning"]
    assert [str(warning.message) for warning in caught] == ["another Ray warning"]
