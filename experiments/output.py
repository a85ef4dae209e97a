"""What every experiment writes: tables as CSV and Markdown, figures as PNG, under results/<name>/.

Tables are pandas DataFrames whose column names carry their units; the Markdown copy is for reading,
the CSV for further work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures go to files; no display is needed

import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

RESULTS_ROOT = Path("results")
# What a table shows where a value does not exist (no break-even in the swept range, a metric a run
# did not report): a word, never pandas' "nan".
MISSING = "none"


def markdown_table(frame: pd.DataFrame) -> str:
    """The frame as a Markdown table: 4 significant digits, missing values as MISSING."""
    shown = frame.astype(object).where(frame.notna(), None)
    return shown.to_markdown(index=False, floatfmt=".4g", missingval=MISSING)


def text_table(frame: pd.DataFrame) -> str:
    """The frame as plain text for the terminal, likewise."""
    return frame.to_string(index=False, float_format=lambda value: f"{value:.4g}", na_rep=MISSING)


@dataclass
class ExperimentOutput:
    """The folder of one experiment and the files written into it, in order."""

    name: str
    root: Path = RESULTS_ROOT
    written: list[Path] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        path = self.root / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def table(self, frame: pd.DataFrame, stem: str, title: str) -> None:
        csv_path, markdown_path = self.folder / f"{stem}.csv", self.folder / f"{stem}.md"
        frame.to_csv(csv_path, index=False)
        markdown_path.write_text(f"# {title}\n\n{markdown_table(frame)}\n")
        self.written += [csv_path, markdown_path]

    def text(self, file_name: str, content: str) -> None:
        path = self.folder / file_name
        path.write_text(content)
        self.written.append(path)

    def png(self, data: bytes, stem: str) -> None:
        path = self.folder / f"{stem}.png"
        path.write_bytes(data)
        self.written.append(path)

    def figure(self, figure: Figure, stem: str) -> None:
        import matplotlib.pyplot as plt

        path = self.folder / f"{stem}.png"
        figure.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(figure)
        self.written.append(path)

    def print_written(self) -> None:
        print(f"Wrote {len(self.written)} files into {self.folder}/:")
        for path in self.written:
            print(f"  {path.name}")


# Offsets (typographic points) tried around a point for its label, nearest first.
_LABEL_RADII_PT = (3, 9, 15, 22, 30, 40, 52, 66, 82, 100)
_LABEL_DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))


def place_labels(axis, points: list[tuple[float, float]], labels: list[str], fontsize: float = 7) -> list:
    """Label each point where the label overlaps no other label and no point, inside the axes.

    Greedy, in the order given: offsets at growing distances in eight directions, the first free one
    taken; a label set away from its point gets a thin line to it. Call it once the figure's layout is
    final (after tight_layout): labels sit at fixed offsets in points, so a later resize of the axes
    moves the points apart or together under them. Returns the annotations."""
    from matplotlib.text import Text
    from matplotlib.transforms import Bbox

    figure = axis.figure
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    area = axis.get_window_extent(renderer)
    marks = [Bbox.from_bounds(x - 3, y - 3, 6, 6) for x, y in axis.transData.transform(points)]
    taken: list = []
    annotations = []
    for (x, y), label in zip(points, labels):
        chosen = None
        for radius in _LABEL_RADII_PT:
            for dx, dy in _LABEL_DIRECTIONS:
                annotation = axis.annotate(
                    label, (x, y), xytext=(dx * radius, dy * radius), textcoords="offset points", fontsize=fontsize,
                    ha="left" if dx > 0 else "right" if dx < 0 else "center",
                    va="bottom" if dy > 0 else "top" if dy < 0 else "center",
                    arrowprops=None if radius == _LABEL_RADII_PT[0] else {"arrowstyle": "-", "lw": 0.5, "color": "0.6"},
                )
                annotation.update_positions(renderer)  # where the offset puts the text (the arrow aside)
                box = Text.get_window_extent(annotation, renderer).expanded(1.04, 1.1)
                inside = area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
                if inside and not any(box.overlaps(other) for other in (*taken, *marks)):
                    chosen = (annotation, box)
                    break
                annotation.remove()
            if chosen is not None:
                break
        if chosen is None:  # no free place within reach: the nearest one, overlapping
            chosen = (axis.annotate(label, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=fontsize), None)
        annotation, box = chosen
        if box is not None:
            taken.append(box)
        annotations.append(annotation)
    return annotations
