"""The experiments' verdict helpers, against answers worked out by hand."""

from experiments.claims import Claim, Evidence, grows, share, within_factor


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
