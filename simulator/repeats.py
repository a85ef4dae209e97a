"""`silocarbon run --repeats N` / `--seeds a,b,c`: one scenario measured with several seeds, in one process.

Each seed is a whole run (its own split, initial model, batch order and silo sampling: everything the
scenario's seed decides) in its own folder inside the group folder; imports, the probe's start-up,
torch's warm-up and the host's idle baseline are paid once. The group summary (simulator.results.group)
gives every quantity's mean, standard deviation and 95 % interval, and the lifecycle model is evaluated
once more with the members' energy profiles as a distribution, so its intervals carry the measurement
noise as well as the factor ranges.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from simulator.scenario.load import validate_scenario
from simulator.scenario.schema import MAX_SEED, MAX_SEEDS, Scenario
from simulator.errors import InputError
from simulator.progress import NULL_OBSERVER, RunObserver

MAX_REPEATS = MAX_SEEDS  # a typo guard: 1000 runs of even the tiny scenario take hours


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' or a range '0..4' (inclusive) -> distinct seeds in the order given."""
    cleaned = text.strip()
    try:
        if ".." in cleaned:
            first, last = (int(part) for part in cleaned.split("..", 1))
            if last < first:
                raise ValueError
            seeds = list(range(first, last + 1))
        else:
            seeds = [int(part) for part in cleaned.split(",") if part.strip()]
    except ValueError:
        raise InputError(f"--seeds '{text}': give whole numbers separated by commas (0,1,2) or a range (0..4)") from None
    if not seeds:
        raise InputError(f"--seeds '{text}': no seed given")
    if len(seeds) > MAX_REPEATS:
        raise InputError(f"--seeds '{text}': {len(seeds)} seeds; at most {MAX_REPEATS}")
    if any(seed < 0 or seed > MAX_SEED for seed in seeds):
        raise InputError(f"--seeds '{text}': seeds lie in 0..{MAX_SEED}")
    if len(set(seeds)) != len(seeds):
        raise InputError(f"--seeds '{text}': a seed is repeated (each seed is one run)")
    return seeds


def seeds_for(base_seed: int, repeats: int) -> list[int]:
    """`--repeats N`: the scenario's seed and the N - 1 after it."""
    if not 1 <= repeats <= MAX_REPEATS:
        raise InputError(f"--repeats {repeats}: give 1 to {MAX_REPEATS}")
    if base_seed + repeats - 1 > MAX_SEED:
        raise InputError(f"--repeats {repeats}: seeds from {base_seed} would pass {MAX_SEED}")
    return list(range(base_seed, base_seed + repeats))


def group_seeds(scenario: Scenario, repeats: int | None = None, seeds: str | None = None) -> list[int] | None:
    """The seeds `silocarbon run` measures as a group, or None for one run. The command line wins over
    the file, as `--set` does: `--seeds LIST`, else `--repeats N` (seed .. seed + N - 1), else the
    scenario's `seeds = [...]` list."""
    if repeats is not None and seeds is not None:
        raise InputError("give --repeats N or --seeds LIST, not both")
    if seeds is not None:
        return parse_seeds(seeds)
    if repeats is not None:
        return seeds_for(scenario.seed, repeats)
    return None if scenario.seeds is None else list(scenario.seeds)


def with_seed(scenario: Scenario, seed: int) -> Scenario:
    """The same scenario with another seed, validated again like a file would be: one run (a member's
    manifest holds no `seeds` list, so running or resuming it is that one run again)."""
    raw = scenario.model_dump(mode="json")
    raw["seed"] = seed
    raw["seeds"] = None
    return validate_scenario(raw, f"{scenario.name} seed {seed}")


@dataclass(frozen=True)
class GroupResult:
    group_dir: Path
    scenario: Scenario
    members: tuple  # pipeline.RunResult per seed, in seed order
    summary: object  # simulator.results.group.GroupSummary
    lifecycle: object  # simulator.lifecycle.LifecycleResult, the members' profiles as a distribution


def run_seeds(
    scenario: Scenario, seeds: Sequence[int], runs_root: Path = Path("runs"), observer: RunObserver = NULL_OBSERVER
) -> GroupResult:
    """Measure `scenario` once per seed into `runs_root/<time>-<name>-<N>-seeds/seed-<seed>/`."""
    from simulator.data import build_federated_data
    from simulator.lifecycle import build_plan
    from simulator.pipeline import idle_baseline, run_in_folder, started_probe
    from simulator.probes.energy import install_host_probe
    from simulator.results.atomic import write_json_atomic
    from simulator.results.group import GROUP_FILE, STATUS_RUNNING, member_folder_name
    from simulator.results.run_dir import new_run_dir
    from simulator.training import warm_up_torch

    members_scenarios = [with_seed(scenario, seed) for seed in seeds]
    probe = started_probe(scenario)
    try:
        for member in members_scenarios:  # every split is built (and refused) before any folder is made
            data = build_federated_data(member)
        build_plan(scenario, dataset_features=data.dataset.num_features)  # refuses a bad [lifecycle] first
        warm_up_torch(scenario.training.threads)
        group_dir = new_run_dir(runs_root, f"{scenario.name}-{len(seeds)}-seeds")
        write_json_atomic(group_dir / GROUP_FILE, {"kind": "group", "scenario_name": scenario.name,
                                                   "seeds": list(seeds), "status": STATUS_RUNNING})
        idle = idle_baseline(probe, scenario)  # the host's idle power, once for every member
        results = []
        for index, member in enumerate(members_scenarios):
            observer.repeat_started(index + 1, len(seeds), member.seed)
            run_dir = group_dir / member_folder_name(member.seed)
            run_dir.mkdir()
            results.append(run_in_folder(member, build_federated_data(member), run_dir, probe, time.perf_counter(),
                                         observer, idle))
    finally:
        install_host_probe(None)
        probe.close()
    # The group's lifecycle draws are seeded by its first seed, as `refresh_group_summary` does.
    summary, lifecycle = write_group_summary(group_dir, members_scenarios[0])
    return GroupResult(group_dir, scenario, tuple(results), summary, lifecycle)


def write_group_summary(group_dir: Path, scenario: Scenario):  # type: ignore[no-untyped-def]
    """Summarize the group's complete members into group.json; also the group's lifecycle result."""
    from simulator.lifecycle import evaluate_lifecycle
    from simulator.results.atomic import write_json_atomic
    from simulator.results.group import GROUP_FILE, group_profile_samples, summarize_group

    from simulator.data.registry import dataset_features_for_lifecycle

    lifecycle = evaluate_lifecycle(scenario, group_profile_samples(group_dir),
                                   dataset_features=dataset_features_for_lifecycle(scenario))
    summary = summarize_group(group_dir, lifecycle)
    write_json_atomic(group_dir / GROUP_FILE, summary.to_json())
    return summary, lifecycle


def refresh_group_summary(group_dir: Path) -> None:
    """Bring group.json in line with its member folders (a member resumed or finished after the group's
    run stopped): recomputed when it is not complete, or lists other members than are now complete."""
    from simulator.results.group import complete_members, read_group_file

    raw = read_group_file(group_dir)
    _, runs, _ = complete_members(group_dir)
    if not runs:
        raise InputError(f"group '{group_dir}': no member run is complete")
    if raw.get("status") == "complete" and raw.get("members") == [run.path.name for run in runs]:
        return
    # The group's scenario: a member's, with the group's first seed (the lifecycle draws are seeded by it).
    scenario = with_seed(validate_scenario(runs[0].scenario, str(runs[0].path / "manifest.json")),
                         int(raw["planned_seeds"][0]))
    write_group_summary(Path(group_dir), scenario)
