"""What users read: no eaten brackets, no NaN in tables, no overlapping figure labels, no stage title
that contradicts the text beside it."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from conftest import REPO_ROOT

from experiments.compare_strategies import Summary, plot_pareto
from experiments.output import MISSING, markdown_table, place_labels, text_table
from simulator.planner.federate_or_centralize import plan_inventory
from simulator.planner.inventory import Inventory
from simulator.terminal import print_strategies


def test_strategies_prints_the_bracketed_section_name(capsys):
    print_strategies()
    assert "([strategy] name = ...)" in capsys.readouterr().out


def test_tables_say_none_where_a_value_does_not_exist():
    frame = pd.DataFrame({"silos": [2, 4], "break-even total data GB": [math.nan, 123.456], "note": ["x", "y"]})
    for text in (markdown_table(frame), text_table(frame)):
        assert "nan" not in text.lower() and MISSING in text and "123.5" in text


def test_figure_labels_of_a_tight_cluster_do_not_overlap():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    names = [f"strategy-{index}" for index in range(19)]
    spread = np.random.default_rng(0)  # 17 points within 5 % of each other, two far away
    points = [(1 + 0.05 * spread.random(), 0.9 + 0.01 * spread.random()) for _ in range(17)] + [(0.5, 0.7), (1.6, 0.95)]
    axis.plot(*zip(*points), "o")
    axis.margins(0.25)
    figure.tight_layout()
    labels = place_labels(axis, points, names)
    renderer = figure.canvas.get_renderer()
    figure.canvas.draw()
    boxes = [Text.get_window_extent(label, renderer) for label in labels]  # the text alone, not its leader line
    overlapping = [(a, b) for i, a in enumerate(names) for j, b in enumerate(names) if i < j and boxes[i].overlaps(boxes[j])]
    assert overlapping == []
    plt.close(figure)


def test_the_pareto_figure_is_drawn_with_placed_labels(tmp_path):
    from dataclasses import MISSING, fields

    required = {field.name: 0.0 for field in fields(Summary) if field.default is MISSING}
    summaries = [
        Summary(**{**required, "variant": name, "skew": "iid", "accuracy_mean": 0.9, "co2_kg_mean": 1e-6})
        for name in ("fedavg", "fedprox", "fedadam")
    ]
    plot_pareto(tmp_path / "pareto.png", summaries)
    assert (tmp_path / "pareto.png").stat().st_size > 0


def test_the_plan_does_not_name_inference_as_the_deciding_stage(tmp_path):
    with Inventory(tmp_path / "inventory.sqlite") as store:
        store.import_toml(REPO_ROOT / "configs" / "enterprise_inventory.toml")
        snapshot = store.snapshot()
    plan = plan_inventory(snapshot)
    deciding = {application.deciding_stage_title for application in plan.applications}
    assert any("retraining" in title for title in deciding)  # the shipped inventory has such applications
    assert not any("inference" in title for title in deciding)


def test_the_documented_quantile_example_reads_a_pixel_that_varies():
    """docs/analytics-and-planning.md queries feature_21 over [0, 1]: on the default scenario's data that
    pixel takes many values inside the edges (a constant pixel would make every quantile 0)."""
    import re

    from simulator.data import build_federated_data
    from simulator.scenario.load import load_scenario

    page = (REPO_ROOT / "docs" / "analytics-and-planning.md").read_text()
    (column, low, high), = set(re.findall(r"'quantile:(feature_\d+):([\d.]+):([\d.]+):", page))
    data = build_federated_data(load_scenario())
    pooled_x, _ = data.pooled_train
    values = pooled_x[:, int(column.split("_")[1])]
    inside = values[(values >= float(low)) & (values <= float(high))]
    assert len(np.unique(inside)) >= 5 and inside.size / values.size > 0.95 and np.median(values) > 0
