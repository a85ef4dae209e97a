"""`silocarbon run --app` with hostile or broken values: each is refused with one line naming `--app`
(exit status 2 through the command line), before any measurement starts and without a traceback."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO_ROOT, run_cli

from simulator.errors import InputError
from simulator.flower.app_loading import load_flower_apps

MODULES = {
    "raises_on_import": "raise RuntimeError('boom at import')\n",
    "exits_on_import": "import sys\nsys.exit(3)\n",
    "broken_syntax": "def (:\n",
    "lazy_attribute": "def __getattr__(name):\n    raise KeyError(name)\n",
    "legacy_apps": (
        "from flwr.clientapp import ClientApp\nfrom flwr.serverapp import ServerApp\n"
        "client = ClientApp()\nserver = ServerApp()\n"
        "message_client = ClientApp()\n@message_client.train()\ndef train(message, context):\n    return message\n"
    ),
}

CASES = [
    ("os:system,os:system", "'os:system' is a builtin_function_or_method, not a Flower ClientApp"),
    ("..os:system,os:system", "is not 'module:attribute'"),
    ("os:,os:sep", "is not 'module:attribute'"),
    ("os:path/../x,os:sep", "is not 'module:attribute'"),
    ("no_such_module_xyz:app,no_such_module_xyz:app", "module 'no_such_module_xyz' cannot be imported"),
    ("raises_on_import:a,raises_on_import:b", "importing module 'raises_on_import' raised RuntimeError: boom at import"),
    ("exits_on_import:a,exits_on_import:b", "importing module 'exits_on_import' raised SystemExit: 3"),
    ("broken_syntax:a,broken_syntax:b", "importing module 'broken_syntax' raised SyntaxError"),
    ("lazy_attribute:client,lazy_attribute:server", "reading 'client' raised KeyError"),
    ("legacy_apps:server,legacy_apps:server", "is a ServerApp, not a Flower ClientApp"),
    ("legacy_apps:client,legacy_apps:server", "registers no train function"),
    ("legacy_apps:message_client,legacy_apps:server", "has no main function"),
    ("legacy_apps:message_client,legacy_apps:message_client", "is a ClientApp, not a Flower ServerApp"),
]


@pytest.fixture
def hostile_modules(tmp_path, monkeypatch):
    for name, source in MODULES.items():
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.mark.parametrize(("spec", "message"), CASES)
def test_hostile_app_values_are_refused_naming_the_option(hostile_modules, spec, message):
    with pytest.raises(InputError, match="--app") as refused:
        load_flower_apps(spec)
    assert message in str(refused.value)


def test_a_pyproject_of_the_wrong_shape_is_refused(hostile_modules):
    folder = hostile_modules / "odd"
    folder.mkdir()
    (folder / "pyproject.toml").write_text("tool = 1\n")
    with pytest.raises(InputError, match=r"needs \[tool.flwr.app.components\]"):
        load_flower_apps(str(folder))
    (folder / "pyproject.toml").write_text("[tool.flwr.app]\ncomponents = 'x'\n")
    with pytest.raises(InputError, match=r"needs \[tool.flwr.app.components\]"):
        load_flower_apps(str(folder))
    (folder / "pyproject.toml").write_bytes(b"\xff\xfe not toml")
    with pytest.raises(InputError, match="cannot be read"):
        load_flower_apps(str(folder))


def test_through_the_command_line_exit_status_2_and_one_line(hostile_modules):
    scenario = REPO_ROOT / "examples" / "quickstart-digits" / "scenario.toml"
    done = run_cli("run", str(scenario), "--app", "raises_on_import:a,raises_on_import:b", cwd=hostile_modules)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "silocarbon: error: --app: importing module 'raises_on_import' raised RuntimeError: boom at import"
    ]
    assert not (hostile_modules / "runs").exists()  # refused before any run folder was made
