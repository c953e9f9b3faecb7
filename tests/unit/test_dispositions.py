"""A case's AAPOR final disposition from its attempts, and the rates over many cases."""

from __future__ import annotations

import pytest

from ivr.campaigns.dispositions import (
    Disposition,
    RateGroup,
    cooperation_rate_coop1,
    final_disposition,
    response_rate_rr1,
)
from ivr.campaigns.policy import Outcome

D = Disposition


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["no_answer", "completed_interview"], D.COMPLETE),
        (["refused"], D.REFUSAL),
        (["machine", "opted_out"], D.REFUSAL),  # do-not-call is a refusal
        (["no_answer", "wrong_number"], D.WRONG_NUMBER),
        (["no_answer", "wrong_person"], D.WRONG_NUMBER),  # as recorded before the split
        (["partial", "refused"], D.REFUSAL),  # short of the partial threshold
    ],
)
def test_a_final_outcome_closes_the_case_at_once(outcomes: list[str], expected: D) -> None:
    assert final_disposition(outcomes, attempts_exhausted=False) is expected


def test_a_partial_past_its_threshold_counts_as_an_interview_before_a_refusal() -> None:
    assert (
        final_disposition(
            ["partial", "refused"], attempts_exhausted=False, partial_threshold_met=True
        )
        is D.PARTIAL
    )


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["no_answer"] * 6, D.NO_ANSWER),
        (["busy"] * 6, D.ALWAYS_BUSY),
        (["busy", "no_answer", "busy"], D.NO_ANSWER),  # not busy every time
        (["no_answer", "machine", "busy"], D.ANSWERING_MACHINE_UNKNOWN),
        (["failed", "failed"], D.TECHNICAL_PROBLEMS),
        (["failed", "no_answer"], D.NO_ANSWER),  # the line did ring once
        (["not_placed", "cancelled"], D.NOT_ATTEMPTED),
        ([], D.NOT_ATTEMPTED),
        (["machine", "unsafe", "no_answer"], D.RESPONDENT_NEVER_AVAILABLE),
        (["callback_requested", "machine"], D.RESPONDENT_NEVER_AVAILABLE),
        (["info_message", "machine"], D.NO_SCREENER),
        (["no_screener", "no_answer"], D.NO_SCREENER),  # answered, never confirmed
        (["no_screener", "callback_requested"], D.RESPONDENT_NEVER_AVAILABLE),
        (["partial", "no_answer"], D.BREAK_OFF),  # short of the threshold
    ],
)
def test_exhausted_cases_take_the_most_informative_outcome(
    outcomes: list[str],
    expected: D,
) -> None:
    assert final_disposition(outcomes, attempts_exhausted=True) is expected


def test_a_case_still_being_worked_has_no_disposition() -> None:
    outcomes = [Outcome.NO_ANSWER, Outcome.MACHINE, Outcome.CALLBACK_REQUESTED]
    assert final_disposition(outcomes, attempts_exhausted=False) is None


def test_a_short_partial_is_a_break_off() -> None:
    assert (
        final_disposition(["partial"], attempts_exhausted=True, partial_threshold_met=False)
        is D.BREAK_OFF
    )


def test_a_withdrawn_case_is_out_of_sample_unless_it_was_interviewed() -> None:
    assert (
        final_disposition(["no_answer"], attempts_exhausted=False, out_of_sample=True)
        is D.OUT_OF_SAMPLE
    )
    assert (
        final_disposition(["completed_interview"], attempts_exhausted=False, out_of_sample=True)
        is D.COMPLETE
    )


def test_codes_labels_and_groups() -> None:
    assert (D.COMPLETE.code, D.COMPLETE.label) == ("1.1", "Complete")
    assert D.from_code("3.13") is D.NO_ANSWER
    assert [d.code for d in D if d.group is RateGroup.NE] == ["4.10", "4.30", "4.70", "4.80"]
    assert D.UNABLE.group is RateGroup.O
    assert D.NO_SCREENER.group is RateGroup.UO
    assert (D.WRONG_NUMBER.code, D.WRONG_NUMBER.group) == ("3.91", RateGroup.UO)
    with pytest.raises(ValueError, match="'9.9' is not a disposition code"):
        D.from_code("9.9")


def test_rates_on_a_worked_example() -> None:
    counts = {
        D.COMPLETE: 40,  # I = 40
        D.PARTIAL: 5,  # P = 5
        D.REFUSAL: 10,
        D.BREAK_OFF: 5,  # R = 15
        D.RESPONDENT_NEVER_AVAILABLE: 8,  # NC = 8
        D.UNABLE: 2,  # O = 2
        D.NO_ANSWER: 20,
        D.ALWAYS_BUSY: 3,
        D.ANSWERING_MACHINE_UNKNOWN: 7,  # UH = 30
        D.NO_SCREENER: 5,  # UO = 5
        D.NO_ELIGIBLE_RESPONDENT: 6,
        D.OUT_OF_SAMPLE: 4,  # NE, left out
    }
    # RR1 = 40 / ((40 + 5) + (15 + 8 + 2) + (30 + 5)) = 40 / 105
    assert response_rate_rr1(counts) == pytest.approx(40 / 105)
    assert response_rate_rr1(counts) == pytest.approx(0.380952, abs=1e-6)
    # COOP1 = 40 / ((40 + 5) + 15 + 2) = 40 / 62
    assert cooperation_rate_coop1(counts) == pytest.approx(0.645161, abs=1e-6)


def test_rates_without_cases_are_zero_and_counts_cannot_be_negative() -> None:
    assert response_rate_rr1({}) == 0.0
    assert cooperation_rate_coop1({D.NO_ANSWER: 3}) == 0.0
    with pytest.raises(ValueError, match="3.13: count must not be negative"):
        response_rate_rr1({D.NO_ANSWER: -1})
