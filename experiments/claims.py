"""Findings stated as claims, with the numbers that decide them and a verdict computed from them.

A claim's criterion is written out before any number is looked at; the verdict is the criterion
applied to the numbers, so a run that contradicts a finding says REFUTED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


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
