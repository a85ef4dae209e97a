"""Every non-public Flower name silocarbon uses, in one module (written against Flower 1.42, the pin).

Flower's public API is imported directly wherever it is needed: the `__all__` names of flwr.app,
flwr.serverapp, flwr.serverapp.strategy, flwr.clientapp, flwr.clientapp.mod, flwr.simulation and
flwr.common. Anything else (flwr.supercore, flwr.proto, flwr.supernode, flwr.cli,
flwr.common.constant and .serde, class attributes, underscore names) may change in any release, so
it is reached only through this module, and tests/test_flwr_internals.py checks each piece against
the installed Flower: a new pin that moves or changes one fails there, loudly, naming it.

What needs them:
- the inline grid (one process, no SuperLink): the process's task identity, an empty `Run`, and
  message ids, which Flower's own runtimes set;
- the silo worker (simulator.deployment.silo_worker): the SuperNode's Runtime API, spoken as
  Flower's `flwr-clientapp` speaks it;
- starting a deployment's SuperNodes in forks of one process that imported Flower once (its
  `flower-supernode` entry point), their logs with timestamps (Flower's console handler);
- starting and following a deployment run: the SuperLink's Control API (register SuperNode keys,
  start a run with the app package built as `flwr run` builds it, follow it), and the ServerApp
  worker (simulator.deployment.server_worker), which acquires the run's ServerApp task from the
  SuperLink's Runtime API as Flower's SuperExec does and runs it with Flower's own ServerApp runtime;
- SCAFFOLD (strategies/scaffold.py): FedAvg's screening of train replies, so its own aggregation
  accepts exactly the replies FedAvg would;
- the codes of error replies, and the types of ClientApp mods;
- measuring a user's own app (`run --app`): whether its ServerApp and ClientApp use the Message API
  (`@app.main()`, `@app.train()`), which the measured grid speaks, or Flower's legacy one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flwr.clientapp.typing import ClientAppCallable, Mod
from flwr.common.constant import SUPERLINK_NODE_ID, ErrorCode

FLOWER_SERIES = "1.42"  # the release series every piece below was written and tested against

__all__ = [
    "ERROR_CLIENT_APP_RAISED",
    "ERROR_LOAD_CLIENT_APP",
    "ERROR_NODE_UNAVAILABLE",
    "FLOWER_SERIES",
    "SUPERLINK_NODE_ID",
    "ClientAppCallable",
    "Mod",
    "RunState",
    "acquire_client_app_task",
    "acquire_server_app_task",
    "build_app_package",
    "check_replies",
    "client_app_message_types",
    "control_api_answers",
    "control_client",
    "empty_run",
    "load_server_app_runtime",
    "load_supernode",
    "log_with_timestamps",
    "message_of_type",
    "pull_task_input",
    "push_reply",
    "push_task_output",
    "register_supernode",
    "run_server_app_task",
    "run_supernode",
    "run_state",
    "server_app_has_main",
    "runtime_client",
    "set_message_id",
    "set_task_identity",
    "start_run",
    "start_task_heartbeat",
]

# Codes of error replies (`flwr.app.Error(code, reason)`), as Flower's runtimes use them.
ERROR_CLIENT_APP_RAISED: int = ErrorCode.CLIENT_APP_RAISED_EXCEPTION
ERROR_LOAD_CLIENT_APP: int = ErrorCode.LOAD_CLIENT_APP_EXCEPTION
ERROR_NODE_UNAVAILABLE: int = ErrorCode.NODE_UNAVAILABLE


# -- one process, no SuperLink (the inline grid) ------------------------------------------------------


def set_task_identity(*, task_id: int, run_id: int, node_id: int) -> None:
    """The process's task identity: a new `Message` takes its sender and run from it, as Flower's
    runtimes set it for each task they run."""
    from flwr.supercore.task_identity import TaskIdentity

    TaskIdentity.task_id = task_id
    TaskIdentity.run_id = run_id
    TaskIdentity.node_id = node_id


def empty_run(run_id: int):  # type: ignore[no-untyped-def]
    """A `Run` with only its id, for a grid that is not connected to a SuperLink."""
    from flwr.supercore.run import Run

    return Run.create_empty(run_id=run_id)


def set_message_id(message, message_id: str) -> None:  # type: ignore[no-untyped-def]
    """Give a message its id. `Metadata.message_id` is read-only; Flower's runtimes set the field
    behind it when a message is pushed or rebuilt from its object tree."""
    message.metadata.__dict__["_message_id"] = message_id


def message_of_type(message, content, message_type: str):  # type: ignore[no-untyped-def]
    """A message with `message`'s metadata (sender, receiver, run, id, group, TTL) but another type and
    `content`: one part of a bundle, as its sender built it. Flower's constructor takes whole metadata
    only from its own runtimes (its `metadata` argument)."""
    import copy

    from flwr.app import Message

    metadata = copy.copy(message.metadata)
    metadata.message_type = message_type  # validated by Flower's setter
    return Message(content=content, metadata=metadata)


# -- strategies ---------------------------------------------------------------------------------------


def check_replies(strategy, replies, *, is_train: bool):  # type: ignore[no-untyped-def]
    """(replies with valid content, error replies) as a FedAvg-family strategy screens and logs them
    before aggregating (its `_check_and_log_replies`)."""
    return strategy._check_and_log_replies(replies, is_train=is_train)


# -- the SuperNode's Runtime API (the silo worker) ------------------------------------------------------


def runtime_client(
    address: str, *, insecure: bool, root_certificates: bytes | None, component_name: str, token: str | None = None
):  # type: ignore[no-untyped-def]
    """An HTTP client of a SuperNode's Runtime API, announcing itself as `component_name`
    ("SuperExec" to acquire tasks, "flwr-clientapp" to run one with its `token`)."""
    from flwr.supercore.interceptors import RuntimeTokenHttpInterceptor, RuntimeVersionHttpInterceptor
    from flwr.supercore.retry import make_simple_http_retry_invoker
    from flwr.supercore.runtime import RuntimeHttpClient

    interceptors = [RuntimeVersionHttpInterceptor(component_name=component_name)]
    if token is not None:
        interceptors.append(RuntimeTokenHttpInterceptor(token))
    return RuntimeHttpClient.from_server_address(
        server_address=address,
        insecure=insecure,
        root_certificates=root_certificates,
        interceptors=interceptors,
        retry_invoker=make_simple_http_retry_invoker(),
    )


def acquire_client_app_task(client) -> tuple[int, str] | None:  # type: ignore[no-untyped-def]
    """(task id, token) of a ClientApp task the SuperNode hands out now; None when it has none."""
    from flwr.supercore.constant import TaskType

    return _acquire_task(client, TaskType.CLIENT_APP)


def acquire_server_app_task(client) -> tuple[int, str] | None:  # type: ignore[no-untyped-def]
    """(task id, token) of a ServerApp task the SuperLink hands out now (as its SuperExec asks for
    one); None when it has none."""
    from flwr.supercore.constant import TaskType

    return _acquire_task(client, TaskType.SERVER_APP)


def _acquire_task(client, task_type) -> tuple[int, str] | None:  # type: ignore[no-untyped-def]
    from flwr.proto.runtime_pb2 import AcquireTaskRequest

    response = client.AcquireTask(AcquireTaskRequest(supported_task_types=[str(task_type)]))
    if response.HasField("task") and response.token:
        return int(response.task.task_id), str(response.token)
    return None


def load_supernode() -> None:
    """Import Flower's SuperNode (its command-line entry point and what it runs)."""
    import flwr.supernode.cli  # noqa: F401


