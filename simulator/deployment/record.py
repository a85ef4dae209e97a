"""What a deployment run leaves beside the run folder's own files: `deployment.json` (security,
pace, every process started, each silo's wire bytes next to its payload bytes) and the lines
`silocarbon run` prints from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from simulator.deployment.byte_relay import WireCount
from simulator.deployment.processes import ProcessSupervisor
from simulator.ledger import APPROACH_FL, Ledger
from simulator.results.atomic import write_json_atomic
from simulator.records.run import FederationOutcome, Record, record_from_json
from simulator.scenario.schema import Scenario

DEPLOYMENT_FILE = "deployment.json"
DEPLOYMENT_UNITS = {"bytes": "bytes", "wall_s": "s", "wire_to_payload": "wire bytes / payload bytes (ratio)"}
WIRE_METHOD = (
    "TCP payload bytes between the silo's SuperNode and the SuperLink, counted by a relay on loopback "
    "(TLS, HTTP, protobuf, polling, heartbeats and the app download included; TCP/IP headers excluded)"
)


class WireCounts(Record):
    """A silo's wire bytes (counted by its relay) next to its payload bytes (from the ledger)."""

    silo: str
    wire_up_bytes: int  # silo -> SuperLink
    wire_down_bytes: int  # SuperLink -> silo
    payload_up_bytes: int  # from the ledger: Flower record sizes of the replies
    payload_down_bytes: int
    connections: int


class SiloWire(WireCounts):
    """The counts, and the ratios computed from them."""

    @property
    def wire_to_payload(self) -> float | None:
        payload = self.payload_up_bytes + self.payload_down_bytes
        return None if payload == 0 else (self.wire_up_bytes + self.wire_down_bytes) / payload

    def wire_to_payload_after_app_download(self, app_package_bytes: int) -> float | None:
        """The ratio once the one-off app download is taken out (approximate: its framing stays in)."""
        payload = self.payload_up_bytes + self.payload_down_bytes
        wire = self.wire_up_bytes + self.wire_down_bytes - app_package_bytes
        return None if payload == 0 else wire / payload


@dataclass(frozen=True)
class DeploymentOutcome:
    federation: FederationOutcome
    run_id: int
    pids: frozenset[int]
    wire: tuple[SiloWire, ...]  # empty when attached to a SuperLink elsewhere (not measured here)
    wall_s: float  # start of the first process to the end of the run, seconds


def wire_of_silos(ledger: Ledger, counts: dict[str, WireCount]) -> tuple[SiloWire, ...]:
    """Each silo's wire bytes next to the payload bytes its ledger rows record."""
    result = []
    for silo, count in counts.items():
        rows = [row for row in ledger.rows if row.approach == APPROACH_FL and row.silo == silo]
        result.append(
            SiloWire(
                silo=silo,
                wire_up_bytes=count.to_superlink_bytes,
                wire_down_bytes=count.from_superlink_bytes,
                payload_up_bytes=sum(row.bytes_up for row in rows),
                payload_down_bytes=sum(row.bytes_down for row in rows),
                connections=count.connections,
            )
        )
    return tuple(result)


class SiloWireRecord(WireCounts):
    """A silo's wire next to its payload, with the ratios, as deployment.json holds it."""

    wire_to_payload: float | None
    wire_to_payload_after_app_download: float | None


class ProcessRecord(Record):
    role: str  # "superlink", "supernode paris", "silo worker paris"
    pid: int
    exit_status: int | None  # None: still running when recorded


class DeploymentRecord(Record):
    """deployment.json: security, pace, every process started, each silo's wire bytes next to payload."""

    units: dict[str, str] = DEPLOYMENT_UNITS
    run_id: int
    superlink: str
    tls: bool
    authenticated_supernodes: bool
    # 1: a round's evaluation travels with the next round's training (and the last round's alone);
    # 2: train and evaluate as exchanges of their own. Older folders: 2.
    exchanges_per_round: int = 2
    wall_s: float
    fl_wall_s: float
    seconds_per_round: float
    silo_hosts: str
    processes: tuple[ProcessRecord, ...]
    pids_seen: tuple[int, ...]
    wire_method: str
    app_package_bytes: int
    wire: tuple[SiloWireRecord, ...]


def deployment_summary_lines(run_dir: Path) -> list[str]:
    """What `silocarbon run` prints after a deployment run: pace, and each silo's wire next to payload."""
    path = run_dir / DEPLOYMENT_FILE
    record = record_from_json(DeploymentRecord, json.loads(path.read_text()), path)
    security = "TLS, authenticated SuperNodes" if record.authenticated_supernodes else (
        "TLS" if record.tls else "no TLS"
    )
    exchanges = "one exchange per round" if record.exchanges_per_round == 1 else "two exchanges per round"
    lines = [
        f"Deployment ({security}; {exchanges}; SuperLink {record.superlink}): {record.seconds_per_round:.2f} s per "
        f"round, {record.wall_s:.1f} s with start-up and stop"
    ]
    for silo in record.wire:
        lines.append(
            f"  {silo.silo}: wire {silo.wire_up_bytes:,} B up / {silo.wire_down_bytes:,} B down, payload "
            f"{silo.payload_up_bytes:,} B up / {silo.payload_down_bytes:,} B down, wire/payload "
            f"{silo.wire_to_payload:.2f} ({silo.wire_to_payload_after_app_download:.2f} without the "
            f"{record.app_package_bytes:,} B app download)"
        )
    if not record.wire:
        lines.append(f"  wire bytes: {record.wire_method}")
    lines.append(f"  details: {path}")
    return lines


def write_deployment_record(
    run_dir: Path, scenario: Scenario, outcome: DeploymentOutcome, supervisor: ProcessSupervisor, app_bytes: int
) -> None:
    """deployment.json: security, pace, every process started, each silo's wire bytes next to payload."""
    settings = scenario.deployment
    record = DeploymentRecord(
        run_id=outcome.run_id,
        superlink=settings.superlink or "started here, on loopback",
        tls=settings.tls,
        authenticated_supernodes=settings.tls and settings.authenticate_supernodes,
        exchanges_per_round=1 if settings.one_exchange_per_round else 2,
        wall_s=outcome.wall_s,
        fl_wall_s=outcome.federation.wall_s,
        seconds_per_round=outcome.federation.wall_s / max(1, len(outcome.federation.rounds)),
        # Loopback: every silo's worker measures the same host, and their windows can overlap.
        silo_hosts="this machine, shared by every silo" if not settings.superlink else "each silo's own",
        processes=tuple(
            ProcessRecord(role=started.role, pid=started.pid, exit_status=started.popen.returncode)
            for started in supervisor.started
        ),
        pids_seen=tuple(sorted(outcome.pids)),
        wire_method=WIRE_METHOD if outcome.wire else "not measured (silos run elsewhere)",
        # Each SuperNode downloads the app once per run; that download is part of its wire_down_bytes.
        app_package_bytes=app_bytes,
        wire=tuple(
            SiloWireRecord(
                **silo.model_dump(),
                wire_to_payload=silo.wire_to_payload,
                wire_to_payload_after_app_download=silo.wire_to_payload_after_app_download(app_bytes),
            )
            for silo in outcome.wire
        ),
    )
    write_json_atomic(run_dir / DEPLOYMENT_FILE, record.to_json())
