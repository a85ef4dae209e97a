"""The probe life cycle: `begin(key)` opens a window, `end(key)` closes it and returns one typed,
frozen reading. Ending a key that is not open raises `UnknownWindowError` naming the key.

Every probe in this package follows this shape (`CodeCarbonHostProbe`, `NvmlGpuProbe`,
`ProcessProbe`, and the composite `HostEnergyProbe`), so callers can swap or combine them.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

Reading = TypeVar("Reading", covariant=True)
Start = TypeVar("Start")


class UnknownWindowError(KeyError):
    """`end(key)` for a window that was never begun (or was already ended)."""

    def __init__(self, key: str, probe: str = "probe"):
        self.key = key
        super().__init__(f"{probe}: no window named '{key}' is open")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class Probe(Protocol[Reading]):
    def begin(self, key: str) -> None: ...

    def end(self, key: str) -> Reading: ...

    def close(self) -> None: ...


class OpenWindows(Generic[Start]):
    """The windows a probe has open: key -> what was read at `begin`."""

    def __init__(self, probe_name: str):
        self._probe_name = probe_name
        self._open: dict[str, Start] = {}

    def open(self, key: str, start: Start) -> None:
        if key in self._open:
            raise ValueError(f"{self._probe_name}: window '{key}' is already open")
        self._open[key] = start

    def close(self, key: str) -> Start:
        if key not in self._open:
            raise UnknownWindowError(key, self._probe_name)
        return self._open.pop(key)

    def clear(self) -> None:
        self._open.clear()

    def __len__(self) -> int:
        return len(self._open)
