"""Seeds for the experiments: the `--seeds` option every experiment takes, and measuring a scenario
once per seed as a group of runs (simulator.repeats), whose energy profiles the lifecycle model then
draws from as a distribution (measurement noise beside the factor ranges).

Why five seeds by default: a Student t interval from n values is t(0.975, n - 1) s / sqrt(n) wide;
t is 12.7 for two seeds, 4.30 for three and 2.78 for five, so five seeds is where the interval stops
being mostly the t factor, while the default jobs here still run in a few minutes.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from simulator.scenario.schema import Scenario

DEFAULT_SEEDS = "0..4"
HOST_NOISE_FILE = "host_noise.toml"  # configs/: the host's between-invocation noise, measured by bench_noise


def add_seeds_argument(parser: argparse.ArgumentParser, default: str = DEFAULT_SEEDS) -> None:
    """`--seeds 0,1,2` or `--seeds 0..4`: the seeds each measured configuration is run with."""
    from simulator.repeats import parse_seeds

    def seeds(text: str) -> list[int]:
        from simulator.errors import InputError

        try:
            return parse_seeds(text)
        except InputError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parser.add_argument("--seeds", type=seeds, default=parse_seeds(default),
                        help=f"seeds, e.g. 0,1,2 or 0..4 (default {default}); every figure shows their 95 %% "
                             "intervals")


@dataclass(frozen=True)
class MeasuredGroup:
    group_dir: Path
    summary: object  # simulator.results.group.GroupSummary
    samples: object  # simulator.lifecycle.profile_noise.ProfileSamples, one profile per seed, with host noise
    lifecycle: object  # group.json's LifecycleResult: the seeds' spread only (no host noise)


def host_noise():  # type: ignore[no-untyped-def]
    """The host's between-invocation noise (configs/host_noise.toml) as a profile_noise.HostNoise."""
    from simulator.errors import InputError
    from simulator.lifecycle.profile_noise import HostNoise
    from simulator.scenario.load import bundled_config_path, read_toml

    path = bundled_config_path(HOST_NOISE_FILE)
    raw = read_toml(path, "host noise")
    try:
        return HostNoise(**raw)
    except (TypeError, ValueError) as error:
        raise InputError(f"host noise file '{path}': {error}; keys: energy_level_sd, time_level_sd, own_sd, "
                         "time_own_sd (optional), source") from None


def measure_seeds(scenario: Scenario, seeds: list[int], runs_root: Path) -> MeasuredGroup:
    """Train the scenario's federation and its centralized twin for real once per seed (one process,
    one probe), and read the group's summary and energy profiles back. The profiles carry the host's
    between-invocation noise (configs/host_noise.toml), which seeds run back to back cannot show, so
    the lifecycle draws and every verdict decided from them hold it too."""
    from dataclasses import replace

    from simulator.repeats import run_seeds
    from simulator.results.group import group_profile_samples

    quiet_libraries()
    result = run_seeds(scenario, seeds, runs_root)
    samples = replace(group_profile_samples(result.group_dir), host_noise=host_noise())
    for profile, seed in zip(samples.profiles, result.summary.seeds):
        print(f"  seed {seed}: FL {profile.fl_kwh_per_sample_update:.3g} kWh per sample update, CL "
              f"{profile.cl_kwh_per_sample_update:.3g} ({profile.energy_method})")
    return MeasuredGroup(result.group_dir, result.summary, samples, result.lifecycle)


def quiet_libraries() -> None:
    """Flower logs every round at INFO and CodeCarbon its warnings; the experiments print their own
    tables. Set after Flower is imported (it sets its logger's level when it loads)."""
    import logging

    import flwr  # noqa: F401

    logging.getLogger("flwr").setLevel(logging.WARNING)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)


SEED_TABLE_QUANTITIES = (
    ("fl.kwh_per_sample_update", "FL kWh per sample update"),
    ("cl.kwh_per_sample_update", "CL kWh per sample update"),
    ("server.kwh_per_silo_round", "server kWh per silo-round"),
    ("fl.accuracy", "FL accuracy (equal sample updates)"),
    ("cl.accuracy", "CL accuracy (equal sample updates)"),
    ("to_target.fl.round", "FL rounds to target"),
    ("to_target.cl.round", "CL epochs to target"),
)


def seed_table(group):  # type: ignore[no-untyped-def]
    """One row per seed (energy profile, accuracy, rounds to a target where there is one), and a last
    row with each column's mean and 95 % interval."""
    import pandas as pd

    keys = [(key, label) for key, label in SEED_TABLE_QUANTITIES if group.quantity(key) is not None]
    rows = []
    for index, (seed, member) in enumerate(zip(group.seeds, group.members)):
        rows.append({"seed": seed, "run folder": member,
                     **{label: group.quantity(key).values[index] for key, label in keys}})
    summary = {"seed": "mean [95 %]", "run folder": ""}
    for key, label in keys:
        quantity = group.quantity(key)
        summary[label] = ("" if quantity.centre is None else f"{quantity.centre:.4g}"
                          + (f" [{quantity.low:.4g}, {quantity.high:.4g}]" if quantity.low is not None else ""))
    return pd.DataFrame([*rows, summary])
