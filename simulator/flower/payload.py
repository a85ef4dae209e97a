"""Payload bytes of a message, from Flower's own record sizes.

A message's payload is the sum of `count_bytes()` over the records in its content, as Flower defines
them: an ArrayRecord counts each array's serialized bytes (NumPy's .npy format: a header, 128 bytes
for the arrays used here, plus the raw data) plus the length of each array's key; a ConfigRecord and
a MetricRecord count 8 bytes per number (1 per bool), the length of strings and bytes, plus each key's
length. Wire overhead (protobuf framing, gRPC, TLS) is not part of the payload.
"""

from __future__ import annotations

from flwr.app import RecordDict

# Our own telemetry travels in the reply under this key; it is not part of the app's payload and
# the measured grid removes it before the strategy sees the reply.
MEASUREMENT_KEY = "silocarbon.measurement"
# A ClientApp that raised inside its measurement window replies with this record (the reason) next to
# its measurement, so the energy of the failed work reaches the ledger; the measured grid turns the
# reply back into an error reply before the strategy sees it.
FAILURE_KEY = "silocarbon.failure"


def payload_bytes(content: RecordDict) -> int:
    return sum(record.count_bytes() for key, record in content.items() if key not in (MEASUREMENT_KEY, FAILURE_KEY))
