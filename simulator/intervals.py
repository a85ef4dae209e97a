"""95 % intervals over repeated measurements (seeds x repeats): pure arithmetic, no I/O.

Which interval, and why: a Student t interval of the mean, mean +/- t(0.975, n - 1) x s / sqrt(n).
Repeats here are few (2 to 10 seeds); a bootstrap percentile interval from so few values is too
narrow (it can never reach past the largest value seen), while the t interval widens honestly as n
shrinks. Ratios (CL / FL, B / A) are positive and multiplicative, so their interval is the t
interval of the mean of log ratios, exponentiated: its centre is the geometric mean, and it can
never reach zero or below.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

INTERVAL_LEVEL = 0.95
MEAN_METHOD = "Student t 95 % interval of the mean: mean +/- t(0.975, n - 1) x s / sqrt(n)"
BOUNDED_METHOD = MEAN_METHOD + ", cut where the quantity cannot go (below 0; a fraction above 1)"
RATIO_METHOD = (
    "Student t 95 % interval of the mean log ratio, exponentiated (centre: the geometric mean of the "
    "per-seed ratios)"
)
UNPAIRED_RATIO_METHOD = (
    "ratio of the two means; 95 % interval of its log by the delta method with Welch's degrees of freedom"
)


@dataclass(frozen=True)
class SampleInterval:
    """A quantity measured n times: its centre, spread and 95 % interval (None where n is too small).

    `centre` is the mean (the geometric mean for ratios); `std` the sample standard deviation of
    the values themselves (n - 1 in the denominator); `low`/`high` the interval `method` states.
    """

    n: int
    centre: float | None
    std: float | None
    low: float | None
    high: float | None
    method: str

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None

    def contains(self, value: float) -> bool:
        return self.has_interval and self.low <= value <= self.high  # type: ignore[operator]


def t_quantile(degrees_of_freedom: float, level: float = INTERVAL_LEVEL) -> float:
    """The two-sided Student t quantile t((1 + level) / 2, df), e.g. 12.71 for df = 1, 2.776 for df = 4."""
    if degrees_of_freedom <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {degrees_of_freedom}")
    from scipy.special import stdtrit  # imported here: only interval arithmetic needs scipy

    return float(stdtrit(degrees_of_freedom, (1.0 + level) / 2.0))


def _present(values: Sequence[float | None]) -> list[float]:
    return [float(value) for value in values if value is not None and math.isfinite(float(value))]


def sample_std(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((value - mean) ** 2 for value in values) / (len(values) - 1))


def mean_interval(
    values: Sequence[float | None], floor: float | None = None, ceiling: float | None = None
) -> SampleInterval:
    """Mean and Student t 95 % interval of the present (not None, finite) values; `floor` and
    `ceiling` cut the interval where the quantity cannot go (0 for energy and time, 1 for a fraction:
    with few seeds and a wide spread, mean +/- t s / sqrt(n) can pass what any mean could be)."""
    present = _present(values)
    n = len(present)
    if n == 0:
        return SampleInterval(0, None, None, None, None, MEAN_METHOD)
    mean = math.fsum(present) / n
    std = sample_std(present)
    if std is None:
        return SampleInterval(n, mean, None, None, None, MEAN_METHOD)
    half = t_quantile(n - 1) * std / math.sqrt(n)
    low = mean - half if floor is None else max(floor, mean - half)
    high = mean + half if ceiling is None else min(ceiling, mean + half)
    cut = floor is not None or ceiling is not None
    return SampleInterval(n, mean, std, low, high, BOUNDED_METHOD if cut else MEAN_METHOD)


def ratio_interval(ratios: Sequence[float | None]) -> SampleInterval:
    """Geometric mean and 95 % interval of positive ratios (one per seed): t on their logs."""
    present = [value for value in _present(ratios) if value > 0]
    n = len(present)
    if n == 0:
        return SampleInterval(0, None, None, None, None, RATIO_METHOD)
    logs = [math.log(value) for value in present]
    centre = math.exp(math.fsum(logs) / n)
    log_std = sample_std(logs)
    if log_std is None:
        return SampleInterval(n, centre, None, None, None, RATIO_METHOD)
    half = t_quantile(n - 1) * log_std / math.sqrt(n)
    return SampleInterval(n, centre, sample_std(present), centre * math.exp(-half), centre * math.exp(half),
                          RATIO_METHOD)


def paired_ratios(numerators: Sequence[float | None], denominators: Sequence[float | None]) -> list[float | None]:
    """numerator_i / denominator_i per pair; None where either is absent or the denominator is not positive."""
    return [
        None if top is None or bottom is None or bottom <= 0 else top / bottom
        for top, bottom in zip(numerators, denominators, strict=True)
    ]


def unpaired_ratio_interval(a: Sequence[float | None], b: Sequence[float | None]) -> SampleInterval:
    """mean(b) / mean(a) for two independent samples, with a 95 % interval on the log scale:
    var(log mean) ~ s^2 / (n mean^2) (delta method) for each side, Welch-Satterthwaite degrees of
    freedom. Needs at least two positive-mean values on each side for an interval."""
    left, right = _present(a), _present(b)
    if not left or not right:
        return SampleInterval(0, None, None, None, None, UNPAIRED_RATIO_METHOD)
    mean_a, mean_b = math.fsum(left) / len(left), math.fsum(right) / len(right)
    n = min(len(left), len(right))
    if mean_a <= 0 or mean_b <= 0:
        return SampleInterval(n, None, None, None, None, UNPAIRED_RATIO_METHOD)
    centre = mean_b / mean_a
    std_a, std_b = sample_std(left), sample_std(right)
    if std_a is None or std_b is None:
        return SampleInterval(n, centre, None, None, None, UNPAIRED_RATIO_METHOD)
    var_a = std_a**2 / (len(left) * mean_a**2)
    var_b = std_b**2 / (len(right) * mean_b**2)
    variance = var_a + var_b
    if variance == 0:
        return SampleInterval(n, centre, 0.0, centre, centre, UNPAIRED_RATIO_METHOD)
    freedom = variance**2 / (var_a**2 / (len(left) - 1) + var_b**2 / (len(right) - 1))
    half = t_quantile(freedom) * math.sqrt(variance)
    return SampleInterval(n, centre, None, centre * math.exp(-half), centre * math.exp(half), UNPAIRED_RATIO_METHOD)


def interval_text(interval: SampleInterval, unit: str = "", digits: int = 4) -> str:
    """'1.23 [1.1, 1.4] kWh (n = 5)', or '1.23 kWh (n = 1, no interval)'; 'absent' with no value."""
    suffix = f" {unit}" if unit else ""
    if interval.centre is None:
        return "absent"
    if not interval.has_interval:
        return f"{interval.centre:.{digits}g}{suffix} (n = {interval.n}, no interval)"
    return (f"{interval.centre:.{digits}g} [{interval.low:.{digits}g}, {interval.high:.{digits}g}]{suffix} "
            f"(n = {interval.n})")
