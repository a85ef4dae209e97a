"""Deployment vs inline, side by side: seconds per round, start-up + teardown, and wire/payload bytes.

Run: `python -m experiments.deployment_overhead [SCENARIO] [--rounds N] [--repeats K] [--insecure]
[--two-exchanges]` (rounds: the scenario's own, 10 for the default one; about 50 s per deployment run
on 2 cores). Writes results/deployment_overhead/results.json and prints the tables. Both
runners train the same model with the same seed; the script checks that their final models agree
(to 1e-5) in every repeat.

What the figures mean: `s/round` is the ServerApp's wall time over all rounds divided by the number
of rounds (from the moment it starts loading the data, once every silo's SuperNode has connected);
`start+stop` is the rest of the deployment runner's wall time: starting every process, registering
the SuperNodes' keys, submitting the run, waiting for the SuperNodes to connect, and stopping the
processes afterwards. With `--repeats K` each is the median over K deployment
runs, printed with every value. `silo work s/round` is the silos' own measured work per round (sum
over silos); wire bytes are the TCP payload through each silo's relay (see
simulator/deployment/byte_relay.py), payload bytes Flower's record sizes from the ledger. The inline
runner has no wire: its messages are copied in memory. The host's load average is printed before and
after: on a shared host every figure here moves with other jobs' load.

Flower's floor (Flower 1.42, hard-coded there, never patched here): a SuperNode that polls and finds
no message sleeps 3 s (`time.sleep(3)` in flwr/supernode/start_client_internal.py), and it checks for
its ClientApp's reply every 0.5 s (`_push_messages`, same file); Flower's `Grid.send_and_receive`
sleeps 3 s between pulls (flwr/superlink/grid/http_grid.py), which is not on this path: the ServerApp
pulls replies every 0.1 s. A SuperNode that has just sent its reply polls at once and finds nothing,
since the server needs every reply before it can send the next message; so every exchange after the
first waits at least 3 s + 0.5 s, the first at least 0.5 s. With one exchange per round (a round's
evaluation travels with the next round's training: R + 1 exchanges) the floor is 0.5 + 3.5 R s,
with two exchanges per round (2 R) it is 0.5 + 3.5 (2 R - 1) s.

That floor assumes the first message waits for a SuperNode's first poll. A SuperNode started with the
run (as here) polls right after it connects, before any ServerApp can address it (Flower sends only to
connected nodes), so its first exchange also meets the 3 s sleep: 3.5 s per exchange, printed as the
floor for SuperNodes that start with the run. What is left above it is Flower's object transfer (each
message is a tree of about 15 objects, each pulled or pushed as its own HTTPS request, two at a time)
and our processing; the silo workers' logs break every task down (pull, app, push).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from simulator.deployment.runner import LOG_DIR, run_deployment
from simulator.flower.runners import run_inline
from simulator.ledger import SERVER_SILO
from simulator.probes.energy import NullEnergyProbe, install_host_probe
from simulator.scenario.load import load_scenario

RESULTS = Path("results") / "deployment_overhead"
SUPERNODE_IDLE_SLEEP_S = 3.0  # Flower 1.42: flwr/supernode/start_client_internal.py, no message pulled
SUPERNODE_REPLY_CHECK_S = 0.5  # Flower 1.42: same file, `_push_messages`, waiting for the ClientApp's reply
GOAL_SECONDS_PER_ROUND = 4.0  # issue 17, default scenario with TLS and node authentication
GOAL_STARTUP_AND_TEARDOWN_S = 15.0


def exchanges_of(rounds: int, exchanges_per_round: int) -> int:
    return rounds + 1 if exchanges_per_round == 1 else 2 * rounds


def flower_floor_s(rounds: int, exchanges_per_round: int) -> float:
    """The least FL wall time Flower's own sleeps allow for `rounds` rounds (see the module's notes)."""
    per_exchange = SUPERNODE_IDLE_SLEEP_S + SUPERNODE_REPLY_CHECK_S
    return SUPERNODE_REPLY_CHECK_S + per_exchange * (exchanges_of(rounds, exchanges_per_round) - 1)


def floor_with_new_supernodes_s(rounds: int, exchanges_per_round: int) -> float:
    """The same floor when the SuperNodes connect with the run: the first exchange meets the sleep too."""
    return (SUPERNODE_IDLE_SLEEP_S + SUPERNODE_REPLY_CHECK_S) * exchanges_of(rounds, exchanges_per_round)


# A SuperNode's log line with its timestamp (the fork server turns Flower's timestamps on).
SUPERNODE_EVENT = re.compile(
    r"^\w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}):\s+(Receiving:|Received successfully|Sending:|Sent successfully)"
)
EXCHANGE_PHASES = ("receive", "reply_wait", "send", "idle")


def exchange_phases(log_dir: Path) -> dict[str, list[float]]:
    """Where each silo's exchanges went, from its SuperNode's log: `receive` (pulling the message's
    objects from the SuperLink), `reply_wait` (until the SuperNode's next check finds the worker's
    reply: 0.5 s steps), `send` (pushing the reply's objects) and `idle` (from one reply sent to the
    next message: the 3 s sleep and the other silos), in seconds, over every silo and exchange."""
    from datetime import datetime

    phases: dict[str, list[float]] = {phase: [] for phase in EXCHANGE_PHASES}
    for log in sorted(log_dir.glob("supernode-*.log")):
        events = []
        for line in log.read_text(errors="replace").splitlines():
            if match := SUPERNODE_EVENT.match(line):
                moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                events.append((match.group(2), moment))
        sent_at = None
        for (kind, moment), (next_kind, next_moment) in zip(events, events[1:]):
            step = next_moment - moment
            if kind == "Receiving:" and next_kind == "Received successfully":
                phases["receive"].append(step)
                if sent_at is not None:
                    phases["idle"].append(moment - sent_at)
            elif kind == "Received successfully" and next_kind == "Sending:":
                phases["reply_wait"].append(step)
            elif kind == "Sending:" and next_kind == "Sent successfully":
                phases["send"].append(step)
                sent_at = next_moment
    return phases


def silo_seconds_per_round(outcome, rounds: int) -> float:
    return sum(row.wall_s for row in outcome.ledger.rows if row.silo != SERVER_SILO and row.phase in ("train", "evaluate")) / rounds


def largest_difference(first: dict, second: dict) -> float:
    return max(float((torch.as_tensor(second[key]) - torch.as_tensor(value)).abs().max()) for key, value in first.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="No --seeds: a benchmark of the deployment runner's speed and wire bytes. Both runners train "
               "the scenario's one seed and must agree on the final model (the check that makes the comparison "
               "mean anything); payload bytes are fixed by the model's shapes, not the seed, and seconds per "
               "round are a speed figure of this host (--repeats K gives their spread).")
    parser.add_argument("scenario", nargs="?", default=None, help="scenario TOML (default: the embedded one)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default: the scenario's own)")
    parser.add_argument("--repeats", type=int, default=1, help="deployment runs; medians are reported")
    parser.add_argument("--insecure", action="store_true", help="deployment without TLS and SuperNode authentication")
    parser.add_argument("--two-exchanges", action="store_true",
                        help="train and evaluate as separate exchanges (deployment.one_exchange_per_round = false)")
    args = parser.parse_args(argv)
    logging.getLogger("flwr").setLevel(logging.WARNING)  # Flower logs every round at INFO
    # Timing only: no energy tracker in either runner (CodeCarbon windows would cost both differently).
    overrides = ["probes.energy=false"] + ([] if args.rounds is None else [f"training.rounds={args.rounds}"])
    if args.insecure:
        overrides += ["deployment.tls=false", "deployment.authenticate_supernodes=false"]
    if args.two_exchanges:
        overrides += ["deployment.one_exchange_per_round=false"]
    scenario = load_scenario(args.scenario, overrides)
    rounds = scenario.training.rounds
    exchanges_per_round = 1 if scenario.deployment.one_exchange_per_round else 2
    floor_s = flower_floor_s(rounds, exchanges_per_round)
    scratch = Path(tempfile.mkdtemp(prefix="deployment-overhead-"))
    try:
        result = _measure(scenario, args.repeats, scratch, floor_s, exchanges_per_round)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # the run folders: every figure is in results.json
    _print(result, scenario, args.repeats)


def _measure(scenario, repeats: int, scratch: Path, floor_s: float, exchanges_per_round: int) -> dict:  # type: ignore[no-untyped-def]
    rounds = scenario.training.rounds
    load_before = os.getloadavg()

    (scratch / "inline").mkdir()
    install_host_probe(NullEnergyProbe())  # timing only: no energy windows in the inline runner
    try:
        started = time.perf_counter()
        inline = run_inline(scenario, scratch / "inline")
        inline_total_s = time.perf_counter() - started
    finally:
        install_host_probe(None)

    deployed_runs = []
    phase_seconds: dict[str, list[float]] = {phase: [] for phase in EXCHANGE_PHASES}
    for repeat in range(repeats):
        folder = scratch / f"deployment-{repeat}"
        folder.mkdir()
        deployed = run_deployment(scenario.model_copy(update={"runner": "deployment"}), folder)
        difference = largest_difference(inline.final_state, deployed.federation.final_state)
        # Same scenario and seed: a disagreement would make the comparison meaningless.
        if not torch.isfinite(torch.tensor(difference)) or difference > 1e-5:
            raise SystemExit(f"final models differ by {difference} (deployment run {repeat + 1})")
        deployed_runs.append((deployed, json.loads((folder / "deployment.json").read_text())))
        for phase, seconds in exchange_phases(folder / LOG_DIR).items():
            phase_seconds[phase] += seconds
    load_after = os.getloadavg()

    per_round = [deployed.federation.wall_s / rounds for deployed, _ in deployed_runs]
    start_stop = [deployed.wall_s - deployed.federation.wall_s for deployed, _ in deployed_runs]
    last, last_record = deployed_runs[-1]
    app_bytes = last_record["app_package_bytes"]
    result = {
        "scenario": scenario.name,
        "rounds": rounds,
        "silos": len(scenario.silos),
        "tls_and_node_auth": scenario.deployment.tls and scenario.deployment.authenticate_supernodes,
        "exchanges_per_round": exchanges_per_round,
        "load_average_1_5_15_before": load_before,
        "load_average_1_5_15_after": load_after,
        "cpus": os.cpu_count(),
        "inline": {
            "fl_wall_s": inline.wall_s,
            "seconds_per_round": inline.wall_s / rounds,
            "silo_work_seconds_per_round": silo_seconds_per_round(inline, rounds),
            "total_wall_s": inline_total_s,
        },
        "deployment": {
            "repeats": repeats,
            "seconds_per_round_each": per_round,
            "seconds_per_round": statistics.median(per_round),
            "startup_and_teardown_s_each": start_stop,
            "startup_and_teardown_s": statistics.median(start_stop),
            "total_wall_s_each": [deployed.wall_s for deployed, _ in deployed_runs],
            "silo_work_seconds_per_round": silo_seconds_per_round(last.federation, rounds),
            "exchange_phases_median_s": {
                phase: statistics.median(seconds) if seconds else None for phase, seconds in phase_seconds.items()
            },
            "exchange_phases_count": {phase: len(seconds) for phase, seconds in phase_seconds.items()},
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
                for silo in last.wire
            ],
        },
        "flower_floor": {
            "fl_wall_s": floor_s,
            "seconds_per_round": floor_s / rounds,
            "source": "Flower 1.42 SuperNode: 3 s sleep after a poll without a message, 0.5 s between checks "
                      "for the ClientApp's reply (flwr/supernode/start_client_internal.py)",
            "fl_wall_s_supernodes_started_with_the_run": floor_with_new_supernodes_s(rounds, exchanges_per_round),
            "seconds_per_round_supernodes_started_with_the_run":
                floor_with_new_supernodes_s(rounds, exchanges_per_round) / rounds,
        },
        "goals": {"seconds_per_round": GOAL_SECONDS_PER_ROUND, "startup_and_teardown_s": GOAL_STARTUP_AND_TEARDOWN_S},
    }
    result["deployment_to_inline_seconds_per_round"] = (
        result["deployment"]["seconds_per_round"] / result["inline"]["seconds_per_round"]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(result, indent=2))
    return result


def _print(result: dict, scenario, repeats: int) -> None:  # type: ignore[no-untyped-def]
    rounds = scenario.training.rounds
    exchanges_per_round = result["exchanges_per_round"]
    floor_s = result["flower_floor"]["fl_wall_s"]
    per_round = result["deployment"]["seconds_per_round_each"]
    start_stop = result["deployment"]["startup_and_teardown_s_each"]
    app_bytes = result["deployment"]["app_package_bytes"]
    load_before = result["load_average_1_5_15_before"]
    load_after = result["load_average_1_5_15_after"]

    security = "TLS + SuperNode authentication" if result["tls_and_node_auth"] else "no TLS"
    print(f"scenario {scenario.name}: {len(scenario.silos)} silos, {rounds} rounds, model {scenario.model.name}, "
          f"{security}, {exchanges_per_round} exchange(s) per round")
    print(f"host: {os.cpu_count()} CPUs, load average (1/5/15 min) {_load(load_before)} before, {_load(load_after)} after")
    print(f"final models agree to 1e-5 in all {repeats} deployment run(s)")
    print(f"{'':<26}{'s/round':>10}{'start+stop s':>14}")
    print(f"{'inline':<26}{result['inline']['seconds_per_round']:>10.3f}{'-':>14}")
    median = "median of " + str(repeats) if repeats > 1 else "one run"
    print(f"{'deployment (' + median + ')':<26}{result['deployment']['seconds_per_round']:>10.2f}"
          f"{result['deployment']['startup_and_teardown_s']:>14.1f}")
    if repeats > 1:
        print(f"{'  each run':<26}{' '.join(f'{value:.2f}' for value in per_round):>10}  "
              f"{' '.join(f'{value:.1f}' for value in start_stop)}")
    print(f"{'Flower floor':<26}{floor_s / rounds:>10.2f}{'-':>14}   "
          f"({floor_s:.1f} s for {rounds} rounds: 3 s SuperNode sleep + 0.5 s reply check per exchange)")
    new_floor_s = result["flower_floor"]["fl_wall_s_supernodes_started_with_the_run"]
    print(f"{'  SuperNodes new to it':<26}{new_floor_s / rounds:>10.2f}{'-':>14}   "
          f"({new_floor_s:.1f} s: a SuperNode started with the run meets the sleep before its first message too)")
    print(f"{'goal (issue 17)':<26}{GOAL_SECONDS_PER_ROUND:>10.2f}{GOAL_STARTUP_AND_TEARDOWN_S:>14.1f}")
    print(f"silo work per round: inline {result['inline']['silo_work_seconds_per_round']:.3f} s, deployment "
          f"{result['deployment']['silo_work_seconds_per_round']:.3f} s (sum over silos)")
    print(f"deployment / inline, seconds per round: {result['deployment_to_inline_seconds_per_round']:.1f}x")
    phases = result["deployment"]["exchange_phases_median_s"]
    if all(value is not None for value in phases.values()):
        print("a silo's exchange, median s over silos and exchanges (SuperNode logs): "
              f"receive {phases['receive']:.3f}, reply wait {phases['reply_wait']:.3f} (Flower: 0.5 s checks), "
              f"send {phases['send']:.3f}, idle {phases['idle']:.3f} (Flower: 3 s sleep, then the slowest silo)")
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
    print(f"each silo's wire_down includes the app package download once: {app_bytes} B")
    print(f"written: {RESULTS / 'results.json'}")
    deployed = result["deployment"]
    print(f"deployment: {deployed['seconds_per_round']:.2f} s per round (goal <= {GOAL_SECONDS_PER_ROUND:g}, Flower floor "
          f"{floor_s / rounds:.2f}), {deployed['startup_and_teardown_s']:.1f} s start-up + teardown "
          f"(goal <= {GOAL_STARTUP_AND_TEARDOWN_S:g})")


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{value:.1f}" for value in values)


if __name__ == "__main__":
    main()
