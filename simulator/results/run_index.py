"""The run index: an embedded SQLite file in the runs folder, listing every complete run.

The run folders are the truth; the index is a cache of their headline numbers, refreshed from them
every time it is read: new or changed folders are (re)read, vanished ones dropped. Only folders
that pass the run-folder integrity check as complete are listed; any other (a stopped run, a
missing or damaged file) is skipped and named in a warning with the reason; an index file
that is itself unreadable or of an older layout is rebuilt. So listing runs never fails on bad data.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path

from simulator.errors import InputError
from simulator.intervals import t_quantile
from simulator.records.run import Manifest, RunSummary, record_from_json
from simulator.results.integrity import COMPLETE_RUN_FILES, STATUS_COMPLETE, STATUS_DAMAGED, check_run_dir
from simulator.results.run_dir import MANIFEST, SUMMARY
from simulator.results.run_view import read_json_file

INDEX_FILE = "index.sqlite"
# Bump when the table changes: an index of another layout is rebuilt, never migrated by hand.
SCHEMA_VERSION = 3
KIND_RUN, KIND_GROUP, KIND_MEMBER = "run", "group", "member"


@dataclass(frozen=True)
class IndexedRun:
    """One run's headline numbers; every unit is in the field name."""

    run_id: str
    path: str
    signature: str
    scenario_name: str
    status: str
    runner: str
    silos: int
    rounds: int
    dataset: str
    model: str
    strategy: str
    fl_accuracy: float | None
    cl_accuracy: float | None
    fl_energy_kwh: float | None
    cl_energy_kwh: float | None
    fl_co2_kg: float | None
    cl_co2_kg: float | None
    fl_payload_bytes: int
    total_wall_s: float | None
    # Central values of the lifecycle totals; None for a run written without the lifecycle model.
    lifecycle_fl_co2_kg: float | None
    lifecycle_cl_co2_kg: float | None
    # run | group (a folder of seeds: the numbers above are means) | member (a run inside a group).
    kind: str = KIND_RUN
    seeds: int = 1
    # Half widths of the 95 % intervals of a group's means (None for a run, or where n < 2).
    fl_accuracy_pm: float | None = None
    cl_accuracy_pm: float | None = None
    fl_co2_kg_pm: float | None = None
    cl_co2_kg_pm: float | None = None
    lifecycle_fl_co2_kg_pm: float | None = None
    lifecycle_cl_co2_kg_pm: float | None = None


_SQL_TYPES = {"int": "INTEGER", "float": "REAL", "str": "TEXT"}
COLUMNS = [field.name for field in fields(IndexedRun)]


@dataclass(frozen=True)
class IndexListing:
    runs: list[IndexedRun]
    warnings: list[str]
    index_path: Path


def folder_signature(folder: Path) -> str:
    """Changes whenever a file of a complete run is rewritten, removed or cut short (run files are
    replaced atomically), so such a folder is checked again."""
    parts = []
    for name in COMPLETE_RUN_FILES:
        try:
            stat = (folder / name).stat()
            parts.append(f"{name}:{stat.st_mtime_ns}:{stat.st_size}")
        except OSError:
            parts.append(f"{name}:-")
    return "|".join(parts)


