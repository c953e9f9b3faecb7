"""Pressing 0 to speak to a person, through the Twilio simulator, on SQLite and PostgreSQL:
put through to the team in hours with an interviewer signed in, else a call-back by an
interviewer that the dialler never makes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from ivr.accounts.staff import add_user
from ivr.store.models import Answer, Case, Interview, Schedule
from ivr.telephony.respondents import Scripted, press, say
from ivr.telephony.simulator import CallRecord
from tests.conftest import SURVEY_NUMBER, simulator
from tests.functional.campaign_world import MONDAY_11, World, campaign_world, uss_csv
from tests.functional.staff_web import PASSWORD, csrf, sign_in

VICTIM = "+441134960501"
CASE_REF = "CLE/26/300001"
#: Where the team answers callers put through to a person.
HANDOVER = "+441134960777"
PUTTING_THROUGH = "Putting you through to a member of the team"
NOBODY_FREE = "Nobody is available just now. An interviewer will call you back."
#: Yes it's me, yes go ahead, then the first question answered by keypad.
UP_TO_FIRST_ANSWER = (press("1"), press("1"), press("1"))


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        svc = w.app.extensions["ivr"]
        svc.settings = svc.settings.but(handover_number=HANDOVER)
        w.import_csv(uss_csv([(CASE_REF, VICTIM, "burglary", date(2026, 10, 5))]))
        yield w


def interviewer(world: World, email: str = "ann@cleveland.example") -> FlaskClient:
    with world.db.transaction() as session:
        add_user(session, email, role="interviewer", password=PASSWORD)
    return sign_in(world.app, email)


def post(client: FlaskClient, path: str, **data: str) -> tuple[int, str]:
    token = csrf(client.get("/console").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data})
    return response.status_code, response.headers.get("Location", "")


def call(world: World, *actions: object, **options: object) -> CallRecord:
    repeat = bool(options.pop("repeat", False))
    return simulator(world.app, repeat=repeat).call(
        from_=VICTIM,
        to=SURVEY_NUMBER,
        respondent=Scripted(*actions),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def case_id(world: World) -> int:
    with world.db.transaction() as session:
        return int(session.scalar(select(Case.id).where(Case.case_ref == CASE_REF)) or 0)


def schedule(world: World) -> Schedule:
    with world.db.transaction() as session:
        return session.scalars(select(Schedule).where(Schedule.case_id == case_id(world))).one()


def interview(world: World) -> Interview:
    with world.db.transaction() as session:
        return session.scalars(select(Interview).where(Interview.case_id == case_id(world))).one()


def answers(world: World) -> dict[str, str | None]:
    with world.db.transaction() as session:
        rows = session.execute(
            select(Answer.question_id, Answer.via)
            .join(Interview, Interview.id == Answer.interview_id)
            .where(Interview.case_id == case_id(world))
        )
        return {question: via for question, via in rows}


def assert_called_back(world: World, record: CallRecord) -> None:
    """The caller heard that an interviewer will call back, and only interviewers will."""
    assert NOBODY_FREE in record.heard_text
    assert interview(world).status == "callback_requested"
    booked = schedule(world)
    assert booked.interviewer_only_since is not None
    assert booked.interviewer_only_reason == "asked_for_person"
    assert booked.handed_over_at is None
    assert booked.appointment_at is not None and booked.disposition is None
    # The answers given before asking are kept.
    assert answers(world) == {"ease_of_contact": "keypad"}


def test_in_hours_with_an_interviewer_signed_in_the_caller_is_put_through_and_taken(
    world: World,
) -> None:
    client = interviewer(world)
    seen: dict[str, str] = {}

    def team_answers(number: str) -> str:
        # While the call is put through: the interviewer sees the caller and takes them.
        seen["console"] = client.get("/console").get_data(as_text=True)
        status, location = post(client, f"/console/handovers/{case_id(world)}/take")
        assert status == 302, location
        found = re.fullmatch(r".*/console/interviews/(\d+)", location)
        assert found, location
        interview_id = int(found.group(1))
        seen["script"] = client.get(location).get_data(as_text=True)
        # The same interview carries on from the console: the rest of the questions.
        for key in ("2", "3", "2", "1", "2"):
            status, _ = post(client, f"/console/interviews/{interview_id}/answer", key=key)
            assert status == 302
        return "completed"

    record = call(world, *UP_TO_FIRST_ANSWER, press("0"), dial_status=team_answers)

    assert record.errors == []
    assert PUTTING_THROUGH in record.heard_text
    assert record.dials == [(HANDOVER, SURVEY_NUMBER, "completed")]
    assert "Callers handed over" in seen["console"]
    assert CASE_REF in seen["console"] and "Alex" not in seen["console"]
    # The interview opens where it stands: the keypad answer kept, the next question up.
    assert "No answers yet." not in seen["script"]
    assert "Were you satisfied, dissatisfied or neither with the actions taken" in seen["script"]
    done = interview(world)
    assert done.status == "completed"
    assert done.channel == "interviewer"
    got = answers(world)
    assert got["ease_of_contact"] == "keypad"
    assert {via for q, via in got.items() if q != "ease_of_contact"} == {"interviewer"}
    after = schedule(world)
    assert after.handed_over_at is None
    assert after.interviewer_only_reason == "asked_for_person"
    assert "Callers handed over" not in client.get("/console").get_data(as_text=True)


def test_saying_operator_asks_for_a_person_too(world: World) -> None:
    interviewer(world)
    record = call(world, *UP_TO_FIRST_ANSWER, say("can I speak to an operator please"))
    assert record.dials == [(HANDOVER, SURVEY_NUMBER, "no-answer")]
    assert_called_back(world, record)


def test_with_nobody_signed_in_a_call_back_is_booked_that_only_interviewers_make(
    world: World,
) -> None:
    record = call(world, *UP_TO_FIRST_ANSWER, press("0"))
    assert record.dials == []
    assert PUTTING_THROUGH not in record.heard_text
    assert_called_back(world, record)

    # The dialler never rings the case again, even once the call-back is due.
    world.start()
    world.clock.set(schedule(world).appointment_at + timedelta(minutes=1))  # type: ignore[operator]
    world.tick()
    world.play()
    assert world.calls_to(VICTIM) == []

    # The console deals it to an interviewer, with the reason.
    client = interviewer(world)
    status, location = post(client, "/console/next")
    assert status == 302 and "/console/interviews/" in location, location
    script = client.get(location).get_data(as_text=True)
    assert "asked for a person" in script


def test_out_of_hours_a_call_back_is_booked(world: World) -> None:
    interviewer(world)
    world.clock.set(MONDAY_11.replace(hour=21))
    record = call(world, *UP_TO_FIRST_ANSWER, press("0"))
    assert record.dials == []
    assert_called_back(world, record)


def test_without_a_hand_over_number_a_call_back_is_booked(world: World) -> None:
    interviewer(world)
    svc = world.app.extensions["ivr"]
    svc.settings = svc.settings.but(handover_number="")
    record = call(world, *UP_TO_FIRST_ANSWER, press("0"))
    assert record.dials == []
    assert_called_back(world, record)


@pytest.mark.parametrize("dial_status", ["no-answer", "busy", "failed"])
def test_a_put_through_nobody_answers_books_a_call_back(world: World, dial_status: str) -> None:
    interviewer(world)
    record = call(world, *UP_TO_FIRST_ANSWER, press("0"), dial_status=dial_status)
    assert record.errors == []
    assert PUTTING_THROUGH in record.heard_text
    assert record.dials == [(HANDOVER, SURVEY_NUMBER, dial_status)]
    assert_called_back(world, record)


def test_retried_webhooks_book_one_call_back(world: World) -> None:
    interviewer(world)
    record = call(world, *UP_TO_FIRST_ANSWER, press("0"), repeat=True)
    assert record.mismatches == [] and record.errors == []
    assert_called_back(world, record)
    with world.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Interview)) == 1
    assert len(schedule(world).outcomes) == 1


def test_a_welsh_caller_is_listed_in_welsh_and_told_in_welsh(world: World) -> None:
    client = interviewer(world)
    seen: dict[str, str] = {}

    def nobody_picks_up(number: str) -> str:
        seen["console"] = client.get("/console").get_data(as_text=True)
        return "no-answer"

    # 9 at the opening switches to Welsh; then the same answers, and 0.
    record = call(world, press("9"), *UP_TO_FIRST_ANSWER, press("0"), dial_status=nobody_picks_up)
    assert record.errors == []
    assert "Rwy'n eich trosglwyddo i aelod o'r tîm" in record.heard_text
    assert "Does neb ar gael ar hyn o bryd" in record.heard_text
    assert CASE_REF in seen["console"] and "in Welsh" in seen["console"]
    assert interview(world).status == "callback_requested"
