"""Compression: the arithmetic, and the ledger's bytes computed by hand from array sizes and the
.npy header Flower's Array serialization writes (np.save, format 1.0)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from conftest import tiny_scenario
from simulator.data.registry import load_dataset
from simulator.flower.runners import run_inline
from simulator.models import build_model
from strategies.compression_codec import (
    dequantize_int8,
    densify,
    quantize_int8,
    topk_count,
    topk_sparsify,
)

TOPK_FRACTION = 0.1


def npy_header_bytes(array: np.ndarray) -> int:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, np.lib.format.header_data_from_array_1_0(array))
    return buffer.tell()


def serialized_bytes(key: str, array: np.ndarray) -> int:
    """What Flower counts for one array in an ArrayRecord: .npy header + raw data + the key."""
    return npy_header_bytes(array) + array.nbytes + len(key)


def model_arrays(scenario) -> dict[str, np.ndarray]:
    model = build_model(scenario.model, load_dataset(scenario.data, scenario.seed), scenario.seed)
    return {k: v.numpy() for k, v in model.state_dict().items()}


def row_bytes(outcome, direction: str) -> dict[tuple[str, int, str], int]:
    return {(r.silo, r.round, r.phase): getattr(r, direction) for r in outcome.ledger.rows if r.silo != "server"}


@pytest.fixture(scope="module")
def uncompressed(tmp_path_factory):
    scenario = tiny_scenario()
    return scenario, run_inline(scenario, tmp_path_factory.mktemp("none"))


def run_compressed(scheme: str, tmp_path):
    scenario = tiny_scenario(strategy={"name": "fedavg", "compression": scheme, "topk_fraction": TOPK_FRACTION})
    return run_inline(scenario, tmp_path)


def scheme_config_bytes(scheme: str) -> int:
    """The scheme's config entries, as Flower counts them: key length + value (str: its length; float: 8)."""
    extra = len("compression") + len(scheme)
    if scheme == "topk":
        extra += len("topk-fraction") + 8
    return extra


def test_fp16_halves_the_array_data_and_the_ledger_counts_it_exactly(uncompressed, tmp_path):
    scenario, plain = uncompressed
    arrays = model_arrays(scenario)
    full = sum(serialized_bytes(k, a) for k, a in arrays.items())
    half = sum(serialized_bytes(k, a.astype(np.float16)) for k, a in arrays.items())
    data32 = sum(a.nbytes for a in arrays.values())
    data16 = sum(a.astype(np.float16).nbytes for a in arrays.values())
    assert data16 * 2 == data32
    # The header and keys do not shrink: exactly half the data, not half the payload.
    assert full - half == data32 // 2

    compressed = run_compressed("fp16", tmp_path)
    down_plain, down = row_bytes(plain, "bytes_down"), row_bytes(compressed, "bytes_down")
    up_plain, up = row_bytes(plain, "bytes_up"), row_bytes(compressed, "bytes_up")
    assert set(down) == set(down_plain)
    for key in down:
        assert down[key] == down_plain[key] - full + half + scheme_config_bytes("fp16"), key
        if key[2] == "train":
            assert up[key] == up_plain[key] - full + half, key
        else:
            assert up[key] == up_plain[key]  # evaluation replies carry metrics only


def test_int8_is_a_quarter_plus_the_stated_range_overhead(uncompressed, tmp_path):
    scenario, plain = uncompressed
    arrays = model_arrays(scenario)
    full = sum(serialized_bytes(k, a) for k, a in arrays.items())
    codes = sum(serialized_bytes(k, a.astype(np.uint8)) for k, a in arrays.items())
    assert sum(a.astype(np.uint8).nbytes for a in arrays.values()) * 4 == sum(a.nbytes for a in arrays.values())
    # Stated overhead: per array, [lowest, step] as two 8-byte floats plus the key.
    range_overhead = sum(2 * 8 + len(k) for k in arrays)

    compressed = run_compressed("int8", tmp_path)
    down_plain, down = row_bytes(plain, "bytes_down"), row_bytes(compressed, "bytes_down")
    up_plain, up = row_bytes(plain, "bytes_up"), row_bytes(compressed, "bytes_up")
    for key in down:
        assert down[key] == down_plain[key] - full + codes + range_overhead + scheme_config_bytes("int8"), key
        if key[2] == "train":
            assert up[key] == up_plain[key] - full + codes + range_overhead, key