def indexed_run_from_folder(folder: Path, signature: str) -> IndexedRun:
    """The index line of one folder; `InputError` naming the folder when it is not a whole, complete run
    (the run-folder integrity check: every file present and readable, models' archives intact)."""
    check = check_run_dir(folder)
    if check.status == STATUS_DAMAGED:
        raise InputError(f"run folder '{folder}': damaged: {check.problem}")
    if check.status != STATUS_COMPLETE:
        raise InputError(f"run folder '{folder}': status is '{check.status}', not complete")
    manifest = record_from_json(Manifest, read_json_file(folder / MANIFEST), folder / MANIFEST)
    summary = record_from_json(RunSummary, read_json_file(folder / SUMMARY), folder / SUMMARY)
    scenario = manifest.scenario
    try:
        return IndexedRun(
            run_id=folder.name,
            path=str(folder),
            signature=signature,
            scenario_name=str(scenario.get("name", folder.name)),
            status=manifest.status,
            runner=manifest.runner,
            silos=len(scenario.get("silos", [])),
            rounds=int(scenario.get("training", {}).get("rounds", 0)),
            dataset=str(scenario.get("data", {}).get("dataset", "?")),
            model=str(scenario.get("model", {}).get("name", "?")),
            strategy=str(scenario.get("strategy", {}).get("name", "?")),
            fl_accuracy=summary.fl.accuracy,
            cl_accuracy=summary.cl.accuracy,
            fl_energy_kwh=summary.fl.energy_kwh,
            cl_energy_kwh=summary.cl.energy_kwh,
            fl_co2_kg=summary.fl.co2_kg,
            cl_co2_kg=summary.cl.co2_kg,
            fl_payload_bytes=summary.fl.bytes_down + summary.fl.bytes_up,
            total_wall_s=summary.timing_s.total,
            lifecycle_fl_co2_kg=None if summary.lifecycle is None else summary.lifecycle.fl.total.co2_kg.central,
            lifecycle_cl_co2_kg=None if summary.lifecycle is None else summary.lifecycle.cl.total.co2_kg.central,
        )
    except (TypeError, ValueError, AttributeError) as error:  # a scenario section of the wrong type
        raise InputError(f"run folder '{folder}': {MANIFEST} lacks an expected field ({error})") from None


def indexed_group_from_folder(folder: Path, signature: str) -> IndexedRun:
    """The index line of a group of seeds: its means, with the half widths of their 95 % intervals."""
    from simulator.results.group import GROUP_FILE, STATUS_COMPLETE, group_summary_from_json, read_group_file

    raw = read_group_file(folder)
    if raw.get("status") != STATUS_COMPLETE or "quantities" not in raw:
        raise InputError(f"group '{folder}': status is '{raw.get('status', '?')}', not complete")
    summary = group_summary_from_json(raw, str(folder / GROUP_FILE))
    first = read_json_file(folder / summary.members[0] / MANIFEST) if summary.members else {}
    scenario = first.get("scenario", {}) if isinstance(first.get("scenario"), dict) else {}

    def mean(key: str) -> float | None:
        quantity = summary.quantity(key)
        return None if quantity is None else quantity.centre

    def half(key: str) -> float | None:
        quantity = summary.quantity(key)
        if quantity is None or quantity.std is None or quantity.n < 2:
            return None
        return t_quantile(quantity.n - 1) * quantity.std / math.sqrt(quantity.n)  # t(0.975, n - 1) s / sqrt(n)

    payload = mean("fl.payload_bytes")
    return IndexedRun(
        run_id=folder.name, path=str(folder), signature=signature, scenario_name=summary.scenario_name,
        status=summary.status, runner=str(scenario.get("runner", "?")), silos=len(scenario.get("silos", [])),
        rounds=int(scenario.get("training", {}).get("rounds", 0)),
        dataset=str(scenario.get("data", {}).get("dataset", "?")),
        model=str(scenario.get("model", {}).get("name", "?")),
        strategy=str(scenario.get("strategy", {}).get("name", "?")),
        fl_accuracy=mean("fl.accuracy"), cl_accuracy=mean("cl.accuracy"),
        fl_energy_kwh=mean("fl.energy_kwh"), cl_energy_kwh=mean("cl.energy_kwh"),
        fl_co2_kg=mean("fl.co2_kg"), cl_co2_kg=mean("cl.co2_kg"),
        fl_payload_bytes=int(payload or 0), total_wall_s=None,
        lifecycle_fl_co2_kg=mean("lifecycle.fl.co2_kg"), lifecycle_cl_co2_kg=mean("lifecycle.cl.co2_kg"),
        kind=KIND_GROUP, seeds=len(summary.seeds),
        fl_accuracy_pm=half("fl.accuracy"), cl_accuracy_pm=half("cl.accuracy"),
        fl_co2_kg_pm=half("fl.co2_kg"), cl_co2_kg_pm=half("cl.co2_kg"),
        lifecycle_fl_co2_kg_pm=half("lifecycle.fl.co2_kg"), lifecycle_cl_co2_kg_pm=half("lifecycle.cl.co2_kg"),
    )


