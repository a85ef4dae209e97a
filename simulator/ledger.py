"""The measured facts of a run: one row per approach x silo x round x phase.

Rows are frozen; the ledger only appends. Energy that could not be read is empty in the CSV (absent),
never 0. Every column's unit is in its name or in `LEDGER_COLUMNS`.

Two energy figures per row: `energy_*` is attributed to the work's own process (what CO2, energy
profiles and claims use: other jobs on a shared host do not move it), `host_energy_*` is the whole
host over the same window (CodeCarbon's machine mode). Columns added after the first ledgers sit at
the end (`_ADDED_COLUMNS`); a ledger written before them is still read.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

from simulator.country_intensity import co2_kg, country_intensity
from simulator.probes.energy import EnergyReading
from simulator.records.kinds import (
    APPROACHES,
    ENERGY_HARDWARE,
    ENERGY_METHODS,
    FAILURE_NONE,
    FAILURES,
    HARDWARE_DECLARED,
    HARDWARE_HOST,
    METHOD_ABSENT,
    PHASES,
    ROW_STATUSES,
    Approach,
    EnergyHardware,
    EnergyMethod,
    Failure,
    Phase,
    RowStatus,
    check_kind,
)

APPROACH_FL: Approach = "fl"
APPROACH_CL: Approach = "cl"
SERVER_SILO = "server"
CENTRAL_SILO = "central"

# Column -> what it holds, with its unit. Written next to every ledger in the README.
LEDGER_COLUMNS: dict[str, str] = {
    "approach": "fl (federated) or cl (centralized)",
    "silo": "silo name; 'server' for the FL server, 'central' for the centralized site",
    "round": "FL round (1..rounds); for cl, the pooled epoch (1..rounds x local_epochs); 0 = set-up",
    "phase": " | ".join(PHASES),
    "wall_s": "wall-clock seconds of the window",
    "cpu_s": "CPU seconds used by the process doing the work during the window",
    "energy_kwh": "energy of the window in kWh (CPU + RAM + GPU); empty when absent",
    "energy_cpu_kwh": "CPU part, kWh; empty when absent",
    "energy_ram_kwh": "RAM part, kWh; empty when absent",
    "energy_gpu_kwh": "GPU part, kWh; empty when there is no GPU that could be read",
    "energy_method": " | ".join(ENERGY_METHODS),
    "country": "ISO 3166 alpha-3 code of the grid the energy is charged to",
    "intensity_g_per_kwh": "grid carbon intensity used, gCO2e/kWh (CodeCarbon's bundled table)",
    "co2_kg": "energy_kwh x intensity, kg CO2e (no PUE: that is the lifecycle model's); empty when absent",
    "bytes_down": "payload bytes server -> silo (Flower's record sizes)",
    "bytes_up": "payload bytes silo -> server, counted by the server from what arrived",
    "num_examples": "examples processed in the window (a train reply's FedAvg weight)",
    "status": " | ".join(ROW_STATUSES),
    "detail": "reason of a failure, or a note on how the row was obtained",
    "energy_hardware": "host (this host's energy) | declared (modelled on the silo's declared hardware, not the host's)",
    "bytes_up_telemetry": "bytes of silocarbon's own records in the reply (the silo's measurement, a failure "
    "reason), silo -> server, counted by the server; not part of bytes_up",
    "sample_updates": "training sample updates in the window (examples x local epochs actually run); 0 when none",
    "host_energy_kwh": "the whole host's energy over the window in kWh (CPU + RAM + GPU, machine mode); empty when absent",
    "host_energy_cpu_kwh": "host CPU part, kWh; empty when absent",
    "host_energy_ram_kwh": "host RAM part, kWh; empty when absent",
    "host_energy_gpu_kwh": "host GPU part, kWh (the same NVML counter as energy_gpu_kwh); empty when absent",
    "host_energy_method": " | ".join(ENERGY_METHODS),
    "failure": "how a failed row failed, as the server saw it: " + " | ".join(FAILURES),
}
# Columns added after the first ledgers were written, with how an older ledger's row gets its value.
_LEGACY_DECLARED_DETAIL = "modelled on the silo's declared hardware"  # what such rows' detail began with
_ADDED_COLUMNS = {
    "energy_hardware": lambda record: HARDWARE_DECLARED if record["detail"].startswith(_LEGACY_DECLARED_DETAIL) else HARDWARE_HOST,
    "bytes_up_telemetry": lambda record: "0",  # not counted before it had its column
    # Older ledgers counted examples, not sample updates (see `Ledger.with_sample_updates`), and had
    # only the host's figure, in energy_* (the host columns read as absent).
    "sample_updates": lambda record: "0",
    "host_energy_kwh": lambda record: "",
    "host_energy_cpu_kwh": lambda record: "",
    "host_energy_ram_kwh": lambda record: "",
    "host_energy_gpu_kwh": lambda record: "",
    "host_energy_method": lambda record: METHOD_ABSENT,
    "failure": lambda record: _legacy_failure(record["status"], record["detail"]),
}


def _legacy_failure(status: str, detail: str) -> str:
    """The failure kind of a row from a ledger written before the column, from the reasons its
    writer put first in `detail` (older ledgers only; new rows carry the kind)."""
    if status != "failed":
        return FAILURE_NONE
    for prefix, kind in (("silo failed:", "raised"), ("error reply:", "error_reply"),
                         ("no reply within", "no_reply"), ("reply refused:", "refused")):
        if detail.startswith(prefix):
            return kind
    return "interrupted"


@dataclass(frozen=True)
class LedgerRow:
    approach: Approach
    silo: str
    round: int
    phase: Phase
    wall_s: float
    cpu_s: float
    energy_kwh: float | None
    energy_cpu_kwh: float | None
    energy_ram_kwh: float | None
    energy_gpu_kwh: float | None
    energy_method: EnergyMethod
    country: str
    intensity_g_per_kwh: float
    co2_kg: float | None
    bytes_down: int
    bytes_up: int
    num_examples: int
    status: RowStatus = "ok"
    detail: str = ""
    energy_hardware: EnergyHardware = HARDWARE_HOST
    bytes_up_telemetry: int = 0
    sample_updates: int = 0
    host_energy_kwh: float | None = None
    host_energy_cpu_kwh: float | None = None
    host_energy_ram_kwh: float | None = None
    host_energy_gpu_kwh: float | None = None
    host_energy_method: EnergyMethod = METHOD_ABSENT
    failure: Failure = FAILURE_NONE


assert [f.name for f in fields(LedgerRow)] == list(LEDGER_COLUMNS)


def make_row(
    *,
    approach: Approach,
    silo: str,
    round_number: int,
    phase: Phase,
    energy: EnergyReading,
    cpu_s: float,
    country: str,
    bytes_down: int = 0,
    bytes_up: int = 0,
    num_examples: int = 0,
    sample_updates: int = 0,
    status: RowStatus = "ok",
    detail: str = "",
    energy_hardware: EnergyHardware = HARDWARE_HOST,
    bytes_up_telemetry: int = 0,
    failure: Failure = FAILURE_NONE,
) -> LedgerRow:
    """A ledger row whose CO2 is the window's (attributed) energy times the country's grid intensity;
    the host columns come from `energy.host` (absent where the reading has none)."""
    if (status == "failed") != (failure != FAILURE_NONE):
        raise ValueError(f"a ledger row with status {status!r} cannot have failure {failure!r}")
    intensity = country_intensity(country).intensity_g_per_kwh
    host = energy.host
    return LedgerRow(
        approach=approach,
        silo=silo,
        round=round_number,
        phase=phase,
        wall_s=energy.wall_s,
        cpu_s=cpu_s,
        energy_kwh=energy.energy_kwh,
        energy_cpu_kwh=energy.energy_cpu_kwh,
        energy_ram_kwh=energy.energy_ram_kwh,
        energy_gpu_kwh=energy.energy_gpu_kwh,
        energy_method=energy.method,
        country=country,
        intensity_g_per_kwh=intensity,
        # Absent energy gives absent CO2, never 0.
        co2_kg=None if energy.energy_kwh is None else co2_kg(energy.energy_kwh, intensity),
        bytes_down=int(bytes_down),
        bytes_up=int(bytes_up),
        num_examples=int(num_examples),
        status=status,
        detail=detail,
        energy_hardware=energy_hardware,
        bytes_up_telemetry=int(bytes_up_telemetry),
        sample_updates=int(sample_updates),
        host_energy_kwh=None if host is None else host.energy_kwh,
        host_energy_cpu_kwh=None if host is None else host.energy_cpu_kwh,
        host_energy_ram_kwh=None if host is None else host.energy_ram_kwh,
        host_energy_gpu_kwh=None if host is None else host.energy_gpu_kwh,
        host_energy_method=METHOD_ABSENT if host is None else host.method,
        failure=failure,
    )


def host_reading(row: LedgerRow) -> EnergyReading | None:
    """The host columns of a row as a reading (None where the host figure is absent)."""
    if row.host_energy_method == METHOD_ABSENT:
        return None
    return EnergyReading(row.wall_s, row.host_energy_cpu_kwh, row.host_energy_ram_kwh, row.host_energy_gpu_kwh,
                         row.host_energy_method)


@dataclass(frozen=True)
class Totals:
    wall_s: float
    cpu_s: float
    energy_kwh: float | None
    co2_kg: float | None
    bytes_down: int
    bytes_up: int
    host_energy_kwh: float | None = None
    sample_updates: int = 0


class Ledger:
    def __init__(self, rows: list[LedgerRow] | None = None, *, records_sample_updates: bool = True):
        self._rows: list[LedgerRow] = list(rows or [])
        # False for a ledger read from a file written before the `sample_updates` column existed.
        self.records_sample_updates = records_sample_updates

    def append(self, row: LedgerRow) -> None:
        self._rows.append(row)

    def extend(self, rows: list[LedgerRow]) -> None:
        self._rows.extend(rows)

    @property
    def rows(self) -> tuple[LedgerRow, ...]:
        return tuple(self._rows)

    def select(self, approach: str | None = None, silo: str | None = None, phase: str | None = None) -> list[LedgerRow]:
        return [
            row
            for row in self._rows
            if (approach is None or row.approach == approach)
            and (silo is None or row.silo == silo)
            and (phase is None or row.phase == phase)
        ]

    def totals(self, approach: str, through_round: int | None = None) -> Totals:
        """Sums over one approach's rows; with `through_round`, only rows of rounds (CL: epochs) up to it."""
        rows = [row for row in self.select(approach=approach) if through_round is None or row.round <= through_round]
        return Totals(
            wall_s=sum(row.wall_s for row in rows),
            cpu_s=sum(row.cpu_s for row in rows),
            energy_kwh=_sum_present(row.energy_kwh for row in rows),
            co2_kg=_sum_present(row.co2_kg for row in rows),
            bytes_down=sum(row.bytes_down for row in rows),
            bytes_up=sum(row.bytes_up for row in rows),
            host_energy_kwh=_sum_present(row.host_energy_kwh for row in rows),
            sample_updates=sum(row.sample_updates for row in rows),
        )

    def to_csv_text(self) -> str:
        # Field by field, not `asdict` (which deep-copies every row): the FL journal rewrites the whole
        # ledger after every exchange, and at 64 silos `asdict` was a third of the server's time.
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(LEDGER_COLUMNS)
        for row in self._rows:
            writer.writerow(["" if (value := getattr(row, column)) is None else value for column in LEDGER_COLUMNS])
        return buffer.getvalue()

    @classmethod
    def from_csv(cls, path: Path) -> "Ledger":
        """Read a ledger. One written before sample updates were recorded reads with none
        (`records_sample_updates` False: see `with_sample_updates`) and its host figures absent."""
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            present = set(reader.fieldnames or [])
            missing = [column for column in LEDGER_COLUMNS if column not in present and column not in _ADDED_COLUMNS]
            if missing:
                raise ValueError(f"{path}: not a silocarbon ledger; missing columns {', '.join(missing)}")
            rows = [_row_from_strings(record) for record in reader]
        return cls(rows, records_sample_updates="sample_updates" in present)

    def with_sample_updates(self, fl_local_epochs: int) -> "Ledger":
        """An older ledger's rows with the sample updates its training rows made: such ledgers
        counted examples per window, so an FL training row made `num_examples` x the scenario's
        local epochs, and a CL training row (one pooled epoch) `num_examples`."""
        def updates(row: LedgerRow) -> int:
            if row.phase != "train" or row.status != "ok":
                return 0
            return row.num_examples * (fl_local_epochs if row.approach == APPROACH_FL else 1)

        return Ledger([replace(row, sample_updates=updates(row)) for row in self._rows])