def log_with_timestamps() -> None:
    """Flower's console log lines with their time and without colour codes, in this process (its
    SuperNode's and runtimes' logs are files here: the times show where a round went)."""
    from flwr.common.logger import update_console_handler

    update_console_handler(timestamps=True, colored=False)


def run_supernode(argv: list[str]) -> None:
    """Be a SuperNode: what the `flower-supernode ARGV...` command runs (its console-script entry
    point, which reads `sys.argv`), in this process."""
    import sys

    from flwr.supernode.cli import flower_supernode  # the `flower-supernode` console script

    sys.argv = ["flower-supernode", *argv]
    flower_supernode()


def load_server_app_runtime() -> None:
    """Import Flower's ServerApp runtime (it pulls in the SuperLink's state modules: seconds on a busy
    host), so a worker can pay for it before its task arrives."""
    import flwr.superlink.runtime.run_serverapp  # noqa: F401


def run_server_app_task(runtime_api_address: str, token: str, root_certificates: bytes | None) -> None:
    """Run an acquired ServerApp task in this process with Flower's own ServerApp runtime (what
    `flwr-serverapp --token` runs): pull its inputs, install the app package into FLWR_HOME, load
    the ServerApp (a module already imported is used as it is), run it, push its outcome. Ends the
    process (Flower exits with the task's status)."""
    from queue import Queue

    from flwr.superlink.runtime.run_serverapp import run_serverapp

    run_serverapp(
        runtime_api_address=runtime_api_address,
        log_queue=Queue(),
        token=token,
        insecure=root_certificates is None,
        certificates=root_certificates,
        parent_pid=None,
        runtime_dependency_install=False,
    )