class RunIndex:
    def __init__(self, runs_root: Path):
        self.runs_root = Path(runs_root)
        self.path = self.runs_root / INDEX_FILE

    def refresh(self) -> IndexListing:
        """Bring the index in line with the folders and return every complete run, newest first."""
        if not self.runs_root.is_dir():
            raise InputError(f"runs folder '{self.runs_root}' does not exist (set it with --runs-dir)")
        warnings: list[str] = []
        try:
            connection = self._open()
        except sqlite3.DatabaseError as error:
            warnings.append(f"index '{self.path}' was unreadable ({error}); rebuilt from the run folders")
            self.path.unlink(missing_ok=True)
            connection = self._open()
        try:
            with connection:
                self._update(connection, warnings)
            runs = [IndexedRun(*record) for record in connection.execute(
                f"SELECT {', '.join(COLUMNS)} FROM runs ORDER BY run_id DESC")]
            # Newest first; a group's members right after it, in seed-folder order.
            runs.sort(key=lambda run: run.run_id.partition("/")[2])
            runs.sort(key=lambda run: run.run_id.partition("/")[0], reverse=True)
        finally:
            connection.close()
        return IndexListing(runs, warnings, self.path)

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path)
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                connection.execute("DROP TABLE IF EXISTS runs")
                connection.execute(f"CREATE TABLE runs ({_column_definitions()})")
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                connection.commit()
            connection.execute("SELECT run_id, signature FROM runs LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return connection

    def _update(self, connection: sqlite3.Connection, warnings: list[str]) -> None:
        from simulator.results.group import GROUP_FILE, MEMBER_PREFIX

        known = dict(connection.execute("SELECT run_id, signature FROM runs"))
        present: set[str] = set()
        for folder in sorted(p for p in self.runs_root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if not (folder / GROUP_FILE).is_file():
                self._index_one(connection, known, present, warnings, folder, folder.name, indexed_run_from_folder)
                continue
            self._index_one(connection, known, present, warnings, folder, folder.name, indexed_group_from_folder,
                            signature=_group_signature(folder))
            # Each seed of a group is a run of its own, listed as GROUP/seed-N.
            for member in sorted(p for p in folder.iterdir() if p.is_dir() and p.name.startswith(MEMBER_PREFIX)):
                self._index_one(connection, known, present, warnings, member, f"{folder.name}/{member.name}",
                                _member_reader(folder.name))
        for vanished in set(known) - present:
            connection.execute("DELETE FROM runs WHERE run_id = ?", (vanished,))

    @staticmethod
    def _index_one(connection, known, present, warnings, folder: Path, run_id: str, read, signature=None) -> None:
        present.add(run_id)
        signature = signature or folder_signature(folder)
        if known.get(run_id) == signature:
            return
        try:
            run = read(folder, signature)
        except InputError as error:
            warnings.append(f"skipped {error}")
            connection.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            return
        placeholders = ", ".join("?" for _ in COLUMNS)
        connection.execute(f"INSERT OR REPLACE INTO runs ({', '.join(COLUMNS)}) VALUES ({placeholders})",
                           astuple(run))


def _group_signature(folder: Path) -> str:
    from simulator.results.group import GROUP_FILE

    try:
        stat = (folder / GROUP_FILE).stat()
        return f"{GROUP_FILE}:{stat.st_mtime_ns}:{stat.st_size}"
    except OSError:
        return f"{GROUP_FILE}:-"


def _member_reader(group_id: str):  # type: ignore[no-untyped-def]
    def read(folder: Path, signature: str) -> IndexedRun:
        run = indexed_run_from_folder(folder, signature)
        return replace(run, run_id=f"{group_id}/{folder.name}", kind=KIND_MEMBER)

    return read


def _column_definitions() -> str:
    definitions = []
    for field in fields(IndexedRun):
        # Annotations are strings here (postponed evaluation): "float | None" -> REAL.
        sql = _SQL_TYPES[str(field.type).split(" |")[0]]
        key = " PRIMARY KEY" if field.name == "run_id" else ""
        definitions.append(f"{field.name} {sql}{key}")
    return ", ".join(definitions)


def resolve_run_dir(reference: str | Path, runs_root: Path) -> Path:
    """A run given as a folder path, or as a run id (folder name) inside the runs folder."""
    candidate = Path(reference)
    if candidate.is_dir():
        return candidate
    inside = Path(runs_root) / str(reference)
    if inside.is_dir():
        return inside
    raise InputError(f"run '{reference}' is neither a folder nor a run id in '{runs_root}' (see `silocarbon runs`)")
