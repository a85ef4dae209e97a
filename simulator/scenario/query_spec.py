"""Query specs: a small text syntax for one federated statistic, parsed into a typed `QuerySpec`.

Forms (COLUMN is `feature_<i>` or `label`):

    count
    sum:COLUMN | mean:COLUMN | variance:COLUMN
    histogram:COLUMN:LOW:HIGH:BINS      fixed, equal-width bins [e_i, e_i+1) on [LOW, HIGH], the
                                        last one closed; values outside are counted below/above
    quantile:COLUMN:LOW:HIGH:BINS:Q[,Q...]
                                        bounds on each q-quantile (0 <= Q <= 1) from the histogram
                                        of those public bins: no raw value is needed or sent

each optionally followed by ` by label` (one result per label value). The canonical text of a
spec (`QuerySpec.text`) is what travels to the silos, so a silo computes exactly what was asked.
`min` and `max` are refused: each is one row's value (simulator/analytics/disclosure.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from simulator.errors import InputError

MOMENT_KINDS = ("sum", "mean", "variance")
BINNED_KINDS = ("histogram", "quantile")
KINDS = ("count", *MOMENT_KINDS, *BINNED_KINDS)
# Statistics that return one row's own value, whatever the group size: never computed.
REFUSED_KINDS = ("min", "max")
GROUP_COLUMNS = ("label",)
LABEL_COLUMN = "label"
FEATURE_PREFIX = "feature_"
# Minimum group size k of the disclosure rules (simulator/analytics/disclosure.py). Statistical
# agencies' threshold rules use minimum cell sizes of about 3 to 10; 10 is the cautious end.
DEFAULT_MIN_GROUP_SIZE = 10
# k = 1 would release single rows: the smallest k accepted.
MIN_GROUP_SIZE_FLOOR = 2
# A silo's own floor, in its node config (`--node-config min-group-size=20`): the server's scenario
# can raise the minimum group size a silo applies, never lower it below the silo's own.
NODE_MIN_GROUP_SIZE = "min-group-size"
# Finer bins hold fewer rows each (and cells under the minimum group size are withheld anyway); 100
# bins give percentile resolution, which is what a histogram or a quantile summary is for.
MAX_HISTOGRAM_BINS = 100

ALLOWED_FORMS = (
    "count | sum:COLUMN | mean:COLUMN | variance:COLUMN | histogram:COLUMN:LOW:HIGH:BINS | "
    "quantile:COLUMN:LOW:HIGH:BINS:Q[,Q...], optionally followed by ' by label'; "
    "COLUMN is feature_<i> or label"
)

_COLUMN_PATTERN = re.compile(r"^(label|feature_(0|[1-9][0-9]*))$")


@dataclass(frozen=True)
class QuerySpec:
    kind: str
    column: str | None = None  # None only for a plain `count`
    group_by: str | None = None
    low: float | None = None  # histogram and quantile
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
            head = f"quantile:{self.column}:{self.low!r}:{self.high!r}:{self.bins}:" + ",".join(
                repr(q) for q in self.quantiles
            )
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
    if kind in REFUSED_KINDS:
        _refuse(
            text,
            f"'{kind}' is refused: it is one row's own value; bounds on the extremes come from "
            "quantile:COLUMN:LOW:HIGH:BINS:0,1",
        )
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
        low, high, bins = _bins(text, parts[2:5])
        return QuerySpec("histogram", _column(text, parts[1]), group_by, low=low, high=high, bins=bins)
    # quantile
    if len(parts) != 6 or not parts[5].strip():
        _refuse(text, "quantile takes COLUMN:LOW:HIGH:BINS:Q[,Q...]")
    low, high, bins = _bins(text, parts[2:5])
    quantiles = tuple(_number(text, q, "Q") for q in parts[5].split(","))
    if any(not 0.0 <= q <= 1.0 for q in quantiles):
        _refuse(text, "every Q must lie in [0, 1]")
    return QuerySpec("quantile", _column(text, parts[1]), group_by, low=low, high=high, bins=bins, quantiles=quantiles)


def _bins(text: str, parts: list[str]) -> tuple[float, float, int]:
    low, high = _number(text, parts[0], "LOW"), _number(text, parts[1], "HIGH")
    if not low < high:
        _refuse(text, f"LOW ({low}) must be below HIGH ({high})")
    bins = _integer(text, parts[2], "BINS")
    if not 1 <= bins <= MAX_HISTOGRAM_BINS:
        _refuse(text, f"BINS must be between 1 and {MAX_HISTOGRAM_BINS}")
    if not all(math.isfinite(edge) for edge in QuerySpec("histogram", None, None, low, high, bins).bin_edges()):
        _refuse(text, "the bin edges must be finite numbers")
    return low, high, bins


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
