"""The instrumentation mod: wraps every ClientApp call in a measurement window.

Shape of Flower's `clientapp/mod/comms_mods.py`: call inside a window, pass error replies through,
and report one measurement (a `SiloMeasurement`: numbers with a fixed schema; the server sizes the
messages itself). The measurement rides back to the server in the reply under `MEASUREMENT_KEY` (so
it also works where the silo is another process or machine) and is removed there before the
strategy sees the reply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flwr.app import ConfigRecord, Context, Message, RecordDict

from simulator.flower.flwr_internals import ClientAppCallable, Mod
from simulator.flower.payload import FAILURE_KEY, MEASUREMENT_KEY
from simulator.probes.window import WorkWindow
from simulator.records.kinds import METHOD_ABSENT
from simulator.records.measurement import SiloMeasurement, bounded_silo_text


def make_measurement_mod(silo_of: Callable[[Context], str]) -> Mod:
    """The mod for a ClientApp whose silo name is `silo_of(context)`."""

    def measurement_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
        return _measured_call(message, context, call_next, silo_of(context))

    return measurement_mod


def _measured_call(message: Message, context: Context, call_next: ClientAppCallable, silo: str) -> Message:
    # Where no probe is installed (a Ray worker), the reading is `absent` and the server apportions.
    with WorkWindow(f"silo-{context.node_id}-{message.metadata.message_type}") as window:
        try:
            reply = call_next(message, context)
        except Exception as error:  # the failed work was done: its measurement must still reach the server
            # The full error stays in this silo's log; the server gets one bounded line (records.py).
            logging.getLogger(__name__).info("silo '%s' failed", silo, exc_info=True)
            reason = bounded_silo_text(f"{type(error).__name__}: {error}")
            reply = Message(RecordDict({FAILURE_KEY: ConfigRecord({"reason": reason})}), reply_to=message)
    if reply.has_error():
        return reply
    reading = window.reading
    host = reading.host
    # Bytes are not part of it: the server counts what arrives, never the silo's word.
    measurement = SiloMeasurement(
        silo=silo,
        wall_s=window.wall_s,
        cpu_s=window.cpu_s,
        gpu_s=window.gpu_s,
        energy_method=reading.method,
        energy_cpu_kwh=reading.energy_cpu_kwh,
        energy_ram_kwh=reading.energy_ram_kwh,
        energy_gpu_kwh=reading.energy_gpu_kwh,
        sample_updates=window.sample_updates,
        host_energy_method=METHOD_ABSENT if host is None else host.method,
        host_energy_cpu_kwh=None if host is None else host.energy_cpu_kwh,
        host_energy_ram_kwh=None if host is None else host.energy_ram_kwh,
        host_energy_gpu_kwh=None if host is None else host.energy_gpu_kwh,
    )
    reply.content[MEASUREMENT_KEY] = measurement.to_record()
    return reply
