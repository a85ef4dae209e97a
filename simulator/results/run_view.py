"""A finished run folder, read back into the records it was written from: what the report, the run
index and `compare` look at.

Reading is strict about what it needs (manifest.json, summary.json, ledger.csv) and says which file is
missing or unreadable in one line (`InputError`), so a partial or corrupt folder is named, never a
traceback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import InputError
from simulator.ledger import Ledger
from simulator.lifecycle.model import LifecycleResult
from simulator.records.run import (
    ApproachSummary,
    CentralizedEvaluation,
    Manifest,
    RoundRecord,
    RunSummary,
    TimingSummary,
    ToTargetSummary,
    record_from_json,
)
from simulator.results.run_dir import LEDGER, MANIFEST, SUMMARY


@dataclass(frozen=True)
class RunView:
    """A run folder read back: its manifest, its summary and its ledger, as the records they were written as."""

    path: Path
    manifest: Manifest
    summary: RunSummary
    ledger: Ledger

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def scenario(self) -> dict:
        return self.manifest.scenario

    @property
    def scenario_name(self) -> str:
        return str(self.scenario.get("name", self.path.name))

    @property
    def status(self) -> str:
        return self.manifest.status

    @property
    def runner(self) -> str:
        return self.manifest.runner

    @property
    def seed(self) -> int:
        return self.manifest.seed

    @property
    def versions(self) -> dict:
        return self.manifest.versions

    @property
    def host(self) -> dict:
        return self.manifest.host

    @property
    def fl(self) -> ApproachSummary:
        return self.summary.fl

    @property
    def cl(self) -> ApproachSummary:
        return self.summary.cl

    @property
    def rounds(self) -> tuple[RoundRecord, ...]:
        return self.summary.fl_rounds

    @property
    def timing_s(self) -> TimingSummary:
        return self.summary.timing_s

    @property
    def lifecycle(self) -> LifecycleResult | None:
        return self.summary.lifecycle

    @property
    def to_target(self) -> ToTargetSummary | None:
        """The figures to `[training] target_accuracy` (None: the run had no target)."""
        return self.summary.to_target

    @property
    def cl_evaluations(self) -> tuple[CentralizedEvaluation, ...]:
        return self.summary.cl_evaluations

    @property
    def silo_names(self) -> tuple[str, ...]:
        return tuple(str(silo.get("name")) for silo in self.scenario.get("silos", []))

    @property
    def planned_rounds(self) -> int:
        if self.manifest.app is not None:  # a user's own app decides its rounds; the scenario's are unused
            return len(self.rounds)
        return int(self.scenario.get("training", {}).get("rounds", len(self.rounds)))


def read_json_file(path: Path) -> dict:
    if not path.is_file():
        raise InputError(f"run folder '{path.parent}': {path.name} is missing (an incomplete or foreign folder)")
    try:
        value = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"run folder '{path.parent}': {path.name} cannot be read: {error}") from None
    if not isinstance(value, dict):
        raise InputError(f"run folder '{path.parent}': {path.name} does not hold a JSON object")
    return value


def read_run(path: Path) -> RunView:
    """Read a run folder; `InputError` naming the folder and file when it is not a complete run."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"run folder '{path}' does not exist")
    manifest = read_json_file(path / MANIFEST)
    summary = read_json_file(path / SUMMARY)
    ledger_path = path / LEDGER
    if not ledger_path.is_file():
        raise InputError(f"run folder '{path}': {LEDGER} is missing (an incomplete or foreign folder)")
    try:
        ledger = Ledger.from_csv(ledger_path)
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"run folder '{path}': {LEDGER} cannot be read: {error}") from None
    return RunView(path=path, manifest=record_from_json(Manifest, manifest, path / MANIFEST),
                   summary=record_from_json(RunSummary, summary, path / SUMMARY), ledger=ledger)
