"""The run-level records: one round's result, the federation's outcome, summary.json and manifest.json.

Writers build these records and readers parse the same ones, so a field is declared once. The JSON
keys on disk are the field names, unchanged from the first run folders, so earlier folders still
read: a field that older folders lack has a default. Adding a field: one line in the record (with a
default, for the folders written before it), then set it where the record is built. Keys this
version does not know (written by a newer or other version) are kept and written back, never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from simulator.errors import InputError
from simulator.ledger import Ledger
from simulator.lifecycle.model import LifecycleResult
from simulator.probes.idle import IdleBaseline
from simulator.records.kinds import EnergyMethod, RunStatus


class Record(BaseModel):
    # Frozen: a record is a fact. Extra keys (from another version of the tool) are kept as they are.
    model_config = ConfigDict(frozen=True, extra="allow")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, keyed as on disk."""
        return self.model_dump(mode="json")


class RoundRecord(Record):
    """One FL round's result: the aggregated training loss, and the evaluation of the aggregated model."""

    round: int
    train_loss: float | None = None
    accuracy: float | None = None  # fraction of the held-out test set
    eval_loss: float | None = None
    # Seconds of the federated run at the end of this round's evaluation (time-to-accuracy).
    elapsed_s: float | None = None


def first_round_reaching(rounds: Sequence[RoundRecord], target: float) -> int | None:
    """The first round whose test accuracy is at least `target`; None when none is."""
    for record in rounds:
        if record.accuracy is not None and record.accuracy >= target:
            return record.round
    return None


class CentralizedEvaluation(Record):
    """One evaluation of the centralized model: after pooled epoch `epoch` (once per round's worth)."""

    epoch: int
    accuracy: float  # fraction of the held-out test set
    elapsed_s: float  # seconds since CL training started, at the end of this evaluation


class FederationHistory(Record):
    """fl_history.json: what the ServerApp writes next to the final model and the FL ledger."""

    wall_s: float
    rounds: tuple[RoundRecord, ...] = ()


@dataclass(frozen=True)
class FederationOutcome:
    """What a runner hands back: the final global model, each round's result, the FL ledger."""

    final_state: dict
    rounds: list[RoundRecord]
    ledger: Ledger
    wall_s: float

    @property
    def accuracy(self) -> float | None:
        return self.rounds[-1].accuracy if self.rounds else None

    def accuracy_at(self, round_number: int) -> float | None:
        """Test accuracy after `round_number` (the equal-budget round when a target ran the loop longer)."""
        return next((record.accuracy for record in self.rounds if record.round == round_number), None)

    def elapsed_at(self, round_number: int) -> float:
        """The run's clock at the end of `round_number` (the whole run's wall time where unknown)."""
        at = next((record.elapsed_s for record in self.rounds if record.round == round_number), None)
        return self.wall_s if at is None else at

    @property
    def history(self) -> FederationHistory:
        return FederationHistory(wall_s=self.wall_s, rounds=tuple(self.rounds))


class ApproachSummary(Record):
    """One approach's measured training totals (FL: silos and server; CL: the central site)."""

    accuracy: float | None = None
    energy_kwh: float | None = None  # attributed to the run's own processes; absent when no row's energy could be read
    # The whole host over the same windows (CodeCarbon machine mode); None in folders written before it.
    host_energy_kwh: float | None = None
    sample_updates: int | None = None  # training sample updates; None in folders written before it
    co2_kg: float | None = None
    bytes_down: int = 0
    bytes_up: int = 0
    wall_s: float = 0.0
    cpu_s: float | None = None  # None: a folder written before the field
    energy_methods: tuple[EnergyMethod, ...] = ()
    # The host's energy less what the idle host would have drawn over the measured windows (folders
    # written before host_energy_kwh: their energy_kwh, which was the host's figure then).
    energy_above_idle_kwh: float | None = None
    idle_energy_kwh: float | None = None


class TimingSummary(Record):
    """Where the run's wall time went, s (None: a folder written before the field)."""

    total: float | None = None
    fl_total: float | None = None
    fl_silo_train: float | None = None
    fl_silo_evaluate: float | None = None
    fl_server_aggregate: float | None = None
    # What the FL run cost beyond the silos' and the server's measured work: Flower's messaging,
    # copying, sampling, and (for ray) the engine's start and stop.
    fl_flower_overhead: float | None = None
    probe_startup: float | None = None
    probe_startup_blocking: float | None = None
    probe_windows: float | None = None
    cl_total: float | None = None


SUMMARY_UNITS: dict[str, str] = {
    "accuracy": "fraction of the held-out test set",
    "energy_kwh": "kWh, attributed to the run's own processes (CO2 and profiles use it)",
    "host_energy_kwh": "kWh, the whole host over the same windows (CodeCarbon machine mode)",
    "sample_updates": "training sample updates (examples x local epochs run)",
    "energy_above_idle_kwh": "kWh (host_energy_kwh less the idle baseline over the measured windows)",
    "idle_baseline": "W",
    "co2_kg": "kg CO2e",
    "bytes_down": "payload bytes server -> silos",
    "bytes_up": "payload bytes silos -> server",
    "wall_s": "s",
    "cpu_s": "s",
}


TO_TARGET_UNITS: dict[str, str] = {
    "target_accuracy": "fraction of the held-out test set",
    "round": "FL round (for cl: pooled epoch) whose evaluation first reached the target",
    "sample_updates": "examples x local epochs trained until then (all silos, or the pooled data)",
    "energy_kwh": "kWh",
    "co2_kg": "kg CO2e",
    "wall_s": "s",
}


