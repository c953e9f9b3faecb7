"""Tests for the Twilio simulator, run against a throwaway Flask app defined here."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator

import pytest
from flask import Flask, abort, current_app, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from ivr.telephony.respondents import (
    Action,
    HangUp,
    Press,
    Prompt,
    Scripted,
    hang_up,
    press,
    record,
    say,
    silence,
)
from ivr.telephony.simulator import (
    CallRecord,
    HTTPTransport,
    SimulatorError,
    TwilioSimulator,
    TwimlError,
    WSGITransport,
)

TOKEN = "0123456789abcdef0123456789abcdef"
BASE = "https://ivr.example.test"
CALLER = "+447700900123"
LINE = "+441632960001"

WELCOME = """<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say>Welcome to the survey.</Say>
  <Gather input="dtmf speech" numDigits="1" action="answer?q=1" hints="yes, no">
    <Say>Press 1 or say yes if you were satisfied.</Say>
  </Gather>
  <Redirect>/twilio/voice/retry</Redirect>
</Response>"""

ANSWER = """<Response>
  <Say>You chose {choice}.</Say>
  <Record action="recording" maxLength="30" playBeep="true"/>
  <Say>No message recorded.</Say>
  <Hangup/>
</Response>"""

DOCS = {
    "retry": "<Response><Say>Sorry, we did not catch that.</Say><Hangup/></Response>",
    "recording": "<Response><Say>Thank you, goodbye.</Say><Hangup/></Response>",
    "loop": "<Response><Pause length='1'/><Redirect>loop</Redirect></Response>",
    "reject": "<Response><Reject reason='busy'/></Response>",
    "dtmf-only": "<Response><Gather numDigits='1' action='done'><Say>Press a key.</Say></Gather>"
    "<Say>Nothing pressed.</Say></Response>",
    "empty-result": "<Response><Gather actionOnEmptyResult='true' action='done'/></Response>",
    "done": "<Response><Say>Done.</Say></Response>",
    "unknown-verb": "<Response><Shout>Hello</Shout></Response>",
    "unknown-attribute": "<Response><Say colour='red'>Hello</Say></Response>",
    "record-in-gather": "<Response><Gather><Record/></Gather></Response>",
    "get-method": "<Response><Redirect method='GET'>/twilio/voice</Redirect></Response>",
    "bad-input": "<Response><Gather input='keypad'/></Response>",
    "not-response": "<Twiml><Say>Hello</Say></Twiml>",
    "not-xml": "Hello there",
}


def make_app(base_url: str = BASE) -> Flask:
    """Build a small app that checks Twilio signatures and serves hand-written TwiML."""
    app = Flask(__name__)
    app.config["PUBLIC_BASE_URL"] = base_url
    hits: list[tuple[str, dict[str, str]]] = []
    app.extensions["hits"] = hits
    flaky_calls: list[int] = []

    @app.before_request
    def check_signature() -> None:
        path = request.full_path.removesuffix("?")
        url = current_app.config["PUBLIC_BASE_URL"] + path
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(TOKEN).validate(url, request.form, signature):
            abort(403)
        hits.append((path, request.form.to_dict()))

    @app.post("/twilio/voice")
    def voice() -> str:
        return WELCOME

    @app.post("/twilio/answer")
    def answer() -> str:
        assert request.args["q"] == "1"
        return ANSWER.format(choice=request.form.get("Digits") or request.form["SpeechResult"])

    @app.post("/twilio/voice/retry")
    def retry() -> str:
        return DOCS["retry"]

    @app.post("/twilio/menu")
    def menu() -> str:
        # Without an action attribute the Gather result comes back to this same URL.
        if "Digits" in request.form:
            return f"<Response><Say>Got {request.form['Digits']}.</Say><Hangup/></Response>"
        return "<Response><Gather numDigits='2'><Say>Two digits please.</Say></Gather></Response>"

    @app.post("/twilio/flaky")
    def flaky() -> str:
        flaky_calls.append(1)
        return f"<Response><Say>Call number {len(flaky_calls)}.</Say></Response>"

    @app.post("/twilio/<name>")
    def doc(name: str) -> str:
        return DOCS[name]

    @app.post("/twilio/status")
    def status() -> tuple[str, int]:
        return "", 204

    return app


def hits(app: Flask) -> list[tuple[str, dict[str, str]]]:
    """Requests the app accepted, as (path with query, form)."""
    return app.extensions["hits"]


@pytest.fixture
def app() -> Flask:
    """A fresh throwaway app for each test."""
    return make_app()


def simulate(
    app: Flask, respondent: Scripted, *, token: str = TOKEN, repeat: bool = False, **kwargs: object
) -> CallRecord:
    """Place one inbound call to the app through the in-process transport."""
    sim = TwilioSimulator(
        WSGITransport(app), auth_token=token, public_base_url=BASE, repeat_requests=repeat
    )
    return sim.call(from_=CALLER, to=LINE, respondent=respondent, **kwargs)  # type: ignore[arg-type]


def test_full_call_is_signed_and_carries_twilio_params(app: Flask) -> None:
    rec = simulate(app, Scripted(press("1"), record(12)))

    assert rec.errors == [] and rec.mismatches == []
    assert rec.ended_by == "app"
    assert [path for path, _ in hits(app)] == [
        "/twilio/voice",
        "/twilio/answer?q=1",
        "/twilio/recording",
        "/twilio/status",
    ]
    assert rec.transcript == [
        "Welcome to the survey.",
        "Press 1 or say yes if you were satisfied.",
        "You chose 1.",
        "Thank you, goodbye.",
    ]
    assert rec.heard_text.startswith("Welcome to the survey. Press 1")
    first, second = hits(app)[0][1], hits(app)[1][1]
    assert first["CallStatus"] == "ringing" and second["CallStatus"] == "in-progress"
    for _, form in hits(app):
        assert form["CallSid"] == rec.call_sid and re.fullmatch(r"CA[0-9a-f]{32}", rec.call_sid)
        assert re.fullmatch(r"AC[0-9a-f]{32}", form["AccountSid"])
        assert (form["From"], form["Caller"], form["To"], form["Called"]) == (
            CALLER,
            CALLER,
            LINE,
            LINE,
        )
        assert form["Direction"] == "inbound" and form["ApiVersion"] == "2010-04-01"
    assert rec.requests[1][0] == BASE + "/twilio/answer?q=1"
    assert len(rec.responses) == 3


def test_wrong_token_is_rejected_and_recorded_as_error(app: Flask) -> None:
    rec = simulate(app, Scripted(press("1")), token="not-the-token")

    assert rec.ended_by == "error"
    assert rec.responses == []
    assert len(rec.errors) == 2  # the voice webhook and the status callback
    assert all("HTTP 403" in error for error in rec.errors)
    assert hits(app) == []


def test_digits_are_cut_to_num_digits(app: Flask) -> None:
    rec = simulate(app, Scripted(press("12#"), silence()))

    answer = hits(app)[1][1]
    assert answer["Digits"] == "1" and "SpeechResult" not in answer
    assert "You chose 1." in rec.transcript


def test_speech_posts_result_and_confidence(app: Flask) -> None:
    respondent = Scripted(say("yes please", 0.87), silence())
    rec = simulate(app, respondent)

    answer = hits(app)[1][1]
    assert answer["SpeechResult"] == "yes please" and answer["Confidence"] == "0.87"
    assert "Digits" not in answer
    assert "You chose yes please." in rec.transcript
    # A silent Record falls through to the verbs after it.
    assert rec.transcript[-1] == "No message recorded."
    assert respondent.heard[1] == (
        "You chose yes please.",
        Prompt("record", (), None, "1234567890*#", ()),
    )


@pytest.mark.parametrize("action", [press("#"), silence()], ids=["hash-only", "silence"])
def test_no_input_falls_through_to_redirect(app: Flask, action: Action) -> None:
    respondent = Scripted(action)
    rec = simulate(app, respondent)

    assert [path for path, _ in hits(app)] == [
        "/twilio/voice",
        "/twilio/voice/retry",
        "/twilio/status",
    ]
    assert rec.transcript[-1] == "Sorry, we did not catch that."
    heard, prompt = respondent.heard[0]
    assert heard == "Welcome to the survey. Press 1 or say yes if you were satisfied."
    assert prompt == Prompt("gather", ("dtmf", "speech"), 1, "#", ("yes", "no"))


def test_speech_on_dtmf_only_gather_is_no_input(app: Flask) -> None:
    rec = simulate(app, Scripted(say("five")), url=BASE + "/twilio/dtmf-only")

    assert rec.transcript == ["Press a key.", "Nothing pressed."]
    assert len(rec.responses) == 1


def test_action_on_empty_result_posts_without_digits(app: Flask) -> None:
    rec = simulate(app, Scripted(silence()), url=BASE + "/twilio/empty-result")

    path, form = hits(app)[1]
    assert path == "/twilio/done" and "Digits" not in form and "SpeechResult" not in form
    assert rec.transcript == ["Done."]


def test_gather_without_action_posts_back_to_document(app: Flask) -> None:
    rec = simulate(app, Scripted(press("42")), url=BASE + "/twilio/menu")

    assert [path for path, _ in hits(app)][:2] == ["/twilio/menu", "/twilio/menu"]
    assert rec.transcript == ["Two digits please.", "Got 42."]


def test_record_posts_recording_url(app: Flask) -> None:
    rec = simulate(app, Scripted(press("1"), record(12)))

    form = hits(app)[2][1]
    sid = form["RecordingSid"]
    assert re.fullmatch(r"RE[0-9a-f]{32}", sid)
    assert form["RecordingUrl"] == (
        f"https://api.twilio.com/2010-04-01/Accounts/{form['AccountSid']}/Recordings/{sid}"
    )
    assert form["RecordingDuration"] == "12" and form["Digits"] == "#"
    assert rec.transcript[-1] == "Thank you, goodbye."


def test_respondent_hang_up_ends_call(app: Flask) -> None:
    rec = simulate(app, Scripted(hang_up()))

    assert rec.ended_by == "respondent"
    assert [path for path, _ in hits(app)] == ["/twilio/voice", "/twilio/status"]


def test_scripted_hangs_up_when_exhausted() -> None:
    respondent = Scripted(press("1"))
    prompt = Prompt("gather")
    assert respondent.respond("a", prompt) == Press("1")
    assert respondent.respond("b", prompt) == HangUp()
    assert respondent.heard == [("a", prompt), ("b", prompt)]


def test_status_callback_reports_completed_with_duration(app: Flask) -> None:
    rec = simulate(app, Scripted(press("1"), record(12)))
    again = simulate(make_app(), Scripted(press("1"), record(12)))

    url, params = rec.requests[-1]
    assert url == BASE + "/twilio/status"
    assert params["CallStatus"] == "completed"
    assert params["CallDuration"] == str(rec.duration)
    assert rec.duration >= 12 and rec.duration == again.duration


def test_custom_status_callback_and_outbound_params(app: Flask) -> None:
    rec = simulate(
        app,
        Scripted(silence()),
        direction="outbound-api",
        answered_by="human",
        status_callback=BASE + "/twilio/status?leg=1",
        extra_params={"FromCountry": "GB"},
    )

    first, later = hits(app)[0][1], hits(app)[1][1]
    assert first["CallStatus"] == "in-progress" and first["AnsweredBy"] == "human"
    assert "AnsweredBy" not in later and later["Direction"] == "outbound-api"
    assert all(form["FromCountry"] == "GB" for _, form in hits(app))
    assert hits(app)[-1][0] == "/twilio/status?leg=1"
    assert rec.errors == []


def test_leading_reject_leaves_call_unanswered(app: Flask) -> None:
    rec = simulate(app, Scripted(), url=BASE + "/twilio/reject")

    assert rec.ended_by == "app" and rec.status == "busy" and rec.duration == 0
    assert hits(app)[-1][1]["CallStatus"] == "busy"


def test_repeat_requests_sends_everything_twice(app: Flask) -> None:
    rec = simulate(app, Scripted(press("1"), record(5)), repeat=True)

    paths = [path for path, _ in hits(app)]
    assert paths == [
        p
        for p in ("/twilio/voice", "/twilio/answer?q=1", "/twilio/recording", "/twilio/status")
        for _ in range(2)
    ]
    assert hits(app)[0][1] == hits(app)[1][1]
    assert rec.mismatches == [] and rec.errors == []
    assert len(rec.requests) == 4


def test_repeat_requests_detects_mismatch_and_follows_second(app: Flask) -> None:
    rec = simulate(app, Scripted(), repeat=True, url=BASE + "/twilio/flaky")

    assert len(rec.mismatches) == 1 and "/twilio/flaky" in rec.mismatches[0]
    assert rec.transcript == ["Call number 2."]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("unknown-verb", "Shout"),
        ("unknown-attribute", "colour"),
        ("record-in-gather", "<Record> in <Gather>"),
        ("get-method", "GET"),
        ("bad-input", "keypad"),
        ("not-response", "Response"),
        ("not-xml", "well-formed"),
    ],
)
def test_invalid_twiml_raises(app: Flask, doc: str, message: str) -> None:
    with pytest.raises(TwimlError, match=re.escape(message)) as info:
        simulate(app, Scripted(), url=f"{BASE}/twilio/{doc}")

    assert info.value.record is not None and info.value.record.ended_by == "error"
    assert hits(app)[-1][0] == "/twilio/status"


def test_looping_app_is_stopped(app: Flask) -> None:
    with pytest.raises(SimulatorError, match="looping"):
        simulate(app, Scripted(), url=BASE + "/twilio/loop")

    assert len([path for path, _ in hits(app) if path == "/twilio/loop"]) == 200


@pytest.fixture
def live_app() -> Iterator[tuple[Flask, str]]:
    """The test app served over real HTTP on an ephemeral local port."""
    app = make_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, base
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def test_http_transport_against_live_server(live_app: tuple[Flask, str]) -> None:
    app, base = live_app
    transport = HTTPTransport(timeout=5)
    sim = TwilioSimulator(transport, auth_token=TOKEN, public_base_url=base)
    try:
        rec = sim.call(from_=CALLER, to=LINE, respondent=Scripted(say("yes"), record(3)))
    finally:
        transport.close()

    assert rec.errors == [] and rec.ended_by == "app"
    assert [path for path, _ in hits(app)] == [
        "/twilio/voice",
        "/twilio/answer?q=1",
        "/twilio/recording",
        "/twilio/status",
    ]
    assert rec.transcript[-1] == "Thank you, goodbye."


def test_http_transport_connection_refused_is_an_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sim = TwilioSimulator(
        HTTPTransport(timeout=2), auth_token=TOKEN, public_base_url=f"http://127.0.0.1:{port}"
    )
    rec = sim.call(from_=CALLER, to=LINE, respondent=Scripted())

    assert rec.ended_by == "error"
    assert len(rec.errors) == 2 and all("failed" in error for error in rec.errors)
