"""Measure the energy profile of a representative model (resnet18, transformer) and write it as a
profile file that the lifecycle model (`[lifecycle] profile = "<model>"`) and the planner
(`silocarbon plan --profile <model>`) use without training anything.

    python -m experiments.model_profiles                      # both models, 3 rounds each
    python -m experiments.model_profiles --models resnet18 --rounds 2 --write-configs

Each model trains for real in the embedded default scenario (3 silos, FedAvg, inline runner, one torch
thread) on synthetic data in the model's input shape, FL and its centralized twin, energy from
CodeCarbon. A few rounds are enough: the profile is energy *per sample update*, which the number of
rounds does not change. The energy is the figure attributed to the run's own process (the ledger's
`energy_kwh`, CodeCarbon's process mode), FL and CL apart, as the default profile keeps them; the file
states the whole host's figure beside it, the command, the machine, the date and the load average.

Writes results/model_profiles/energy_profile_<model>.toml (and, with --write-configs, the same file
into configs/, where the package ships it) and results/model_profiles/profiles.csv/.md.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from experiments.output import RESULTS_ROOT, ExperimentOutput
from experiments.seeds import quiet_libraries
from simulator.scenario.load import load_scenario

NAME = "model_profiles"
MODELS = ("resnet18", "transformer")
ROUNDS = 3
# Synthetic samples per model (80 % train): enough sample updates for windows well above CodeCarbon's
# ~0.5 s quantisation, few enough for minutes on 2 CPU cores (ResNet-18: about 40 ms per sample update).
SAMPLES = {"resnet18": 600, "transformer": 1200}
FEATURE_BYTES, LABEL_BYTES = 4, 8  # float32 features, int64 label (as the lifecycle model counts a sample)
CONFIGS = Path(__file__).resolve().parents[1] / "configs"


@dataclass(frozen=True)
class MeasuredRun:
    run_dir: Path
    profile: object  # simulator.lifecycle.EnergyProfile, from the run's own ledger
    fl_accuracy: float | None
    cl_accuracy: float | None


def measure(scenario, runs_root: Path) -> MeasuredRun:
    """Train the scenario's federation and its centralized twin for real and read its profile."""
    from simulator.lifecycle import profile_from_ledger
    from simulator.pipeline import run_scenario

    quiet_libraries()
    result = run_scenario(scenario, runs_root)
    profile = profile_from_ledger(result.ledger, f"run folder {result.run_dir.name}")
    return MeasuredRun(result.run_dir, profile, result.summary.fl.accuracy, result.summary.cl.accuracy)


def profile_scenario(model: str, rounds: int, samples: int | None = None):
    return load_scenario(None, [
        f"name=profile-{model}", f"model.name={model}", "data.dataset=synthetic", 'data.partition="iid"',
        f"data.synthetic_samples={samples or SAMPLES[model]}", "data.synthetic_classes=10", f"training.rounds={rounds}",
    ])


def profile_text(model: str, scenario, run, command: str, load_before: tuple, load_after: tuple, wall_s: float) -> str:
    from simulator.models import build_model
    from simulator.data.registry import load_dataset
    from simulator.results.host import cpu_model

    profile = run.profile
    dataset = load_dataset(scenario.data, scenario.seed, scenario.model.input_shape)
    parameters = sum(p.numel() for p in build_model(scenario.model, dataset, scenario.seed).parameters())
    sample_bytes = dataset.num_features * FEATURE_BYTES + LABEL_BYTES
    host_fl_kwh, host_cl_kwh = _host_kwh_per_sample_update(run.run_dir)
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    shape = " x ".join(map(str, scenario.model.input_shape))
    lines = [
        f"# Energy profile of `{model}` ({parameters:,} parameters, {parameters * 4 / 1e6:.1f} MB of float32),",
        "# measured on CPU with experiments/model_profiles.py (a few rounds are enough: the profile is energy per",
        "# sample update).",
        "#",
        f"# Command: {command}",
        f"# Scenario: the embedded default (3 silos, FedAvg, inline runner, 1 torch thread), model.name = {model},",
        f"#   synthetic data in the model's input shape ({shape} values), {scenario.data.synthetic_samples} samples (80 % train), 10 classes,",
        f"#   {scenario.training.rounds} rounds, batch size {scenario.training.batch_size}.",
        f"# Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, no GPU, no RAPL; shared with other jobs.",
        f"# Date: {date} (UTC). Load average (1, 5, 15 min): {_load(load_before)} before, {_load(load_after)} after;",
        f"#   the measurement took {wall_s:.0f} s.",
        f"# Energy: CodeCarbon offline tracker, {profile.energy_method} (TDP x load model for the CPU, plus RAM),",
        "#   attributed to the run's own process (the ledger's energy_kwh: CodeCarbon's process mode, TDP per",
        "#   thread x the process's CPU seconds, plus its share of the RAM model), so other jobs on the shared",
        "#   host do not enter it; a modelled figure, not a meter reading. Rerun this script to re-measure.",
        f"#   The whole host's figure in the same windows (host_energy_kwh, machine mode): FL {host_fl_kwh:.4e} and",
        f"#   CL {host_cl_kwh:.4e} kWh per sample update (it follows the other jobs' load).",
        "# FL and CL are kept apart, as in the default profile. Wall seconds per sample update follow the",
        "#   host's load (a crowded host stretches them): read them, and the compute hours priced from them, as",
        "#   upper bounds for a quiet machine.",
        f"# Run folder: {run.run_dir.name} (FL accuracy {run.fl_accuracy:.3f}, CL {run.cl_accuracy:.3f} on synthetic data",
        "#   after a few rounds: the profile is energy per sample update, which does not depend on accuracy).",
        "",
        f"fl_kwh_per_sample_update = {profile.fl_kwh_per_sample_update:.4e}",
        f"cl_kwh_per_sample_update = {profile.cl_kwh_per_sample_update:.4e}",
        f"fl_wall_s_per_sample_update = {profile.fl_wall_s_per_sample_update:.4e}",
        f"cl_wall_s_per_sample_update = {profile.cl_wall_s_per_sample_update:.4e}",
        f"server_kwh_per_silo_round = {profile.server_kwh_per_silo_round:.4e}",
        f"bytes_per_silo_round = {profile.bytes_per_silo_round:.1f}",
        f"# One stored sample: {dataset.num_features} float32 values + an int64 label.",
        f"sample_bytes = {float(sample_bytes):.1f}",
        f'energy_method = "{profile.energy_method}"',
        f'source = "energy profile of {model} (configs/energy_profile_{model}.toml): {scenario.training.rounds} rounds of the '
        f'default scenario on synthetic data of {shape} values, CodeCarbon {profile.energy_method} energy attributed to the run\'s process, '
        f'FL and CL per sample update, {os.cpu_count()}-CPU shared machine, load {load_before[0]:.1f}, {date}"',
        "",
    ]
    return "\n".join(lines)