def _sum_present(values) -> float | None:
    present = [value for value in values if value is not None]
    return math.fsum(present) if present else None


_INT_COLUMNS = {"round", "bytes_down", "bytes_up", "num_examples", "bytes_up_telemetry", "sample_updates"}
_KIND_COLUMNS = {
    "approach": APPROACHES,
    "phase": PHASES,
    "energy_method": ENERGY_METHODS,
    "status": ROW_STATUSES,
    "energy_hardware": ENERGY_HARDWARE,
    "host_energy_method": ENERGY_METHODS,
    "failure": FAILURES,
}
_OPTIONAL_FLOAT_COLUMNS = {"energy_kwh", "energy_cpu_kwh", "energy_ram_kwh", "energy_gpu_kwh", "co2_kg",
                           "host_energy_kwh", "host_energy_cpu_kwh", "host_energy_ram_kwh", "host_energy_gpu_kwh"}
_FLOAT_COLUMNS = {"wall_s", "cpu_s", "intensity_g_per_kwh"}


def _row_from_strings(record: dict[str, str]) -> LedgerRow:
    values: dict[str, object] = {}
    for column in LEDGER_COLUMNS:
        text = record[column] if column in record else _ADDED_COLUMNS[column](record)
        if column in _KIND_COLUMNS:
            values[column] = check_kind(text, _KIND_COLUMNS[column], f"column {column}:")
        elif column in _INT_COLUMNS:
            values[column] = int(text)
        elif column in _FLOAT_COLUMNS:
            values[column] = float(text)
        elif column in _OPTIONAL_FLOAT_COLUMNS:
            values[column] = None if text == "" else float(text)
        else:
            values[column] = text
    return LedgerRow(**values)  # type: ignore[arg-type]
