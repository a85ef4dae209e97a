"""The host's between-invocation noise in the profile draws: runs made back to back share the host's
state, so the interval of their mean alone is narrower than what a second invocation measures."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from conftest import tiny_scenario
from experiments.seeds import host_noise
from simulator.lifecycle import default_profile, evaluate_lifecycle
from simulator.lifecycle.profile_noise import HostNoise, ProfileSamples

NOISE = HostNoise(energy_level_sd=0.3, time_level_sd=0.6, own_sd=0.1, source="by hand")


def test_host_noise_draws_a_shared_level_and_each_fields_own_part():
    samples = ProfileSamples((default_profile(),), NOISE)
    centre = samples.central
    drawn = samples.draw(40_000, 0)
    fl, cl = np.log(drawn.fl_kwh_per_sample_update), np.log(drawn.cl_kwh_per_sample_update)
    assert np.std(fl) == pytest.approx(math.hypot(0.3, 0.1), rel=0.03)
    assert np.std(cl - fl) == pytest.approx(math.sqrt(2) * 0.1, rel=0.03)  # CL / FL: the own parts only
    assert np.std(np.log(drawn.fl_wall_s_per_sample_update)) == pytest.approx(math.hypot(0.6, 0.1), rel=0.03)
    assert np.median(drawn.fl_kwh_per_sample_update) == pytest.approx(centre.fl_kwh_per_sample_update, rel=0.02)
    assert drawn.bytes_per_silo_round == centre.bytes_per_silo_round  # exact counts are not drawn
    assert "between-invocation noise" in samples.description() and "by hand" in samples.description()


def test_host_noise_widens_the_training_ratio_of_seeds_run_back_to_back():
    scenario = tiny_scenario(lifecycle={"draws": 2000})
    runs = tuple(replace(default_profile(), fl_kwh_per_sample_update=default_profile().fl_kwh_per_sample_update * k,
                         source=f"seed {i}") for i, k in enumerate((1.0, 1.02, 0.98, 1.01, 0.99)))
    alone = evaluate_lifecycle(scenario, ProfileSamples(runs), sweeps=False, dataset_features=64)
    with_host = evaluate_lifecycle(scenario, ProfileSamples(runs, NOISE), sweeps=False, dataset_features=64)

    def width(result):
        training = result.fl.stage("training").energy_kwh
        return math.log(training.high / training.low)

    assert width(with_host) > 2 * width(alone)
    assert "between-invocation" in with_host.interval and "between-invocation" in with_host.measurement_noise


def test_the_shipped_host_noise_is_the_measured_one_and_bad_values_are_refused():
    shipped = host_noise()
    assert "bench_noise" in shipped.source and 0 < shipped.own_sd < shipped.energy_level_sd < shipped.time_level_sd
    # CL / FL between invocations: CV 0.13 measured, 0.0915 per field on the log scale.
    assert math.sqrt(2) * shipped.own_sd == pytest.approx(math.sqrt(math.log(1 + 0.13 ** 2)), rel=0.01)
    with pytest.raises(ValueError, match="own_sd"):
        HostNoise(0.1, 0.1, -0.1, "x")


def test_the_wall_time_ratio_moves_by_its_own_measured_spread():
    import numpy as np

    from simulator.lifecycle.profile_noise import NOISY_FIELDS

    shipped = host_noise()
    # FL / CL wall seconds between invocations: CV 0.17 measured (bench_noise's wall-ratio row).
    assert math.sqrt(2) * shipped.wall_own_sd == pytest.approx(math.sqrt(math.log(1 + 0.17 ** 2)), rel=0.01)
    noise = HostNoise(energy_level_sd=0.3, time_level_sd=0.6, own_sd=0.05, source="by hand", time_own_sd=0.2)
    draws = noise.factors(200_000, np.random.default_rng(1))
    fl_wall, cl_wall = (name for name in NOISY_FIELDS if "wall_s" in name)
    fl_energy, cl_energy = (name for name in NOISY_FIELDS if "kwh_per_sample_update" in name)
    assert np.std(np.log(draws[fl_wall] / draws[cl_wall])) == pytest.approx(math.sqrt(2) * 0.2, rel=0.02)
    assert np.std(np.log(draws[fl_energy] / draws[cl_energy])) == pytest.approx(math.sqrt(2) * 0.05, rel=0.02)
    assert HostNoise(0.3, 0.6, 0.05, "x").wall_own_sd == 0.05  # without it, as the energy fields'