def _host_kwh_per_sample_update(run_dir: Path) -> tuple[float, float]:
    """(FL, CL) kWh per sample update from the whole host's figure (machine mode), for comparison."""
    from simulator.ledger import Ledger
    from simulator.lifecycle.profile import kwh_per_sample_update

    return kwh_per_sample_update(Ledger.from_csv(run_dir / "ledger.csv"), f"run folder {run_dir.name}", figure="host")


def _load(values: tuple) -> str:
    return "/".join(f"{value:.2f}" for value in values)


NO_SEEDS = ("No --seeds: a measurement of one run per model, written as a profile file; for several seeds "
            "run the model with `silocarbon run --repeats N` and pass the group to --ledger (their noise is "
            "then drawn).")


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(prog="python -m experiments.model_profiles", description=__doc__.split("\n")[0],
                                     epilog=NO_SEEDS)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="models to measure")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="FL rounds (CL trains the same sample updates)")
    parser.add_argument("--results", type=Path, default=RESULTS_ROOT, help="folder that receives model_profiles/")
    parser.add_argument("--samples", type=int, default=None, help="synthetic samples (default: 600 for resnet18, 1200 for transformer)")
    parser.add_argument("--write-configs", action="store_true", help="also write the profiles into configs/")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.samples is not None and args.samples < 20:
        parser.error("--samples must be at least 20")
    output = ExperimentOutput(NAME, args.results)
    # The command as a reader would rerun it (the results folder, a local path, is left out).
    command = f"python -m experiments.model_profiles --models {' '.join(args.models)} --rounds {args.rounds}" + (
        f" --samples {args.samples}" if args.samples else "") + (" --write-configs" if args.write_configs else "")
    rows, written = [], []
    for model in args.models:
        scenario = profile_scenario(model, args.rounds, args.samples)
        print(f"Measuring {model}: {args.rounds} rounds, {scenario.data.synthetic_samples} synthetic samples, 3 silos + CL ...",
              flush=True)
        load_before, started = os.getloadavg(), time.perf_counter()
        run = measure(scenario, output.folder / "runs")
        wall_s, load_after = time.perf_counter() - started, os.getloadavg()
        text = profile_text(model, scenario, run, command.strip(), load_before, load_after, wall_s)
        file_name = f"energy_profile_{model}.toml"
        output.text(file_name, text)
        if args.write_configs:
            (CONFIGS / file_name).write_text(text)
            written.append(CONFIGS / file_name)
        rows.append({"model": model, "FL kWh per sample update": run.profile.fl_kwh_per_sample_update,
                     "CL kWh per sample update": run.profile.cl_kwh_per_sample_update,
                     "FL s per sample update": run.profile.fl_wall_s_per_sample_update,
                     "payload bytes per silo-round": run.profile.bytes_per_silo_round,
                     "load average before": load_before[0], "load average after": load_after[0],
                     "measurement s": wall_s, "run folder": run.run_dir.name})
        print(f"  {model}: FL {run.profile.fl_kwh_per_sample_update:.3g} / CL {run.profile.cl_kwh_per_sample_update:.3g} "
              f"kWh per sample update, {run.profile.bytes_per_silo_round:,.0f} payload bytes per silo-round ({wall_s:.0f} s)")
    output.table(pd.DataFrame(rows), "profiles", "Measured energy profiles of the representative models (CPU)")
    output.print_written()
    for path in written:
        print(f"  and {path}")
    return written


if __name__ == "__main__":
    main()
