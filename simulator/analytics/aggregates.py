"""Mergeable partial aggregates: computed inside a silo, merged on the server, finished once.

A `Partial` holds only what its statistic needs (a count; an exact sum and sum of squares; histogram
counts), so what leaves a silo is the size of the aggregate, never of the data, and never a row's
value (disclosure rules: simulator/analytics/disclosure.py). Merging is exact: counts and histogram
counts are integers, sums are exact rationals (simulator.analytics.exact). Quantiles are bounded
from the merged histogram over public bin edges: the true q-quantile lies between the two edges
reported, guaranteed (not a probabilistic rank error).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
from flwr.app import ConfigRecord

from simulator.analytics.exact import exact_sum, exact_sum_of_squares
from simulator.scenario.query_spec import BINNED_KINDS, FEATURE_PREFIX, LABEL_COLUMN, QuerySpec

ALL_GROUP = "all"


@dataclass(frozen=True)
class Partial:
    """One group's aggregate in one silo (or merged over several). Fields a statistic does not need
    stay None."""

    count: int
    total: Fraction | None = None
    total_of_squares: Fraction | None = None
    histogram: tuple[int, ...] | None = None  # per bin, then below LOW, then above HIGH
    suppressed_silos: int = 0  # silos that withheld this group (fewer rows than the minimum group size)


@dataclass(frozen=True)
class Histogram:
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    below: int  # values < LOW
    above: int  # values > HIGH
    withheld: int = 0  # rows in cells a silo withheld (fewer than the minimum group size there)


@dataclass(frozen=True)
class QuantileBound:
    """Where the q-quantile (the value of rank max(1, ceil(q x n)) in sorted order) lies: between
    `low` and `high` (bin edges; None: beyond the histogram's range, unbounded on that side), and a
    linear interpolation inside one bin where the bin is known."""

    q: float
    low: float | None
    high: float | None
    estimate: float | None


@dataclass(frozen=True)
class GroupResult:
    group: str  # "all", or "label=<value>"
    count: int
    value: float | None = None  # the sum, mean or population variance; None when empty
    sample_variance: float | None = None  # variance only (n - 1 in the denominator)
    histogram: Histogram | None = None
    quantiles: tuple[QuantileBound, ...] = ()
    suppressed_silos: int = 0  # silos that withheld this group: the result covers the others


@dataclass(frozen=True)
class QueryResult:
    spec: QuerySpec
    groups: tuple[GroupResult, ...]

    def group(self, name: str) -> GroupResult:
        for result in self.groups:
            if result.group == name:
                return result
        raise KeyError(name)


# -- inside a silo -------------------------------------------------------------------------------


def column_values(spec: QuerySpec, features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The queried column as float64 (a plain count has no column: the labels stand in)."""
    if spec.column is None or spec.column == LABEL_COLUMN:
        return np.asarray(labels, dtype=np.float64)
    return np.asarray(features[:, int(spec.column[len(FEATURE_PREFIX) :])], dtype=np.float64)


def local_partials(spec: QuerySpec, features: np.ndarray, labels: np.ndarray) -> dict[str, Partial]:
    """One silo's partial aggregates, by group ("all", or "label=<value>" for each label present)."""
    values = column_values(spec, features, labels)
    if spec.group_by is None:
        return {ALL_GROUP: partial_of(spec, values)}
    return {
        group_name(label): partial_of(spec, values[labels == label])
        for label in np.unique(labels).tolist()
    }


def group_name(label: int) -> str:
    return f"{LABEL_COLUMN}={int(label)}"


def partial_of(spec: QuerySpec, values: np.ndarray) -> Partial:
    count = int(values.size)
    if spec.kind == "count":
        return Partial(count)
    if spec.kind in ("sum", "mean"):
        return Partial(count, total=exact_sum(values))
    if spec.kind == "variance":
        return Partial(count, total=exact_sum(values), total_of_squares=exact_sum_of_squares(values))
    if spec.kind in BINNED_KINDS:
        return Partial(count, histogram=histogram_counts(spec, values))
    raise ValueError(f"no partial aggregate for '{spec.kind}'")


def histogram_counts(spec: QuerySpec, values: np.ndarray) -> tuple[int, ...]:
    """Counts per bin [e_i, e_i+1) (the last bin closed at HIGH), then below LOW, then above HIGH."""
    edges = np.asarray(spec.bin_edges())
    assert spec.bins is not None
    inside = (values >= edges[0]) & (values <= edges[-1])
    positions = np.minimum(np.searchsorted(edges, values[inside], side="right") - 1, spec.bins - 1)
    counts = np.bincount(positions, minlength=spec.bins)
    below = int(np.count_nonzero(values < edges[0]))
    above = int(np.count_nonzero(values > edges[-1]))
    return (*(int(c) for c in counts), below, above)


# -- on the wire ---------------------------------------------------------------------------------


SUPPRESSED_KEY = "suppressed"
# The fields a silo's partial carries for each statistic (its wire schema; nothing else is accepted).
WIRE_FIELDS = {
    "count": ("count",),
    "sum": ("count", "sum"),
    "mean": ("count", "sum"),
    "variance": ("count", "sum", "sum-sq"),
    "histogram": ("count", "hist"),
    "quantile": ("count", "hist"),
}


def partial_to_record(partial: Partial) -> ConfigRecord:
    """Only the fields present: exact sums as 'numerator/denominator' text; a withheld group as the
    one flag `suppressed`."""
    if partial.suppressed_silos:
        return ConfigRecord({SUPPRESSED_KEY: True})
    record = ConfigRecord({"count": partial.count})
    if partial.total is not None:
        record["sum"] = str(partial.total)
    if partial.total_of_squares is not None:
        record["sum-sq"] = str(partial.total_of_squares)
    if partial.histogram is not None:
        record["hist"] = list(partial.histogram)
    return record


def partial_from_record(record: ConfigRecord) -> Partial:
    if SUPPRESSED_KEY in record:
        return Partial(0, suppressed_silos=1)

    def optional(key: str, convert):
        return convert(record[key]) if key in record else None

    return Partial(
        count=int(record["count"]),
        total=optional("sum", Fraction),
        total_of_squares=optional("sum-sq", Fraction),
        histogram=optional("hist", lambda counts: tuple(int(c) for c in counts)),
    )


# -- on the server -------------------------------------------------------------------------------


def merge(first: Partial, second: Partial) -> Partial:
    """The partial of the union of the two groups' data."""
    return Partial(
        count=first.count + second.count,
        total=_added(first.total, second.total),
        total_of_squares=_added(first.total_of_squares, second.total_of_squares),
        histogram=_added_counts(first.histogram, second.histogram),
        suppressed_silos=first.suppressed_silos + second.suppressed_silos,
    )


def merge_all(partials_by_silo: list[dict[str, Partial]]) -> dict[str, Partial]:
    """Merge the silos' groups by name; a group missing in a silo simply contributes nothing."""
    merged: dict[str, Partial] = {}
    for partials in partials_by_silo:
        for name, partial in partials.items():
            merged[name] = merge(merged[name], partial) if name in merged else partial
    return dict(sorted(merged.items(), key=lambda item: _group_order(item[0])))


def finish(spec: QuerySpec, merged: dict[str, Partial]) -> QueryResult:
    """Turn merged partials into the statistic, rounding exact rationals to float once."""
    if not merged:
        merged = {ALL_GROUP: Partial(0)}
    return QueryResult(spec, tuple(_finished_group(spec, name, partial) for name, partial in merged.items()))


def _finished_group(spec: QuerySpec, name: str, partial: Partial) -> GroupResult:
    result = GroupResult(name, partial.count, suppressed_silos=partial.suppressed_silos)
    n = partial.count
    if spec.kind == "sum":
        return replace(result, value=float(partial.total or 0) if n else None)
    if spec.kind == "mean":
        return replace(result, value=float(partial.total / n) if n else None)
    if spec.kind == "variance":
        if not n:
            return result
        assert partial.total is not None and partial.total_of_squares is not None
        squared_deviations = partial.total_of_squares - partial.total * partial.total / n
        sample = float(squared_deviations / (n - 1)) if n > 1 else None
        return replace(result, value=float(squared_deviations / n), sample_variance=sample)
    if spec.kind in BINNED_KINDS:
        assert spec.bins is not None
        counts = partial.histogram or (0,) * (spec.bins + 2)
        withheld = n - sum(counts)
        histogram = Histogram(spec.bin_edges(), counts[:-2], below=counts[-2], above=counts[-1], withheld=withheld)
        if spec.kind == "histogram":
            return replace(result, histogram=histogram)
        if not n:
            return result
        return replace(result, quantiles=tuple(quantile_bound(histogram, n, q) for q in spec.quantiles))
    return result  # count


def quantile_bound(histogram: Histogram, n: int, q: float) -> QuantileBound:
    """Bounds on the q-quantile of n rows from their histogram (cells withheld: anywhere).

    The q-quantile is the value of rank m = max(1, ceil(q x n)). It is at least edge e when fewer
    than m rows can lie below e (at most the rows counted below e plus every withheld row), and at
    most e when at least m rows are counted at or below e.
    """
    rank = max(1, math.ceil(q * n))
    cells = histogram.counts
    known_below = [histogram.below + sum(cells[:index]) for index in range(len(cells))]
    known_below.append(histogram.below + sum(cells))  # at or below HIGH: the last bin is closed
    edges = histogram.edges
    low_index = max((i for i, known in enumerate(known_below) if known + histogram.withheld < rank), default=None)
    high_index = min((i for i, known in enumerate(known_below) if known >= rank), default=None)
    low = None if low_index is None else edges[low_index]
    high = None if high_index is None else edges[high_index]
    estimate = None
    if low_index is not None and high_index == low_index + 1 and histogram.withheld == 0:
        inside = cells[low_index]
        estimate = low + (rank - known_below[low_index] - 0.5) / inside * (high - low)
    return QuantileBound(q, low, high, estimate)


def _added(first: Fraction | None, second: Fraction | None) -> Fraction | None:
    if first is None or second is None:
        return first if second is None else second
    return first + second


def _added_counts(first: tuple[int, ...] | None, second: tuple[int, ...] | None) -> tuple[int, ...] | None:
    if first is None or second is None:
        return first if second is None else second
    if len(first) != len(second):
        raise ValueError("histograms with different bins cannot be merged")
    return tuple(a + b for a, b in zip(first, second))


def _group_order(name: str) -> tuple[int, float, str]:
    if name == ALL_GROUP:
        return (0, 0.0, name)
    _, _, value = name.partition("=")
    return (1, float(value), name)
