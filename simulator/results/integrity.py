"""Is a run folder whole? Every command that reads one asks here first.

`check_run_dir` never raises: it says whether a folder is complete, still running (or killed: a
`resume` candidate), failed, or damaged, and for a damaged one names the file and what is wrong in
one line. `require_run_dir` turns a damaged or unusable folder into an `InputError` with that line.
"""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import InputError
from simulator.ledger import Ledger
from simulator.records.kinds import RUN_STATUSES, RunStatus
from simulator.records.run import Manifest, record_from_json
from simulator.results.run_dir import (
    CL_LEDGER,
    CL_MODEL,
    EMISSIONS,
    FL_HISTORY,
    FL_LEDGER,
    FL_MODEL,
    LEDGER,
    MANIFEST,
    SUMMARY,
)

STATUS_COMPLETE: RunStatus = "complete"
STATUS_RUNNING: RunStatus = "running"  # still going, or killed: `silocarbon resume` continues it
STATUS_INTERRUPTED: RunStatus = "interrupted"  # stopped by Ctrl-C or SIGTERM: `silocarbon resume` continues it
STATUS_FAILED: RunStatus = "failed"
STATUS_DAMAGED = "damaged"  # not a manifest status: what this check says of a folder it cannot use

COMPLETE_RUN_FILES = (MANIFEST, LEDGER, SUMMARY, FL_MODEL, CL_MODEL, EMISSIONS, FL_HISTORY, FL_LEDGER)


@dataclass(frozen=True)
class RunFolderCheck:
    path: Path
    status: str  # complete | running | interrupted | failed | damaged
    problem: str | None  # one line for a damaged folder, the failure for a failed one
    scenario_name: str | None

    @property
    def usable(self) -> bool:
        return self.status != STATUS_DAMAGED


class _Damage(Exception):
    """One thing wrong with one file of a run folder."""


def check_run_dir(path: Path, *, load_models: bool = False) -> RunFolderCheck:
    """What state `path` is in; never raises. `load_models` also loads the .pt files (slower)."""
    try:
        manifest = _manifest(path)
        name = _scenario_name(manifest, path)
        status = manifest.get("status")
        if status == STATUS_COMPLETE:
            for file_name in COMPLETE_RUN_FILES:
                _check_file(path, file_name, load_models)
            return RunFolderCheck(path, STATUS_COMPLETE, None, name)
        if status == STATUS_FAILED:
            return RunFolderCheck(path, STATUS_FAILED, str(manifest.get("failure", "no reason recorded")), name)
        if status in (STATUS_RUNNING, STATUS_INTERRUPTED):
            for journal in (FL_LEDGER, CL_LEDGER):
                if (path / journal).exists():
                    _check_file(path, journal, load_models)
            return RunFolderCheck(path, status, None, name)
        raise _Damage(f"'{path / MANIFEST}' has status {status!r}; expected {' | '.join(RUN_STATUSES)}")
    except _Damage as damage:
        return RunFolderCheck(path, STATUS_DAMAGED, str(damage), None)


def require_run_dir(path: Path, *, allowed: tuple[str, ...] = (STATUS_COMPLETE,), load_models: bool = True) -> RunFolderCheck:
    """The folder's check when its status is one of `allowed`; otherwise an InputError in one line."""
    check = check_run_dir(path, load_models=load_models)
    if check.status == STATUS_DAMAGED:
        raise InputError(f"run folder '{path}' is unusable: {check.problem}")
    if check.status not in allowed:
        reason = f" ({check.problem})" if check.problem else ""
        needed = " or ".join(filter(None, (", ".join(allowed[:-1]), allowed[-1])))
        raise InputError(f"run folder '{path}' is {check.status}{reason}; this needs a {needed} run")
    return check


def read_manifest(path: Path) -> Manifest:
    try:
        raw = _manifest(path)
    except _Damage as damage:
        raise InputError(f"run folder '{path}' is unusable: {damage}") from None
    return record_from_json(Manifest, raw, path / MANIFEST)


def _manifest(path: Path) -> dict:
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError):  # a name the OS cannot hold
        exists = is_dir = False
    if not exists:
        raise _Damage(f"'{path}' does not exist")
    if not is_dir:
        raise _Damage(f"'{path}' is not a folder")
    manifest = _json(path / MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("scenario"), dict):
        raise _Damage(f"'{path / MANIFEST}' holds no scenario")
    return manifest


def _scenario_name(manifest: dict, path: Path) -> str:
    name = manifest["scenario"].get("name")
    if not isinstance(name, str):
        raise _Damage(f"'{path / MANIFEST}' names no scenario")
    return name


def _json(file: Path):  # type: ignore[no-untyped-def]
    if not file.is_file():
        raise _Damage(f"'{file}' is missing")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _Damage(f"'{file}' is not readable JSON ({error})") from None


def _check_file(folder: Path, file_name: str, load_models: bool) -> None:
    file = folder / file_name
    if not file.is_file():
        raise _Damage(f"'{file}' is missing")
    if file.suffix == ".json":
        value = _json(file)
        if file_name == SUMMARY and not (isinstance(value, dict) and "fl" in value and "cl" in value):
            raise _Damage(f"'{file}' lacks the fl and cl results")
    elif file_name in (LEDGER, FL_LEDGER, CL_LEDGER):
        try:
            Ledger.from_csv(file)
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, csv.Error) as error:
            raise _Damage(f"'{file}' is not a readable ledger ({error})") from None
    elif file_name == EMISSIONS:
        try:
            with file.open(newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle), [])
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise _Damage(f"'{file}' is not readable CSV ({error})") from None
        if "energy_consumed" not in header:
            raise _Damage(f"'{file}' is not in CodeCarbon's emissions layout")
    elif file.suffix == ".pt" and load_models:
        _check_model(file)
    elif file.suffix == ".pt":
        _check_archive(file)


def _check_archive(file: Path) -> None:
    """A torch file is a zip archive: its members' CRCs find a truncated or altered file without
    loading torch (which `silocarbon runs` never imports)."""
    try:
        with zipfile.ZipFile(file) as archive:
            broken = archive.testzip()
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
        raise _Damage(f"'{file}' is not a readable torch file ({type(error).__name__}: {error})") from None
    if broken is not None:
        raise _Damage(f"'{file}' is damaged (member {broken} fails its CRC check)")
    if not any(name.endswith("/data.pkl") for name in names):
        raise _Damage(f"'{file}' is not a torch file (no data.pkl inside)")


def _check_model(file: Path) -> None:
    import torch

    try:
        state = torch.load(file, weights_only=True)
    except Exception as error:  # torch raises many kinds for a truncated or foreign file
        raise _Damage(f"'{file}' is not a readable torch state_dict ({type(error).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise _Damage(f"'{file}' is not a torch state_dict")

