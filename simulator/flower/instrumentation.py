"""The instrumentation mod: wraps every ClientApp call in a measurement window.

Shape of Flower's `clientapp/mod/comms_mods.py`: size the incoming message, call, size the reply,
pass error replies through, and report one measurement. The measurement rides back to the server in
the reply under `MEASUREMENT_KEY` (so it also works where the silo is another process or machine)
and is removed there before the strategy sees the reply.
"""

from __future__ import annotations

from collections.abc import Callable

from flwr.app import ConfigRecord, Context, Message, RecordDict

from simulator.flower.flwr_internals import ClientAppCallable, Mod
from simulator.flower.payload import FAILURE_KEY, MEASUREMENT_KEY, payload_bytes
from simulator.probes.window import WorkWindow


def make_measurement_mod(silo_of: Callable[[Context], str]) -> Mod:
    """The mod for a ClientApp whose silo name is `silo_of(context)`."""

    def measurement_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
        return _measured_call(message, context, call_next, silo_of(context))

    return measurement_mod


def _measured_call(message: Message, context: Context, call_next: ClientAppCallable, silo: str) -> Message:
    bytes_down = payload_bytes(message.content)
    # Where no probe is installed (a Ray worker), the reading is `absent` and the server apportions.
    with WorkWindow(f"silo-{context.node_id}-{message.metadata.message_type}") as window:
        try:
            reply = call_next(message, context)
        except Exception as error:  # the failed work was done: its measurement must still reach the server
            reply = Message(
                RecordDict({FAILURE_KEY: ConfigRecord({"reason": f"{type(error).__name__}: {error}"})}),
                reply_to=message,
            )
    reading = window.reading
    if reply.has_error():
        return reply
    measurement = ConfigRecord(
        {
            "silo": silo,
            "wall-s": window.wall_s,
            "cpu-s": window.cpu_s,
            "gpu-s": window.gpu_s,
            "bytes-down": bytes_down,
            "bytes-up": payload_bytes(reply.content),
            "energy-method": reading.method,
        }
    )
    # Absent components are left out (a ConfigRecord cannot hold None): absent, not zero.
    for name, value in (
        ("energy-cpu-kwh", reading.energy_cpu_kwh),
        ("energy-ram-kwh", reading.energy_ram_kwh),
        ("energy-gpu-kwh", reading.energy_gpu_kwh),
    ):
        if value is not None:
            measurement[name] = value
    reply.content[MEASUREMENT_KEY] = measurement
    return reply
