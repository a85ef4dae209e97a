"""`silocarbon deploy plan`: the exact commands that run a scenario on separate machines.

One SuperLink host, one machine per silo (a SuperNode with its node config and the silo's
long-running ClientApp worker), and the submission. The node config's `partition-id` is the silo's
position in the scenario, which is how the ClientApp finds its silo; its `min-group-size` is the
silo's own floor for the analytics disclosure rules, which the run config (the server's word)
cannot lower.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from simulator.scenario.query_spec import NODE_MIN_GROUP_SIZE
from simulator.scenario.schema import Scenario
from simulator.deployment.certs import CA_CERT, SERVER_CERT, SERVER_KEY, SUPERNODE_KEYS_DIR

CONNECTION_NAME = "silocarbon"
DEFAULT_SUPERLINK_PORT = 9093
SUPERNODE_RUNTIME_PORT = 9094  # the SuperNode's local port for its ClientApp worker


def silo_node_config(scenario: Scenario, index: int) -> str:
    """The `--node-config` of silo `index`'s SuperNode, here (the deployment runner) and elsewhere
    (the plan): which silo it is, and the scenario's minimum group size as the silo's own floor. A
    silo reads the scenario from the run config, which whoever submits the run writes; the floor in
    its node config holds whatever that says (simulator/analytics/silo_query.py)."""
    return (
        f"partition-id={index} num-partitions={len(scenario.silos)} "
        f"{NODE_MIN_GROUP_SIZE}={scenario.analytics.min_group_size}"
    )


@dataclass(frozen=True)
class PlannedStep:
    where: str  # which machine runs it
    purpose: str
    command: str  # one shell line, quoted for a POSIX shell


def deployment_plan(
    scenario: Scenario, scenario_path: str, superlink_host: str, superlink_port: int, certs_dir: str
) -> list[PlannedStep]:
    address = f"{superlink_host}:{superlink_port}"
    certs = Path(certs_dir)
    steps = [
        PlannedStep(
            "a trusted machine",
            "TLS certificate for the SuperLink and one key pair per silo; copy ca.crt to every machine, "
            "each silo's .key only to that silo",
            _join(["silocarbon", "deploy", "certs", str(certs), "--host", superlink_host, "--scenario", scenario_path]),
        ),
        PlannedStep(
            "the SuperLink host",
            "the SuperLink, TLS on, SuperNodes must authenticate, no run-time dependency installation",
            _join(
                [
                    "flower-superlink",
                    "--disable-runtime-dependency-installation",
                    "--host",
                    "0.0.0.0",
                    "--port",
                    str(superlink_port),
                    "--ssl-ca-certfile",
                    str(certs / CA_CERT),
                    "--ssl-certfile",
                    str(certs / SERVER_CERT),
                    "--ssl-keyfile",
                    str(certs / SERVER_KEY),
                    "--enable-supernode-auth",
                ]
            ),
        ),
        PlannedStep(
            "the SuperLink host",
            f"a Flower connection named '{CONNECTION_NAME}' for the flwr CLI, appended to ~/.flwr/config.toml "
            "(write ca.crt's absolute path on this host)",
            "printf '%s\\n' "
            + " ".join(
                shlex.quote(line)
                for line in (
                    f"[superlink.{CONNECTION_NAME}]",
                    f'address = "{address}"',
                    f'root-certificates = "{certs / CA_CERT}"',
                )
            )
            + " >> ~/.flwr/config.toml",
        ),
    ]
    for silo in scenario.silos:
        steps.append(
            PlannedStep(
                "the SuperLink host",
                f"let silo '{silo.name}' in: register its SuperNode's public key",
                _join(["flwr", "supernode", "register", str(certs / SUPERNODE_KEYS_DIR / f"{silo.name}.pub"), CONNECTION_NAME]),
            )
        )
    for index, silo in enumerate(scenario.silos):
        steps.append(
            PlannedStep(
                f"silo '{silo.name}'",
                "its SuperNode; its ClientApp runs in the worker below",
                _join(
                    [
                        "flower-supernode",
                        "--superlink",
                        address,
                        "--root-certificates",
                        CA_CERT,
                        "--auth-supernode-private-key",
                        f"{silo.name}.key",
                        "--isolation",
                        "process",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(SUPERNODE_RUNTIME_PORT),
                        "--node-config",
                        silo_node_config(scenario, index),
                    ]
                ),
            )
        )
        steps.append(
            PlannedStep(
                f"silo '{silo.name}'",
                f"its long-running ClientApp worker, measuring this host's energy ({silo.country} grid)",
                _join(
                    [
                        "python",
                        "-m",
                        "simulator.deployment.silo_worker",
                        "--runtime-api-address",
                        f"127.0.0.1:{SUPERNODE_RUNTIME_PORT}",
                        "--insecure",
                        "--host-country",
                        silo.country,
                    ]
                ),
            )
        )
    steps.append(
        PlannedStep(
            "the SuperLink host",
            "submit and follow the run; the ServerApp writes the run folder on this host",
            _join(
                [
                    "silocarbon",
                    "run",
                    scenario_path,
                    "--set",
                    "runner=deployment",
                    "--set",
                    f"deployment.superlink={address}",
                    "--set",
                    f"deployment.certs_dir={certs}",
                ]
            ),
        )
    )
    return steps


def render_plan(steps: list[PlannedStep]) -> str:
    lines = []
    for number, step in enumerate(steps, start=1):
        lines.append(f"# {number}. on {step.where}: {step.purpose}")
        lines.append(step.command)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _join(argv: list[str]) -> str:
    return shlex.join(argv)
