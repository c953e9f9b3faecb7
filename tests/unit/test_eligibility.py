"""Who a campaign may ring: the rules declared in each questionnaire's ``campaign:``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from ivr.campaigns.eligibility import Reason, judge
from ivr.questionnaire.loader import QuestionnaireError, load_file, parse_questionnaire

ROOT = Path(__file__).resolve().parents[2]
USS = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire
VCAS = load_file(ROOT / "questionnaires" / "vcas_exit.yaml").questionnaire
TODAY = date(2026, 11, 23)


def uss_case(**fields: object) -> dict[str, object]:
    case: dict[str, object] = {
        "first_name": "Alex",
        "crime_type": "burglary",
        "district": "Hartlepool",
        "reported_on": (TODAY - timedelta(weeks=7)).isoformat(),
    }
    case.update(fields)
    return case


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, Reason.ELIGIBLE),
        ({"reported_on": (TODAY - timedelta(weeks=6)).isoformat()}, Reason.ELIGIBLE),
        ({"reported_on": (TODAY - timedelta(weeks=12)).isoformat()}, Reason.ELIGIBLE),
        (
            {"reported_on": (TODAY - timedelta(weeks=6) + timedelta(days=1)).isoformat()},
            Reason.NOT_YET,
        ),
        ({"reported_on": (TODAY - timedelta(weeks=12, days=1)).isoformat()}, Reason.PAST_PERIOD),
        ({"crime_type": "fraud"}, Reason.NOT_COVERED),
        ({"age": 15}, Reason.UNDER_AGE),
        ({"age": 16}, Reason.ELIGIBLE),
        ({"age": ""}, Reason.ELIGIBLE),  # age not known
        ({"crime_type": "domestic_abuse"}, Reason.ELIGIBLE),  # USS asks the safety check
        ({"reported_on": None}, Reason.NO_DATE),
    ],
)
def test_uss_eligibility(fields: dict[str, object], reason: Reason) -> None:
    assert judge(USS, uss_case(**fields), TODAY).reason is reason


def test_do_not_call_and_interviewed_cases_are_never_rung() -> None:
    assert judge(USS, uss_case(), TODAY, do_not_call=True).reason is Reason.DO_NOT_CALL
    assert judge(USS, uss_case(), TODAY, interviewed=True).reason is Reason.ALREADY_INTERVIEWED
    assert Reason.DO_NOT_CALL.final and not Reason.NOT_YET.final


def test_the_calling_period_is_reported_with_the_verdict() -> None:
    reported = TODAY - timedelta(weeks=7)
    verdict = judge(USS, uss_case(reported_on=reported.isoformat()), TODAY)
    assert (verdict.first_day, verdict.last_day) == (
        reported + timedelta(weeks=6),
        reported + timedelta(weeks=12),
    )


def test_vcas_rings_only_those_who_consented_a_week_after_closure() -> None:
    closed = (TODAY - timedelta(days=10)).isoformat()
    yes = {"first_name": "Sam", "closed_on": closed, "consent": "yes"}
    assert judge(VCAS, yes, TODAY).eligible
    assert judge(VCAS, {**yes, "consent": "no"}, TODAY).reason is Reason.REQUIREMENT_NOT_MET
    recent = {**yes, "closed_on": (TODAY - timedelta(days=3)).isoformat()}
    assert judge(VCAS, recent, TODAY).reason is Reason.NOT_YET


def test_sensitive_cases_need_a_safety_check_that_applies_to_them() -> None:
    source = (ROOT / "questionnaires" / "uss.yaml").read_text()
    # Violent cases declared as needing the check, which asks only sensitive cases.
    needing = source.replace(
        "    min_age: 16\n",
        "    min_age: 16\n    needs_safety_check:\n      crime_type: [violent]\n",
    )
    q = parse_questionnaire(needing, "uss.yaml").questionnaire
    assert judge(q, uss_case(crime_type="violent"), TODAY).reason is Reason.NO_SAFETY_CHECK
    assert judge(q, uss_case(crime_type="domestic_abuse"), TODAY).eligible
    assert judge(q, uss_case(crime_type="violent", domestic_abuse="yes"), TODAY).eligible
    assert judge(q, uss_case(crime_type="burglary"), TODAY).eligible


def test_a_campaign_that_needs_a_safety_check_the_questionnaire_lacks_is_refused() -> None:
    source = (ROOT / "questionnaires" / "uss.yaml").read_text()
    start = source.index("safety:\n")
    end = source.index("consent:\n", start)
    with pytest.raises(QuestionnaireError) as refused:
        parse_questionnaire(source[:start] + source[end:], "uss.yaml")
    assert any("needs a 'safety:' step" in str(p) for p in refused.value.problems)


def test_age_comes_from_the_date_of_birth_when_the_sample_gives_no_age() -> None:
    sixteen_tomorrow = TODAY.replace(year=TODAY.year - 16) + timedelta(days=1)
    assert judge(USS, uss_case(date_of_birth=sixteen_tomorrow.isoformat()), TODAY).reason is (
        Reason.UNDER_AGE
    )
    sixteen_today = TODAY.replace(year=TODAY.year - 16)
    assert judge(USS, uss_case(date_of_birth=sixteen_today.isoformat()), TODAY).eligible
