"""A group of runs: one scenario measured with several seeds (`silocarbon run --repeats N` / `--seeds`).

Layout: `runs/<UTC time>-<name>-<N>-seeds/` holds `group.json` and one complete run folder per seed,
`seed-<seed>/`, each readable on its own (`report`, `compare`, `resume` take `GROUP/seed-3`).
group.json holds the seeds, the member folders, and per quantity the values of every member with
their mean, standard deviation and 95 % interval (`simulator.intervals`: Student t; ratios CL / FL
paired per seed, on the log scale), and the lifecycle model evaluated with the members' energy
profiles as a distribution (measurement noise in its intervals).

The member folders are the truth: `summarize_group` reads them, so a group whose run was killed
still summarizes the members that finished, and says how many.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from simulator.errors import InputError
from simulator.intervals import BOUNDED_METHOD, RATIO_METHOD, SampleInterval, mean_interval, paired_ratios, ratio_interval
from simulator.lifecycle.model import LifecycleResult
from simulator.records.run import ToTargetSummary
from simulator.results.run_view import RunView, read_run

GROUP_FILE = "group.json"
GROUP_FORMAT = 1
MEMBER_PREFIX = "seed-"
MEMBER_NAME = re.compile(r"seed-[0-9]+")
STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"


def member_folder_name(seed: int) -> str:
    return f"{MEMBER_PREFIX}{seed}"


def is_group_dir(path: Path) -> bool:
    return (Path(path) / GROUP_FILE).is_file()


# --- what is summarized per member --------------------------------------------------------------------


@dataclass(frozen=True)
class MemberFacts:
    """One member run's numbers that the group summarizes (absent: None)."""

    run: RunView
    fl_kwh_per_sample_update: float | None
    cl_kwh_per_sample_update: float | None
    server_kwh_per_silo_round: float | None
    to_target: ToTargetSummary | None


def member_facts(run: RunView) -> MemberFacts:
    from simulator.lifecycle.profile import profile_from_ledger

    try:
        profile = profile_from_ledger(run.ledger, f"run folder {run.run_id}")
        per_update = (profile.fl_kwh_per_sample_update, profile.cl_kwh_per_sample_update,
                      profile.server_kwh_per_silo_round)
    except InputError:  # no energy recorded: the profile does not exist, it is not zero
        per_update = (None, None, None)
    return MemberFacts(run, *per_update, run.to_target)


def _lifecycle_total(facts: MemberFacts, approach: str, quantity: str) -> float | None:
    lifecycle = facts.run.lifecycle
    if lifecycle is None:
        return None
    return float(getattr(lifecycle.approach(approach).total, quantity).central)


def _to_target(facts: MemberFacts, approach: str, key: str) -> float | None:
    if facts.to_target is None:
        return None
    value = getattr(getattr(facts.to_target, approach), key)
    return None if value is None else float(value)


@dataclass(frozen=True)
class QuantitySpec:
    key: str
    label: str
    unit: str
    read: Callable[[MemberFacts], float | None]


