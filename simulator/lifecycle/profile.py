"""The energy profile: what one sample update of training costs, from a run's measured ledger.

Scaling rule (stated with every result): training energy at the scenario's volume = the run's
measured energy per sample update x the scenario's sample updates. For FL the per-sample figure is
all silo rows' energy (training and the per-round evaluation) over the silos' training samples; for
CL all central rows' energy over its training samples. The server's measured rows give its energy
per silo-round; payload bytes (both directions, every FL row) per silo-round give communication.
Without a ledger, the documented default profile (configs/energy_profile_default.toml, recorded
from the default scenario) stands in, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

from simulator.errors import InputError
from simulator.scenario.load import bundled_config_path, read_toml
from simulator.ledger import APPROACH_CL, APPROACH_FL, LEDGER_COLUMNS, SERVER_SILO, Ledger, LedgerRow

DEFAULT_PROFILE_FILE = "energy_profile_default.toml"


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


def profile_from_ledger(ledger: Ledger, source: str) -> EnergyProfile:
    # A silo that failed without sending anything back (no reply, an error reply) has no energy the
    # server could know, and no samples: such rows say nothing about the cost of a sample update.
    unknown = [row for row in ledger.rows if row.status == "failed" and row.energy_kwh is None]
    if unknown:
        source = f"{source} ({len(unknown)} failed rows without energy left out)"
    known = Ledger([row for row in ledger.rows if not (row.status == "failed" and row.energy_kwh is None)])
    fl_silo = [row for row in known.select(approach=APPROACH_FL) if row.silo != SERVER_SILO]
    server = known.select(approach=APPROACH_FL, silo=SERVER_SILO)
    cl_rows = known.select(approach=APPROACH_CL)
    if not fl_silo or not cl_rows:
        raise InputError(f"ledger of {source}: needs both fl silo rows and cl rows to build an energy profile")
    rounds = len({row.round for row in fl_silo if row.round >= 1}) or 1
    silos = len({row.silo for row in fl_silo})
    fl_samples = sum(row.num_examples for row in fl_silo if row.phase == "train")
    cl_samples = sum(row.num_examples for row in cl_rows if row.phase == "train")
    if fl_samples <= 0 or cl_samples <= 0:
        raise InputError(f"ledger of {source}: no training samples recorded for fl or cl")
    used = [*fl_silo, *server, *cl_rows]
    return EnergyProfile(
        fl_kwh_per_sample_update=_energy(fl_silo, source) / fl_samples,
        cl_kwh_per_sample_update=_energy(cl_rows, source) / cl_samples,
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
    return profile_from_ledger(ledger, f"run folder {folder.name}")


def default_profile() -> EnergyProfile:
    """The documented default profile (no training needed); its `source` says where it came from."""
    raw = read_toml(bundled_config_path(DEFAULT_PROFILE_FILE), "energy profile")
    names = [field.name for field in fields(EnergyProfile)]
    return EnergyProfile(**{name: raw[name] for name in names})


def _energy(rows: list[LedgerRow], source: str) -> float:
    absent = [row for row in rows if row.energy_kwh is None]
    if absent:
        raise InputError(
            f"ledger of {source}: energy is absent on {len(absent)} rows (e.g. {absent[0].approach} "
            f"{absent[0].silo} round {absent[0].round}); rerun with probes.energy = true or omit --ledger"
        )
    return math.fsum(row.energy_kwh for row in rows)  # type: ignore[misc]


def lifecycle_profile_of_run(ledger: Ledger, run_name: str) -> EnergyProfile:
    """The profile `silocarbon run` uses: its own ledger (failed rows without energy left out), or the
    default profile when the run recorded no energy (probes.energy = false), saying so in its source."""
    if all(row.energy_kwh is not None for row in ledger.rows if row.status == "ok"):
        return profile_from_ledger(ledger, f"run folder {run_name}")
    fallback = default_profile()
    return replace(fallback, source=f"{fallback.source} (run {run_name} recorded no energy)")
