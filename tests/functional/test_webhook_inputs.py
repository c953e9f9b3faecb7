"""Malformed webhook parameters get 400 (or are cut or held to range), never a 500, and
change nothing; a database that cannot be reached gets a short apology in TwiML. Each test
runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import TimeoutError as PoolTimeout
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.store.models import Answer, CallAttempt, Interview
from ivr.telephony.simulator import parse_twiml
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER, add_case, make_settings
from tests.functional.test_turn_path import snapshot

CALLER = "+441134960001"
CALL_SID = "CA" + "1" * 32
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE" + "2" * 32


def post(
    app: Flask, path: str, pairs: Sequence[tuple[str, str]], *, signed_pairs: Any = None
) -> TestResponse:
    """POST form ``pairs`` to ``path``, signed over ``signed_pairs`` (default: every pair)."""
    form = MultiDict(list(pairs if signed_pairs is None else signed_pairs))
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, form)
    return app.test_client().post(
        path,
        base_url=PUBLIC_BASE_URL,
        data=MultiDict(list(pairs)),
        headers={"X-Twilio-Signature": signature},
    )


def call_in(app: Flask) -> str:
    """An inbound call from a case's victim; the path of its first turn."""
    add_case(app)
    response = post(
        app,
        "/twilio/voice",
        [("CallSid", CALL_SID), ("From", CALLER), ("To", SURVEY_NUMBER), ("Direction", "inbound")],
    )
    assert response.status_code == 200
    with app.extensions["ivr"].db.transaction() as session:
        public_id = session.scalars(select(Interview.public_id)).one()
    return f"/twilio/interviews/{public_id}/turns/1"


def at_first_scale_question(app: Flask) -> str:
    """Identity and consent answered; the path of the turn answering the first question."""
    path = call_in(app)
    for step in (1, 2):
        assert post(app, path[:-1] + str(step), [("Digits", "1")]).status_code == 200
    return path[:-1] + "3"


def answers(app: Flask) -> list[Answer]:
    with app.extensions["ivr"].db.transaction() as session:
        found = list(session.scalars(select(Answer).order_by(Answer.id)))
        session.expunge_all()
        return found


def test_a_body_that_is_not_utf8_gets_403_unsigned_and_400_signed(app_any_db: Flask) -> None:
    path = call_in(app_any_db)
    client = app_any_db.test_client()
    raw = b"Digits=%FF&CallSid=" + CALL_SID.encode()
    unsigned = client.post(
        path, data=raw, content_type="application/x-www-form-urlencoded", base_url=PUBLIC_BASE_URL
    )
    assert unsigned.status_code == 403
    # Signed over the form as the parser reads it ('%FF' kept undecoded).
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        PUBLIC_BASE_URL + path, {"Digits": "%FF", "CallSid": CALL_SID}
    )
    before = snapshot(app_any_db)
    signed = client.post(
        path,
        data=raw,
        content_type="application/x-www-form-urlencoded",
        base_url=PUBLIC_BASE_URL,
        headers={"X-Twilio-Signature": signature},
    )
    assert signed.status_code == 400
    assert snapshot(app_any_db) == before


@pytest.mark.parametrize("duration", ["²", "١٢", "2147483648", "99999999999999999999"])
def test_a_call_duration_in_unicode_digits_or_beyond_the_column_gets_400(
    app_any_db: Flask, duration: str
) -> None:
    call_in(app_any_db)
    before = snapshot(app_any_db)
    response = post(
        app_any_db,
        "/twilio/status",
        [("CallSid", CALL_SID), ("CallStatus", "completed"), ("CallDuration", duration)],
    )
    assert response.status_code == 400
    assert snapshot(app_any_db) == before


def test_a_turn_number_beyond_the_column_is_not_found(app_any_db: Flask) -> None:
    path = call_in(app_any_db)
    for step in (2**31, 2**63, 10**30):
        assert post(app_any_db, path[:-1] + str(step), [("Digits", "1")]).status_code == 404


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CallStatus", "exploded"),
        ("CallStatus", "x" * 40),
        ("AnsweredBy", "robot"),
        ("AnsweredBy", "machine_" + "x" * 40),
        ("CallSid", "CA" + "1" * 70),
        ("CallSid", "CA1\x00"),
    ],
)
def test_unknown_statuses_and_oversized_ids_get_400_and_store_nothing(
    app_any_db: Flask, name: str, value: str
) -> None:
    call_in(app_any_db)
    before = snapshot(app_any_db)
    fields = {"CallSid": CALL_SID, "CallStatus": "in-progress", name: value}
    assert post(app_any_db, "/twilio/status", list(fields.items())).status_code == 400
    assert snapshot(app_any_db) == before


def test_nul_bytes_are_stripped_from_what_a_caller_said(app_any_db: Flask) -> None:
    path = at_first_scale_question(app_any_db)
    response = post(
        app_any_db, path, [("SpeechResult", "very\x00 satisfied"), ("Confidence", "0.9")]
    )
    assert response.status_code == 200
    assert "\x00" not in (answers(app_any_db)[-1].raw or "")


@pytest.mark.parametrize("confidence", ["nan", "NaN", "-inf", "-5"])
def test_a_nan_or_negative_confidence_asks_the_caller_to_confirm(
    app_any_db: Flask, confidence: str
) -> None:
    path = at_first_scale_question(app_any_db)
    count = len(answers(app_any_db))
    response = post(
        app_any_db, path, [("SpeechResult", "very satisfied"), ("Confidence", confidence)]
    )
    assert response.status_code == 200
    assert "I think you said" in response.get_data(as_text=True)
    assert len(answers(app_any_db)) == count


