"""experiments.bench_noise: its background load never outlives the block that started it, and its CV
is the sample one. (The benchmark itself runs the default job K times: run it by hand.)"""

from __future__ import annotations

import pandas as pd
import psutil
import pytest

from experiments.bench_noise import background_load, coefficient_of_variation


def test_background_load_is_busy_and_ended_by_pid():
    with background_load(threads=1, limit_s=60) as process:
        busy = psutil.Process(process.pid)
        assert busy.is_running() and process.poll() is None
    assert process.poll() is not None  # ended, and reaped: no zombie left behind


def test_background_load_is_ended_when_the_block_fails():
    with pytest.raises(RuntimeError, match="the run failed"):
        with background_load(threads=1, limit_s=60) as process:
            raise RuntimeError("the run failed")
    assert process.poll() is not None


def test_coefficient_of_variation_is_sample_sd_over_mean():
    # mean 2, sample standard deviation 1 (ddof = 1)
    assert coefficient_of_variation(pd.Series([1.0, 2.0, 3.0])) == pytest.approx(0.5, rel=1e-12)
