"""Bad scenarios: one line naming the key and the allowed values, exit status 2, no traceback."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

DEFAULT_LIKE = """
name = "bad"
[model]
name = "logreg"
[training]
rounds = 1
[[silos]]
name = "a"
country = "FRA"
share = 0.5
[[silos]]
name = "b"
country = "USA"
share = 0.5
"""

CASES = {
    "unknown key": (DEFAULT_LIKE + "\n[central]\ncolour = 'blue'\n", [], "central.colour", "allowed: country"),
    "unknown country": (DEFAULT_LIKE.replace('"FRA"', '"ZZZ"'), [], "silos.0.country", "ISO 3166 alpha-3"),
    "zero rounds": (DEFAULT_LIKE, ["--set", "training.rounds=0"], "training.rounds", "greater than or equal to 1"),
    "negative rounds": (DEFAULT_LIKE.replace("rounds = 1", "rounds = -3"), [], "training.rounds", "greater than or equal to 1"),
    "more silos than samples": (
        DEFAULT_LIKE.replace('[model]', '[data]\ndataset = "synthetic"\nsynthetic_samples = 10\n[model]')
        + "".join(f'[[silos]]\nname = "s{i}"\ncountry = "DEU"\nshare = 1\n' for i in range(10)),
        [],
        "silos",
        "use fewer silos",
    ),
    "unknown strategy": (DEFAULT_LIKE + '\n[strategy]\nname = "fedmagic"\n', [], "strategy.name", "fedavg, fedavgm, fedmedian"),
    "unknown dataset": (DEFAULT_LIKE.replace("[model]", '[data]\ndataset = "imagenet"\n[model]'), [], "data.dataset",
                        "allowed: digits | breast_cancer | wine | synthetic"),
    "malformed TOML": ("name = 'x'\n[training\nrounds = 2\n", [], "not valid TOML", "line 2"),
    "unknown --set key": (DEFAULT_LIKE, ["--set", "training.epochz=3"], "training.epochz", "allowed: rounds"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_scenario_gives_one_line_and_exit_2(case, tmp_path):
    text, extra, must_name, must_allow = CASES[case]
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    result = run_cli("run", str(path), *extra, "--quiet", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert must_name in lines[0] and must_allow in lines[0], lines[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_missing_scenario_file_is_named(tmp_path):
    result = run_cli("run", "nowhere.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "silocarbon: error: scenario file 'nowhere.toml' does not exist"