def start_task_heartbeat(client) -> Callable[[], None]:  # type: ignore[no-untyped-def]
    """Start telling the SuperNode the task is alive; returns the function that stops it."""
    from flwr.supercore.heartbeat import HeartbeatSender, make_task_heartbeat_fn_http

    heartbeat = HeartbeatSender(make_task_heartbeat_fn_http(client))
    heartbeat.start()
    return heartbeat.stop


def pull_task_input(client, *, first_wait_s: float, max_wait_s: float):  # type: ignore[no-untyped-def]
    """(message, context, app id) of the acquired task, as Flower's `pull_task_input` gets them, with
    the waits between pulls of a message's missing parts starting at `first_wait_s` (Flower: 1 s)."""
    from flwr.app import Message
    from flwr.common.serde import context_from_proto, run_from_proto
    from flwr.proto.node_pb2 import Node
    from flwr.proto.runtime_pb2 import PullAppMessagesRequest, PullTaskInputRequest
    from flwr.supercore.inflatable.inflatable_protobuf_utils import (
        make_confirm_message_received_fn_protobuf,
        make_pull_object_fn_protobuf,
    )
    from flwr.supercore.inflatable.inflatable_utils import pull_and_inflate_object_from_tree

    task_input = client.PullTaskInput(PullTaskInputRequest())
    set_task_identity(task_id=task_input.task_id, run_id=task_input.run.run_id, node_id=task_input.context.node_id)
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
        initial_backoff=first_wait_s,
        backoff_cap=max_wait_s,
    )
    # The deflated message does not carry its own id (its object id), as in Flower's version.
    set_message_id(message, tree.object_id)
    return message, context, str(run.fab_id)


def push_reply(client, reply, context) -> None:  # type: ignore[no-untyped-def]
    """Send the task's reply message back through the Runtime API."""
    from flwr.supernode.runtime.run_clientapp import push_message

    push_message(client, reply, context)


def push_task_output(client, context, *, completed: bool, details: str) -> None:  # type: ignore[no-untyped-def]
    """End the task: completed, or failed with `details`."""
    from flwr.common.constant import SubStatus
    from flwr.supernode.runtime.run_clientapp import push_task_output as flower_push_task_output

    flower_push_task_output(
        client=client, context=context, sub_status=SubStatus.COMPLETED if completed else SubStatus.FAILED, details=details
    )


# -- the SuperLink's Control API and the app package (following a deployment run) ----------------------


@dataclass(frozen=True)
class RunState:
    finished: bool
    completed: bool  # finished, and finished as completed
    sub_status: str  # Flower's sub-status of a finished run ("completed", "failed", "stopped"), else ""
    details: str


def control_client(address: str, *, root_certificates: bytes | None):  # type: ignore[no-untyped-def]
    """An HTTP client of a SuperLink's Control API (plain HTTP when `root_certificates` is None)."""
    from flwr.supercore.control import ControlHttpClient
    from flwr.supercore.interceptors import RuntimeVersionHttpInterceptor

    return ControlHttpClient.from_server_address(
        server_address=address,
        insecure=root_certificates is None,
        root_certificates=root_certificates,
        interceptors=[RuntimeVersionHttpInterceptor(component_name="flwr CLI")],
    )


def control_api_answers(client) -> bool:  # type: ignore[no-untyped-def]
    """Whether the SuperLink's Control API answers an HTTP request (any answer, a refusal included:
    it asks for run 0, which no run has)."""
    import httpx
    from flwr.proto.control_pb2 import ListRunsRequest

    try:
        client.ListRuns(ListRunsRequest(run_id=0))
    except httpx.HTTPStatusError:
        return True
    except httpx.TransportError:
        return False
    return True


