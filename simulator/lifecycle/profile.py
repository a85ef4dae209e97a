"""The energy profile: what one sample update of training costs, from a run's measured ledger.

Scaling rule (stated with every result): training energy at the scenario's volume = the run's
measured energy per sample update x the scenario's sample updates. For FL the per-sample figure is
all silo rows' energy (training and the per-round evaluation) over the sample updates of the silos'
training rows (examples x local epochs actually run, the ledger's `sample_updates`); for CL all
central rows' energy over its sample updates. The energy is the ledger's attributed figure
(`energy_kwh`), not the whole host's. The server's measured rows give its energy per silo-round;
payload bytes (both directions, every FL row) per silo-round give communication.
Without a ledger, the documented default profile (configs/energy_profile_default.toml, recorded
from the default scenario) stands in, and says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

from simulator.errors import InputError
from simulator.scenario.load import bundled_config_path, read_toml
from simulator.ledger import APPROACH_CL, APPROACH_FL, LEDGER_COLUMNS, SERVER_SILO, Ledger, LedgerRow

PROFILE_FILE_PREFIX = "energy_profile_"
DEFAULT_PROFILE_FILE = f"{PROFILE_FILE_PREFIX}default.toml"


@dataclass(frozen=True)
class EnergyProfile:
    fl_kwh_per_sample_update: float
    cl_kwh_per_sample_update: float
    fl_wall_s_per_sample_update: float
    cl_wall_s_per_sample_update: float
    server_kwh_per_silo_round: float
    bytes_per_silo_round: float
    # How the energy was obtained (measured | modelled | apportioned, from the ledger rows).
    energy_method: str
    # Where the profile comes from: a run folder, or the default profile and its provenance.
    source: str
    # Bytes of one stored training sample of the data the profile was measured on (features as
    # float32 plus an int64 label), where a profile file states it; None for a run's own ledger (its
    # scenario's dataset says it). Lets a planner count samples per GB of the profile's own samples.
    sample_bytes: float | None = None


@dataclass(frozen=True)
class _ProfileRows:
    fl_silo: list[LedgerRow]
    server: list[LedgerRow]
    cl: list[LedgerRow]
    fl_sample_updates: int
    cl_sample_updates: int
    source: str  # the caller's, plus what was left out


def _profile_rows(ledger: Ledger, source: str) -> _ProfileRows:
    # A silo that failed without sending anything back (no reply, an error reply) has no energy the
    # server could know, and no samples: such rows say nothing about the cost of a sample update.
    unknown = [row for row in ledger.rows if row.status == "failed" and row.energy_kwh is None]
    if unknown:
        source = f"{source} ({len(unknown)} failed rows without energy left out)"
    known = [row for row in ledger.rows if not (row.status == "failed" and row.energy_kwh is None)]
    fl_silo = [row for row in known if row.approach == APPROACH_FL and row.silo != SERVER_SILO]
    server = [row for row in known if row.approach == APPROACH_FL and row.silo == SERVER_SILO]
    cl_rows = [row for row in known if row.approach == APPROACH_CL]
    if not fl_silo or not cl_rows:
        raise InputError(f"ledger of {source}: needs both fl silo rows and cl rows to build an energy profile")
    if not ledger.records_sample_updates:
        raise InputError(
            f"ledger of {source}: written before sample updates were recorded (no sample_updates column); "
            "read it from its run folder (--ledger RUN_DIR) or rerun the scenario"
        )
    # Work whose reply failed still used energy (in the numerator) but trained nothing the model kept.
    fl_samples = sum(row.sample_updates for row in fl_silo if row.phase == "train" and row.status == "ok")
    cl_samples = sum(row.sample_updates for row in cl_rows if row.phase == "train" and row.status == "ok")
    if fl_samples <= 0 or cl_samples <= 0:
        raise InputError(f"ledger of {source}: no training sample updates recorded for fl or cl")
    return _ProfileRows(fl_silo, server, cl_rows, fl_samples, cl_samples, source)


def kwh_per_sample_update(ledger: Ledger, source: str, figure: str = "attributed") -> tuple[float, float]:
    """(FL, CL) energy per sample update in kWh, as the profile counts it, from the attributed figure
    (`energy_kwh`) or the whole host's (`figure="host"`: `host_energy_kwh`)."""
    return _kwh_per_sample_update(_profile_rows(ledger, source), figure)


def _kwh_per_sample_update(rows: _ProfileRows, figure: str = "attributed") -> tuple[float, float]:
    if figure == "host":
        host = [replace(row, energy_kwh=row.host_energy_kwh) for row in (*rows.fl_silo, *rows.cl)]
        fl_rows, cl_rows = host[: len(rows.fl_silo)], host[len(rows.fl_silo):]
    elif figure == "attributed":
        fl_rows, cl_rows = rows.fl_silo, rows.cl
    else:
        raise ValueError(f"figure must be attributed or host, not {figure!r}")
    return _energy(fl_rows, rows.source) / rows.fl_sample_updates, _energy(cl_rows, rows.source) / rows.cl_sample_updates


def profile_from_ledger(ledger: Ledger, source: str) -> EnergyProfile:
    rows = _profile_rows(ledger, source)
    fl_silo, server, cl_rows = rows.fl_silo, rows.server, rows.cl
    fl_samples, cl_samples, source = rows.fl_sample_updates, rows.cl_sample_updates, rows.source
    rounds = len({row.round for row in fl_silo if row.round >= 1}) or 1
    silos = len({row.silo for row in fl_silo})
    fl_kwh, cl_kwh = _kwh_per_sample_update(rows)
    used = [*fl_silo, *server, *cl_rows]
    return EnergyProfile(
        fl_kwh_per_sample_update=fl_kwh,
        cl_kwh_per_sample_update=cl_kwh,
        fl_wall_s_per_sample_update=math.fsum(row.wall_s for row in fl_silo) / fl_samples,
        cl_wall_s_per_sample_update=math.fsum(row.wall_s for row in cl_rows) / cl_samples,
        server_kwh_per_silo_round=(_energy(server, source) if server else 0.0) / (rounds * silos),
        bytes_per_silo_round=sum(row.bytes_down + row.bytes_up for row in fl_silo) / (rounds * silos),
        energy_method=", ".join(sorted({row.energy_method for row in used})),
        source=source,
    )


