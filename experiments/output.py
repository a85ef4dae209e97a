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
        markdown_path.write_text(f"# {title}\n\n{frame.to_markdown(index=False, floatfmt='.4g')}\n")
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
