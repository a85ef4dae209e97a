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
    label: str
    value: float
    unit: str


@dataclass(frozen=True)
class Claim:
    key: str
    statement: str
    criterion: str
    evidence: tuple[Evidence, ...]
    holds: bool

    @property
    def verdict(self) -> str:
        return "SUPPORTED" if self.holds else "REFUTED"

    def text(self) -> str:
        lines = [f"({self.key}) {self.statement}", f"    criterion: {self.criterion}"]
        lines += [f"    {item.label}: {item.value:.4g} {item.unit}".rstrip() for item in self.evidence]
        lines.append(f"    verdict: {self.verdict}")
        return "\n".join(lines)


def within_factor(a: float, b: float, factor: float) -> bool:
    """True when the larger of two positive numbers is at most `factor` times the smaller."""
    if a <= 0 or b <= 0:
        return False
    return max(a, b) / min(a, b) <= factor


def grows(values: Sequence[float]) -> bool:
    """True when the sequence never decreases and ends above where it started."""
    return len(values) >= 2 and all(b >= a for a, b in zip(values, values[1:])) and values[-1] > values[0]


def share(part: float, whole: float) -> float:
    """part / whole; 0 for an empty whole (nothing to take a share of)."""
    return part / whole if whole > 0 else 0.0
