"""The Local Public Confidence Survey by phone, through the Twilio simulator: a member of the
public completes it, is screened out, finds their quota cell full, or asks the police to
contact them (an action alert in their area's queue)."""

from __future__ import annotations

from itertools import count

import pytest
from flask import Flask
from sqlalchemy import select

from ivr.calendar import ZONE
from ivr.campaigns import quota_status
from ivr.campaigns.dialler import outcome_of_interview
from ivr.campaigns.dispositions import Disposition, final_disposition
from ivr.store.models import Answer, Interview, Referral
from ivr.telephony.respondents import Scripted, press, record
from tests.conftest import SURVEY_NUMBER, add_case, simulator
from tests.functional.staff_web import sign_in
from tests.functional.test_referral_queue import add_staff

AREA = "Hartlepool"
#: Selection, consent, lives in the area, aged 16 or over.
SCREENED_IN = ("1", "1", "1", "1")
#: The confidence items, safety after dark, a priority, disability.
OPINIONS = ("2", "1", "2", "2", "3", "2", "1", "3", "2", "1", "2")
_numbers = count(1)


def add_number(app: Flask, area: str = AREA) -> str:
    n = next(_numbers)
    phone = f"+44142920{n:04d}"
    add_case(
        app,
        survey="lpcs",
        case_ref=f"LPCS-H-{n}",
        phone=phone,
        first_name=None,
        crime_type=None,
        reported_on=None,
        district=area,
        fields={"released_on": "2026-10-01"},
    )
    return phone


def call(app: Flask, phone: str, *keys: str, actions: tuple = ()) -> object:
    respondent = Scripted(*[press(k) for k in keys], *actions)
    result = simulator(app).call(from_=phone, to=SURVEY_NUMBER, respondent=respondent)
    assert result.errors == []
    return result


def interviews(app: Flask) -> list[tuple[str, dict[str, str | None]]]:
    with app.extensions["ivr"].db.transaction() as s:
        found = []
        for interview in s.scalars(select(Interview).order_by(Interview.id)):
            answers = s.scalars(
                select(Answer).where(Answer.interview_id == interview.id).order_by(Answer.id)
            )
            found.append((interview.status, {a.question_id: a.code for a in answers}))
        return found


def test_a_resident_completes_the_survey_by_keypad(app_any_db: Flask) -> None:
    phone = add_number(app_any_db)
    result = call(app_any_db, phone, *SCREENED_IN, "3", "1", "4", *OPINIONS, "2")
    [(status, answers)] = interviews(app_any_db)
    assert status == "completed"
    assert answers["age_band"] == "3" and answers["sex"] == "1" and answers["ethnicity"] == "4"
    assert answers["police_job"] == "2" and answers["police_contact"] == "2"
    assert "local_priority_other" not in answers and "contact_name" not in answers
    transcript = " ".join(result.transcript)
    assert "people in Hartlepool" in transcript and "Thank you for taking part" in transcript


@pytest.mark.parametrize(
    ("keys", "last"),
    [(("3",), None), (("1", "1", "2"), "lives_in_area"), (("1", "1", "1", "2"), "aged_16_or_over")],
)
def test_someone_outside_the_population_is_screened_out_as_4_70(
    app_any_db: Flask, keys: tuple[str, ...], last: str | None
) -> None:
    phone = add_number(app_any_db)
    result = call(app_any_db, phone, *keys)
    [(status, answers)] = interviews(app_any_db)
    assert status == "screened_out"
    assert (list(answers)[-1] if answers else None) == last
    assert "survey is for people aged 16 or over who live in the area" in result.transcript[-1]
    # The attempt that carried it ends with the outcome that closes the case as 4.70.
    assert final_disposition([outcome_of_interview(status)], attempts_exhausted=False) is (
        Disposition.NO_ELIGIBLE_RESPONDENT
    )


def test_a_full_quota_cell_ends_the_call_after_the_quota_questions_as_quota_full(
    app_any_db: Flask,
) -> None:
    svc = app_any_db.extensions["ivr"]
    q = svc.questionnaires.current("lpcs").questionnaire
    today = svc.clock().astimezone(ZONE).date()
    year = quota_status.survey_year(q.quotas, today)
    plan = quota_status.plan_of(q, svc.questionnaires.population("lpcs"))
    cell = (AREA, "ethnicity", "black")
    target = plan.targets_to(year.quarter)[cell]
    assert 1 <= target <= 5  # a small group in Hartlepool: a few interviews fill it
    black_respondent = (*SCREENED_IN, "3", "1", "4")
    for _ in range(target):
        call(app_any_db, add_number(app_any_db), *black_respondent, *OPINIONS, "2")
    with svc.db.reading() as conn:
        assert cell in quota_status.full_cells(
            conn, q, svc.questionnaires.population("lpcs"), today
        )

    result = call(app_any_db, add_number(app_any_db), *black_respondent, *OPINIONS, "2")
    status, answers = interviews(app_any_db)[-1]
    assert status == "quota_full"
    assert list(answers)[-3:] == ["age_band", "sex", "ethnicity"] and "police_job" not in answers
    assert "already heard from enough people like you" in result.transcript[-1]
    # Someone in an open cell is still interviewed.
    call(app_any_db, add_number(app_any_db), *SCREENED_IN, "3", "1", "1", *OPINIONS, "2")
    assert interviews(app_any_db)[-1][0] == "completed"
    closed = final_disposition([outcome_of_interview("quota_full")], attempts_exhausted=False)
    assert closed is not None and (closed.code, closed.label) == ("4.80", "Quota filled")


def test_a_request_for_contact_raises_an_action_alert_for_the_area(app_any_db: Flask) -> None:
    phone = add_number(app_any_db, "Stockton-on-Tees")
    call(
        app_any_db,
        phone,
        *SCREENED_IN,
        "5",
        "2",
        "1",
        *OPINIONS,
        "1",
        actions=(
            record(3, "Sam"),
            press("1"),
            record(12, "Cars racing on our street every night"),
        ),
    )
    [(status, answers)] = interviews(app_any_db)
    assert status == "completed" and answers["police_contact"] == "1"
    assert answers["contact_number_ok"] == "1" and "contact_number" not in answers
    with app_any_db.extensions["ivr"].db.transaction() as s:
        [referral] = s.scalars(select(Referral)).all()
        assert (referral.kind, referral.district, referral.survey) == (
            "action_alert",
            "Stockton-on-Tees",
            "lpcs",
        )
        assert referral.consented
        assert [r["question"] for r in referral.reasons] == ["police_contact", "contact_about"]


def test_the_alert_shows_its_officer_the_name_and_the_better_number_given(
    app_any_db: Flask,
) -> None:
    phone = add_number(app_any_db, "Stockton-on-Tees")
    call(
        app_any_db,
        phone,
        *SCREENED_IN,
        "5",
        "2",
        "1",
        *OPINIONS,
        "1",
        actions=(record(3), press("2"), press("01642 496123".replace(" ", "")), record(12)),
    )
    [(status, answers)] = interviews(app_any_db)
    assert status == "completed" and answers["contact_number"] == "1642496123"
    add_staff(app_any_db, "stockton@cleveland.example", "district_officer", "Stockton-on-Tees")
    officer = sign_in(app_any_db, "stockton@cleveland.example")
    with app_any_db.extensions["ivr"].db.transaction() as s:
        referral_id = s.scalars(select(Referral.id)).one()
    page = officer.get(f"/queue/referrals/{referral_id}").get_data(as_text=True)
    assert "Recorded: play the recording" in page
    assert 'href="tel:+441642496123"' in page and phone not in page
