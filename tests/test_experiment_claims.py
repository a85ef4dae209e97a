"""The experiments' verdict helpers, against answers worked out by hand."""

import math

import pytest

from experiments.claims import Band, Claim, Evidence, Verdict, grows, interval_verdict, share, within_factor


def test_within_factor():
    assert within_factor(10.0, 19.9, 2.0) and within_factor(19.9, 10.0, 2.0)
    assert within_factor(3.0, 6.0, 2.0)  # exactly twice counts as within
    assert not within_factor(3.0, 6.01, 2.0)
    assert not within_factor(0.0, 1.0, 10.0)  # nothing is within a factor of zero


def test_grows():
    assert grows([1.0, 1.0, 2.0])
    assert not grows([1.0, 1.0])  # flat is not growth
    assert not grows([1.0, 3.0, 2.0])
    assert not grows([5.0])


def test_share():
    assert share(1.0, 4.0) == 0.25 and share(1.0, 0.0) == 0.0


def test_claim_text_carries_numbers_units_and_a_computed_verdict():
    claim = Claim("a", "FL and CL training are comparable", "ratio within 2x",
                  (Evidence("FL training", 12.5, "kWh"), Evidence("ratio", 0.8, "")), holds=False)
    text = claim.text()
    assert "FL training: 12.5 kWh" in text and "ratio: 0.8\n" in text and text.endswith("verdict: REFUTED")


def test_interval_verdict_is_three_valued():
    comparable = Band(0.5, 2.0)
    assert interval_verdict(0.6, 1.9, comparable) is Verdict.SUPPORTED
    assert interval_verdict(0.5, 2.0, comparable) is Verdict.SUPPORTED  # the band's edges are inside
    assert interval_verdict(2.1, 3.0, comparable) is Verdict.REFUTED
    assert interval_verdict(0.1, 0.4, comparable) is Verdict.REFUTED
    assert interval_verdict(1.5, 2.5, comparable) is Verdict.INCONCLUSIVE  # across the upper edge
    assert interval_verdict(0.1, 9.0, comparable) is Verdict.INCONCLUSIVE  # wider than the band
    assert interval_verdict(1.1, 1.2, Band(low=1.0)) is Verdict.SUPPORTED  # open-ended: "more than"
    assert interval_verdict(0.9, 1.2, Band(low=1.0)) is Verdict.INCONCLUSIVE
    assert interval_verdict(math.nan, 1.0, comparable) is Verdict.INCONCLUSIVE  # no interval, no decision


def test_band_refuses_an_empty_band_and_says_itself():
    with pytest.raises(ValueError):
        Band(2.0, 1.0)
    assert Band(low=1.0).text() == ">= 1" and Band(0.5, 2.0).text() == "in [0.5, 2]"
