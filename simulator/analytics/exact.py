"""Exact sums of floating-point values, as `Fraction`s.

Why exact: a silo's partial sums merged on the server must give the same mean and variance as the
pooled data, bit for bit. Floating-point addition depends on the order, so each silo sends its sum
and sum of squares as exact rationals (every float is a dyadic rational, so the sum is one too); the
server adds them exactly and rounds once at the end.

How, without a Python loop per value: a float is m x 2^(e-53) with |m| < 2^53 an integer
(`numpy.frexp`). The integers m are cut into three 18-bit limbs and summed per exponent with float64
bincounts, which stay exact while every partial sum is below 2^53 (true for fewer than 2^35
values). Squares are split first (Dekker: x = hi + lo, each with at most 26 significant bits), so
hi*hi, 2*hi*lo and lo*lo are exact floats whose exact sum is the exact sum of squares.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

MANTISSA_BITS = 53
LIMB_BITS = 18
LIMB_MASK = (1 << LIMB_BITS) - 1
MAX_EXACT_VALUES = 1 << 35
# 2^27 + 1: Dekker's splitting constant for float64 (53-bit significands).
DEKKER_SPLITTER = 134217729.0
# Outside these magnitudes the split products could overflow or fall into subnormals and round.
SAFE_SQUARE_MAX = 2.0**500
SAFE_SQUARE_MIN = 2.0**-450


def exact_sum(values: np.ndarray) -> Fraction:
    """The exact sum of the values (finite floats), with no rounding at all."""
    x = _finite_float64(values)
    if x.size == 0:
        return Fraction(0)
    if x.size >= MAX_EXACT_VALUES:
        half = x.size // 2
        return exact_sum(x[:half]) + exact_sum(x[half:])
    mantissa, exponent = np.frexp(x)
    integers = (mantissa * float(1 << MANTISSA_BITS)).astype(np.int64)  # exact: |m| < 2^53
    lowest = int(exponent.min())
    group = exponent - lowest  # one bin per exponent from the lowest to the highest present
    bins = int(group.max()) + 1
    limbs = (
        integers & LIMB_MASK,
        (integers >> LIMB_BITS) & LIMB_MASK,
        integers >> (2 * LIMB_BITS),  # arithmetic shift keeps the sign in the top limb
    )
    limb_sums = [np.bincount(group, weights=limb.astype(np.float64), minlength=bins) for limb in limbs]
    scaled_total = 0  # the sum in units of 2^(lowest - 53)
    for offset in np.flatnonzero(np.bincount(group, minlength=bins)).tolist():
        group_integer = sum(int(limb_sums[part][offset]) << (LIMB_BITS * part) for part in range(3))
        scaled_total += group_integer << offset
    return _times_power_of_two(scaled_total, lowest - MANTISSA_BITS)


def exact_sum_of_squares(values: np.ndarray) -> Fraction:
    """The exact sum of the squares of the values."""
    x = _finite_float64(values)
    magnitudes = np.abs(x[x != 0])
    if magnitudes.size and (magnitudes.max() > SAFE_SQUARE_MAX or magnitudes.min() < SAFE_SQUARE_MIN):
        return sum((Fraction(value) ** 2 for value in x.tolist()), Fraction(0))
    scaled = DEKKER_SPLITTER * x
    high = scaled - (scaled - x)
    low = x - high
    return exact_sum(high * high) + exact_sum(2.0 * high * low) + exact_sum(low * low)


def _finite_float64(values: np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64).ravel()
    if not np.all(np.isfinite(x)):
        raise ValueError("exact sums need finite values; found NaN or infinity")
    return x


def _times_power_of_two(integer: int, power: int) -> Fraction:
    if power >= 0:
        return Fraction(integer << power)
    return Fraction(integer, 1 << -power)
