"""Transcriptions of recorded answers (``TRANSCRIBE=true``): the Record verb asks Twilio for
one, the signed callback keeps it once beside the recording, and the export shows it.

Calls are played through the real webhooks by the Twilio simulator, which posts the
transcription callback after the call; each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

import ivr.cli
from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.store.models import Answer, Interview, Transcription
from ivr.telephony.respondents import Action, Scripted, press, record
from ivr.telephony.simulator import CallRecord, WSGITransport, parse_twiml
from tests.conftest import (
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    SURVEY_NUMBER,
    add_case,
    make_settings,
    simulator,
)

CALLER = "+441134960001"
#: Identity, consent, then the five core answers, three of them dissatisfied (5-7).
DISSATISFIED = ("1", "1", "6", "2", "7", "3", "5")
REASON = "Nobody told me anything"


@pytest.fixture
def transcribing_app(any_db: str) -> Iterator[Flask]:
    """The app with ``transcribe=True``, on SQLite and then PostgreSQL."""
    app = create_app(make_settings(any_db, transcribe=True), queue=InProcessQueue())
    yield app
    app.extensions["ivr"].db.dispose()


def dissatisfied(reason: Action) -> Scripted:
    """A dissatisfied victim who leaves ``reason`` as their recorded answer, agrees to be
    contacted and wants no further police contact."""
    return Scripted(*(press(d) for d in DISSATISFIED), reason, press("1"), press("2"))


def record_verb(call: CallRecord) -> Any:
    """The one Record verb the app sent during the call."""
    verbs = [verb for body in call.responses for verb in parse_twiml(body) if verb.tag == "Record"]
    assert len(verbs) == 1, call.responses
    return verbs[0]


def transcription_requests(call: CallRecord) -> list[tuple[int, str, dict[str, str]]]:
    """(position among the call's requests, URL, parameters) of each transcription callback."""
    return [
        (n, url, params)
        for n, (url, params) in enumerate(call.requests)
        if "/transcriptions/" in url
    ]


def public_id(app: Flask) -> str:
    with app.extensions["ivr"].db.transaction() as session:
        return session.scalars(select(Interview.public_id)).one()


def stored(app: Flask) -> list[tuple[str, str, str | None, str | None]]:
    """(question, status, text, recording sid) of every kept transcription."""
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (t.question_id, t.status, t.text, t.recording_sid)
            for t in session.scalars(select(Transcription).order_by(Transcription.id))
        ]


def count(app: Flask) -> int:
    with app.extensions["ivr"].db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Transcription)) or 0)


def post_signed(
    app: Flask, url: str, params: dict[str, str], *, token: str | None = AUTH_TOKEN
) -> int:
    """POST ``params`` to the absolute ``url`` as Twilio would (signed with ``token``, or
    not signed at all with None); the status code."""
    path = url.removeprefix(PUBLIC_BASE_URL)
    headers = {}
    if token is not None:
        headers["X-Twilio-Signature"] = RequestValidator(token).compute_signature(url, params)
    response = app.test_client().post(path, base_url=PUBLIC_BASE_URL, data=params, headers=headers)
    return response.status_code


class HoldingTransport:
    """Delivers every webhook but the transcription callbacks, which it keeps back (as if
    Twilio had not finished transcribing yet)."""

    def __init__(self, app: Flask) -> None:
        self.inner = WSGITransport(app)
        self.held: list[tuple[str, dict[str, str]]] = []

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        if "/transcriptions/" in url:
            self.held.append((url, dict(params)))
            return 204, ""
        return self.inner.post(url, params, headers)


def test_the_record_verb_asks_twilio_to_transcribe_to_the_interviews_own_callback(
    transcribing_app: Flask,
) -> None:
    add_case(transcribing_app)
    call = simulator(transcribing_app).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON))
    )
    assert call.errors == []
    verb = record_verb(call)
    expected = (
        f"{PUBLIC_BASE_URL}/twilio/interviews/{public_id(transcribing_app)}"
        "/transcriptions/dissatisfaction_reason"
    )
    assert verb.get("transcribe") == "true"
    assert verb.get("transcribeCallback") == expected


def test_the_transcription_posted_after_the_call_is_kept_once_beside_the_recording(
    transcribing_app: Flask,
) -> None:
    add_case(transcribing_app)
    sim = simulator(transcribing_app)
    call = sim.call(from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON)))
    assert call.errors == []
    [(position, url, params)] = transcription_requests(call)
    status_position = next(
        n for n, (u, _) in enumerate(call.requests) if u == f"{PUBLIC_BASE_URL}/twilio/status"
    )
    assert position > status_position, "Twilio transcribes once the call is over"
    assert params["TranscriptionStatus"] == "completed"
    with transcribing_app.extensions["ivr"].db.transaction() as session:
        recording_url = session.scalars(
            select(Answer.recording_url).where(Answer.question_id == "dissatisfaction_reason")
        ).one()
    assert recording_url == params["RecordingUrl"]
    assert stored(transcribing_app) == [
        ("dissatisfaction_reason", "completed", REASON, params["RecordingSid"])
    ]


def test_a_repeated_transcription_callback_is_accepted_and_changes_nothing(
    transcribing_app: Flask,
) -> None:
    add_case(transcribing_app)
    sim = simulator(transcribing_app)
    call = sim.call(from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON)))
    [(_, url, params)] = transcription_requests(call)
    before = stored(transcribing_app)
    assert sim.send(call, url, params) == ""
    assert call.errors == []
    # Twilio may repeat it with other words (a retry after a slow answer): still the first.
    assert post_signed(transcribing_app, url, params) == 204
    assert (
        post_signed(
            transcribing_app, url, {**params, "TranscriptionText": "Something else entirely"}
        )
        == 204
    )
    assert stored(transcribing_app) == before
    assert count(transcribing_app) == 1


