"""Mergeable partial aggregates: computed inside a silo, merged on the server, finished once.

A `Partial` holds only what its statistic needs (a count; an exact sum and sum of squares; min and
max; histogram counts; a KLL sketch), so what leaves a silo is the size of the aggregate, never of
the data. Merging is exact for everything but quantiles: counts and histogram counts are integers,
sums are exact rationals (simulator.analytics.exact), min/max are order-free. Quantiles come from
Apache DataSketches' KLL sketch, whose merge keeps the sketch's rank-error guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
from datasketches import kll_doubles_sketch
from flwr.app import ConfigRecord

from simulator.analytics.exact import exact_sum, exact_sum_of_squares
from simulator.scenario.query_spec import FEATURE_PREFIX, LABEL_COLUMN, QuerySpec

# KLL accuracy parameter. DataSketches states the single-sided normalized rank error for k = 200 as
# about 1.33 % (the 99th percentile of the maximum error measured in its trials): a reported
# q-quantile has a true rank within q +- 0.0133 with 99 % confidence. `kll_rank_error()` reads it
# from the library rather than repeating the constant.
KLL_K = 200
ALL_GROUP = "all"


def kll_rank_error(k: int = KLL_K) -> float:
    """DataSketches' single-sided normalized rank error of a KLL sketch with parameter k."""
    return float(kll_doubles_sketch.get_normalized_rank_error(k, False))


@dataclass(frozen=True)
class Partial:
    """One group's aggregate in one silo (or merged over several). Fields a statistic does not need
    stay None."""

    count: int
    total: Fraction | None = None
    total_of_squares: Fraction | None = None
    minimum: float | None = None
    maximum: float | None = None
    histogram: tuple[int, ...] | None = None  # per bin, then below LOW, then above HIGH
    sketch: bytes | None = None


@dataclass(frozen=True)
class Histogram:
    edges: tuple[float, ...]
    counts: tuple[int, ...]
    below: int  # values < LOW
    above: int  # values > HIGH


@dataclass(frozen=True)
class GroupResult:
    group: str  # "all", or "label=<value>"
    count: int
    value: float | None = None  # the sum, mean, population variance, min or max; None when empty
    sample_variance: float | None = None  # variance only (n - 1 in the denominator)
    histogram: Histogram | None = None
    quantiles: tuple[tuple[float, float], ...] = ()  # (q, value) pairs
    rank_error: float | None = None  # quantile only: the sketch's stated single-sided rank error


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
    if spec.kind == "min":
        return Partial(count, minimum=float(values.min()) if count else None)
    if spec.kind == "max":
        return Partial(count, maximum=float(values.max()) if count else None)
    if spec.kind == "histogram":
        return Partial(count, histogram=histogram_counts(spec, values))
    sketch = kll_doubles_sketch(KLL_K)
    sketch.update(values)
    return Partial(count, sketch=sketch.serialize())


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


def partial_to_record(partial: Partial) -> ConfigRecord:
    """Only the fields present: exact sums as 'numerator/denominator' text, the sketch as bytes."""
    record = ConfigRecord({"count": partial.count})
    if partial.total is not None:
        record["sum"] = str(partial.total)
    if partial.total_of_squares is not None:
        record["sum-sq"] = str(partial.total_of_squares)
    if partial.minimum is not None:
        record["min"] = partial.minimum
    if partial.maximum is not None:
        record["max"] = partial.maximum
    if partial.histogram is not None:
        record["hist"] = list(partial.histogram)
    if partial.sketch is not None:
        record["kll"] = partial.sketch
    return record


def partial_from_record(record: ConfigRecord) -> Partial:
    def optional(key: str, convert):
        return convert(record[key]) if key in record else None

    return Partial(
        count=int(record["count"]),
        total=optional("sum", Fraction),
        total_of_squares=optional("sum-sq", Fraction),
        minimum=optional("min", float),
        maximum=optional("max", float),
        histogram=optional("hist", lambda counts: tuple(int(c) for c in counts)),
        sketch=optional("kll", bytes),
    )


# -- on the server -------------------------------------------------------------------------------


def merge(first: Partial, second: Partial) -> Partial:
    """The partial of the union of the two groups' data."""
    return Partial(
        count=first.count + second.count,
        total=_added(first.total, second.total),
        total_of_squares=_added(first.total_of_squares, second.total_of_squares),
        minimum=_extreme(min, first.minimum, second.minimum),
        maximum=_extreme(max, first.maximum, second.maximum),
        histogram=_added_counts(first.histogram, second.histogram),
        sketch=_merged_sketch(first.sketch, second.sketch),
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
    result = GroupResult(name, partial.count)
    n = partial.count
    if spec.kind == "sum":
        return replace(result, value=float(partial.total or 0))
    if spec.kind == "mean":
        return replace(result, value=float(partial.total / n) if n else None)
    if spec.kind == "variance":
        if not n:
            return result
        assert partial.total is not None and partial.total_of_squares is not None
        squared_deviations = partial.total_of_squares - partial.total * partial.total / n
        sample = float(squared_deviations / (n - 1)) if n > 1 else None
        return replace(result, value=float(squared_deviations / n), sample_variance=sample)
    if spec.kind == "min":
        return replace(result, value=partial.minimum)
    if spec.kind == "max":
        return replace(result, value=partial.maximum)
    if spec.kind == "histogram":
        assert spec.bins is not None
        counts = partial.histogram or (0,) * (spec.bins + 2)
        histogram = Histogram(spec.bin_edges(), counts[:-2], below=counts[-2], above=counts[-1])
        return replace(result, histogram=histogram)
    if spec.kind == "quantile":
        if not n or partial.sketch is None:
            return replace(result, rank_error=kll_rank_error())
        sketch = kll_doubles_sketch.deserialize(partial.sketch)
        values = tuple((q, float(sketch.get_quantile(q, True))) for q in spec.quantiles)
        return replace(result, quantiles=values, rank_error=float(sketch.normalized_rank_error(False)))
    return result  # count


def _added(first: Fraction | None, second: Fraction | None) -> Fraction | None:
    if first is None or second is None:
        return first if second is None else second
    return first + second


def _extreme(pick, first: float | None, second: float | None) -> float | None:
    if first is None or second is None:
        return first if second is None else second
    return pick(first, second)


def _added_counts(first: tuple[int, ...] | None, second: tuple[int, ...] | None) -> tuple[int, ...] | None:
    if first is None or second is None:
        return first if second is None else second
    if len(first) != len(second):
        raise ValueError("histograms with different bins cannot be merged")
    return tuple(a + b for a, b in zip(first, second))


def _merged_sketch(first: bytes | None, second: bytes | None) -> bytes | None:
    if first is None or second is None:
        return first if second is None else second
    sketch = kll_doubles_sketch.deserialize(first)
    sketch.merge(kll_doubles_sketch.deserialize(second))
    return sketch.serialize()


def _group_order(name: str) -> tuple[int, float, str]:
    if name == ALL_GROUP:
        return (0, 0.0, name)
    _, _, value = name.partition("=")
    return (1, float(value), name)
