"""A finished run folder, read back: what the report, the run index and `compare` look at.

Reading is strict about what it needs (manifest.json, summary.json, ledger.csv) and says which file is
missing or unreadable in one line (`InputError`), so a partial or corrupt folder is named, never a
traceback.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import InputError
from simulator.ledger import Ledger
from simulator.results.run_dir import LEDGER, MANIFEST, SUMMARY


@dataclass(frozen=True)
class ApproachSummary:
    """One approach's measured training totals, as summary.json holds them."""

    accuracy: float | None
    energy_kwh: float | None
    co2_kg: float | None
    bytes_down: int
    bytes_up: int
    wall_s: float
    energy_methods: tuple[str, ...]
    host_energy_kwh: float | None = None  # the whole host over the same windows (absent in older runs)


@dataclass(frozen=True)
class RoundAccuracy:
    round: int
    accuracy: float | None
    train_loss: float | None
    eval_loss: float | None


@dataclass(frozen=True)
class RunView:
    path: Path
    run_id: str
    scenario_name: str
    status: str
    runner: str
    seed: int
    scenario: dict
    versions: dict
    host: dict
    fl: ApproachSummary
    cl: ApproachSummary
    rounds: tuple[RoundAccuracy, ...]
    timing_s: dict
    lifecycle: dict | None
    ledger: Ledger

    @property
    def silo_names(self) -> tuple[str, ...]:
        return tuple(str(silo.get("name")) for silo in self.scenario.get("silos", []))

    @property
    def planned_rounds(self) -> int:
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
    try:
        scenario = dict(manifest["scenario"])
        return RunView(
            path=path,
            run_id=path.name,
            scenario_name=str(scenario.get("name", path.name)),
            status=str(manifest.get("status", "unknown")),
            runner=str(manifest.get("runner", scenario.get("runner", "?"))),
            seed=int(manifest.get("seed", scenario.get("seed", 0))),
            scenario=scenario,
            versions=dict(manifest.get("versions", {})),
            host=dict(manifest.get("host", {})),
            fl=_approach(summary["fl"]),
            cl=_approach(summary["cl"]),
            rounds=tuple(
                RoundAccuracy(
                    round=int(item["round"]),
                    accuracy=_optional_float(item.get("accuracy")),
                    train_loss=_optional_float(item.get("train_loss")),
                    eval_loss=_optional_float(item.get("eval_loss")),
                )
                for item in summary.get("fl_rounds", [])
            ),
            timing_s={str(k): float(v) for k, v in summary.get("timing_s", {}).items()},
            lifecycle=summary.get("lifecycle"),
            ledger=ledger,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # e.g. "fl": 1 instead of an object
        raise InputError(f"run folder '{path}': {SUMMARY} or {MANIFEST} lacks an expected field ({error})") from None


def _approach(raw: dict) -> ApproachSummary:
    return ApproachSummary(
        accuracy=_optional_float(raw.get("accuracy")),
        energy_kwh=_optional_float(raw.get("energy_kwh")),
        co2_kg=_optional_float(raw.get("co2_kg")),
        bytes_down=int(raw.get("bytes_down", 0)),
        bytes_up=int(raw.get("bytes_up", 0)),
        wall_s=float(raw.get("wall_s", 0.0)),
        energy_methods=tuple(raw.get("energy_methods", ())),
        host_energy_kwh=_optional_float(raw.get("host_energy_kwh")),
    )


def _optional_float(value) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number
