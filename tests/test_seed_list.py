"""A scenario's `seeds = [...]` list: validated in one line naming the key, run by `silocarbon run` as a
group like `--seeds`, and replaced by `--seeds` / `--repeats` on the command line."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli, tiny_scenario, tiny_scenario_dict
from simulator.errors import InputError
from simulator.repeats import group_seeds, with_seed
from simulator.results.group import GROUP_FILE
from simulator.scenario.load import load_scenario


@pytest.mark.parametrize("value", ["[]", "[1, 1]", "[true]", "3", "[-1]", "['a']", "[1.5]", f"[{2**63}]",
                                   "[" + ", ".join(map(str, range(1001))) + "]"])
def test_a_bad_seed_list_is_refused_naming_the_key(value):
    with pytest.raises(InputError, match=r"key 'seeds': .*distinct whole numbers in 0\.\.") as refused:
        load_scenario(None, [f"seeds={value}"])
    assert "\n" not in str(refused.value)


def test_a_bad_seed_list_exits_2_in_one_line(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({**tiny_scenario_dict(), "seeds": [4, 2, 4]}))
    done = run_cli("validate", "s.json", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "key 'seeds'" in done.stderr and "seed 4 is listed twice" in done.stderr and "Traceback" not in done.stderr


def test_the_command_line_replaces_the_scenario_list():
    listed = tiny_scenario(seed=7, seeds=[3, 9])
    assert group_seeds(listed) == [3, 9]
    assert group_seeds(listed, seeds="1,2") == [1, 2]
    assert group_seeds(listed, repeats=2) == [7, 8]  # --repeats counts from `seed`, as without a list
    assert group_seeds(tiny_scenario()) is None  # no list, no flag: one run
    with pytest.raises(InputError, match="not both"):
        group_seeds(listed, repeats=2, seeds="1")
    # A member is one run: its scenario (and so its manifest) holds its seed and no list.
    member = with_seed(listed, 9)
    assert (member.seed, member.seeds) == (9, None)


def test_run_measures_the_scenario_list_as_a_group(tmp_path):
    raw = tiny_scenario_dict(probes={"host_country": "USA", "idle_baseline": "off"}, lifecycle={"draws": 200})
    (tmp_path / "listed.json").write_text(json.dumps({**raw, "seeds": [5, 2]}))
    done = run_cli("run", "listed.json", "--quiet", "--runs-dir", "runs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (group_dir,) = (tmp_path / "runs").iterdir()
    assert group_dir.name.endswith("-tiny-2-seeds") and done.stdout.strip() == str(group_dir.relative_to(tmp_path))
    group = json.loads((group_dir / GROUP_FILE).read_text())
    assert group["seeds"] == [5, 2] and group["status"] == "complete"
    for seed in (5, 2):
        manifest = json.loads((group_dir / f"seed-{seed}" / "manifest.json").read_text())
        assert manifest["seed"] == seed and manifest["scenario"]["seeds"] is None
