"""A long-running ClientApp process for one silo's SuperNode (started with `--isolation process`).

Flower's own `flwr-clientapp` serves one message per process, so every message would import torch,
rebuild the silo's data split and restart CodeCarbon. This worker takes the SuperExec's place for
its SuperNode: it acquires each ClientApp task from the SuperNode's Runtime API and runs it in this
same process with Flower's own task input/output functions. Torch, the split and the energy probe
start once, and the silo's energy windows measure this host (the probe installed here).

Run: `python -m simulator.flower.silo_worker --runtime-api-address HOST:PORT --host-country FRA
[--insecure | --root-certificates CA.pem]`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import simulator  # noqa: F401  (telemetry off before Flower loads)

# Acquire tasks often: the Runtime API is local to the silo and a poll is one small request.
DEFAULT_POLL_INTERVAL_S = 0.05
# A task can be acquired before its SuperNode holds the whole message; Flower then retries the
# missing parts after 1 s, doubling. From the local Runtime API a short first wait is enough.
OBJECT_PULL_FIRST_WAIT_S = 0.02
OBJECT_PULL_MAX_WAIT_S = 0.5
SILOCARBON_APP_PUBLISHER = "silocarbon"


def serve(
    runtime_api_address: str,
    *,
    insecure: bool,
    root_certificates: str | None,
    host_country: str | None,
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S,
) -> None:
    from flwr.proto.runtime_pb2 import AcquireTaskRequest
    from flwr.supercore.constant import TaskType
    from flwr.supercore.interceptors import RuntimeVersionHttpInterceptor
    from flwr.supercore.retry import make_simple_http_retry_invoker
    from flwr.supercore.runtime import RuntimeHttpClient

    from simulator.flower.client_app import app as client_app
    from simulator.probes.energy import install_host_probe
    from simulator.probes.host_energy import HostEnergyProbe
    from simulator.training import warm_up_torch

    if host_country:
        probe = HostEnergyProbe(host_country)  # the same probe `silocarbon run` installs
        probe.warm_up()
        install_host_probe(probe)
    warm_up_torch()  # the ClientApp's lifespan then sets the scenario's thread count
    certificates = _read(root_certificates)
    acquirer = RuntimeHttpClient.from_server_address(
        server_address=runtime_api_address,
        insecure=insecure,
        root_certificates=certificates,
        interceptors=[RuntimeVersionHttpInterceptor(component_name="SuperExec")],
        retry_invoker=make_simple_http_retry_invoker(),
    )
    request = AcquireTaskRequest(supported_task_types=[str(TaskType.CLIENT_APP)])
    log = logging.getLogger("silocarbon.silo_worker")
    log.info("ready: torch warmed up, energy probe %s", "installed" if host_country else "off")
    while True:
        response = acquirer.AcquireTask(request)
        if response.HasField("task") and response.token:
            started = time.perf_counter()
            run_task(runtime_api_address, response.token, insecure, certificates, client_app)
            log.info("task %d done in %.3f s", response.task.task_id, time.perf_counter() - started)
        else:
            time.sleep(poll_interval_s)


def run_task(runtime_api_address: str, token: str, insecure: bool, certificates: bytes | None, client_app) -> None:
    """One ClientApp task, as `flwr-clientapp` runs it, without leaving the process afterwards."""
    from flwr.app import Error, Message
    from flwr.common.constant import ErrorCode, SubStatus
    from flwr.supercore.heartbeat import HeartbeatSender, make_task_heartbeat_fn_http
    from flwr.supercore.interceptors import RuntimeTokenHttpInterceptor, RuntimeVersionHttpInterceptor
    from flwr.supercore.retry import make_simple_http_retry_invoker
    from flwr.supercore.runtime import RuntimeHttpClient
    from flwr.supernode.runtime.run_clientapp import push_message, push_task_output

    client = RuntimeHttpClient.from_server_address(
        server_address=runtime_api_address,
        insecure=insecure,
        root_certificates=certificates,
        interceptors=[
            RuntimeVersionHttpInterceptor(component_name="flwr-clientapp"),
            RuntimeTokenHttpInterceptor(token),
        ],
        retry_invoker=make_simple_http_retry_invoker(),
    )
    heartbeat = HeartbeatSender(make_task_heartbeat_fn_http(client))
    heartbeat.start()
    context = None
    status, details = SubStatus.FAILED, "ClientApp task failed before it ran"
    try:
        message, context, run = pull_task_input(client)
        if not run.fab_id.startswith(f"{SILOCARBON_APP_PUBLISHER}/"):
            # This process runs the silocarbon ClientApp only; another app's task is refused, not run.
            reply = Message(
                Error(ErrorCode.LOAD_CLIENT_APP_EXCEPTION, f"this silo worker runs silocarbon only, not {run.fab_id}"),
                reply_to=message,
            )
            details = f"refused app {run.fab_id}"
        else:
            try:
                reply = client_app(message=message, context=context)
                status, details = SubStatus.COMPLETED, ""
            except Exception as error:  # a silo's failure is an error reply, as flwr-clientapp sends
                logging.getLogger(__name__).exception("ClientApp raised")
                details = f"{type(error).__name__}: {error}"
                reply = Message(Error(ErrorCode.CLIENT_APP_RAISED_EXCEPTION, details), reply_to=message)
        push_message(client, reply, context)
    finally:
        push_task_output(client=client, context=context, sub_status=status, details=details)
        heartbeat.stop()
        client.close()


def pull_task_input(client):
    """The task's message, context and run, as Flower's `pull_task_input` gets them, with short waits."""
    from flwr.app import Message
    from flwr.common.serde import context_from_proto, run_from_proto
    from flwr.proto.node_pb2 import Node
    from flwr.proto.runtime_pb2 import PullAppMessagesRequest, PullTaskInputRequest
    from flwr.supercore.inflatable.inflatable_protobuf_utils import (
        make_confirm_message_received_fn_protobuf,
        make_pull_object_fn_protobuf,
    )
    from flwr.supercore.inflatable.inflatable_utils import pull_and_inflate_object_from_tree
    from flwr.supercore.task_identity import TaskIdentity

    task_input = client.PullTaskInput(PullTaskInputRequest())
    TaskIdentity.task_id = task_input.task_id
    TaskIdentity.run_id = task_input.run.run_id
    TaskIdentity.node_id = task_input.context.node_id
    context = context_from_proto(task_input.context)
    run = run_from_proto(task_input.run)
    pulled = client.PullMessages(PullAppMessagesRequest())
    if not pulled.messages_list:
        raise RuntimeError("the SuperNode's Runtime API gave a task without a message")
    node = Node(node_id=context.node_id)
    tree = pulled.message_object_trees[0]
    message = pull_and_inflate_object_from_tree(
        tree,
        make_pull_object_fn_protobuf(client.PullObject, node, context.run_id),
        make_confirm_message_received_fn_protobuf(client.ConfirmMessageReceived, node, context.run_id),
        return_type=Message,
        initial_backoff=OBJECT_PULL_FIRST_WAIT_S,
        backoff_cap=OBJECT_PULL_MAX_WAIT_S,
    )
    # The deflated message does not carry its own id (its object id), as in Flower's version.
    message.metadata.__dict__["_message_id"] = tree.object_id
    return message, context, run


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as handle:
        return handle.read()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator.flower.silo_worker", description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-api-address", required=True, help="the SuperNode's Runtime API, host:port")
    security = parser.add_mutually_exclusive_group(required=True)
    security.add_argument("--insecure", action="store_true", help="plain HTTP to the SuperNode's Runtime API")
    security.add_argument("--root-certificates", help="CA that signed the Runtime API's TLS certificate")
    parser.add_argument("--host-country", default="", help="ISO alpha-3 country of this host; empty: no energy probe")
    parser.add_argument("--poll-interval-s", type=float, default=DEFAULT_POLL_INTERVAL_S)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("flwr").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("codecarbon").setLevel(logging.ERROR)
    try:
        serve(
            args.runtime_api_address,
            insecure=args.insecure,
            root_certificates=args.root_certificates,
            host_country=args.host_country or None,
            poll_interval_s=args.poll_interval_s,
        )
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
