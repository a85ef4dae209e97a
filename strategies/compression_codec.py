"""Update compression arithmetic on NumPy arrays: float16, 8-bit linear quantization, top-k.

Pure functions; the Flower plumbing (which arrays travel, residuals, replicas) is in compression.py.
Only floating arrays are compressed; they are restored as float32, the dtype of our torch models.

Sizes of what travels, per array of n float32 entries (each array also costs Flower's .npy header
and its key, see simulator/flower/payload.py):
- fp16: 2 n bytes instead of 4 n;
- int8: n bytes (uint8 codes), plus the per-array range: two floats (lowest value, step) sent in a
  ConfigRecord, 8 bytes each as Flower counts them, plus the array's key: 16 + len(key) bytes;
- topk: k = ceil(fraction * n) float32 values and k int32 indices: 8 k bytes, in two arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

INT8_LEVELS = 255  # codes 0..255 of an unsigned byte
RESTORED_DTYPE = np.float32


def is_compressible(array: np.ndarray) -> bool:
    return np.issubdtype(array.dtype, np.floating) and array.size > 0


def to_fp16(array: np.ndarray) -> np.ndarray:
    return array.astype(np.float16)


def from_fp16(array: np.ndarray) -> np.ndarray:
    return array.astype(RESTORED_DTYPE)


@dataclass(frozen=True)
class Quantized:
    codes: np.ndarray  # uint8, same shape as the original
    lowest: float
    step: float  # value of one code step; 0 for a constant array


def quantize_int8(array: np.ndarray) -> Quantized:
    """Linear 8-bit quantization over the array's own range, rounding to the nearest level."""
    values = array.astype(np.float64)
    lowest, highest = float(values.min()), float(values.max())
    step = (highest - lowest) / INT8_LEVELS
    if step == 0.0:
        return Quantized(np.zeros(array.shape, dtype=np.uint8), lowest, 0.0)
    codes = np.clip(np.rint((values - lowest) / step), 0, INT8_LEVELS).astype(np.uint8)
    return Quantized(codes, lowest, step)


def dequantize_int8(quantized: Quantized) -> np.ndarray:
    return (quantized.lowest + quantized.codes.astype(np.float64) * quantized.step).astype(RESTORED_DTYPE)


def topk_count(size: int, fraction: float) -> int:
    """Entries top-k keeps of an array of `size`: ceil(fraction * size), at least one."""
    return min(size, max(1, math.ceil(fraction * size)))


@dataclass(frozen=True)
class Sparse:
    values: np.ndarray  # float32, k entries
    indices: np.ndarray  # int32 positions in the flattened array, ascending


def topk_sparsify(array: np.ndarray, fraction: float) -> Sparse:
    """The k largest-magnitude entries; ties broken by position so the choice is deterministic."""
    flat = array.astype(RESTORED_DTYPE).ravel()
    k = topk_count(flat.size, fraction)
    # A stable sort on -|x| puts equal magnitudes in position order.
    chosen = np.sort(np.argsort(-np.abs(flat), kind="stable")[:k])
    return Sparse(flat[chosen].astype(RESTORED_DTYPE), chosen.astype(np.int32))


def densify(sparse: Sparse, shape: tuple[int, ...]) -> np.ndarray:
    dense = np.zeros(math.prod(shape), dtype=RESTORED_DTYPE)
    dense[sparse.indices.astype(np.int64)] = sparse.values
    return dense.reshape(shape)
