"""The experiments' verdict helpers, against answers worked out by hand."""

import math

import pytest

from experiments.claims import (
    Band,
    Claim,
    Decision,
    Evidence,
    Verdict,
    combined_verdict,
    interval_verdict,
    percentile_interval,
    share,
)


def test_share():
    assert share(1.0, 4.0) == 0.25 and share(1.0, 0.0) == 0.0


def test_claim_text_prints_each_interval_and_a_verdict_computed_from_it():
    comparable = Band(0.5, 2.0)
    claim = Claim("a", "FL and CL training are comparable", "ratio within 2x",
                  (Decision("CL / FL energy", 0.8, 0.6, 1.3, "", comparable, "2000 draws"),
                   Decision("CL / FL cost", 0.45, 0.3, 0.7, "", comparable, "2000 draws")),
                  (Evidence("FL training", 12.5, "kWh"),))
    text = claim.text()
    assert "CL / FL energy: 0.8, 95 % interval [0.6, 1.3]; holds when in [0.5, 2] -> SUPPORTED (2000 draws)" in text
    assert "CL / FL cost: 0.45, 95 % interval [0.3, 0.7]; holds when in [0.5, 2] -> INCONCLUSIVE" in text
    assert "FL training: 12.5 kWh" in text and text.endswith("verdict: INCONCLUSIVE")
    assert claim.verdict is Verdict.INCONCLUSIVE
    missing = Decision("CL / FL to the target", math.nan, math.nan, math.nan, "", comparable, "FL did not reach it")
    assert missing.verdict is Verdict.INCONCLUSIVE and "no interval" in missing.text()


def test_a_claim_of_several_parts_is_refuted_by_any_part_and_supported_by_all():
    S, R, I = Verdict.SUPPORTED, Verdict.REFUTED, Verdict.INCONCLUSIVE
    assert combined_verdict([S, S]) is S
    assert combined_verdict([S, R]) is R and combined_verdict([I, R]) is R
    assert combined_verdict([S, I]) is I
    assert combined_verdict([]) is I  # nothing decided, nothing supported


def test_percentile_interval_is_the_middle_95_percent():
    draws = list(range(1, 1002))  # 1..1001: 2.5th percentile 26, 97.5th 976
    assert percentile_interval(draws) == (501.0, 26.0, 976.0)
    assert percentile_interval(draws, central=400.0)[0] == 400.0
    centre, low, high = percentile_interval([1.0, math.nan])
    assert math.isnan(low) and math.isnan(high)


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
