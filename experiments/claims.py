"""Findings stated as claims, with the numbers that decide them and a verdict computed from them.

A claim's criterion is written out before any number is looked at; the verdict is the criterion
applied to the numbers, so a run that contradicts a finding says REFUTED.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Verdict(str, Enum):
    """What an interval says about a claim: wholly inside its band, wholly outside, or across an edge."""

    SUPPORTED = "SUPPORTED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True)
class Band:
    """The values of a deciding quantity for which a claim holds: [low, high], either end open (inf)."""

    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"band [{self.low}, {self.high}] is empty")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def text(self) -> str:
        if math.isinf(self.low) and math.isinf(self.high):
            return "any value"
        if math.isinf(self.low):
            return f"<= {self.high:.4g}"
        if math.isinf(self.high):
            return f">= {self.low:.4g}"
        return f"in [{self.low:.4g}, {self.high:.4g}]"


def interval_verdict(low: float, high: float, band: Band) -> Verdict:
    """SUPPORTED when [low, high] lies wholly inside `band`, REFUTED when wholly outside it,
    INCONCLUSIVE when it reaches across an edge of the band (or is not a finite interval)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return Verdict.INCONCLUSIVE
    if band.contains(low) and band.contains(high):
        return Verdict.SUPPORTED
    if high < band.low or low > band.high:
        return Verdict.REFUTED
    return Verdict.INCONCLUSIVE


@dataclass(frozen=True)
class Evidence:
    """A number shown beside a claim that does not decide it (the parts a ratio is made of)."""

    label: str
    value: float
    unit: str


@dataclass(frozen=True)
class Decision:
    """One deciding quantity of a claim: its 95 % interval, and the band in which the claim holds.

    `how` says where the interval comes from (which draws, which seeds); a quantity that could not
    be computed (a side that never reached its target) has nan bounds and says why in `how`.
    """

    label: str
    central: float
    low: float
    high: float
    unit: str
    band: Band
    how: str

    @property
    def verdict(self) -> Verdict:
        return interval_verdict(self.low, self.high, self.band)

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            shown = "no interval"
        else:
            shown = f"{self.central:.4g}{unit}, 95 % interval [{self.low:.4g}, {self.high:.4g}]{unit}"
        return f"{self.label}: {shown}; holds when {self.band.text()}{unit} -> {self.verdict.value} ({self.how})"


def combined_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """A claim that is a conjunction of its decisions: SUPPORTED when every part is, REFUTED when
    any part is (that part is wholly outside its band), INCONCLUSIVE otherwise (or with no part)."""
    if verdicts and all(verdict is Verdict.SUPPORTED for verdict in verdicts):
        return Verdict.SUPPORTED
    if any(verdict is Verdict.REFUTED for verdict in verdicts):
        return Verdict.REFUTED
    return Verdict.INCONCLUSIVE


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    criterion: str
    decisions: tuple[Decision, ...]
    evidence: tuple[Evidence, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return combined_verdict([decision.verdict for decision in self.decisions])

    def text(self) -> str:
        lines = [f"({self.key}) {self.statement}", f"    criterion: {self.criterion}"]
        lines += [f"    {decision.text()}" for decision in self.decisions]
        lines += [f"    {item.label}: {item.value:.4g} {item.unit}".rstrip() for item in self.evidence]
        lines.append(f"    verdict: {self.verdict.value}")
        return "\n".join(lines)


INTERVAL_PERCENTILES = (2.5, 97.5)


def percentile_interval(draws, central: float | None = None) -> tuple[float, float, float]:
    """(central, low, high): the 2.5th and 97.5th percentiles of Monte Carlo draws (a 95 % interval);
    the central value is the given one, else the draws' median. NaN draws make the interval nan."""
    import numpy as np

    values = np.asarray(draws, dtype=float).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)):
        return (math.nan if central is None else central), math.nan, math.nan
    low, middle, high = np.percentile(values, (INTERVAL_PERCENTILES[0], 50.0, INTERVAL_PERCENTILES[1]))
    return (float(middle) if central is None else float(central)), float(low), float(high)


def share(part: float, whole: float) -> float:
    """part / whole; 0 for an empty whole (nothing to take a share of)."""
    return part / whole if whole > 0 else 0.0
