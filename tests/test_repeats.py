"""`silocarbon run --repeats` / `--seeds`: a group folder of real tiny runs, its summary with 95 %
intervals, and `runs`, `report` and `compare` on groups and on their members."""

from __future__ import annotations

import io
import json

import pytest
import torch
from rich.console import Console

from conftest import run_cli, tiny_scenario, tiny_scenario_dict
from simulator.errors import InputError
from simulator.repeats import parse_seeds, refresh_group_summary, run_seeds, seeds_for
from simulator.results.group import GROUP_FILE, summarize_group
from simulator.results.group_report import write_group_report
from simulator.results.report import write_report
from simulator.results.run_tables import group_comparison_rows, measured_summary, print_runs
from simulator.results.run_view import read_run


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """`silocarbon run --repeats 2` on the tiny scenario, through the real command line."""
    folder = tmp_path_factory.mktemp("repeats")
    scenario_file = folder / "tiny.json"
    scenario_file.write_text(json.dumps(tiny_scenario_dict(probes={"host_country": "USA", "idle_baseline": "off"},
                                                           lifecycle={"draws": 500})))
    result = run_cli("run", str(scenario_file), "--repeats", "2", "--runs-dir", "runs", cwd=folder)
    assert result.returncode == 0, result.stderr
    (group_dir,) = (folder / "runs").iterdir()
    return group_dir, result.stdout


def test_repeats_write_one_run_per_seed_and_a_group_summary(group):
    group_dir, printed = group
    assert group_dir.name.endswith("-tiny-2-seeds")
    members = [group_dir / "seed-0", group_dir / "seed-1"]
    for member in members:
        manifest = json.loads((member / "manifest.json").read_text())
        assert manifest["status"] == "complete" and manifest["seed"] == int(member.name.split("-")[1])
    # Different seeds, different models (the split, the initial weights and the batch order move).
    first, second = (torch.load(m / "final_model.pt", weights_only=True) for m in members)
    assert any(not torch.equal(first[name], second[name]) for name in first)
    raw = json.loads((group_dir / GROUP_FILE).read_text())
    assert raw["kind"] == "group" and raw["seeds"] == [0, 1] and raw["status"] == "complete"
    accuracy = next(q for q in raw["quantities"] if q["key"] == "fl.accuracy")
    runs = [read_run(m) for m in members]
    assert accuracy["values"] == [run.fl.accuracy for run in runs] and accuracy["n"] == 2
    assert accuracy["low"] <= accuracy["centre"] <= accuracy["high"] and "Student t" in accuracy["method"]
    energy = next(q for q in raw["quantities"] if q["key"] == "fl.energy_kwh")
    assert energy["unit"] == "kWh" and energy["std"] > 0
    assert "ratio.energy_kwh" in {q["key"] for q in raw["quantities"]}
    # The group's lifecycle draws the two measured profiles, and says so.
    assert "2 measured runs" in raw["lifecycle"]["measurement_noise"]
    assert "95 % interval" in printed and "Student t" in printed and "Measurement noise in the intervals" in printed
    for name in ("report.html", "report.md", "report_files/training_intervals.png", "report_files/accuracy_per_round.png"):
        assert (group_dir / name).is_file(), name


def test_group_report_shows_intervals(group):
    group_dir, _ = group  # `run` wrote the report
    markdown = (group_dir / "report.md").read_text()
    assert "| FL training energy | kWh |" in markdown and "95 % interval" in markdown
    assert "CL / FL, paired by seed" in markdown and "Measurement noise in the intervals: drawn from 2" in markdown
    html = (group_dir / "report.html").read_text()
    assert "data:image/png;base64," in html and "standard deviation" in html
    assert write_group_report(group_dir).markdown.read_text() == markdown  # `report GROUP` writes the same


def test_runs_lists_the_group_and_its_members(group):
    group_dir, _ = group
    buffer = io.StringIO()
    listing = print_runs(group_dir.parent, Console(file=buffer, width=200))
    ids = [run.run_id for run in listing.runs]
    assert ids == [group_dir.name, f"{group_dir.name}/seed-0", f"{group_dir.name}/seed-1"]
    assert [run.kind for run in listing.runs] == ["group", "member", "member"]
    assert listing.runs[0].seeds == 2 and listing.runs[0].fl_accuracy_pm is not None
    assert "±" in buffer.getvalue() and not listing.warnings


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    """A second group, in-process (`run_seeds`): the same seeds, another learning rate, a target accuracy."""
    return run_seeds(tiny_scenario(probes__idle_baseline="off", training__learning_rate=0.1,
                                   training__target_accuracy=0.8, training__max_rounds=4,
                                   lifecycle={"draws": 500}), [0, 1], tmp_path_factory.mktemp("other"))