QUANTITIES: tuple[QuantitySpec, ...] = (
    QuantitySpec("fl.accuracy", "FL test accuracy", "fraction", lambda f: f.run.fl.accuracy),
    QuantitySpec("cl.accuracy", "CL test accuracy", "fraction", lambda f: f.run.cl.accuracy),
    QuantitySpec("fl.energy_kwh", "FL training energy", "kWh", lambda f: f.run.fl.energy_kwh),
    QuantitySpec("cl.energy_kwh", "CL training energy", "kWh", lambda f: f.run.cl.energy_kwh),
    QuantitySpec("fl.co2_kg", "FL training CO2", "kg CO2e", lambda f: f.run.fl.co2_kg),
    QuantitySpec("cl.co2_kg", "CL training CO2", "kg CO2e", lambda f: f.run.cl.co2_kg),
    QuantitySpec("fl.wall_s", "FL wall time", "s", lambda f: f.run.fl.wall_s),
    QuantitySpec("cl.wall_s", "CL wall time", "s", lambda f: f.run.cl.wall_s),
    QuantitySpec("fl.payload_bytes", "FL payload (down + up)", "bytes",
                 lambda f: float(f.run.fl.bytes_down + f.run.fl.bytes_up)),
    QuantitySpec("fl.kwh_per_sample_update", "FL energy per sample update", "kWh",
                 lambda f: f.fl_kwh_per_sample_update),
    QuantitySpec("cl.kwh_per_sample_update", "CL energy per sample update", "kWh",
                 lambda f: f.cl_kwh_per_sample_update),
    QuantitySpec("server.kwh_per_silo_round", "server energy per silo-round", "kWh",
                 lambda f: f.server_kwh_per_silo_round),
    QuantitySpec("lifecycle.fl.co2_kg", "FL lifecycle CO2 (central factors)", "kg CO2e",
                 lambda f: _lifecycle_total(f, "fl", "co2_kg")),
    QuantitySpec("lifecycle.cl.co2_kg", "CL lifecycle CO2 (central factors)", "kg CO2e",
                 lambda f: _lifecycle_total(f, "cl", "co2_kg")),
    QuantitySpec("lifecycle.fl.cost_usd", "FL lifecycle cost (central factors)", "USD",
                 lambda f: _lifecycle_total(f, "fl", "cost_usd")),
    QuantitySpec("lifecycle.cl.cost_usd", "CL lifecycle cost (central factors)", "USD",
                 lambda f: _lifecycle_total(f, "cl", "cost_usd")),
)
TO_TARGET_QUANTITIES: tuple[QuantitySpec, ...] = (
    QuantitySpec("to_target.fl.round", "FL rounds to target", "rounds", lambda f: _to_target(f, "fl", "round")),
    QuantitySpec("to_target.cl.round", "CL epochs to target", "epochs", lambda f: _to_target(f, "cl", "round")),
    QuantitySpec("to_target.fl.sample_updates", "FL sample updates to target", "sample updates",
                 lambda f: _to_target(f, "fl", "sample_updates")),
    QuantitySpec("to_target.cl.sample_updates", "CL sample updates to target", "sample updates",
                 lambda f: _to_target(f, "cl", "sample_updates")),
    QuantitySpec("to_target.fl.energy_kwh", "FL energy to target", "kWh", lambda f: _to_target(f, "fl", "energy_kwh")),
    QuantitySpec("to_target.cl.energy_kwh", "CL energy to target", "kWh", lambda f: _to_target(f, "cl", "energy_kwh")),
    QuantitySpec("to_target.fl.co2_kg", "FL CO2 to target", "kg CO2e", lambda f: _to_target(f, "fl", "co2_kg")),
    QuantitySpec("to_target.cl.co2_kg", "CL CO2 to target", "kg CO2e", lambda f: _to_target(f, "cl", "co2_kg")),
    QuantitySpec("to_target.fl.wall_s", "FL time to target", "s", lambda f: _to_target(f, "fl", "wall_s")),
    QuantitySpec("to_target.cl.wall_s", "CL time to target", "s", lambda f: _to_target(f, "cl", "wall_s")),
)
# CL / FL per seed: (key, label, CL quantity, FL quantity).
RATIOS: tuple[tuple[str, str, str, str], ...] = (
    ("ratio.energy_kwh", "CL / FL training energy", "cl.energy_kwh", "fl.energy_kwh"),
    ("ratio.co2_kg", "CL / FL training CO2", "cl.co2_kg", "fl.co2_kg"),
    ("ratio.wall_s", "CL / FL wall time", "cl.wall_s", "fl.wall_s"),
    ("ratio.kwh_per_sample_update", "CL / FL energy per sample update", "cl.kwh_per_sample_update",
     "fl.kwh_per_sample_update"),
    ("ratio.lifecycle_co2_kg", "CL / FL lifecycle CO2 (central factors)", "lifecycle.cl.co2_kg", "lifecycle.fl.co2_kg"),
    ("ratio.to_target.sample_updates", "CL / FL sample updates to target", "to_target.cl.sample_updates",
     "to_target.fl.sample_updates"),
    ("ratio.to_target.energy_kwh", "CL / FL energy to target", "to_target.cl.energy_kwh", "to_target.fl.energy_kwh"),
    ("ratio.to_target.co2_kg", "CL / FL CO2 to target", "to_target.cl.co2_kg", "to_target.fl.co2_kg"),
    ("ratio.to_target.wall_s", "CL / FL time to target", "to_target.cl.wall_s", "to_target.fl.wall_s"),
)


# --- the summary ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupQuantity(SampleInterval):
    """One quantity over the members: its interval (SampleInterval's fields), what it is, and the
    members' values (seed order, None where absent)."""

    key: str = ""
    label: str = ""
    unit: str = ""
    values: tuple[float | None, ...] = ()