def run_state(client, run_id: int) -> RunState | None:  # type: ignore[no-untyped-def]
    """Where run `run_id` stands on the SuperLink; None when the SuperLink does not know it;
    ConnectionError when the SuperLink does not answer."""
    import httpx
    from flwr.common.constant import Status, SubStatus
    from flwr.common.serde import run_from_proto
    from flwr.proto.control_pb2 import ListRunsRequest

    try:
        response = client.ListRuns(ListRunsRequest(run_id=run_id))
    except httpx.TransportError as error:
        raise ConnectionError(f"the SuperLink did not answer: {error}") from None
    if run_id not in response.run_dict:
        return None
    status = run_from_proto(response.run_dict[run_id]).status
    finished = status.status == Status.FINISHED
    return RunState(
        finished=finished,
        completed=finished and status.sub_status == SubStatus.COMPLETED,
        sub_status=str(status.sub_status or ""),
        details=str(status.details or ""),
    )


def build_app_package(app_dir: Path, parts: tuple[str, ...]) -> bytes:
    """The app package (FAB) holding `app_dir`'s pyproject.toml, .gitignore and the files under
    `parts` (its folders the app runs from), built by Flower's own FAB builder, whose .gitignore and
    include/exclude rules apply. `flwr run` would first walk all of `app_dir`, a checkout's virtual
    environment included: tens of thousands of files, seconds of CPU."""
    import os

    from flwr.cli.build import build_fab_from_files

    files: dict[str, Path] = {}
    for name in ("pyproject.toml", ".gitignore"):
        if (app_dir / name).is_file():
            files[name] = app_dir / name
    for part in parts:
        for folder, subfolders, names in os.walk(app_dir / part):
            subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
            for name in names:
                path = Path(folder) / name
                if not path.is_symlink():
                    files[path.relative_to(app_dir).as_posix()] = path
    return build_fab_from_files(files)[0]


def _control_request(method, request):  # type: ignore[no-untyped-def]
    """A Control API call; Flower's HTTP errors as RuntimeError (refused) or ConnectionError (no answer)."""
    import httpx

    try:
        return method(request)
    except httpx.HTTPStatusError as error:
        detail = " ".join(error.response.text.split())[:300]
        raise RuntimeError(f"HTTP {error.response.status_code}: {detail}") from None
    except httpx.TransportError as error:
        raise ConnectionError(f"no answer: {error}") from None


def register_supernode(client, public_key_pem: bytes) -> int:  # type: ignore[no-untyped-def]
    """Register a SuperNode's public key (PEM) with the SuperLink, as `flwr supernode register` does;
    the node id it gets."""
    from flwr.proto.control_pb2 import RegisterNodeRequest

    response = _control_request(client.RegisterNode, RegisterNodeRequest(public_key=public_key_pem))
    if not response.node_id:
        raise RuntimeError("the SuperLink did not register the SuperNode key")
    return int(response.node_id)


def start_run(client, app_package: bytes, run_config: dict[str, str]) -> int:  # type: ignore[no-untyped-def]
    """Start a run of `app_package` with these run-config overrides, as `flwr run APP CONNECTION
    --run-config FILE` asks the SuperLink (no federation, no simulation options); its run id."""
    import hashlib

    from flwr.common.serde import fab_to_proto, user_config_to_proto
    from flwr.proto.control_pb2 import StartRunRequest
    from flwr.supercore.fab import Fab

    fab = Fab(hashlib.sha256(app_package).hexdigest(), app_package, {})
    response = _control_request(
        client.StartRun,
        StartRunRequest(fab=fab_to_proto(fab), override_config=user_config_to_proto(run_config), federation=""),
    )
    if not response.HasField("run_id"):
        raise RuntimeError("the SuperLink did not start the run")
    return int(response.run_id)


def server_app_has_main(app) -> bool:  # type: ignore[no-untyped-def]
    """Whether a ServerApp registered a main function (`@app.main()`, Flower's Message API); one
    without (a legacy strategy or `server_fn`) drives the grid with the legacy message types."""
    return app._main is not None


def client_app_message_types(app) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The message types a ClientApp registered with its decorators (`train.default`, ...); none for
    a legacy `client_fn` app."""
    return tuple(app._registered_funcs)
