"""A claim decided by where an interval lies against its band: SUPPORTED, REFUTED or INCONCLUSIVE
(experiments.claims.interval_verdict), with the numbers that decide it.

The criterion (the band) is fixed in the experiment's file before any number is computed; the
verdict is that criterion applied to the interval, so a run that contradicts a claim says so, and one
whose interval straddles the band's edge says INCONCLUSIVE rather than picking a side.
"""

from __future__ import annotations

from dataclasses import dataclass

from experiments.claims import Band, Evidence, Verdict, interval_verdict


@dataclass(frozen=True)
class IntervalClaim:
    key: str
    statement: str
    criterion: str
    quantity: str  # what the interval measures, with its unit
    central: float
    low: float
    high: float
    band: Band
    evidence: tuple[Evidence, ...] = ()
    setting: str = ""  # what was evaluated, in words

    @property
    def verdict(self) -> Verdict:
        return interval_verdict(self.low, self.high, self.band)

    def text(self) -> str:
        lines = [f"({self.key}) {self.statement}", f"    criterion: {self.criterion}"]
        if self.setting:
            lines.append(f"    setting: {self.setting}")
        lines += [f"    {item.label}: {item.value:.4g} {item.unit}".rstrip() for item in self.evidence]
        lines.append(f"    {self.quantity}: {self.central:.4g} [{self.low:.4g}, {self.high:.4g}] "
                     f"(claim holds for {self.band.text()})")
        lines.append(f"    verdict: {self.verdict.value}")
        return "\n".join(lines)

    def row(self) -> dict:
        return {"claim": self.key, "statement": self.statement, "criterion": self.criterion, "setting": self.setting,
                "quantity": self.quantity, "central": self.central, "low": self.low, "high": self.high,
                "verdict": self.verdict.value}
