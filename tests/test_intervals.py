"""95 % intervals over seeds, and measurement noise drawn into the lifecycle model: by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from conftest import tiny_scenario
from simulator.intervals import (
    mean_interval,
    paired_ratios,
    ratio_interval,
    t_quantile,
    unpaired_ratio_interval,
)
from simulator.lifecycle import default_profile, evaluate_lifecycle
from simulator.lifecycle.profile_noise import NO_NOISE, ProfileSamples, draw_log_mean


def test_t_quantiles_match_the_tables():
    assert t_quantile(1) == pytest.approx(12.706, abs=1e-3)
    assert t_quantile(4) == pytest.approx(2.776, abs=1e-3)
    assert t_quantile(1e6) == pytest.approx(1.960, abs=1e-3)


def test_mean_interval_by_hand():
    # mean 3, s = sqrt(10 / 4) = 1.5811; half = 2.7764 x 1.5811 / sqrt(5) = 1.9632
    interval = mean_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert (interval.n, interval.centre, interval.std) == (5, 3.0, pytest.approx(1.5811, abs=1e-4))
    assert (interval.low, interval.high) == (pytest.approx(1.0368, abs=1e-4), pytest.approx(4.9632, abs=1e-4))
    assert "Student t" in interval.method


def test_absent_values_are_left_out_and_one_value_has_no_interval():
    assert mean_interval([None, 2.0, math.nan]).n == 1
    single = mean_interval([2.0])
    assert single.centre == 2.0 and single.low is None and not single.has_interval
    assert mean_interval([]).centre is None


def test_bounds_cut_what_no_mean_can_be():
    wide = mean_interval([0.1, 0.9], floor=0.0, ceiling=1.0)  # mean 0.5, half 12.706 x 0.5657 / 1.414 = 5.08
    assert (wide.low, wide.high) == (0.0, 1.0) and "cut" in wide.method


def test_ratio_interval_is_geometric_and_positive():
    # logs ln 2 and ln 8: mean ln 4, sd ln 4 / sqrt 2; half = 12.706 x (ln 4 / sqrt 2) / sqrt 2 = 12.706 x ln 2
    interval = ratio_interval([2.0, 8.0])
    assert interval.centre == pytest.approx(4.0)
    assert interval.low == pytest.approx(4.0 * 2.0 ** -12.706, rel=1e-3)
    assert interval.high == pytest.approx(4.0 * 2.0 ** 12.706, rel=1e-3)
    assert ratio_interval([1.5, 1.5, 1.5]).low == pytest.approx(1.5)  # no spread, no width


def test_paired_and_unpaired_ratios():
    assert paired_ratios([2.0, None, 3.0], [1.0, 1.0, 0.0]) == [2.0, None, None]
    # A = (1, 3): mean 2, s^2 2, var(log mean) = 2 / (2 x 4) = 0.25; B = (2, 6): mean 4, s^2 8,
    # 8 / (2 x 16) = 0.25. Sum 0.5; Welch df = 0.5^2 / (0.25^2 + 0.25^2) = 2; half = t(2) x sqrt(0.5)
    interval = unpaired_ratio_interval([1.0, 3.0], [2.0, 6.0])
    assert interval.centre == pytest.approx(2.0)
    assert interval.low == pytest.approx(2.0 * math.exp(-4.3027 * math.sqrt(0.5)), rel=1e-3)
    assert interval.high == pytest.approx(2.0 * math.exp(4.3027 * math.sqrt(0.5)), rel=1e-3)
    assert unpaired_ratio_interval([1.0], [2.0, 3.0]).has_interval is False  # one side has no spread


def test_the_drawn_mean_follows_student_t_on_the_log_scale():
    values = np.array([[1.0], [2.0], [4.0]])  # logs 0, ln 2, 2 ln 2: mean ln 2, sd ln 2
    draws = draw_log_mean(values, 200_000, np.random.default_rng(0))[:, 0]
    standardised = (np.log(draws) - math.log(2.0)) / (math.log(2.0) / math.sqrt(3))
    assert np.median(draws) == pytest.approx(2.0, rel=0.02)
    assert np.percentile(standardised, 97.5) == pytest.approx(t_quantile(2), rel=0.05)


def _noisy(scale_fl: float, scale_cl: float, source: str):
    profile = default_profile()
    return replace(profile, fl_kwh_per_sample_update=profile.fl_kwh_per_sample_update * scale_fl,
                   cl_kwh_per_sample_update=profile.cl_kwh_per_sample_update * scale_cl, source=source)


def test_one_profile_adds_no_noise_and_changes_nothing():
    scenario = tiny_scenario(lifecycle={"draws": 300})
    samples = ProfileSamples((default_profile(),))
    assert samples.draw(10, 0) == default_profile() and samples.description() == NO_NOISE
    assert evaluate_lifecycle(scenario, samples, sweeps=False, dataset_features=64) == evaluate_lifecycle(
        scenario, default_profile(), sweeps=False, dataset_features=64)


def test_several_profiles_widen_the_training_interval_and_say_so():
    scenario = tiny_scenario(lifecycle={"draws": 2000})
    samples = ProfileSamples((_noisy(1.0, 1.0, "a"), _noisy(1.6, 1.4, "b"), _noisy(0.7, 0.8, "c")))
    central = samples.central
    assert central.fl_kwh_per_sample_update == pytest.approx(
        default_profile().fl_kwh_per_sample_update * (1.0 * 1.6 * 0.7) ** (1 / 3))
    drawn = samples.draw(500, 0)
    assert drawn.fl_kwh_per_sample_update.shape == (500,) and np.all(drawn.fl_kwh_per_sample_update > 0)
    assert drawn.bytes_per_silo_round == central.bytes_per_silo_round  # exact counts are not drawn
    plain = evaluate_lifecycle(scenario, central, sweeps=False, dataset_features=64)  # digits: 8 x 8 pixels
    noisy = evaluate_lifecycle(scenario, samples, sweeps=False, dataset_features=64)
    plain_width = plain.fl.stage("training").energy_kwh.high - plain.fl.stage("training").energy_kwh.low
    noisy_width = noisy.fl.stage("training").energy_kwh.high - noisy.fl.stage("training").energy_kwh.low
    assert noisy_width > 3 * plain_width
    assert noisy.fl.stage("training").energy_kwh.central == plain.fl.stage("training").energy_kwh.central
    assert "3 measured runs" in noisy.measurement_noise and "Student t" in noisy.measurement_noise
    assert "measured energy per sample update of 3 runs" in noisy.interval
