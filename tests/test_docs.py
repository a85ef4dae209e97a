"""The documentation keeps up with the code: links and anchors resolve, generated tables are current,
the README's command table names every subcommand, and the tables written by hand name real keys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import typer
from conftest import REPO_ROOT

from simulator.cli import app
from simulator.docs_tables import GENERATORS, doc_files, regenerated
from simulator.scenario.lifecycle import LifecycleCentralConfig, LifecycleConfig, LifecycleSiloConfig
from simulator.scenario.load import validate_scenario
from simulator.scenario.schema import DeploymentConfig

DOCS = doc_files(REPO_ROOT)
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The text outside code blocks and inline code, where links are links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text (lower case, punctuation dropped, spaces
    to hyphens, repeats numbered)."""
    anchors: set[str] = set()
    for line in _FENCE.sub("", text).splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
        candidate, number = slug, 1
        while candidate in anchors:
            candidate, number = f"{slug}-{number}", number + 1
        anchors.add(candidate)
    return anchors


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in _LINK.findall(_prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            problems.append(f"{path.relative_to(REPO_ROOT)}: {target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked.read_text(encoding="utf-8")):
            problems.append(f"{path.relative_to(REPO_ROOT)}: {target}: no heading with that anchor")
    return problems


def test_every_relative_link_and_anchor_resolves():
    assert len(DOCS) >= 10
    problems = [problem for path in DOCS for problem in broken_links(path)]
    assert problems == []


def test_the_link_checker_sees_a_missing_file_and_a_missing_anchor(tmp_path, monkeypatch):
    monkeypatch.setattr("test_docs.REPO_ROOT", tmp_path)
    (tmp_path / "a.md").write_text("# Title: one (`x`)\n\n[ok](#title-one-x) [gone](b.md) [bad](#nope) `[code](c.md)`\n")
    assert broken_links(tmp_path / "a.md") == ["a.md: b.md: no such file", "a.md: #nope: no heading with that anchor"]


def test_generated_tables_are_current_and_all_present():
    found = set()
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        assert regenerated(text) == text, f"{path.relative_to(REPO_ROOT)} is out of date: run python -m simulator.docs_tables"
        found.update(re.findall(r"<!-- generated: ([a-z-]+) -->", text))
    assert found == set(GENERATORS)


def test_the_readme_command_table_lists_every_subcommand():
    group = typer.main.get_command(app)
    commands = {name for name, command in group.commands.items() if not command.hidden}
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    table = re.search(r"^\| command \|.*?(?=^\s*$)", readme, re.S | re.M)
    assert table is not None, "README.md has no table whose header starts with | command |"
    listed = set(re.findall(r"^\| `silocarbon ([a-z-]+)", table.group(0), re.M))
    assert listed == commands


def test_the_scenario_example_is_a_valid_scenario():
    text = (REPO_ROOT / "docs" / "scenario.md").read_text(encoding="utf-8")
    example = re.search(r"## Writing a scenario\n\n```toml\n(.*?)```", text, re.S)
    assert example is not None
    scenario = validate_scenario(tomllib.loads(example.group(1)), "docs/scenario.md")
    assert [silo.name for silo in scenario.silos] == ["paris", "mumbai"]


@pytest.mark.parametrize(
    ("page", "header", "models"),
    [
        ("lifecycle.md", "| key | meaning |", (LifecycleConfig, LifecycleCentralConfig, LifecycleSiloConfig)),
        ("deployment.md", "| key (`[deployment]`) | meaning |", (DeploymentConfig,)),
    ],
)
def test_keys_named_in_hand_written_tables_exist(page, header, models):
    text = (REPO_ROOT / "docs" / page).read_text(encoding="utf-8")
    table = text[text.index(header):].split("\n\n", 1)[0]
    known = {name for model in models for name in model.model_fields}
    named = set()
    for line in table.splitlines()[2:]:
        first, rest = line.split("|")[1], "|".join(line.split("|")[2:])
        named.update(key for key in re.findall(r"`([a-z_]+)`", first))
        if first.strip().startswith("`["):  # a section: the keys it lists (their values in parentheses)
            named.update(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", rest)))
    assert named and named <= known, sorted(named - known)


def test_docs_tables_help_explains_and_rewrites_nothing(capsys):
    from simulator.docs_tables import main

    before = {path: path.read_text(encoding="utf-8") for path in doc_files()}
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0 and "generated reference tables" in capsys.readouterr().out
    assert all(path.read_text(encoding="utf-8") == text for path, text in before.items())
