"""Whole calls through the real webhooks, played by the Twilio simulator.

Each test runs on SQLite and on PostgreSQL (the ``app_any_db`` fixture).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.store.models import Answer, CallAttempt, Interview, Referral, Turn
from ivr.telephony.respondents import Scripted, hang_up, press, record, say, silence
from ivr.telephony.simulator import parse_twiml
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER, add_case, simulator

CALLER = "+441134960001"
SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")
#: Identity, consent, then the five core questions, three of them dissatisfied.
DISSATISFIED = ("1", "1", "6", "2", "7", "3", "5")


def keys(*digits: str) -> list:
    return [press(d) for d in digits]


def counts(app: Flask) -> dict[str, int]:
    with app.extensions["ivr"].db.transaction() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (Interview, Answer, Referral, Turn, CallAttempt)
        }


def interview_answers(app: Flask) -> list[dict[str, tuple]]:
    with app.extensions["ivr"].db.transaction() as s:
        result = []
        for interview in s.scalars(select(Interview).order_by(Interview.id)):
            result.append(
                {
                    a.question_id: (a.code, a.label, a.via)
                    for a in s.scalars(select(Answer).where(Answer.interview_id == interview.id))
                }
            )
        return result


def statuses(app: Flask) -> list[str]:
    with app.extensions["ivr"].db.transaction() as s:
        return list(s.scalars(select(Interview.status).order_by(Interview.id)))


def test_satisfied_victim_completes_by_keypad(app_any_db: Flask) -> None:
    add_case(app_any_db)
    call = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys(*SATISFIED))
    )
    assert call.errors == [] and call.ended_by == "app"
    assert statuses(app_any_db) == ["completed"]
    assert interview_answers(app_any_db) == [
        {
            "ease_of_contact": ("1", "completely satisfied", "keypad"),
            "actions_taken": ("2", "very satisfied", "keypad"),
            "kept_informed": ("3", "fairly satisfied", "keypad"),
            "treatment": ("2", "very satisfied", "keypad"),
            "whole_experience": ("1", "completely satisfied", "keypad"),
            "police_contact": ("2", "no", "keypad"),
        }
    ]
    assert counts(app_any_db)["referrals"] == 0
    assert "Thank you for taking part" in call.transcript[-1]


def test_every_request_sent_twice_records_the_same_as_once(app_any_db: Flask) -> None:
    add_case(app_any_db, case_ref="A", phone="+441134960001")
    add_case(app_any_db, case_ref="B", phone="+441134960002")
    once = simulator(app_any_db).call(
        from_="+441134960001",
        to=SURVEY_NUMBER,
        respondent=Scripted(*keys(*DISSATISFIED), record(6), press("1"), press("2")),
    )
    twice = simulator(app_any_db, repeat=True).call(
        from_="+441134960002",
        to=SURVEY_NUMBER,
        respondent=Scripted(*keys(*DISSATISFIED), record(6), press("1"), press("2")),
    )
    assert twice.mismatches == [] and twice.errors == []
    assert once.transcript == twice.transcript
    first, second = interview_answers(app_any_db)
    assert {k: v for k, v in first.items()} == second
    assert counts(app_any_db)["interviews"] == 2
    assert counts(app_any_db)["referrals"] == 2
    assert counts(app_any_db)["call_attempts"] == 2


def test_dissatisfied_consenting_victim_gets_one_referral_for_their_district(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db, district="Stockton")
    simulator(app_any_db, repeat=True).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        respondent=Scripted(*keys(*DISSATISFIED), record(6), press("1"), press("2")),
    )
    with app_any_db.extensions["ivr"].db.transaction() as s:
        referrals = list(s.scalars(select(Referral)))
        answer = s.scalar(select(Answer).where(Answer.question_id == "dissatisfaction_reason"))
    assert [(r.kind, r.district, r.status, r.consented) for r in referrals] == [
        ("service_recovery", "Stockton", "new", True)
    ]
    assert referrals[0].due_at is not None
    assert [x["question"] for x in referrals[0].reasons] == [
        "ease_of_contact",
        "kept_informed",
        "whole_experience",
    ]
    assert answer is not None and answer.recording_url.startswith("https://api.twilio.com/")
    assert statuses(app_any_db) == ["completed"]


def test_dissatisfied_without_consent_is_asked_why_and_referred_without_details(
    app_any_db: Flask,
) -> None:
    add_case(app_any_db)
    call = simulator(app_any_db).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        respondent=Scripted(*keys(*DISSATISFIED), record(7), press("2"), press("2")),
    )
    assert "please tell us why" in call.heard_text
    with app_any_db.extensions["ivr"].db.transaction() as s:
        referral = s.scalars(select(Referral)).one()
        reason = s.scalar(select(Answer).where(Answer.question_id == "dissatisfaction_reason"))
    assert (referral.kind, referral.consented, referral.due_at) == ("service_recovery", False, None)
    assert reason is not None and reason.recording_url
    assert statuses(app_any_db) == ["completed"]


def test_invalid_keys_and_silence_reprompt_then_the_survey_completes(app_any_db: Flask) -> None:
    add_case(app_any_db)
    script = [
        press("1"),
        press("1"),
        press("9"),
        silence(),
        press("2"),  # third try answers
        press("9"),  # not 0: that asks for a person
        silence(),
        press("#"),  # three failures: unanswered
        *keys("3", "2", "1", "2"),
    ]
    call = simulator(app_any_db).call(from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*script))
    heard = call.heard_text
    assert heard.count("Sorry, that is not one of the choices.") == 2
    assert heard.count("Sorry, I didn't hear an answer.") == 2
    answers = interview_answers(app_any_db)[0]
    assert answers["ease_of_contact"] == ("2", "very satisfied", "keypad")
    assert answers["actions_taken"] == (None, None, None)
    assert statuses(app_any_db) == ["completed"]


def test_speech_answers_are_recorded_as_speech(app_any_db: Flask) -> None:
    add_case(app_any_db)
    script = [
        say("yes"),
        say("okay"),
        say("very satisfied"),
        say("fairly satisfied"),
        say("completely satisfied", 0.3),
        say("yes"),
        say("neither"),
        say("I don't know"),
        say("no thanks"),
    ]
    simulator(app_any_db).call(from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*script))
    answers = interview_answers(app_any_db)[0]
    assert answers["ease_of_contact"] == ("2", "very satisfied", "speech")
    assert answers["kept_informed"] == ("1", "completely satisfied", "speech")
    assert answers["treatment"] == ("4", "neither satisfied nor dissatisfied", "speech")
    assert answers["whole_experience"] == ("8", "don't know", "speech")
    assert answers["police_contact"] == ("2", "no", "speech")
    assert statuses(app_any_db) == ["completed"]


def test_hang_up_midway_leaves_a_partial_interview_with_answers_so_far(app_any_db: Flask) -> None:
    add_case(app_any_db)
    call = simulator(app_any_db, repeat=True).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys("1", "1", "2", "3"), hang_up())
    )
    assert call.ended_by == "respondent"
    assert statuses(app_any_db) == ["partial"]
    assert interview_answers(app_any_db) == [
        {
            "ease_of_contact": ("2", "very satisfied", "keypad"),
            "actions_taken": ("3", "fairly satisfied", "keypad"),
        }
    ]
    with app_any_db.extensions["ivr"].db.transaction() as s:
        interview = s.scalar(select(Interview))
        attempt = s.scalar(select(CallAttempt))
    assert interview.ended_at is not None
    assert attempt.status == "completed"


@pytest.mark.parametrize("caller", ["+441214960099", "anonymous", "", "+12025550100"])
def test_unknown_or_withheld_caller_hears_nothing_about_any_case(
    app_any_db: Flask, caller: str
) -> None:
    add_case(app_any_db, phone="+441134960001")
    call = simulator(app_any_db, repeat=True).call(
        from_=caller, to=SURVEY_NUMBER, respondent=Scripted(press("1"))
    )
    body = call.responses[0]
    verbs = [el.tag for el in parse_twiml(body)]
    assert verbs == ["Say", "Hangup"]
    assert "Gather" not in body and "http" not in body
    assert not re.search(r"burglary|Alex|Hartlepool|CR/", body)
    assert counts(app_any_db)["interviews"] == 0


def test_forged_and_unsigned_requests_are_refused_and_change_nothing(app_any_db: Flask) -> None:
    add_case(app_any_db)
    forged = simulator(app_any_db, token="not-the-token").call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(press("1"))
    )
    assert forged.errors and "403" in forged.errors[0]
    client = app_any_db.test_client()
    unsigned = client.post(
        "/twilio/voice",
        data={"CallSid": "CA1", "From": CALLER, "To": SURVEY_NUMBER, "Direction": "inbound"},
    )
    assert unsigned.status_code == 403
    # A valid signature for another URL (here: the internal Host) is still a forgery.
    params = {"CallSid": "CA2", "From": CALLER, "To": SURVEY_NUMBER, "Direction": "inbound"}
    wrong_url = RequestValidator(AUTH_TOKEN).compute_signature(
        "http://localhost/twilio/voice", params
    )
    assert (
        client.post(
            "/twilio/voice", data=params, headers={"X-Twilio-Signature": wrong_url}
        ).status_code
        == 403
    )
    assert counts(app_any_db) == {
        "interviews": 0,
        "answers": 0,
        "referrals": 0,
        "turns": 0,
        "call_attempts": 0,
    }


def test_a_forged_turn_mid_call_records_nothing(app_any_db: Flask) -> None:
    add_case(app_any_db)
    call = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys("1", "1", "2"), hang_up())
    )
    turn_url = call.requests[3][0]
    path = turn_url.removeprefix(PUBLIC_BASE_URL)
    before = counts(app_any_db)
    response = app_any_db.test_client().post(
        path, data={"Digits": "7"}, headers={"X-Twilio-Signature": "bogus"}
    )
    assert response.status_code == 403
    assert counts(app_any_db) == before


def test_signature_is_checked_over_the_public_url_behind_a_proxy(app_any_db: Flask) -> None:
    add_case(app_any_db)
    params = {
        "CallSid": "CA" + "1" * 32,
        "From": CALLER,
        "To": SURVEY_NUMBER,
        "Direction": "inbound",
        "CallStatus": "ringing",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/twilio/voice", params
    )
    # The request reaches the app on an internal address, as it would behind TLS termination.
    response = app_any_db.test_client().post(
        "/twilio/voice",
        base_url="http://10.0.0.5:8000",
        data=params,
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 200
    assert "<Gather" in response.get_data(as_text=True)


def test_answering_machine_gets_no_survey(app_any_db: Flask) -> None:
    add_case(app_any_db)
    call = simulator(app_any_db).call(
        from_=CALLER,
        to=SURVEY_NUMBER,
        direction="outbound-api",
        answered_by="machine_end_beep",
        respondent=Scripted(press("1")),
    )
    assert [el.tag for el in parse_twiml(call.responses[0])] == ["Hangup"]
    assert counts(app_any_db)["interviews"] == 0


def test_completed_case_is_not_surveyed_again(app_any_db: Flask) -> None:
    add_case(app_any_db)
    simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys(*SATISFIED))
    )
    again = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(press("1"))
    )
    assert "Gather" not in again.responses[0]
    assert counts(app_any_db)["interviews"] == 1


def test_status_callback_twice_or_late_changes_nothing(app_any_db: Flask) -> None:
    add_case(app_any_db)
    sim = simulator(app_any_db)
    call = sim.call(from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(*keys(*SATISFIED)))
    status_url, params = call.requests[-1]
    assert params["CallStatus"] == "completed"
    sim.send(call, status_url, {**params, "CallStatus": "in-progress"})
    assert statuses(app_any_db) == ["completed"]
    with app_any_db.extensions["ivr"].db.transaction() as s:
        assert s.scalar(select(CallAttempt.status)) == "completed"


def test_unknown_turn_is_not_found(app_any_db: Flask) -> None:
    add_case(app_any_db)
    call = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=Scripted(press("1"), hang_up())
    )
    turn_url = call.requests[1][0]
    future = re.sub(r"/turns/\d+$", "/turns/9", turn_url)
    sim = simulator(app_any_db)
    assert sim.send(call, future, {"CallSid": call.call_sid, "Digits": "1"}) is None
    assert any("404" in e for e in call.errors)
