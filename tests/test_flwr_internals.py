"""Flower's non-public names live in simulator/flower/flwr_internals.py only; each one it uses is
checked here against the installed Flower, so a new pin that moves or changes one fails here by name.

CodeCarbon's counterpart is simulator/probes/codecarbon_compat.py: no other module uses a non-public
CodeCarbon name (its contract tests: tests/test_codecarbon_contract.py).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import flwr
import pytest
from flwr.app import Error, Message, RecordDict
from test_layers import REPO_ROOT, source_modules

from simulator.flower import flwr_internals

QUARANTINE = {
    "flwr": "simulator/flower/flwr_internals.py",
    "codecarbon": "simulator/probes/codecarbon_compat.py",
}
# Flower's public API: these modules' `__all__`. CodeCarbon's: the top-level package's `__all__`.
PUBLIC_MODULES = {
    "flwr": ("flwr.app", "flwr.serverapp", "flwr.serverapp.strategy", "flwr.clientapp", "flwr.clientapp.mod",
             "flwr.simulation", "flwr.common"),
    "codecarbon": ("codecarbon",),
}
# Non-public CodeCarbon names used outside the quarantine module, each as (file, name): none.
KNOWN_CODECARBON_USES: set[tuple[str, str]] = set()


# -- the quarantine ---------------------------------------------------------------------------------------


def _public_names(library: str) -> set[str]:
    names = set()
    for module_name in PUBLIC_MODULES[library]:
        module = importlib.import_module(module_name)
        names.update(f"{module_name}.{name}" for name in getattr(module, "__all__", ()))
    return names


def _private_attributes(library: str) -> set[str]:
    """Underscore names (not dunders) of the library's public classes: what a subclass or a caller
    must not reach for."""
    found = set()
    for module_name in PUBLIC_MODULES[library]:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name, None)
            if inspect.isclass(value):
                found.update(a for a in dir(value) if a.startswith("_") and not a.startswith("__"))
    return found


def _private_uses(path: Path, library: str, public: set[str], private_attributes: set[str]) -> set[str]:
    """Non-public names of `library` that the file at `path` uses: imports outside the public API,
    writes into an object's `__dict__`, and a library class's underscore attributes (by attribute
    access or as a getattr/setattr name)."""
    uses = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == library:
            for alias in node.names:
                qualified = f"{node.module}.{alias.name}"
                if qualified not in public:
                    uses.add(qualified)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == library and alias.name != library:
                    uses.add(alias.name)
        elif isinstance(node, ast.Attribute) and node.attr in private_attributes:
            uses.add(node.attr)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("getattr", "setattr", "hasattr"):
            if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value in private_attributes:
                uses.add(str(node.args[1].value))
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "__dict__":
            uses.add("__dict__[...]")
    return uses


def _uses_outside_quarantine(library: str) -> set[tuple[str, str]]:
    public, private_attributes = _public_names(library), _private_attributes(library)
    if library == "codecarbon":  # CodeCarbon's tracker keeps its hardware in underscore attributes
        private_attributes |= {"_hardware", "_tdp", "_mode", "_cpu_count", "_tracking_mode"}
    found = set()
    for path in source_modules(REPO_ROOT).values():
        relative = path.relative_to(REPO_ROOT).as_posix()
        if relative in QUARANTINE.values():
            continue
        text = path.read_text(encoding="utf-8")
        if library not in text and not (library == "flwr" and "__dict__" in text):
            continue
        found.update((relative, use) for use in _private_uses(path, library, public, private_attributes))
    return found


def test_no_module_outside_the_quarantine_uses_a_private_flower_name():
    uses = _uses_outside_quarantine("flwr")
    assert not uses, "non-public Flower names outside simulator/flower/flwr_internals.py:\n" + "\n".join(
        f"{path}: {name}" for path, name in sorted(uses)
    )


def test_codecarbon_private_names_are_only_the_listed_known_uses():
    uses = _uses_outside_quarantine("codecarbon")
    new = uses - KNOWN_CODECARBON_USES
    assert not new, "non-public CodeCarbon names outside simulator/probes/codecarbon_compat.py:\n" + "\n".join(
        f"{path}: {name}" for path, name in sorted(new)
    )
    gone = KNOWN_CODECARBON_USES - uses
    assert not gone, "listed CodeCarbon uses that are gone; delete them from KNOWN_CODECARBON_USES:\n" + "\n".join(
        f"{path}: {name}" for path, name in sorted(gone)
    )


def test_the_scan_sees_a_private_import_an_attribute_and_a_dict_write(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from flwr.supercore.run import Run\nfrom flwr.app import Message\n"
        "def f(strategy, message):\n    strategy._construct_messages()\n    message.metadata.__dict__['x'] = 1\n"
    )
    uses = _private_uses(module, "flwr", _public_names("flwr"), _private_attributes("flwr"))
    assert uses == {"flwr.supercore.run.Run", "_construct_messages", "__dict__[...]"}


# -- the contracts: what flwr_internals relies on in the installed Flower --------------------------------


def _parameters(function, *names: str) -> None:
    present = inspect.signature(function).parameters
    missing = [name for name in names if name not in present]
    assert not missing, (
        f"Flower {flwr.__version__}: {function.__module__}.{function.__qualname__} has no parameter(s) {missing}; "
        "simulator/flower/flwr_internals.py passes them"
    )


def test_flower_is_the_series_the_internals_were_written_for():
    assert flwr.__version__.startswith(flwr_internals.FLOWER_SERIES + "."), (
        f"Flower {flwr.__version__} installed; simulator/flower/flwr_internals.py was written against "
        f"{flwr_internals.FLOWER_SERIES}: check every contract in this file before moving the pin"
    )


def test_a_new_message_takes_its_sender_and_run_from_the_task_identity():
    flwr_internals.set_task_identity(task_id=7, run_id=3, node_id=5)
    message = Message(RecordDict(), dst_node_id=9, message_type="train")
    assert (message.metadata.src_node_id, message.metadata.run_id, message.metadata.dst_node_id) == (5, 3, 9)
    flwr_internals.set_task_identity(task_id=8, run_id=4, node_id=6)
    assert Message(RecordDict(), dst_node_id=9, message_type="train").metadata.src_node_id == 6


def test_a_message_id_can_be_given_and_a_reply_points_back_to_it():
    flwr_internals.set_task_identity(task_id=1, run_id=1, node_id=1)
    message = Message(RecordDict(), dst_node_id=9, message_type="train")
    flwr_internals.set_message_id(message, "id-123")
    assert message.metadata.message_id == "id-123"
    assert Message(RecordDict(), reply_to=message).metadata.reply_to_message_id == "id-123"


def test_an_empty_run_carries_its_id():
    assert flwr_internals.empty_run(41).run_id == 41


def test_error_codes_are_flowers_and_distinct():
    from flwr.common.constant import ErrorCode

    codes = {
        flwr_internals.ERROR_CLIENT_APP_RAISED: ErrorCode.CLIENT_APP_RAISED_EXCEPTION,
        flwr_internals.ERROR_LOAD_CLIENT_APP: ErrorCode.LOAD_CLIENT_APP_EXCEPTION,
        flwr_internals.ERROR_NODE_UNAVAILABLE: ErrorCode.NODE_UNAVAILABLE,
    }
    assert len(codes) == 3 and all(isinstance(code, int) and code == flower for code, flower in codes.items())
    assert Error(flwr_internals.ERROR_CLIENT_APP_RAISED, "x").code == ErrorCode.CLIENT_APP_RAISED_EXCEPTION


def test_fedavg_screens_replies_into_valid_and_errors():
    from flwr.app import ArrayRecord, MetricRecord
    from flwr.serverapp.strategy import FedAvg

    flwr_internals.set_task_identity(task_id=1, run_id=1, node_id=1)
    sent = Message(RecordDict(), dst_node_id=9, message_type="train")
    flwr_internals.set_message_id(sent, "sent")
    good = Message(RecordDict({"arrays": ArrayRecord(), "metrics": MetricRecord({"num-examples": 3})}), reply_to=sent)
    failed = Message(Error(flwr_internals.ERROR_CLIENT_APP_RAISED, "boom"), reply_to=sent)
    valid, errors = flwr_internals.check_replies(FedAvg(), [good, failed], is_train=True)
    assert valid == [good] and errors == [failed]


def test_the_runtime_api_the_silo_worker_speaks():
    from flwr.common.constant import SubStatus
    from flwr.common.serde import context_from_proto, run_from_proto
    from flwr.proto.node_pb2 import Node
    from flwr.proto.runtime_pb2 import AcquireTaskRequest, PullAppMessagesRequest, PullTaskInputRequest
    from flwr.supercore.constant import TaskType
    from flwr.supercore.heartbeat import HeartbeatSender, make_task_heartbeat_fn_http
    from flwr.supercore.inflatable.inflatable_protobuf_utils import (
        make_confirm_message_received_fn_protobuf,
        make_pull_object_fn_protobuf,
    )
    from flwr.supercore.inflatable.inflatable_utils import pull_and_inflate_object_from_tree
    from flwr.supercore.interceptors import RuntimeTokenHttpInterceptor, RuntimeVersionHttpInterceptor
    from flwr.supercore.retry import make_simple_http_retry_invoker
    from flwr.supercore.runtime import RuntimeHttpClient
    from flwr.supernode.runtime.run_clientapp import push_message, push_task_output

    _parameters(RuntimeHttpClient.from_server_address, "server_address", "insecure", "root_certificates",
                "interceptors", "retry_invoker")
    for method in ("AcquireTask", "PullTaskInput", "PullMessages", "PullObject", "ConfirmMessageReceived", "close"):
        assert hasattr(RuntimeHttpClient, method), f"Flower {flwr.__version__}: RuntimeHttpClient has no {method}"
    _parameters(RuntimeVersionHttpInterceptor, "component_name")
    _parameters(RuntimeTokenHttpInterceptor, "token")
    _parameters(pull_and_inflate_object_from_tree, "return_type", "initial_backoff", "backoff_cap")
    _parameters(push_message, "message", "context")
    _parameters(push_task_output, "client", "context", "sub_status", "details")
    _parameters(HeartbeatSender, "heartbeat_fn")
    for function in (make_task_heartbeat_fn_http, make_simple_http_retry_invoker, make_pull_object_fn_protobuf,
                     make_confirm_message_received_fn_protobuf, context_from_proto, run_from_proto):
        assert callable(function)
    assert list(AcquireTaskRequest(supported_task_types=[str(TaskType.CLIENT_APP)]).supported_task_types) == [
        str(TaskType.CLIENT_APP)
    ]
    assert PullTaskInputRequest() is not None and PullAppMessagesRequest() is not None
    assert Node(node_id=3).node_id == 3
    assert {SubStatus.COMPLETED, SubStatus.FAILED} <= {v for k, v in vars(SubStatus).items() if k.isupper()}


def test_the_control_api_that_starts_and_follows_a_deployment_run():
    from flwr.cli.build import build_fab_from_files
    from flwr.common.constant import Status, SubStatus
    from flwr.common.serde import fab_to_proto, user_config_to_proto
    from flwr.proto.control_pb2 import ListRunsRequest, RegisterNodeRequest, StartRunRequest
    from flwr.supercore.control import ControlHttpClient
    from flwr.supercore.fab import Fab

    _parameters(ControlHttpClient.from_server_address, "server_address", "insecure", "root_certificates",
                "interceptors")
    for method in ("ListRuns", "RegisterNode", "StartRun"):
        assert hasattr(ControlHttpClient, method), f"Flower {flwr.__version__}: ControlHttpClient has no {method}"
    assert ListRunsRequest(run_id=5).run_id == 5
    assert RegisterNodeRequest(public_key=b"pem").public_key == b"pem"
    request = StartRunRequest(fab=fab_to_proto(Fab("hash", b"zip", {})), override_config=user_config_to_proto(
        {"run-dir": "/runs/x"}), federation="")
    assert request.fab.hash_str == "hash" and request.fab.content == b"zip"
    assert Status.FINISHED and SubStatus.COMPLETED
    _parameters(build_fab_from_files, "files")


def test_a_control_api_that_is_not_there_does_not_answer():
    from simulator.deployment.processes import free_port

    client = flwr_internals.control_client(f"127.0.0.1:{free_port()}", root_certificates=None)
    try:
        assert flwr_internals.control_api_answers(client) is False
    finally:
        client.close()


def test_the_app_package_is_built_by_flower_from_the_app_folders_only(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "demoapp"\nversion = "1.0.0"\n[tool.flwr.app]\npublisher = "demo"\n'
        '[tool.flwr.app.components]\nserverapp = "demo.server:app"\nclientapp = "demo.client:app"\n'
    )
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "server.py").write_text("app = None\n")
    (tmp_path / ".venv").mkdir()  # never walked
    (tmp_path / ".venv" / "big.py").write_text("x = 1\n")
    import io
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(flwr_internals.build_app_package(tmp_path, ("demo",)))).namelist()
    assert "demo/server.py" in names and "pyproject.toml" in names
    assert not any(name.startswith(".venv") for name in names)


def test_the_runtimes_the_deployment_workers_run():
    from flwr.supercore.constant import TaskType
    from flwr.superlink.runtime.run_serverapp import run_serverapp
    from flwr.supernode.cli import flower_supernode

    _parameters(run_serverapp, "runtime_api_address", "log_queue", "token", "insecure", "certificates",
                "parent_pid", "runtime_dependency_install")
    assert callable(flower_supernode)
    assert str(TaskType.SERVER_APP) and str(TaskType.SERVER_APP) != str(TaskType.CLIENT_APP)


def test_the_log_handler_the_deployment_children_timestamp():
    from flwr.common.logger import update_console_handler

    _parameters(update_console_handler, "timestamps", "colored")


def test_a_bundle_part_keeps_the_bundles_metadata_with_its_own_type():
    flwr_internals.set_task_identity(task_id=1, run_id=4, node_id=1)
    bundle = Message(RecordDict(), dst_node_id=9, message_type="train.silocarbon_bundle", group_id="3")
    flwr_internals.set_message_id(bundle, "bundle-id")
    part = flwr_internals.message_of_type(bundle, RecordDict(), "evaluate")
    assert part.metadata.message_type == "evaluate" and bundle.metadata.message_type == "train.silocarbon_bundle"
    assert (part.metadata.message_id, part.metadata.run_id, part.metadata.group_id) == ("bundle-id", 4, "3")
    assert Message(RecordDict(), reply_to=part).metadata.reply_to_message_id == "bundle-id"


def test_message_api_apps_are_told_from_legacy_ones():
    from flwr.clientapp import ClientApp
    from flwr.serverapp import ServerApp

    client, server = ClientApp(), ServerApp()
    assert flwr_internals.client_app_message_types(client) == () and not flwr_internals.server_app_has_main(server)
    client.train()(lambda message, context: message)
    client.evaluate("holdout")(lambda message, context: message)
    server.main()(lambda grid, context: None)
    assert flwr_internals.client_app_message_types(client) == ("train.default", "evaluate.holdout")
    assert flwr_internals.server_app_has_main(server)


@pytest.mark.parametrize("name", flwr_internals.__all__)
def test_every_name_the_internals_offer_exists(name):
    assert hasattr(flwr_internals, name)
