"""AAPOR outcome rates (RR1-RR6, COOP1-COOP4, REF1-REF3, CON1-CON3) and the estimate of e,
each rate worked by hand from the formula in AAPOR's Standard Definitions (10th edition,
2023), where U = UH + UO are the cases of unknown eligibility and e the share of them
taken as eligible."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivr.campaigns.dispositions import (
    E_METHOD,
    Disposition,
    RateGroup,
    cooperation_rate_coop1,
    estimate_e,
    outcome_rates,
    response_rate_rr1,
)

D = Disposition
ALL_RATES = [
    "RR1",
    "RR2",
    "RR3",
    "RR4",
    "RR5",
    "RR6",
    "COOP1",
    "COOP2",
    "COOP3",
    "COOP4",
    "REF1",
    "REF2",
    "REF3",
    "CON1",
    "CON2",
    "CON3",
]

# Every group non-zero, spread over several codes each.
WORKED = {
    D.COMPLETE: 40,  # I = 40
    D.PARTIAL: 5,  # P = 5
    D.REFUSAL: 10,
    D.BREAK_OFF: 5,  # R = 15
    D.RESPONDENT_NEVER_AVAILABLE: 6,
    D.ANSWERING_MACHINE_RESPONDENT: 2,  # NC = 8
    D.UNABLE: 2,  # O = 2
    D.NO_ANSWER: 20,
    D.ALWAYS_BUSY: 3,
    D.ANSWERING_MACHINE_UNKNOWN: 7,  # UH = 30
    D.NO_SCREENER: 3,
    D.WRONG_NUMBER: 2,  # UO = 5
    D.OUT_OF_SAMPLE: 4,
    D.NO_ELIGIBLE_RESPONDENT: 6,  # NE = 10
}


def test_e_by_proportional_allocation_on_the_worked_example() -> None:
    # e = (I + P + R + NC + O) / (I + P + R + NC + O + NE) = 70 / 80
    assert estimate_e(WORKED) == pytest.approx(0.875, abs=1e-15)


def test_the_method_for_e_is_stated_in_words() -> None:
    assert "proportional allocation" in E_METHOD
    assert "(I + P + R + NC + O) / (I + P + R + NC + O + NE)" in E_METHOD


def test_every_rate_on_the_worked_example_by_hand() -> None:
    # I = 40, P = 5, R = 15, NC = 8, O = 2, U = UH + UO = 30 + 5 = 35, e = 0.875, eU = 30.625
    expected = {
        # RR1 = I / ((I + P) + (R + NC + O) + (UH + UO)) = 40 / (45 + 25 + 35)
        "RR1": 40 / 105,
        # RR2 = (I + P) / ((I + P) + (R + NC + O) + (UH + UO)) = 45 / 105
        "RR2": 45 / 105,
        # RR3 = I / ((I + P) + (R + NC + O) + e(UH + UO)) = 40 / (70 + 30.625)
        "RR3": 40 / 100.625,
        # RR4 = (I + P) / ((I + P) + (R + NC + O) + e(UH + UO)) = 45 / 100.625
        "RR4": 45 / 100.625,
        # RR5 = I / ((I + P) + (R + NC + O)) = 40 / 70
        "RR5": 40 / 70,
        # RR6 = (I + P) / ((I + P) + (R + NC + O)) = 45 / 70
        "RR6": 45 / 70,
        # COOP1 = I / ((I + P) + R + O) = 40 / (45 + 15 + 2)
        "COOP1": 40 / 62,
        # COOP2 = (I + P) / ((I + P) + R + O) = 45 / 62
        "COOP2": 45 / 62,
        # COOP3 = I / ((I + P) + R) = 40 / 60
        "COOP3": 40 / 60,
        # COOP4 = (I + P) / ((I + P) + R) = 45 / 60
        "COOP4": 45 / 60,
        # REF1 = R / ((I + P) + (R + NC + O) + (UH + UO)) = 15 / 105
        "REF1": 15 / 105,
        # REF2 = R / ((I + P) + (R + NC + O) + e(UH + UO)) = 15 / 100.625
        "REF2": 15 / 100.625,
        # REF3 = R / ((I + P) + (R + NC + O)) = 15 / 70
        "REF3": 15 / 70,
        # CON1 = ((I + P) + R + O) / ((I + P) + R + O + NC + (UH + UO)) = 62 / (62 + 8 + 35)
        "CON1": 62 / 105,
        # CON2 = ((I + P) + R + O) / ((I + P) + R + O + NC + e(UH + UO)) = 62 / 100.625
        "CON2": 62 / 100.625,
        # CON3 = ((I + P) + R + O) / ((I + P) + R + O + NC) = 62 / 70
        "CON3": 62 / 70,
    }
    rates = outcome_rates(WORKED)
    assert list(rates) == ALL_RATES
    assert rates == pytest.approx(expected, abs=1e-12)


def test_the_outcomerate_packages_worked_example_at_e_one_half() -> None:
    # The expected rates of the R package outcomerate's own test (ropensci/outcomerate,
    # tests/testthat/test-rate.R): I = 5, P = 3, R = 2, NC = 1, O = 2, UH = 1, UO = 1,
    # NE = 1, with e = 0.5 - an implementation written apart from this one.
    counts = {
        D.COMPLETE: 5,
        D.PARTIAL: 3,
        D.REFUSAL: 2,
        D.RESPONDENT_NEVER_AVAILABLE: 1,
        D.UNABLE: 2,
        D.NO_ANSWER: 1,
        D.NO_SCREENER: 1,
        D.OUT_OF_SAMPLE: 1,
    }
    expected = {
        "RR1": 1 / 3,
        "RR2": 8 / 15,
        "RR3": 5 / 14,
        "RR4": 4 / 7,
        "RR5": 5 / 13,
        "RR6": 8 / 13,
        "COOP1": 5 / 12,
        "COOP2": 2 / 3,
        "COOP3": 1 / 2,
        "COOP4": 4 / 5,
        "REF1": 2 / 15,
        "REF2": 1 / 7,
        "REF3": 2 / 13,
        "CON1": 4 / 5,
        "CON2": 6 / 7,
        "CON3": 12 / 13,
    }
    assert outcome_rates(counts, e=0.5) == pytest.approx(expected, abs=1e-12)


def test_a_given_e_replaces_the_estimate() -> None:
    # e = 0.2: eU = 7. RR3 = 40 / (70 + 7); CON2 = 62 / (70 + 7)
    rates = outcome_rates(WORKED, e=0.2)
    assert rates["RR3"] == pytest.approx(40 / 77, abs=1e-12)
    assert rates["CON2"] == pytest.approx(62 / 77, abs=1e-12)
    # e = 1 takes every unknown case as eligible (RR3 = RR1); e = 0 none of them (RR3 = RR5)
    at_one = outcome_rates(WORKED, e=1.0)
    assert at_one["RR3"] == at_one["RR1"] and at_one["REF2"] == at_one["REF1"]
    at_zero = outcome_rates(WORKED, e=0.0)
    assert at_zero["RR3"] == at_zero["RR5"] and at_zero["CON2"] == at_zero["CON3"]


@pytest.mark.parametrize("e", [-0.1, 1.5, float("nan")])
def test_an_e_outside_zero_to_one_is_refused(e: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        outcome_rates(WORKED, e=e)


def test_no_cases_give_no_rates_and_no_e() -> None:
    assert estimate_e({}) is None
    assert outcome_rates({}) == dict.fromkeys(ALL_RATES)


def test_only_ineligible_cases_give_e_zero_and_no_rates() -> None:
    counts = {D.OUT_OF_SAMPLE: 7}
    assert estimate_e(counts) == 0.0
    assert outcome_rates(counts) == dict.fromkeys(ALL_RATES)


def test_only_unknown_cases_leave_e_and_the_rates_that_need_it_undefined() -> None:
    counts = {D.NO_ANSWER: 12, D.WRONG_NUMBER: 3}
    assert estimate_e(counts) is None
    rates = outcome_rates(counts)
    # denominators with U are 15: the rates are 0; those with eU have no e to apply
    assert rates["RR1"] == rates["RR2"] == rates["REF1"] == rates["CON1"] == 0.0
    assert rates["RR3"] is rates["RR4"] is rates["REF2"] is rates["CON2"] is None
    # nobody known to be eligible: RR5, RR6, REF3, CON3 and every COOP have no denominator
    for name in ("RR5", "RR6", "REF3", "CON3", "COOP1", "COOP2", "COOP3", "COOP4"):
        assert rates[name] is None, name


def test_without_unknown_cases_the_rates_need_no_e() -> None:
    counts = {D.COMPLETE: 3, D.RESPONDENT_NEVER_AVAILABLE: 1}
    rates = outcome_rates(counts)
    assert rates["RR3"] == rates["RR1"] == rates["RR5"] == 3 / 4
    assert rates["COOP1"] == 1.0
    assert rates["CON2"] == 3 / 4


def test_non_contacts_alone_have_no_cooperation_rate() -> None:
    rates = outcome_rates({D.RESPONDENT_NEVER_AVAILABLE: 4})
    assert rates["COOP1"] is None and rates["COOP3"] is None
    assert rates["RR1"] == 0.0 and rates["CON3"] == 0.0


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="2.11: count must not be negative"):
        outcome_rates({D.REFUSAL: -1})
    with pytest.raises(ValueError, match="must not be negative"):
        estimate_e({D.OUT_OF_SAMPLE: -2})


def test_rr1_and_coop1_keep_their_old_answers() -> None:
    rates = outcome_rates(WORKED)
    assert response_rate_rr1(WORKED) == rates["RR1"] == pytest.approx(40 / 105)
    assert cooperation_rate_coop1(WORKED) == rates["COOP1"] == pytest.approx(40 / 62)
    assert response_rate_rr1({}) == 0.0
    assert cooperation_rate_coop1({D.NO_ANSWER: 3}) == 0.0


dispositions = st.dictionaries(st.sampled_from(list(Disposition)), st.integers(0, 1000))


@given(dispositions, st.none() | st.floats(0, 1))
def test_rates_are_shares_in_aapors_order(counts: dict[Disposition, int], e: float | None) -> None:
    rates = outcome_rates(counts, e=e)
    assert list(rates) == ALL_RATES
    for value in rates.values():
        assert value is None or 0.0 <= value <= 1.0
    # A rate that counts fewer cases as eligible is never lower: U >= eU >= 0.
    for low, middle, high in (("RR1", "RR3", "RR5"), ("RR2", "RR4", "RR6")):
        values = [rates[low], rates[middle], rates[high]]
        if None not in values:
            assert values[0] <= values[1] * (1 + 1e-12)
            assert values[1] <= values[2] * (1 + 1e-12)
    # Partials count as interviews in the even rates.
    for odd, even in (("RR1", "RR2"), ("COOP1", "COOP2"), ("COOP3", "COOP4")):
        if rates[odd] is not None:
            assert rates[odd] <= rates[even]  # type: ignore[operator]


@given(dispositions)
def test_e_is_the_eligible_share_of_the_cases_whose_eligibility_is_known(
    counts: dict[Disposition, int],
) -> None:
    groups = {group: 0 for group in RateGroup}
    for disposition, count in counts.items():
        groups[disposition.group] += count
    eligible = sum(groups[g] for g in (RateGroup.I, RateGroup.P, RateGroup.R))
    eligible += groups[RateGroup.NC] + groups[RateGroup.O]
    known = eligible + groups[RateGroup.NE]
    e = estimate_e(counts)
    if known == 0:
        assert e is None
    else:
        assert e == eligible / known