def test_compare_groups_with_ratio_intervals(group, other):
    group_dir, _ = group
    rows = {row.quantity: row for row in group_comparison_rows(measured_summary(group_dir),
                                                               measured_summary(other.group_dir))}
    energy = rows["FL training energy"]
    assert energy.unit == "kWh" and "[" in energy.a and "[" in energy.b
    assert energy.ratio_b_over_a.endswith("]") and "x [" in energy.ratio_b_over_a  # paired: the same seeds
    accuracy = summarize_group(other.group_dir).quantity("fl.accuracy")
    assert rows["FL test accuracy"].b.startswith(f"{accuracy.centre:.4g} [")
    # A group against one of its members (a run, no spread of its own): the ratio has no interval.
    member = group_comparison_rows(measured_summary(group_dir), measured_summary(group_dir / "seed-0"))
    assert next(r for r in member if r.quantity == "FL training energy").ratio_b_over_a.endswith("x")


def test_compare_through_the_command_line_and_a_member_report(group):
    group_dir, _ = group
    runs_dir = group_dir.parent
    compared = run_cli("compare", group_dir.name, f"{group_dir.name}/seed-1", "--runs-dir", str(runs_dir),
                       cwd=runs_dir)
    assert compared.returncode == 0, compared.stderr
    assert "mean [95 % interval]" in compared.stdout and "kg CO2e" in compared.stdout
    assert write_report(group_dir / "seed-0").html.is_file()  # a member alone is a run


def test_bad_seed_options_are_refused(tmp_path):
    both = run_cli("run", "--repeats", "2", "--seeds", "0,1", cwd=tmp_path)
    assert both.returncode == 2 and "not both" in both.stderr
    letters = run_cli("run", "--seeds", "a,b", cwd=tmp_path)
    assert letters.returncode == 2 and "--seeds 'a,b'" in letters.stderr and "Traceback" not in letters.stderr
    assert not (tmp_path / "runs").exists()
    assert parse_seeds("3..5") == [3, 4, 5] and parse_seeds("7, 2") == [7, 2]
    for text in ("1,1", "5..3", "", "-1"):
        with pytest.raises(InputError):
            parse_seeds(text)
    assert seeds_for(10, 3) == [10, 11, 12]
    with pytest.raises(InputError):
        seeds_for(0, 0)


def test_a_group_whose_run_stopped_is_summarized_again_from_its_members(other, tmp_path):
    import shutil

    copy = tmp_path / other.group_dir.name
    shutil.copytree(other.group_dir, copy)
    # What a killed `run --repeats` leaves: group.json as written at the start.
    (copy / GROUP_FILE).write_text(json.dumps({"kind": "group", "scenario_name": "tiny", "seeds": [0, 1],
                                               "status": "running"}))
    refresh_group_summary(copy)
    raw = json.loads((copy / GROUP_FILE).read_text())
    assert raw["status"] == "complete" and raw["members"] == ["seed-0", "seed-1"] and raw["lifecycle"]
    assert {q["key"] for q in raw["quantities"]} >= {"to_target.fl.energy_kwh", "ratio.to_target.energy_kwh"}
    markdown = write_group_report(copy).markdown.read_text()
    assert "## To the target accuracy 0.8" in markdown and (copy / "report_files/to_target_intervals.png").is_file()
    estimated = run_cli("estimate", "--ledger", str(copy), "--draws", "200", cwd=tmp_path)
    assert estimated.returncode == 0, estimated.stderr
    assert "Measurement noise in the intervals: drawn from 2 measured runs" in " ".join(estimated.stdout.split())


def test_progress_bars_of_a_group_reuse_their_bars_and_count_the_seeds():
    import re

    from simulator.progress_bar import ProgressBars

    buffer = io.StringIO()
    bars = ProgressBars(Console(file=buffer, force_terminal=True, width=100))
    with bars:
        for index, seed in enumerate((4, 5), start=1):
            bars.repeat_started(index, 2, seed)
            bars.federation_started(3, ["a", "b"])
            bars.exchange_started(1, "train", 2)
            bars.silo_finished(1, "train", "a")
            bars.federation_finished()  # a target reached early: the bar still ends full
            bars.centralized_started(6)
            bars.centralized_epoch_finished(2)
            bars.centralized_finished()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", buffer.getvalue())
    assert "seeds (now seed 5)" in text and "2/2" in text and "6/6" in text
    assert len(bars._progress.tasks) == 4  # seeds, rounds, silos, epochs: one each, not one per seed


def test_a_hostile_group_file_is_refused_in_one_line(group, tmp_path):
    from simulator.results.run_index import RunIndex

    group_dir, _ = group
    raw = json.loads((group_dir / GROUP_FILE).read_text())
    forged = tmp_path / "runs" / "20990101T000000Z-forged-2-seeds"
    forged.mkdir(parents=True)
    (forged / GROUP_FILE).write_text(json.dumps({**raw, "members": ["../../elsewhere"]}))
    listing = RunIndex(tmp_path / "runs").refresh()
    assert not listing.runs and any("members must be folder names" in w for w in listing.warnings)
    (forged / GROUP_FILE).write_text(json.dumps({**raw, "seeds": "all"}))
    with pytest.raises(InputError, match="no member run is complete|lists no seeds"):
        summarize_group(forged)
    reported = run_cli("report", str(forged), cwd=tmp_path)
    assert reported.returncode == 2 and "Traceback" not in reported.stderr