class SideToTarget(Record):
    """One approach's way to the target accuracy; every figure None when it never got there."""

    reached: bool
    round: int | None = None  # FL round / CL epoch whose evaluation first reached the target
    sample_updates: int | None = None
    energy_kwh: float | None = None
    co2_kg: float | None = None
    wall_s: float | None = None
    accuracy: float | None = None  # at that round
    steps_run: int = 0  # rounds (CL: epochs) run in all
    best_accuracy: float | None = None
    note: str = ""


class ToTargetRatio(Record):
    """CL / FL of each to-target figure (None unless both sides reached the target)."""

    sample_updates: float | None = None
    energy_kwh: float | None = None
    co2_kg: float | None = None
    wall_s: float | None = None


class ToTargetSummary(Record):
    """summary.json["to_target"]: equal accuracy, beside the equal-budget `fl` and `cl` figures."""

    units: dict[str, str] = TO_TARGET_UNITS
    target_accuracy: float
    max_rounds: int
    fl: SideToTarget
    cl: SideToTarget
    ratio_cl_over_fl: ToTargetRatio = ToTargetRatio()


class RunSummary(Record):
    """summary.json: FL and CL measured side by side, per round, timings, and the lifecycle results."""

    units: dict[str, str] = SUMMARY_UNITS
    fl: ApproachSummary
    cl: ApproachSummary
    idle_baseline: IdleBaseline | None = None
    fl_rounds: tuple[RoundRecord, ...] = ()
    timing_s: TimingSummary = TimingSummary()
    lifecycle: LifecycleResult | None = None  # None: a folder written before the lifecycle model
    # Each evaluation of the centralized model (empty: a folder written before the field).
    cl_evaluations: tuple[CentralizedEvaluation, ...] = ()
    # With [training] target_accuracy: each side's figures to that accuracy (None: no target).
    to_target: ToTargetSummary | None = None

    def approach(self, name: str) -> ApproachSummary:
        return {"fl": self.fl, "cl": self.cl}[name]


class Interruption(Record):
    """How a run was stopped by a signal (simulator/stopping.py)."""

    signal: str  # SIGINT | SIGTERM
    at_utc: str


class ResumeRecord(Record):
    """One `silocarbon resume` of the run: when, after which round, how the run had stopped, with which
    versions."""

    at_utc: str
    after_round: int
    stopped_as: RunStatus | None = None  # None: a folder resumed before the field
    interruption: Interruption | None = None
    versions: dict[str, str] = {}


class MeasuredApp(Record):
    """A user's own Flower app that the run measured (`silocarbon run --app`) in place of the scenario's
    dataset, model and strategy: where its ClientApp and ServerApp came from and the run config they saw."""

    clientapp: str  # "module:attribute"
    serverapp: str
    app_dir: str | None = None
    run_config: dict[str, Any] = {}
    warm_up: bool = True  # each silo's first call of each message type rehearsed outside the windows
    # A train row's sample updates where the app trains with its own loop: num-examples x this (the
    # app's run config `local-epochs`, Flower's quickstart convention; 1 without it).
    local_epochs: int = 1


# Keys manifest.json holds only once they apply (a failure, an interruption, a resume, the methods of a
# finished run, a measured app).
_MANIFEST_KEYS_WHEN_SET = ("failure", "interruption", "resumed", "energy_methods", "available_energy_methods", "app")


class Manifest(Record):
    """manifest.json: the scenario as run, seed, versions, host, status, and the energy methods used."""

    scenario: dict[str, Any]  # the validated scenario as JSON (a folder keeps the schema it was run with)
    seed: int
    runner: str
    versions: dict[str, str] = {}
    host: dict[str, Any] = {}
    status: RunStatus
    failure: str | None = None  # why a failed run stopped, one line
    interruption: Interruption | None = None  # the signal that stopped an interrupted run
    resumed: tuple[ResumeRecord, ...] | None = None
    energy_methods: tuple[EnergyMethod, ...] | None = None  # those in the ledger (a complete run)
    available_energy_methods: tuple[str, ...] | None = None  # those the host's probe offered
    app: MeasuredApp | None = None  # set when the run measured a user's own Flower app

    @model_validator(mode="before")
    @classmethod
    def _seed_and_runner_from_the_scenario(cls, raw: Any) -> Any:
        # The first manifests kept the seed and the runner only inside the scenario.
        if isinstance(raw, dict) and isinstance(raw.get("scenario"), dict):
            raw = {"seed": raw["scenario"].get("seed", 0), "runner": raw["scenario"].get("runner", "?"), **raw}
        return raw

    def to_json(self) -> dict[str, Any]:
        value = super().to_json()
        for key in _MANIFEST_KEYS_WHEN_SET:
            if value.get(key) is None:
                value.pop(key, None)
        return value

    def updated(self, **changes: Any) -> "Manifest":
        """The same manifest with `changes`, validated again."""
        return Manifest.model_validate({**self.to_json(), **changes})


RecordT = TypeVar("RecordT", bound=Record)


def record_from_json(record: type[RecordT], raw: Any, path: Path) -> RecordT:
    """`raw`, read from the run folder file `path`, as `record`; an InputError naming the file and
    the first key that does not fit."""
    try:
        return record.model_validate(raw)
    except ValidationError as error:
        problem = error.errors()[0]
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        raise InputError(
            f"run folder '{path.parent}': {path.name} lacks an expected field or holds a wrong value "
            f"(key '{key}': {problem['msg']})"
        ) from None
