"""A victim whose call ended part way rings the survey number and carries the same
interview on: identity (and safety) again, the "carry on" consent, then the first
question not yet answered. One interview, one export object, one referral per kind.

Calls are played by the Twilio simulator through the signed webhooks, on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

import ivr.cli
from ivr.results.reports import export_interviews, survey_summary
from ivr.store.models import Answer, CallAttempt, Interview, Referral, ReferralEvent, Turn
from ivr.telephony.respondents import Action, Scripted, hang_up, press, record
from tests.conftest import SURVEY_NUMBER, add_case, simulator

CALLER = "+441134960001"
NEUTRAL_OPENING = "Hello, this is an automated call from the customer contact team."
POLICE_OPENING = "automated call from the police victim satisfaction team"
SAFETY = "Is it safe for you to talk now?"
CARRY_ON = "Last time we spoke, the call ended before the end of the survey."
EASE = "how easy it was to contact someone who could help you"
KEPT_INFORMED = "how well you were kept informed"
RECOVERY_CONSENT = "May an officer from your local district contact you"


def keys(*digits: str) -> list[Action]:
    return [press(d) for d in digits]


def counts(app: Flask) -> dict[str, int]:
    with app.extensions["ivr"].db.transaction() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (Interview, Answer, Referral, ReferralEvent, Turn, CallAttempt)
        }


def codes(app: Flask) -> dict[str, str | None]:
    with app.extensions["ivr"].db.transaction() as s:
        return {a.question_id: a.code for a in s.scalars(select(Answer).order_by(Answer.id))}


def status(app: Flask) -> str:
    with app.extensions["ivr"].db.transaction() as s:
        return s.scalars(select(Interview.status)).one()


def ring_in(app: Flask, *actions: Action, repeat: bool = False) -> tuple[Any, Scripted]:
    """The victim rings the survey number and does ``actions``; (call record, respondent)."""
    respondent = Scripted(*actions)
    call = simulator(app, repeat=repeat).call(from_=CALLER, to=SURVEY_NUMBER, respondent=respondent)
    assert call.errors == [] and call.mismatches == []
    return call, respondent


def heard(respondent: Scripted) -> list[str]:
    """What the caller had heard before each of their answers."""
    return [text for text, _prompt in respondent.heard]


def export_json(app: Flask) -> list[dict[str, Any]]:
    result = app.test_cli_runner().invoke(
        ivr.cli.main, ["results", "export", "--survey", "uss", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_victim_who_rings_back_carries_on_from_the_third_question(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db)
    # Identity, consent, two answers, then the line drops.
    ring_in(app_any_db, *keys("1", "1", "2", "3"), hang_up())
    assert status(app_any_db) == "partial"

    # The victim rings the survey number: identity, carry on, then the remaining questions.
    call, victim = ring_in(app_any_db, *keys("1", "1", "2", "2", "1", "2"))
    said = heard(victim)
    assert "Am I speaking to Alex?" in said[0]
    assert CARRY_ON in said[1] and "You reported" not in said[1]
    assert KEPT_INFORMED in said[2]
    assert EASE not in call.heard_text
    assert call.ended_by == "app" and "Thank you for taking part" in call.transcript[-1]

    assert status(app_any_db) == "completed"
    assert counts(app_any_db)["interviews"] == 1
    assert counts(app_any_db)["call_attempts"] == 2
    assert codes(app_any_db) == {
        "ease_of_contact": "2",
        "actions_taken": "3",
        "kept_informed": "2",
        "treatment": "2",
        "whole_experience": "1",
        "police_contact": "2",
    }

    (exported,) = export_json(app_any_db)
    assert (exported["case_ref"], exported["status"], exported["counted"]) == (
        "CR/0001/26",
        "completed",
        "complete",
    )
    assert {qid: a["code"] for qid, a in exported["answers"].items()} == codes(app_any_db)
    with app_any_db.extensions["ivr"].db.transaction() as session:
        assert len(export_interviews(session, "uss")) == 1
        summary = survey_summary(session, "uss")
    assert summary.interviews_by_status == {"completed": 1}
    assert summary.counted == {"complete": 1, "partial": 0}
    assert {f.question_id: f.base for f in summary.core} == dict.fromkeys(
        ["ease_of_contact", "actions_taken", "kept_informed", "treatment", "whole_experience"], 1
    )


def test_a_victim_who_stops_again_keeps_every_answer_in_one_interview(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db)
    ring_in(app_any_db, *keys("1", "1", "2"), hang_up())
    ring_in(app_any_db, *keys("1", "1", "3", "8"), hang_up())
    assert status(app_any_db) == "partial"
    assert counts(app_any_db)["interviews"] == 1
    assert codes(app_any_db) == {"ease_of_contact": "2", "actions_taken": "3", "kept_informed": "8"}
    (exported,) = export_json(app_any_db)
    # Three core questions answered (don't know is an answer): a partial that counts.
    assert (exported["status"], exported["counted"]) == ("partial", "partial")
    assert exported["answers"]["kept_informed"]["substantive"] is False
    with app_any_db.extensions["ivr"].db.transaction() as session:
        summary = survey_summary(session, "uss")
    assert summary.counted == {"complete": 0, "partial": 1}


@pytest.mark.parametrize(
    "case_fields",
    [
        {"crime_type": "domestic_abuse"},
        {"crime_type": "burglary", "fields": {"domestic_abuse": "yes"}},
    ],
    ids=["crime_type", "sample_column"],
)
def test_a_sensitive_case_that_resumes_is_asked_the_safety_question_again_first(
    app_any_db: Flask,
    case_fields: dict[str, Any],
) -> None:
    add_case(app_any_db, **case_fields)
    # Identity, safety, convenience, consent, two answers, hang-up.
    ring_in(app_any_db, *keys("1", "1", "1", "1", "2", "3"), hang_up())
    assert status(app_any_db) == "partial"

    call, victim = ring_in(app_any_db, *keys("1", "1", "1", "1", "2", "2", "1", "2"))
    said = heard(victim)
    assert said[0].startswith(NEUTRAL_OPENING) and "Am I speaking to Alex?" in said[0]
    assert said[1].startswith(SAFETY)
    for before_safety_passed in said[:2]:
        for word in ("police", "crime", "incident", "burglary", "survey", "victim"):
            assert word not in before_safety_passed.lower(), (word, before_safety_passed)
    assert "good time for a short call" in said[2]
    # Safe: now the normal opening, then the carry-on consent.
    assert POLICE_OPENING in said[3] and CARRY_ON in said[3]
    assert KEPT_INFORMED in said[4]
    assert EASE not in call.heard_text
    assert status(app_any_db) == "completed"
    assert counts(app_any_db)["interviews"] == 1
    assert len(codes(app_any_db)) == 6


def test_a_sensitive_case_not_safe_on_the_resumed_call_ends_there_and_keeps_its_answers(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db, crime_type="domestic_abuse")
    ring_in(app_any_db, *keys("1", "1", "1", "1", "2", "3"), hang_up())
    call, victim = ring_in(app_any_db, press("1"), press("2"), press("1"))
    assert len(victim.heard) == 2
    assert call.transcript[-1] == "Thank you for your time. Goodbye."
    assert "incident" not in call.heard_text and "police" not in call.heard_text
    assert status(app_any_db) == "unsafe"
    assert counts(app_any_db)["interviews"] == 1
    assert codes(app_any_db) == {"ease_of_contact": "2", "actions_taken": "3"}


def test_consent_given_on_the_resumed_call_revises_the_one_referral(app_any_db: Flask) -> None:
    add_case(app_any_db)
    # Very dissatisfied with ease of contact; the reason recorded; the line drops at
    # "may an officer contact you?".
    ring_in(app_any_db, *keys("1", "1", "6", "2", "2", "2", "2"), record(6), hang_up())
    with app_any_db.extensions["ivr"].db.transaction() as session:
        first = session.scalars(select(Referral)).one()
        assert (first.kind, first.consented, first.due_at) == ("service_recovery", False, None)
        referral_id = first.id

    call, victim = ring_in(app_any_db, press("1"), press("1"), press("1"), press("2"))
    said = heard(victim)
    assert CARRY_ON in said[1]
    assert RECOVERY_CONSENT in said[2]
    assert status(app_any_db) == "completed"

    with app_any_db.extensions["ivr"].db.transaction() as session:
        referral = session.scalars(select(Referral)).one()
        events = list(
            session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == referral.id))
        )
        assert referral.id == referral_id and referral.kind == "service_recovery"
        assert referral.consented is True and referral.due_at is not None
        assert [r["question"] for r in referral.reasons] == ["ease_of_contact"]
        assert [e.kind for e in events] == ["revised"]
        assert events[0].details["consented"] is True
    assert counts(app_any_db)["interviews"] == 1
    assert codes(app_any_db)["recovery_consent"] == "1"


def test_a_retried_first_webhook_of_a_resumed_call_gets_the_same_twiml_and_adds_nothing(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db)
    ring_in(app_any_db, *keys("1", "1", "2", "3"), hang_up())
    before = counts(app_any_db)

    # Every webhook of the resumed call is sent twice; each copy is answered alike.
    sim = simulator(app_any_db, repeat=True)
    victim = Scripted(*keys("1", "1", "2", "2", "1", "2"))
    call = sim.call(from_=CALLER, to=SURVEY_NUMBER, respondent=victim)
    assert call.errors == [] and call.mismatches == []
    assert CARRY_ON in heard(victim)[1] and KEPT_INFORMED in heard(victim)[2]
    after = counts(app_any_db)
    assert after["interviews"] == before["interviews"] == 1
    assert after["call_attempts"] == before["call_attempts"] + 1
    assert after["answers"] == before["answers"] + 4

    # Twilio retries the first webhook once more, late: the same opening, nothing new.
    voice_url, params = call.requests[0]
    assert voice_url.endswith("/twilio/voice")
    again = sim.send(call, voice_url, params)
    assert again == call.responses[0]
    assert counts(app_any_db) == after
    assert status(app_any_db) == "completed"


def test_a_call_from_a_wrong_number_is_not_taken_through_the_victims_survey(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db)
    first = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(press("3"))
    )
    assert first.errors == []
    again = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(press("1"), press("1"))
    )
    assert "Gather" not in again.responses[0]
    with app_any_db.extensions["ivr"].db.transaction() as session:
        assert [i.status for i in session.scalars(select(Interview))] == ["wrong_number"]
