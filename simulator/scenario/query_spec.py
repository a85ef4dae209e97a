"""Query specs: a small text syntax for one federated statistic, parsed into a typed `QuerySpec`.

Forms (COLUMN is `feature_<i>` or `label`):

    count
    sum:COLUMN | mean:COLUMN | variance:COLUMN | min:COLUMN | max:COLUMN
    histogram:COLUMN:LOW:HIGH:BINS      fixed, equal-width bins [e_i, e_i+1) on [LOW, HIGH], the
                                        last one closed; values outside are counted below/above
    quantile:COLUMN:Q[,Q...]            approximate, from a KLL sketch (0 <= Q <= 1)

each optionally followed by ` by label` (one result per label value). The canonical text of a
spec (`QuerySpec.text`) is what travels to the silos, so a silo computes exactly what was asked.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from simulator.errors import InputError

MOMENT_KINDS = ("sum", "mean", "variance", "min", "max")
KINDS = ("count", *MOMENT_KINDS, "histogram", "quantile")
GROUP_COLUMNS = ("label",)
LABEL_COLUMN = "label"
FEATURE_PREFIX = "feature_"
MAX_HISTOGRAM_BINS = 10_000

ALLOWED_FORMS = (
    "count | sum:COLUMN | mean:COLUMN | variance:COLUMN | min:COLUMN | max:COLUMN | "
    "histogram:COLUMN:LOW:HIGH:BINS | quantile:COLUMN:Q[,Q...], optionally followed by ' by label'; "
    "COLUMN is feature_<i> or label"
)

_COLUMN_PATTERN = re.compile(r"^(label|feature_(0|[1-9][0-9]*))$")


@dataclass(frozen=True)
class QuerySpec:
    kind: str
    column: str | None = None  # None only for a plain `count`
    group_by: str | None = None
    low: float | None = None  # histogram only
    high: float | None = None
    bins: int | None = None
    quantiles: tuple[float, ...] = ()  # quantile only

    @property
    def text(self) -> str:
        """The canonical spec text: parsing it gives back this spec."""
        if self.kind == "count":
            head = "count"
        elif self.kind == "histogram":
            head = f"histogram:{self.column}:{self.low!r}:{self.high!r}:{self.bins}"
        elif self.kind == "quantile":
            head = f"quantile:{self.column}:" + ",".join(repr(q) for q in self.quantiles)
        else:
            head = f"{self.kind}:{self.column}"
        return head if self.group_by is None else f"{head} by {self.group_by}"

    def bin_edges(self) -> tuple[float, ...]:
        """The histogram's bin edges, the same on every silo (LOW + i x width, i = 0..BINS)."""
        assert self.low is not None and self.high is not None and self.bins is not None
        width = (self.high - self.low) / self.bins
        return tuple(self.low + index * width for index in range(self.bins)) + (self.high,)


def parse_spec(text: str) -> QuerySpec:
    """Parse one spec; a malformed one raises `InputError` naming the spec and the allowed forms."""
    body = " ".join(str(text).split())
    group_by = None
    if " by " in body:
        body, group_by = (part.strip() for part in body.rsplit(" by ", 1))
        if group_by not in GROUP_COLUMNS:
            _refuse(text, f"cannot group by '{group_by}' (allowed: {', '.join(GROUP_COLUMNS)})")
    parts = body.split(":")
    kind = parts[0].strip()
    if kind not in KINDS:
        _refuse(text, f"unknown statistic '{kind}'")
    if kind == "count":
        if len(parts) == 2:
            return QuerySpec("count", _column(text, parts[1]), group_by)
        if len(parts) != 1:
            _refuse(text, "count takes no argument or one COLUMN")
        return QuerySpec("count", None, group_by)
    if kind in MOMENT_KINDS:
        if len(parts) != 2:
            _refuse(text, f"{kind} takes exactly one COLUMN")
        return QuerySpec(kind, _column(text, parts[1]), group_by)
    if kind == "histogram":
        if len(parts) != 5:
            _refuse(text, "histogram takes COLUMN:LOW:HIGH:BINS")
        low, high = _number(text, parts[2], "LOW"), _number(text, parts[3], "HIGH")
        if not low < high:
            _refuse(text, f"LOW ({low}) must be below HIGH ({high})")
        bins = _integer(text, parts[4], "BINS")
        if not 1 <= bins <= MAX_HISTOGRAM_BINS:
            _refuse(text, f"BINS must be between 1 and {MAX_HISTOGRAM_BINS}")
        return QuerySpec("histogram", _column(text, parts[1]), group_by, low=low, high=high, bins=bins)
    # quantile
    if len(parts) != 3 or not parts[2].strip():
        _refuse(text, "quantile takes COLUMN:Q[,Q...]")
    quantiles = tuple(_number(text, q, "Q") for q in parts[2].split(","))
    if any(not 0.0 <= q <= 1.0 for q in quantiles):
        _refuse(text, "every Q must lie in [0, 1]")
    return QuerySpec("quantile", _column(text, parts[1]), group_by, quantiles=quantiles)


def check_columns(spec: QuerySpec, num_features: int) -> None:
    """Refuse a column the dataset does not have (feature_<i> with i >= the number of features)."""
    if spec.column is None or spec.column == LABEL_COLUMN:
        return
    index = int(spec.column[len(FEATURE_PREFIX) :])
    if index >= num_features:
        raise InputError(
            f"query spec '{spec.text}': unknown column '{spec.column}'; this dataset has "
            f"feature_0 .. feature_{num_features - 1} and label"
        )


def _column(text: str, value: str) -> str:
    column = value.strip()
    if not _COLUMN_PATTERN.match(column):
        _refuse(text, f"unknown column '{column}'")
    return column


def _number(text: str, value: str, what: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        _refuse(text, f"{what} '{value.strip()}' is not a number")
    if not math.isfinite(number):
        _refuse(text, f"{what} must be finite")
    return number


def _integer(text: str, value: str, what: str) -> int:
    stripped = value.strip()
    if not stripped.isdigit():
        _refuse(text, f"{what} '{stripped}' is not a whole number")
    return int(stripped)


def _refuse(text: str, problem: str):  # -> NoReturn
    raise InputError(f"query spec '{text}': {problem}; allowed forms: {ALLOWED_FORMS}")