def _quantity(key: str, label: str, unit: str, values: Sequence[float | None], interval: SampleInterval) -> GroupQuantity:
    return GroupQuantity(**asdict(interval), key=key, label=label, unit=unit, values=tuple(values))


@dataclass(frozen=True)
class GroupSummary:
    scenario_name: str
    seeds: tuple[int, ...]  # of the complete members, whose values the quantities hold
    members: tuple[str, ...]  # folder names of the complete members, seed order
    planned_seeds: tuple[int, ...]  # the seeds the group was started with
    status: str  # running | complete
    interval_method: str
    ratio_method: str
    quantities: tuple[GroupQuantity, ...]
    target_accuracy: float | None
    # seed -> whether FL / CL reached the target (only with a target).
    reached: dict[str, dict[str, bool]]
    lifecycle: LifecycleResult | None  # with the members' profiles as one distribution

    def quantity(self, key: str) -> GroupQuantity | None:
        return next((q for q in self.quantities if q.key == key), None)

    def to_json(self) -> dict:
        return {"format": GROUP_FORMAT, "kind": "group", **asdict(self)}


def summarize_facts(facts: Sequence[MemberFacts]) -> tuple[GroupQuantity, ...]:
    """Per quantity: the members' values and mean with its Student t interval; CL / FL paired per seed."""
    with_target = any(f.to_target for f in facts)
    specs = (*QUANTITIES, *(TO_TARGET_QUANTITIES if with_target else ()))
    values = {spec.key: [spec.read(f) for f in facts] for spec in specs}
    # Every quantity here is a count, an amount or a fraction: none can be negative, no fraction above 1.
    quantities = [_quantity(spec.key, spec.label, spec.unit, values[spec.key],
                            mean_interval(values[spec.key], floor=0.0,
                                          ceiling=1.0 if spec.unit == "fraction" else None))
                  for spec in specs]
    for key, label, top, bottom in RATIOS:
        if top not in values:
            continue
        ratios = paired_ratios(values[top], values[bottom])
        if any(ratio is not None for ratio in ratios):
            quantities.append(_quantity(key, label, "", ratios, ratio_interval(ratios)))
    return tuple(quantities)


def reached_by_seed(facts: Sequence[MemberFacts]) -> dict[str, dict[str, bool]]:
    return {
        str(f.run.seed): {side: getattr(f.to_target, side).reached for side in ("fl", "cl")}
        for f in facts if f.to_target is not None
    }


def member_dirs(group_dir: Path, seeds: Sequence[int]) -> list[Path]:
    return [Path(group_dir) / member_folder_name(seed) for seed in seeds]


def read_group_file(group_dir: Path) -> dict:
    path = Path(group_dir) / GROUP_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"'{group_dir}' is not a group of runs ({GROUP_FILE} is missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"'{path}' cannot be read: {error}") from None
    planned = raw.get("planned_seeds", raw.get("seeds")) if isinstance(raw, dict) else None
    if not isinstance(planned, list) or not planned:
        raise InputError(f"'{path}' lists no seeds")
    try:
        raw["planned_seeds"] = [int(seed) for seed in planned]
    except (TypeError, ValueError):
        raise InputError(f"'{path}': seeds must be whole numbers") from None
    return raw


def complete_members(group_dir: Path) -> tuple[dict, list[RunView], list[str]]:
    """(group.json, the complete members as RunViews, one line per member that is not complete)."""
    from simulator.results.integrity import STATUS_COMPLETE as RUN_COMPLETE, check_run_dir

    raw = read_group_file(group_dir)
    runs, missing = [], []
    for seed, folder in zip(raw["planned_seeds"], member_dirs(group_dir, raw["planned_seeds"])):
        check = check_run_dir(folder)
        if check.status != RUN_COMPLETE:
            missing.append(f"seed {seed}: {folder.name} is {check.status}" + (f" ({check.problem})" if check.problem else ""))
            continue
        runs.append(read_run(folder))
    return raw, runs, missing


