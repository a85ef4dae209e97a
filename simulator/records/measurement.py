"""The silo's measurement: what its instrumentation mod sends back with every reply.

`SiloMeasurement` is what a silo's instrumentation mod sends back with every reply: numbers with a
fixed schema, the silo's name and the energy method. It travels as a Flower ConfigRecord, and the
server reads it with `from_record`, which refuses (naming the reason) an unknown key, a missing one,
a wrong type, free text or a value out of range: a silo's telemetry is untrusted input and must not
become a channel for its data. To add a field, add it to the dataclass with its `_wire` metadata.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from flwr.app import ConfigRecord

from simulator.names import NAME_RULE, is_valid_name
from simulator.probes.energy import EnergyReading
from simulator.records.kinds import ENERGY_METHODS, METHOD_ABSENT, EnergyMethod

# Bounds of a plausible window: one silo call lasts at most a week (the longest round timeout) and
# cannot draw more than a megawatt-hour; anything beyond is a broken or lying silo, not a reading.
MAX_WINDOW_S = 7 * 24 * 3600.0
MAX_WINDOW_KWH = 1000.0
# At most 1e13 sample updates in one call: a week at ~16 million updates per second.
MAX_WINDOW_SAMPLE_UPDATES = 1e13


class MeasurementRefused(ValueError):
    """A measurement record that does not fit the schema; the message says why."""


def _wire(key: str, high: float | None = None, *, required: bool = False) -> dict:
    return {"key": key, "high": high, "required": required}


@dataclass(frozen=True)
class SiloMeasurement:
    """One silo call, measured inside the silo: times in s, energy per component in kWh (None: absent)."""

    silo: str = field(metadata=_wire("silo", required=True))
    wall_s: float = field(metadata=_wire("wall-s", MAX_WINDOW_S, required=True))
    cpu_s: float = field(metadata=_wire("cpu-s", MAX_WINDOW_S, required=True))
    energy_method: EnergyMethod = field(metadata=_wire("energy-method", required=True))
    gpu_s: float = field(default=0.0, metadata=_wire("gpu-s", MAX_WINDOW_S))
    energy_cpu_kwh: float | None = field(default=None, metadata=_wire("energy-cpu-kwh", MAX_WINDOW_KWH))
    energy_ram_kwh: float | None = field(default=None, metadata=_wire("energy-ram-kwh", MAX_WINDOW_KWH))
    energy_gpu_kwh: float | None = field(default=None, metadata=_wire("energy-gpu-kwh", MAX_WINDOW_KWH))
    # A straggler's reply held back after the work (fault injection): the server words the detail.
    held_back_s: float | None = field(default=None, metadata=_wire("held-back-s", MAX_WINDOW_S))
    # Process attribution (see ATTRIBUTION_FIELDS): the energy-* parts above are attributed to the
    # silo's own process; these carry the sample updates its training made and the whole host's
    # figure of the same window.
    sample_updates: int = field(default=0, metadata=_wire("sample-updates", MAX_WINDOW_SAMPLE_UPDATES))
    host_energy_method: EnergyMethod = field(default=METHOD_ABSENT, metadata=_wire("host-energy-method"))
    host_energy_cpu_kwh: float | None = field(default=None, metadata=_wire("host-energy-cpu-kwh", MAX_WINDOW_KWH))
    host_energy_ram_kwh: float | None = field(default=None, metadata=_wire("host-energy-ram-kwh", MAX_WINDOW_KWH))
    host_energy_gpu_kwh: float | None = field(default=None, metadata=_wire("host-energy-gpu-kwh", MAX_WINDOW_KWH))

    def __post_init__(self) -> None:
        for spec in fields(self):
            problem = _value_problem(spec, getattr(self, spec.name))
            if problem is not None:
                raise MeasurementRefused(problem)

    def reading(self) -> EnergyReading:
        """The attributed reading, with the host's beside it where the silo measured one."""
        host = None if self.host_energy_method == METHOD_ABSENT else EnergyReading(
            self.wall_s, self.host_energy_cpu_kwh, self.host_energy_ram_kwh, self.host_energy_gpu_kwh,
            self.host_energy_method)
        return EnergyReading(self.wall_s, self.energy_cpu_kwh, self.energy_ram_kwh, self.energy_gpu_kwh,
                             self.energy_method, host)

    def to_record(self) -> ConfigRecord:
        """The wire form; absent values are left out (a ConfigRecord cannot hold None)."""
        return ConfigRecord(
            {spec.metadata["key"]: getattr(self, spec.name) for spec in fields(self) if getattr(self, spec.name) is not None}
        )

    @classmethod
    def from_record(cls, record: ConfigRecord) -> "SiloMeasurement":
        """The measurement in `record`; `MeasurementRefused` naming the first thing that does not fit."""
        by_key = {spec.metadata["key"]: spec for spec in fields(cls)}
        unknown = sorted(key for key in record if key not in by_key)
        if unknown:
            raise MeasurementRefused(f"measurement has unknown keys {', '.join(unknown[:5])}")
        values = {}
        for key, spec in by_key.items():
            if key not in record:
                if spec.metadata["required"]:
                    raise MeasurementRefused(f"measurement lacks '{key}'")
                continue
            values[spec.name] = record[key]
        return cls(**values)


# The fields process attribution added, by wire key (one list, for readers and tests).
ATTRIBUTION_FIELDS = ("sample-updates", "host-energy-method", "host-energy-cpu-kwh", "host-energy-ram-kwh",
                      "host-energy-gpu-kwh")


def _value_problem(spec, value) -> str | None:  # type: ignore[no-untyped-def]
    key = spec.metadata["key"]
    if spec.name == "silo":
        return None if is_valid_name(value) else f"measurement '{key}' is not a silo name ({NAME_RULE})"
    if spec.name in ("energy_method", "host_energy_method"):
        if value not in ENERGY_METHODS:
            return f"measurement '{key}' must be one of {' | '.join(ENERGY_METHODS)}"
        return None
    if value is None and not spec.metadata["required"]:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"measurement '{key}' must be a number, not {type(value).__name__}"
    if spec.name == "sample_updates" and not isinstance(value, int):
        return f"measurement '{key}' must be a whole number, not {value!r}"
    if not math.isfinite(value) or not 0.0 <= value <= spec.metadata["high"]:
        return f"measurement '{key}' = {value!r} is outside [0, {spec.metadata['high']:g}]"
    return None


# A silo's own words (its exception text in a failure record, an error reply's reason) reach the
# ledger and the report: kept to one line of printable ASCII, at most this long, so no silo can ship
# its data out through an error message. The full text stays in the silo's own log.
MAX_SILO_TEXT = 160


def bounded_silo_text(text: object) -> str:
    """`text` as at most `MAX_SILO_TEXT` printable ASCII characters on one line (others become '?')."""
    line = "".join(c if " " <= c <= "~" else "?" for c in str(text).replace("\n", " "))
    return line if len(line) <= MAX_SILO_TEXT else line[: MAX_SILO_TEXT - 3] + "..."