def test_topk_sends_k_values_plus_k_indices(uncompressed, tmp_path):
    scenario, plain = uncompressed
    arrays = model_arrays(scenario)
    full = sum(serialized_bytes(k, a) for k, a in arrays.items())
    sparse = 0
    for key, array in arrays.items():
        k = math.ceil(TOPK_FRACTION * array.size)
        sparse += serialized_bytes(key, np.zeros(k, np.float32)) + serialized_bytes(key, np.zeros(k, np.int32))
        assert 4 * k + 4 * k < array.nbytes
    compressed = run_compressed("topk", tmp_path)
    down_plain, down = row_bytes(plain, "bytes_down"), row_bytes(compressed, "bytes_down")
    up_plain, up = row_bytes(plain, "bytes_up"), row_bytes(compressed, "bytes_up")
    for key in down:
        silo, round_number, phase = key
        # A silo's first download is whole (it holds no model to apply changes to); later ones are top-k.
        sent = full if (round_number, phase) == (1, "train") else sparse
        assert down[key] == down_plain[key] - full + sent + scheme_config_bytes("topk"), key
        if phase == "train":
            assert up[key] == up_plain[key] - full + sparse, key


def test_int8_error_is_at_most_half_a_step():
    array = np.linspace(-1.5, 2.5, 1001, dtype=np.float32).reshape(7, 143)
    quantized = quantize_int8(array)
    assert quantized.step == pytest.approx(4.0 / 255)
    assert np.max(np.abs(dequantize_int8(quantized) - array)) <= quantized.step / 2 + 1e-6
    assert dequantize_int8(quantized)[0, 0] == pytest.approx(-1.5) and dequantize_int8(quantized).max() == pytest.approx(2.5)


def test_int8_of_a_constant_array_is_exact():
    quantized = quantize_int8(np.full(5, 0.25, np.float32))
    assert quantized.step == 0.0 and np.all(dequantize_int8(quantized) == 0.25)


def test_topk_keeps_the_largest_magnitudes_in_position_order():
    array = np.array([[0.1, -3.0, 0.2], [2.0, 0.0, -0.5]], np.float32)
    sparse = topk_sparsify(array, 0.34)  # ceil(0.34 * 6) = 3
    assert topk_count(6, 0.34) == 3
    assert sparse.indices.tolist() == [1, 3, 5]
    assert sparse.values.tolist() == [-3.0, 2.0, -0.5]
    assert densify(sparse, array.shape).tolist() == [[0.0, -3.0, 0.0], [2.0, 0.0, -0.5]]


def test_topk_error_feedback_sends_what_was_left_later(tmp_path):
    # Sum of what the silo sent plus what it kept equals the sum of its true updates: nothing lost.
    from strategies.compression import encode

    reference = {"w": np.zeros(4, np.float32)}
    residual = {"w": np.zeros(4, np.float32)}
    sent_total = np.zeros(4, np.float32)
    updates = [np.array([1.0, 0.5, -0.25, 0.1], np.float32), np.array([0.2, 0.6, 0.0, -0.1], np.float32)]
    for update in updates:
        target = {"w": reference["w"] + update + residual["w"]}
        _, decoded = encode(target, "topk", 0.25, reference)
        sent_total += decoded["w"] - reference["w"]
        residual = {"w": target["w"] - decoded["w"]}
    np.testing.assert_allclose(sent_total + residual["w"], updates[0] + updates[1], atol=1e-7)
    # First round sends 1.0 (largest); second sends 0.5 + 0.6 = 1.1 at index 1.
    np.testing.assert_allclose(sent_total, [1.0, 1.1, 0.0, 0.0], atol=1e-7)