def test_unsigned_forged_or_unknown_status_callbacks_are_refused_and_keep_nothing(
    transcribing_app: Flask,
) -> None:
    add_case(transcribing_app)
    transport = HoldingTransport(transcribing_app)
    sim = simulator(transcribing_app)
    sim.transport = transport
    call = sim.call(from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON)))
    assert call.errors == []
    [(url, params)] = transport.held
    assert count(transcribing_app) == 0
    assert post_signed(transcribing_app, url, params, token=None) == 403
    assert post_signed(transcribing_app, url, params, token="not-the-auth-token") == 403
    # Signed, but for the words somebody else would like kept.
    forged = dict(params)
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    forged["TranscriptionText"] = "The officer was wonderful"
    response = transcribing_app.test_client().post(
        url.removeprefix(PUBLIC_BASE_URL),
        base_url=PUBLIC_BASE_URL,
        data=forged,
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403
    for status in ("in-progress", "queued", ""):
        assert (
            post_signed(transcribing_app, url, {**params, "TranscriptionStatus": status}) == 400
        ), status
    assert count(transcribing_app) == 0
    # The very callback Twilio signed is what gets kept.
    fresh = simulator(transcribing_app)
    assert fresh.send(call, url, params) == ""
    assert stored(transcribing_app) == [
        ("dissatisfaction_reason", "completed", REASON, params["RecordingSid"])
    ]


@pytest.mark.parametrize(
    ("interview", "question"),
    [
        ("0" * 32, "dissatisfaction_reason"),  # no such interview
        (None, "whole_experience"),  # a scale question: nothing recorded
        (None, "recovery_consent"),  # a yes/no question
        (None, "_identity"),  # a control step
        (None, "no_such_question"),
    ],
)
def test_a_callback_for_an_unknown_interview_or_a_question_that_records_nothing_is_not_found(
    transcribing_app: Flask, interview: str | None, question: str
) -> None:
    add_case(transcribing_app)
    call = simulator(transcribing_app).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON))
    )
    [(_, _, params)] = transcription_requests(call)
    before = stored(transcribing_app)
    url = (
        f"{PUBLIC_BASE_URL}/twilio/interviews/{interview or public_id(transcribing_app)}"
        f"/transcriptions/{question}"
    )
    assert post_signed(transcribing_app, url, params) == 404
    assert stored(transcribing_app) == before


def test_a_failed_transcription_is_kept_as_failed_without_text(transcribing_app: Flask) -> None:
    add_case(transcribing_app)
    call = simulator(transcribing_app).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6))
    )
    assert call.errors == []
    [(_, _, params)] = transcription_requests(call)
    assert params["TranscriptionStatus"] == "failed"
    assert stored(transcribing_app) == [
        ("dissatisfaction_reason", "failed", None, params["RecordingSid"])
    ]


def test_a_failed_transcription_keeps_no_text_even_if_twilio_sends_some(
    transcribing_app: Flask,
) -> None:
    add_case(transcribing_app)
    transport = HoldingTransport(transcribing_app)
    sim = simulator(transcribing_app)
    sim.transport = transport
    sim.call(from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON)))
    [(url, params)] = transport.held
    assert post_signed(transcribing_app, url, {**params, "TranscriptionStatus": "failed"}) == 204
    assert stored(transcribing_app) == [
        ("dissatisfaction_reason", "failed", None, params["RecordingSid"])
    ]


def export(app: Flask) -> list[dict[str, Any]]:
    result = app.test_cli_runner().invoke(
        ivr.cli.main, ["results", "export", "--survey", "uss", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_the_export_shows_the_transcription_beside_the_recording(transcribing_app: Flask) -> None:
    add_case(transcribing_app, case_ref="CR/0001/26", phone="+441134960001")
    add_case(transcribing_app, case_ref="CR/0002/26", phone="+441134960002")
    sim = simulator(transcribing_app)
    worded = sim.call(
        from_="+441134960001", to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON))
    )
    unworded = sim.call(from_="+441134960002", to=SURVEY_NUMBER, respondent=dissatisfied(record(6)))
    assert worded.errors == [] and unworded.errors == []
    rows = {row["case_ref"]: row["answers"] for row in export(transcribing_app)}
    said = rows["CR/0001/26"]["dissatisfaction_reason"]
    [(_, _, params)] = transcription_requests(worded)
    assert said["recording_url"] == params["RecordingUrl"]
    assert said["transcription"] == REASON
    # Twilio could not transcribe the other: the recording is there, the text is not.
    silent = rows["CR/0002/26"]["dissatisfaction_reason"]
    assert silent["recording_url"].startswith("https://api.twilio.com/")
    assert "transcription" in silent and silent["transcription"] is None
    # Only recorded answers carry a transcription.
    assert "transcription" not in rows["CR/0001/26"]["whole_experience"]


def test_without_transcribe_the_record_verb_asks_for_no_transcription(app_any_db: Flask) -> None:
    assert app_any_db.extensions["ivr"].settings.transcribe is False
    add_case(app_any_db)
    call = simulator(app_any_db).call(
        from_=CALLER, to=SURVEY_NUMBER, respondent=dissatisfied(record(6, text=REASON))
    )
    assert call.errors == []
    verb = record_verb(call)
    assert verb.get("transcribe") is None
    assert verb.get("transcribeCallback") is None
    assert transcription_requests(call) == []
    assert count(app_any_db) == 0
    [row] = export(app_any_db)
    assert row["answers"]["dissatisfaction_reason"]["transcription"] is None