def summarize_group(group_dir: Path, lifecycle: LifecycleResult | None = None) -> GroupSummary:
    """The group's summary from its member folders (the complete ones). `lifecycle`: the group's
    lifecycle result when the caller has just computed it; otherwise the one group.json holds."""
    raw, runs, _ = complete_members(group_dir)
    if not runs:
        raise InputError(f"group '{group_dir}': no member run is complete yet")
    facts = [member_facts(run) for run in runs]
    target = runs[0].scenario.get("training", {}).get("target_accuracy")
    return GroupSummary(
        scenario_name=runs[0].scenario_name,
        seeds=tuple(run.seed for run in runs),
        members=tuple(run.path.name for run in runs),
        planned_seeds=tuple(raw["planned_seeds"]),
        status=STATUS_COMPLETE if len(runs) == len(raw["planned_seeds"]) else STATUS_RUNNING,
        interval_method=BOUNDED_METHOD,
        ratio_method=RATIO_METHOD,
        quantities=summarize_facts(facts),
        target_accuracy=None if target is None else float(target),
        reached=reached_by_seed(facts),
        lifecycle=lifecycle if lifecycle is not None else lifecycle_from_json(raw.get("lifecycle"), group_dir),
    )


def group_summary_from_json(raw: dict, source: str) -> GroupSummary:
    """group.json read back into the typed summary; InputError naming `source` when it lacks a field
    or names a member folder that is not `seed-<seed>` (a file is data, never a path to follow)."""
    members = raw.get("members") if isinstance(raw, dict) else None
    if not isinstance(members, list) or not all(isinstance(m, str) and MEMBER_NAME.fullmatch(m) for m in members):
        raise InputError(f"'{source}': members must be folder names like '{MEMBER_PREFIX}3'")
    try:
        return GroupSummary(
            scenario_name=str(raw["scenario_name"]),
            seeds=tuple(int(seed) for seed in raw["seeds"]),
            members=tuple(str(member) for member in raw["members"]),
            planned_seeds=tuple(int(seed) for seed in raw["planned_seeds"]),
            status=str(raw["status"]),
            interval_method=str(raw["interval_method"]),
            ratio_method=str(raw["ratio_method"]),
            quantities=tuple(
                _quantity(str(q["key"]), str(q["label"]), str(q["unit"]),
                          [None if v is None else float(v) for v in q["values"]],
                          SampleInterval(int(q["n"]), _optional(q["centre"]), _optional(q["std"]), _optional(q["low"]),
                                         _optional(q["high"]), str(q["method"])))
                for q in raw["quantities"]
            ),
            target_accuracy=_optional(raw.get("target_accuracy")),
            reached={str(k): {str(s): bool(v) for s, v in sides.items()} for k, sides in raw.get("reached", {}).items()},
            lifecycle=lifecycle_from_json(raw.get("lifecycle"), Path(source).parent),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(f"'{source}' lacks an expected field of a group summary ({error})") from None


def lifecycle_from_json(raw, group_dir: Path) -> LifecycleResult | None:
    """group.json's lifecycle part as the lifecycle model's own record (None where there is none)."""
    if raw is None:
        return None
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(LifecycleResult).validate_python(raw)
    except ValidationError as error:
        raise InputError(f"'{Path(group_dir) / GROUP_FILE}': its lifecycle part does not read "
                         f"({error.errors()[0]['msg']})") from None


def _optional(value) -> float | None:
    return None if value is None else float(value)


def single_run_summary(run: RunView) -> GroupSummary:
    """One run seen as a group of one (no intervals), so `compare` treats runs and groups alike."""
    facts = [member_facts(run)]
    target = run.scenario.get("training", {}).get("target_accuracy")
    return GroupSummary(run.scenario_name, (run.seed,), (run.path.name,), (run.seed,), STATUS_COMPLETE, BOUNDED_METHOD,
                        RATIO_METHOD, summarize_facts(facts), None if target is None else float(target),
                        reached_by_seed(facts), run.lifecycle)


def group_profile_samples(group_dir: Path):  # type: ignore[no-untyped-def]
    """The energy profiles of a group's complete members, as one distribution (`ProfileSamples`)."""
    from simulator.lifecycle.profile import lifecycle_profile_of_run
    from simulator.lifecycle.profile_noise import ProfileSamples

    _, runs, _ = complete_members(group_dir)
    if not runs:
        raise InputError(f"group '{group_dir}': no member run is complete")
    return ProfileSamples(tuple(lifecycle_profile_of_run(run.ledger, f"{Path(group_dir).name}/{run.path.name}")
                                for run in runs))