def profile_from_run_dir(run_dir: str | Path) -> EnergyProfile:
    folder = Path(run_dir)
    ledger_file = folder / "ledger.csv"
    if not ledger_file.is_file():
        raise InputError(f"--ledger '{run_dir}': no ledger.csv there (give a run folder written by `silocarbon run`)")
    try:
        ledger = Ledger.from_csv(ledger_file)
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(f"--ledger '{run_dir}': ledger.csv cannot be read ({error}); columns: {', '.join(LEDGER_COLUMNS)}") from None
    source = f"run folder {folder.name}"
    if not ledger.records_sample_updates:
        ledger = ledger.with_sample_updates(_local_epochs_of_run(folder, run_dir))
        # Such a ledger predates attribution: its energy_kwh was the whole host's figure.
        source += " (written before process attribution: its energy is the whole host's)"
    return profile_from_ledger(ledger, source)


def _local_epochs_of_run(folder: Path, given: str | Path) -> int:
    """The FL local epochs a run folder's scenario ran with (its manifest), for a ledger written
    before sample updates were recorded."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        epochs = manifest["scenario"]["training"]["local_epochs"]
    except (OSError, ValueError, KeyError, TypeError):
        epochs = None
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise InputError(
            f"--ledger '{given}': its ledger.csv predates the sample_updates column and manifest.json does not "
            "give training.local_epochs; rerun the scenario"
        )
    return epochs


def default_profile() -> EnergyProfile:
    """The documented default profile (no training needed); its `source` says where it came from."""
    return read_profile_file(bundled_config_path(DEFAULT_PROFILE_FILE), "default profile")


def shipped_profile_names() -> tuple[str, ...]:
    """Names of the profile files shipped in configs/ (energy_profile_<name>.toml)."""
    folder = bundled_config_path(DEFAULT_PROFILE_FILE).parent
    return tuple(sorted(path.stem[len(PROFILE_FILE_PREFIX):] for path in folder.glob(f"{PROFILE_FILE_PREFIX}*.toml")))


def load_profile(name_or_path: str, key: str = "lifecycle.profile") -> EnergyProfile:
    """A shipped profile by name (`default`, `resnet18`, `transformer`, ...: configs/energy_profile_<name>.toml)
    or a profile file by path (the same layout); `key` names the setting in errors."""
    if name_or_path in shipped_profile_names():
        return read_profile_file(bundled_config_path(f"{PROFILE_FILE_PREFIX}{name_or_path}.toml"), key)
    path = Path(name_or_path).expanduser()
    if path.suffix != ".toml" or not path.is_file():
        raise InputError(
            f"key '{key}': '{name_or_path}' is neither a shipped profile ({' | '.join(shipped_profile_names())}) "
            "nor an existing .toml profile file"
        )
    return read_profile_file(path, key)


def read_profile_file(path: Path, key: str) -> EnergyProfile:
    """A profile TOML: every EnergyProfile field (numbers >= 0, `energy_method` and `source` text);
    `sample_bytes` may be left out. Other keys (provenance notes) are allowed and ignored."""
    raw = read_toml(path, f"key '{key}': profile")
    where = f"key '{key}': profile file '{path.name}'"
    values: dict = {}
    for field in fields(EnergyProfile):
        if field.name not in raw:
            if field.name == "sample_bytes":
                continue
            raise InputError(f"{where} lacks '{field.name}'; a profile names {', '.join(f.name for f in fields(EnergyProfile))}")
        value = raw[field.name]
        if field.name in ("energy_method", "source"):
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"{where}: '{field.name}' must be non-empty text")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise InputError(f"{where}: '{field.name}' must be a finite number >= 0 (got {value!r})")
        values[field.name] = value if field.name in ("energy_method", "source") else float(value)
    return EnergyProfile(**values)


def _energy(rows: list[LedgerRow], source: str) -> float:
    absent = [row for row in rows if row.energy_kwh is None]
    if absent:
        raise InputError(
            f"ledger of {source}: energy is absent on {len(absent)} rows (e.g. {absent[0].approach} "
            f"{absent[0].silo} round {absent[0].round}); rerun with probes.energy = true or omit --ledger"
        )
    return math.fsum(row.energy_kwh for row in rows)  # type: ignore[misc]


def scenario_profile(scenario) -> EnergyProfile:
    """The profile a scenario names (`[lifecycle] profile`: a shipped name or a file), else the
    default profile: what `estimate` uses without a measured ledger."""
    name = scenario.lifecycle.profile
    return load_profile(name) if name is not None else default_profile()


def lifecycle_profile_of_run(ledger: Ledger, run_name: str, fallback: EnergyProfile | None = None) -> EnergyProfile:
    """The profile `silocarbon run` uses: its own ledger (failed rows without energy left out), or
    `fallback` (default: the default profile) when the run recorded no energy (probes.energy = false),
    saying so in its source."""
    if all(row.energy_kwh is not None for row in ledger.rows if row.status == "ok"):
        return profile_from_ledger(ledger, f"run folder {run_name}")
    fallback = fallback or default_profile()
    return replace(fallback, source=f"{fallback.source} (run {run_name} recorded no energy)")
