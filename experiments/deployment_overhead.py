"""Deployment vs inline, side by side: seconds per round and wire/payload bytes, same scenario.

Run: `python -m experiments.deployment_overhead [SCENARIO] [--rounds N] [--insecure]`
Writes results/deployment_overhead/results.json and prints the table. Both runners train the same
model with the same seed; the script checks that their final models agree (to 1e-5).

What the figures mean: `s/round` is the ServerApp's wall time over all rounds divided by the number
of rounds (start-up of processes excluded, shown separately); `silo s/round` is the silos' own
measured work per round (sum over silos); wire bytes are the TCP payload through each silo's
relay (see simulator/deployment/byte_relay.py), payload bytes are Flower's record sizes from the ledger.
The inline runner has no wire: its messages are copied in memory.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import torch

from simulator.scenario.load import load_scenario
from simulator.deployment.runner import run_deployment
from simulator.flower.runners import run_inline
from simulator.ledger import SERVER_SILO
from simulator.probes.energy import NullEnergyProbe, install_host_probe

RESULTS = Path("results") / "deployment_overhead"


def silo_seconds_per_round(outcome, rounds: int) -> float:
    return sum(row.wall_s for row in outcome.ledger.rows if row.silo != SERVER_SILO and row.phase in ("train", "evaluate")) / rounds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="No --seeds: a benchmark of the deployment runner's speed and wire bytes. Both runners train "
               "the scenario's one seed and must agree on the final model (the check that makes the comparison "
               "mean anything); payload bytes are fixed by the model's shapes, not the seed, and seconds per "
               "round are a speed figure of this host (rerun it for their spread).")
    parser.add_argument("scenario", nargs="?", default=None, help="scenario TOML (default: the embedded one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--insecure", action="store_true", help="deployment without TLS and SuperNode authentication")
    args = parser.parse_args(argv)
    logging.getLogger("flwr").setLevel(logging.WARNING)  # Flower logs every round at INFO
    # Timing only: no energy tracker in either runner (CodeCarbon windows would cost both differently).
    overrides = [f"training.rounds={args.rounds}", "probes.energy=false"]
    if args.insecure:
        overrides += ["deployment.tls=false", "deployment.authenticate_supernodes=false"]
    scenario = load_scenario(args.scenario, overrides)
    rounds = scenario.training.rounds
    scratch = Path(tempfile.mkdtemp(prefix="deployment-overhead-"))
    (scratch / "inline").mkdir()
    (scratch / "deployment").mkdir()

    install_host_probe(NullEnergyProbe())  # timing only: no energy windows in the inline runner
    try:
        started = time.perf_counter()
        inline = run_inline(scenario, scratch / "inline")
        inline_total_s = time.perf_counter() - started
    finally:
        install_host_probe(None)
    deployed = run_deployment(scenario.model_copy(update={"runner": "deployment"}), scratch / "deployment")

    app_bytes = json.loads((scratch / "deployment" / "deployment.json").read_text())["app_package_bytes"]
    largest_difference = max(
        float((deployed.federation.final_state[key] - value).abs().max()) for key, value in inline.final_state.items()
    )
    result = {
        "scenario": scenario.name,
        "rounds": rounds,
        "silos": len(scenario.silos),
        "tls_and_node_auth": scenario.deployment.tls,
        "final_models_max_abs_difference": largest_difference,
        "inline": {
            "fl_wall_s": inline.wall_s,
            "seconds_per_round": inline.wall_s / rounds,
            "silo_work_seconds_per_round": silo_seconds_per_round(inline, rounds),
            "total_wall_s": inline_total_s,
        },
        "deployment": {
            "fl_wall_s": deployed.federation.wall_s,
            "seconds_per_round": deployed.federation.wall_s / rounds,
            "silo_work_seconds_per_round": silo_seconds_per_round(deployed.federation, rounds),
            "total_wall_s": deployed.wall_s,
            "startup_and_teardown_s": deployed.wall_s - deployed.federation.wall_s,
            "app_package_bytes": app_bytes,
            "wire": [
                {
                    "silo": silo.silo,
                    "wire_up_bytes": silo.wire_up_bytes,
                    "wire_down_bytes": silo.wire_down_bytes,
                    "payload_up_bytes": silo.payload_up_bytes,
                    "payload_down_bytes": silo.payload_down_bytes,
                    "wire_to_payload": silo.wire_to_payload,
                    "wire_to_payload_after_app_download": silo.wire_to_payload_after_app_download(app_bytes),
                }
                for silo in deployed.wire
            ],
        },
    }
    result["deployment_to_inline_seconds_per_round"] = (
        result["deployment"]["seconds_per_round"] / result["inline"]["seconds_per_round"]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(result, indent=2))

    print(f"scenario {scenario.name}: {len(scenario.silos)} silos, {rounds} rounds, model {scenario.model.name}")
    print(f"final models agree to {largest_difference:.2e} (max abs difference)")
    print(f"{'runner':<12}{'s/round':>10}{'silo work s/round':>20}{'start+stop s':>14}")
    print(f"{'inline':<12}{result['inline']['seconds_per_round']:>10.3f}{result['inline']['silo_work_seconds_per_round']:>20.3f}{'-':>14}")
    print(
        f"{'deployment':<12}{result['deployment']['seconds_per_round']:>10.3f}"
        f"{result['deployment']['silo_work_seconds_per_round']:>20.3f}{result['deployment']['startup_and_teardown_s']:>14.1f}"
    )
    print(f"deployment / inline, seconds per round: {result['deployment_to_inline_seconds_per_round']:.1f}x")
    print(
        f"{'silo':<12}{'wire up B':>12}{'wire down B':>13}{'payload up B':>14}{'payload down B':>16}"
        f"{'wire/payload':>14}{'w/o app':>9}"
    )
    for silo in result["deployment"]["wire"]:
        print(
            f"{silo['silo']:<12}{silo['wire_up_bytes']:>12}{silo['wire_down_bytes']:>13}{silo['payload_up_bytes']:>14}"
            f"{silo['payload_down_bytes']:>16}{silo['wire_to_payload']:>14.2f}"
            f"{silo['wire_to_payload_after_app_download']:>9.2f}"
        )
    print(
        f"each silo's wire_down includes the app package download once: "
        f"{result['deployment']['app_package_bytes']} B"
    )
    print(f"written: {RESULTS / 'results.json'}")
    # Same scenario and seed: a disagreement would make the comparison meaningless.
    if not torch.isfinite(torch.tensor(largest_difference)) or largest_difference > 1e-5:
        raise SystemExit(f"final models differ by {largest_difference}")


if __name__ == "__main__":
    main()
