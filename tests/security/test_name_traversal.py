"""Issue 13, items 3 and 7: names are data, never paths; a scenario's name and silo count are bounded.

A silo named `../PWNED` used to make `deploy certs` write its key outside the target folder. Such a
name is now refused at validation (exit 2, one line naming the key and the pattern), and where a
name becomes a path the result is checked to stay inside its folder, whatever the name.
"""

from __future__ import annotations

import pytest

from conftest import run_cli, tiny_scenario_dict
from simulator.scenario.load import validate_scenario
from simulator.errors import InputError

HOSTILE_SCENARIO = """name = "hostile"
[model]
name = "logreg"
[[silos]]
name = "paris"
country = "FRA"
share = 0.5
[[silos]]
name = "{silo}"
country = "USA"
share = 0.5
"""


@pytest.mark.parametrize("silo", ["../PWNED", "..", "a/b", "<script>alert(1)</script>", "x" * 65])
def test_a_hostile_silo_name_is_refused_in_one_line(tmp_path, silo):
    (tmp_path / "hostile.toml").write_text(HOSTILE_SCENARIO.format(silo=silo))
    done = run_cli("validate", "hostile.toml", cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and "key 'silos.1.name'" in done.stderr and "A-Za-z0-9_.-" in done.stderr


def test_deploy_certs_writes_nothing_outside_its_folder(tmp_path):
    (tmp_path / "hostile.toml").write_text(HOSTILE_SCENARIO.format(silo="../../PWNED"))
    done = run_cli("deploy", "certs", "out", "--scenario", "hostile.toml", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    written = sorted(path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*") if path.is_file())
    assert written == ["hostile.toml"], written


def test_where_a_name_becomes_a_path_it_stays_in_its_folder(tmp_path):
    """Belt and braces: the path helpers refuse a hostile name even if validation were bypassed."""
    from simulator.deployment.certs import write_supernode_keys
    from simulator.deployment.processes import ProcessSupervisor

    for name in ("../PWNED", "..", "x/../../PWNED"):
        with pytest.raises(InputError):
            write_supernode_keys(tmp_path / "keys", name)
    for name in ("../PWNED", "x/../../PWNED"):  # a log file named after the silo (no process starts)
        with pytest.raises(InputError):
            ProcessSupervisor({}, tmp_path / "logs").start(f"supernode {name}", ["true"])
    assert not any(tmp_path.parent.glob("PWNED*")) and not any(tmp_path.rglob("*PWNED*"))


@pytest.mark.parametrize("name", ["x" * 65, "..", "a b", "run/../../x"])
def test_a_scenario_name_is_bounded(name):
    with pytest.raises(InputError, match=r"key 'name': must match"):
        validate_scenario(tiny_scenario_dict(name=name), "tiny")
    validate_scenario(tiny_scenario_dict(name="x" * 64), "tiny")


def test_the_silo_count_is_capped_with_a_clear_error():
    from simulator.scenario.schema import MAX_SILOS
    silos = [{"name": f"s{index}", "country": "FRA", "share": 1.0} for index in range(MAX_SILOS + 1)]
    with pytest.raises(InputError, match=rf"key 'silos': {MAX_SILOS + 1} silos; at most {MAX_SILOS}"):
        validate_scenario(tiny_scenario_dict(silos=silos), "tiny")
    validate_scenario(tiny_scenario_dict(silos=silos[:MAX_SILOS]), "tiny")