def test_an_infinite_confidence_counts_as_certain(app_any_db: Flask) -> None:
    path = at_first_scale_question(app_any_db)
    response = post(app_any_db, path, [("SpeechResult", "very satisfied"), ("Confidence", "inf")])
    assert response.status_code == 200
    assert answers(app_any_db)[-1].confidence == 1.0


def test_a_50_kb_speech_result_is_cut_before_it_is_kept(app_any_db: Flask) -> None:
    path = at_first_scale_question(app_any_db)
    speech = "very satisfied " + "and so on " * 5_000
    response = post(app_any_db, path, [("SpeechResult", speech), ("Confidence", "0.9")])
    assert response.status_code == 200
    kept = answers(app_any_db)[-1].raw or ""
    assert kept.startswith("very satisfied") and len(kept) <= 1000


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.com/Recordings/RE1",
        "http://api.twilio.com/2010-04-01/Recordings/RE1",
        "https://api.twilio.com.evil.example.com/RE1",
        "https://api.twilio.com@evil.example.com/RE1",
        "javascript:alert(1)",
    ],
)
def test_a_recording_anywhere_but_twilios_media_host_gets_400(app_any_db: Flask, url: str) -> None:
    path = call_in(app_any_db)
    before = snapshot(app_any_db)
    response = post(app_any_db, path, [("RecordingUrl", url), ("RecordingDuration", "5")])
    assert response.status_code == 400
    assert snapshot(app_any_db) == before


def test_a_recording_on_the_configured_twilio_api_host_is_accepted(any_db: str) -> None:
    app = create_app(
        make_settings(any_db, twilio_api_base_url="http://127.0.0.1:8081"), queue=InProcessQueue()
    )
    try:
        path = call_in(app)
        url = "http://127.0.0.1:8081/2010-04-01/Accounts/AC1/Recordings/RE1"
        assert post(app, path, [("RecordingUrl", url), ("Digits", "#")]).status_code == 200
        # The twilio.com host is always Twilio's.
        assert post(app, path[:-1] + "2", [("RecordingUrl", RECORDING)]).status_code == 200
    finally:
        app.extensions["ivr"].db.dispose()


def test_a_value_added_to_a_signed_request_breaks_its_signature(app_any_db: Flask) -> None:
    path = call_in(app_any_db)
    before = snapshot(app_any_db)
    added = post(
        app_any_db, path, [("Digits", "1"), ("Digits", "2")], signed_pairs=[("Digits", "1")]
    )
    assert added.status_code == 403
    # Signed over both values: the signature does not say which comes first, so neither
    # is taken.
    both = post(app_any_db, path, [("Digits", "2"), ("Digits", "1")])
    assert both.status_code == 400
    assert snapshot(app_any_db) == before


def test_a_body_over_64_kb_gets_413(app_any_db: Flask) -> None:
    path = call_in(app_any_db)
    response = post(app_any_db, path, [("SpeechResult", "x" * 70_000)])
    assert response.status_code == 413


def test_a_malformed_attempt_id_gets_400_and_is_never_echoed(app_any_db: Flask) -> None:
    add_case(app_any_db)
    response = post(app_any_db, "/twilio/voice?attempt=%00", [("CallSid", CALL_SID)])
    assert response.status_code == 400


def assert_apology(response: TestResponse) -> None:
    assert response.status_code == 200
    verbs = parse_twiml(response.get_data(as_text=True))
    assert [verb.tag for verb in verbs] == ["Say", "Hangup"]
    assert "Sorry" in (verbs[0].text or "")


@pytest.mark.parametrize(
    "database_url",
    ["sqlite:////nonexistent-folder/ivr.db", "postgresql+psycopg://postgres@127.0.0.1:1/none"],
)
def test_with_the_database_unreachable_a_caller_hears_an_apology_and_the_call_ends(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(make_settings(database_url), queue=InProcessQueue())
    voice = [("CallSid", CALL_SID), ("From", CALLER), ("To", SURVEY_NUMBER)]
    assert_apology(post(app, "/twilio/voice", voice))
    assert_apology(post(app, "/twilio/interviews/" + "a" * 32 + "/turns/1", [("Digits", "1")]))
    assert_apology(
        post(app, "/twilio/opt-out?attempt=" + "a" * 32, [("CallSid", CALL_SID), ("Digits", "9")])
    )
    status = post(app, "/twilio/status", [("CallSid", CALL_SID), ("CallStatus", "completed")])
    assert status.status_code == 503
    assert CALLER not in caplog.text


def test_with_the_connection_pool_used_up_a_caller_hears_an_apology(
    app_any_db: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = call_in(app_any_db)

    def pool_used_up(*args: Any, **kwargs: Any) -> Any:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached")

    monkeypatch.setattr(app_any_db.extensions["ivr"].db, "reading", pool_used_up)
    assert_apology(post(app_any_db, path, [("Digits", "1")]))


def test_a_stored_recording_on_a_foreign_host_is_never_a_redirect(app: Flask) -> None:
    from tests.functional.staff_web import sign_in
    from tests.functional.test_referral_queue import add_referral, add_staff

    referral_id = add_referral(app, case_ref="H1", recording="https://evil.example.com/x")
    add_staff(app, "hart@police.test", "district_officer", "Hartlepool")
    client = sign_in(app, "hart@police.test")
    assert client.get(f"/queue/referrals/{referral_id}/recording").status_code == 404


def test_a_call_attempt_keeps_only_twilios_answered_by_values(app_any_db: Flask) -> None:
    call_in(app_any_db)
    post(
        app_any_db,
        "/twilio/status",
        [("CallSid", CALL_SID), ("CallStatus", "in-progress"), ("AnsweredBy", "human")],
    )
    with app_any_db.extensions["ivr"].db.transaction() as session:
        assert session.scalars(select(CallAttempt.answered_by)).one() == "human"
