"""Disclosure control: what a silo may let out of a query, applied inside the silo before it replies.

Threshold rules in the style of statistical agencies (and the minimum-count rules OpenDP and
SmartNoise apply before release), with k = the minimum group size:
- a group (all rows, or one label) with fewer than k rows in a silo is withheld by that silo: it
  sends only "suppressed", no count and no statistic; the server reports how many silos withheld it;
- a histogram cell (a bin, or below LOW / above HIGH) holding fewer than k of a silo's rows is sent
  as 0; the server reports the rows so withheld per group (the group's count minus its cells);
- min and max are refused (simulator/scenario/query_spec.py): each is one row's own value;
- quantiles come from histograms over public bin edges, so what the server learns is counts of at
  least k rows per cell, never a row's value; the bin count is capped (spec.MAX_HISTOGRAM_BINS).
The server checks the same rules on every reply (simulator/analytics/silo_query.py) and refuses a
reply that breaks them. Threshold rules do not stop differencing across many overlapping queries;
the README says so.
"""

from __future__ import annotations

from dataclasses import replace

from simulator.analytics.aggregates import Partial
from simulator.scenario.query_spec import BINNED_KINDS, DEFAULT_MIN_GROUP_SIZE, MIN_GROUP_SIZE_FLOOR, QuerySpec

__all__ = ["DEFAULT_MIN_GROUP_SIZE", "MIN_GROUP_SIZE_FLOOR", "disclosure_problem", "protect", "withheld_group"]


def protect(spec: QuerySpec, partials: dict[str, Partial], min_group_size: int) -> dict[str, Partial]:
    """The partials a silo may send: small groups withheld, small histogram cells sent as 0."""
    if min_group_size < MIN_GROUP_SIZE_FLOOR:
        raise ValueError(f"minimum group size {min_group_size} is below {MIN_GROUP_SIZE_FLOOR}")
    return {name: _protected(spec, partial, min_group_size) for name, partial in partials.items()}


def _protected(spec: QuerySpec, partial: Partial, min_group_size: int) -> Partial:
    if partial.count < min_group_size:
        return withheld_group()
    if spec.kind in BINNED_KINDS and partial.histogram is not None:
        cells = tuple(count if count >= min_group_size else 0 for count in partial.histogram)
        return replace(partial, histogram=cells)
    return partial


def withheld_group() -> Partial:
    """What a silo sends for a group it withholds: nothing but the fact."""
    return Partial(0, suppressed_silos=1)


def disclosure_problem(spec: QuerySpec, partial: Partial, min_group_size: int) -> str | None:
    """Why a silo's (unmerged) partial breaks the rules above, or None."""
    if partial.suppressed_silos:
        return None
    if partial.count < min_group_size:
        return f"a group of {partial.count} rows (the minimum group size is {min_group_size})"
    if partial.histogram is not None:
        small = [count for count in partial.histogram if 0 < count < min_group_size]
        if small:
            return f"a histogram cell of {small[0]} rows (the minimum group size is {min_group_size})"
        if sum(partial.histogram) > partial.count:
            return f"histogram cells holding {sum(partial.histogram)} rows in a group of {partial.count}"
    return None
