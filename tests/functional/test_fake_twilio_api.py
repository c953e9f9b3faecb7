"""The fake Twilio REST API plays calls back to a throwaway app with signed webhooks."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest
from flask import Flask, abort, request
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server
from werkzeug.test import Client

from ivr.telephony.fake_api import (
    FakeCall,
    FakeTwilioApi,
    Fate,
    FateFunction,
    busy,
    failed,
    human,
    machine,
    no_answer,
)
from ivr.telephony.port import CallRequest, TwilioTelephony
from ivr.telephony.respondents import Scripted
from ivr.telephony.simulator import HTTPTransport, Transport, WSGITransport

SID = "AC" + "2" * 32
TOKEN = "fake-api-test-token-0123456789ab"
APP = "https://app.example.test"
VICTIM = "+447700900123"
SURVEY_LINE = "+441134960999"
CALLS_PATH = f"/2010-04-01/Accounts/{SID}/Calls.json"
HI = "<Response><Say>hi</Say><Hangup/></Response>"


@dataclass(frozen=True)
class Hit:
    """One webhook the app received."""

    path: str
    form: dict[str, str]
    signed: bool
    signature: str


def tiny_app() -> tuple[Flask, list[Hit]]:
    """A Flask app answering Twilio like a survey would, minus the survey."""
    app = Flask(__name__)
    hits: list[Hit] = []
    validator = RequestValidator(TOKEN)

    def record() -> None:
        signature = request.headers.get("X-Twilio-Signature", "")
        signed = validator.validate(request.url, request.form, signature)
        hits.append(Hit(request.path, request.form.to_dict(), signed, signature))
        if not signed:
            abort(403)

    @app.post("/voice")
    def voice() -> tuple[str, int, dict[str, str]]:
        record()
        return HI, 200, {"Content-Type": "text/xml"}

    @app.post("/status")
    @app.post("/amd")
    def status() -> tuple[str, int]:
        record()
        return "", 204

    return app, hits


@pytest.fixture
def app_and_hits() -> tuple[Flask, list[Hit]]:
    return tiny_app()


@pytest.fixture
def hits(app_and_hits: tuple[Flask, list[Hit]]) -> list[Hit]:
    return app_and_hits[1]


@pytest.fixture
def transport(app_and_hits: tuple[Flask, list[Hit]]) -> Transport:
    return WSGITransport(app_and_hits[0])


def make_api(
    transport: Transport, fate: Fate | FateFunction | None = None, **options: bool
) -> FakeTwilioApi:
    chosen = fate if fate is None or callable(fate) else (lambda to, params: fate)
    return FakeTwilioApi(transport, account_sid=SID, auth_token=TOKEN, fate=chosen, **options)


EVERY_EVENT = ["initiated", "ringing", "answered", "completed"]


def place(
    api: FakeTwilioApi,
    *,
    auth: tuple[str, str] = (SID, TOKEN),
    path: str = CALLS_PATH,
    events: list[str] | str | None = None,
    **params: str,
) -> tuple[int, dict[str, object]]:
    """POST a call request to the fake API as Twilio's client would."""
    form: dict[str, object] = {
        "To": VICTIM,
        "From": SURVEY_LINE,
        "Url": f"{APP}/voice",
        "Method": "POST",
        "StatusCallback": f"{APP}/status",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": EVERY_EVENT if events is None else events,
        "MachineDetection": "Enable",
        "Timeout": "20",
        **params,
    }
    response = Client(api).post(path, data={k: v for k, v in form.items() if v != ""}, auth=auth)
    return response.status_code, response.get_json()


def play_one(api: FakeTwilioApi, **params: str) -> FakeCall:
    status, body = place(api, **params)
    assert status == 201, body
    [call] = api.play_pending()
    assert call.sid == body["sid"]
    return call


def statuses(hits: list[Hit]) -> list[str]:
    return [h.form["CallStatus"] for h in hits if h.path == "/status"]


def test_human_call_rings_answers_runs_the_voice_url_then_completes(
    transport: Transport, hits: list[Hit]
) -> None:
    api = make_api(transport, human(Scripted()))

    call = play_one(api)

    assert [(h.path, h.form["CallStatus"]) for h in hits] == [
        ("/status", "initiated"),
        ("/status", "ringing"),
        ("/status", "in-progress"),
        ("/voice", "in-progress"),
        ("/status", "completed"),
    ]
    assert all(h.signed for h in hits)
    assert {h.form["CallSid"] for h in hits} == {call.sid}
    assert {
        (h.form["AccountSid"], h.form["From"], h.form["To"], h.form["Direction"]) for h in hits
    } == {(SID, SURVEY_LINE, VICTIM, "outbound-api")}
    voice = hits[3].form
    assert voice["AnsweredBy"] == "human"
    final = hits[-1].form
    assert final["CallDuration"] == "1" and final["AnsweredBy"] == "human"
    assert [h.form["SequenceNumber"] for h in hits if h.path == "/status"] == ["0", "1", "2", "3"]
    assert all(h.form["Timestamp"].endswith("+0000") for h in hits if h.path == "/status")
    assert "CallDuration" not in hits[0].form
    assert call.status == "completed" and call.record is not None
    assert call.record.transcript == ["hi"] and call.errors == []
    assert call.callback_statuses == ["initiated", "ringing", "in-progress", "completed"]
    assert all(sent.status_code == 204 for sent in call.callbacks)


def test_without_machine_detection_the_app_gets_no_answered_by(
    transport: Transport, hits: list[Hit]
) -> None:
    api = make_api(transport, human(Scripted()))

    play_one(api, MachineDetection="")

    assert all("AnsweredBy" not in h.form for h in hits)


@pytest.mark.parametrize("answered_by", ["machine_start", "fax"])
def test_machine_gets_answered_by_on_the_voice_url_then_completed(
    transport: Transport, hits: list[Hit], answered_by: str
) -> None:
    api = make_api(transport, machine(answered_by))

    call = play_one(api, events="completed")

    assert [(h.path, h.form.get("AnsweredBy")) for h in hits] == [
        ("/voice", answered_by),
        ("/status", answered_by),
    ]
    assert hits[-1].form["CallStatus"] == "completed" and all(h.signed for h in hits)
    assert call.fate is not None and call.fate.outcome == "machine"


@pytest.mark.parametrize(
    ("fate", "expected"),
    [
        (no_answer(), ["initiated", "ringing", "no-answer"]),
        (busy(), ["initiated", "busy"]),
        (failed(), ["failed"]),
    ],
)
def test_unanswered_calls_never_request_the_voice_url(
    transport: Transport, hits: list[Hit], fate: Fate, expected: list[str]
) -> None:
    api = make_api(transport, fate)

    call = play_one(api)

    assert [h.path for h in hits] == ["/status"] * len(expected)
    assert statuses(hits) == expected and all(h.signed for h in hits)
    assert hits[-1].form["CallDuration"] == "0"
    assert call.status == expected[-1] and call.record is None


@pytest.mark.parametrize("events", ["", "completed", "ringing"])
def test_the_final_status_is_always_sent_other_events_only_when_asked(
    transport: Transport, hits: list[Hit], events: str
) -> None:
    api = make_api(transport, no_answer())

    play_one(api, events=events)

    assert statuses(hits) == (["ringing"] if events == "ringing" else []) + ["no-answer"]


def test_space_separated_events_count_like_repeated_ones(
    transport: Transport, hits: list[Hit]
) -> None:
    api = make_api(transport, busy())

    call = play_one(api, events="initiated ringing completed")

    assert call.status_events == ("initiated", "ringing", "completed")
    assert statuses(hits) == ["initiated", "busy"]


def test_duplicate_option_delivers_every_callback_twice_identically(
    transport: Transport, hits: list[Hit]
) -> None:
    api = make_api(transport, human(Scripted()), duplicate_callbacks=True)

    play_one(api)

    status_hits = [h for h in hits if h.path == "/status"]
    assert statuses(hits) == [
        "initiated",
        "initiated",
        "ringing",
        "ringing",
        "in-progress",
        "in-progress",
        "completed",
        "completed",
    ]
    for first, repeat in zip(status_hits[::2], status_hits[1::2], strict=True):
        assert (first.form, first.signature) == (repeat.form, repeat.signature)
    assert [h.path for h in hits].count("/voice") == 1


def test_out_of_order_option_sends_the_final_status_before_ringing(
    transport: Transport, hits: list[Hit]
) -> None:
    api = make_api(transport, human(Scripted()), out_of_order_callbacks=True)

    play_one(api)

    assert [(h.path, h.form["CallStatus"]) for h in hits] == [
        ("/voice", "in-progress"),
        ("/status", "completed"),
        ("/status", "initiated"),
        ("/status", "ringing"),
        ("/status", "in-progress"),
    ]
    # Sequence numbers keep the true order, so an app can tell the final one is last.
    assert [h.form["SequenceNumber"] for h in hits[1:]] == ["3", "0", "1", "2"]


def test_duplicate_and_out_of_order_together(transport: Transport, hits: list[Hit]) -> None:
    api = make_api(transport, no_answer(), duplicate_callbacks=True, out_of_order_callbacks=True)

    play_one(api)

    assert statuses(hits) == [
        "no-answer",
        "no-answer",
        "initiated",
        "initiated",
        "ringing",
        "ringing",
    ]


def test_repeat_webhooks_option_sends_each_voice_request_twice(
    transport: Transport, hits: list[Hit]
) -> None:
    api = make_api(transport, human(Scripted()), repeat_webhooks=True)

    call = play_one(api, events="completed")

    assert [h.path for h in hits] == ["/voice", "/voice", "/status"]
    assert call.record is not None and call.record.mismatches == []


def test_async_machine_detection_reports_to_its_own_callback(
    transport: Transport, hits: list[Hit]
) -> None:
    api = make_api(transport, machine())

    call = play_one(api, events="completed", AsyncAmd="true", AsyncAmdStatusCallback=f"{APP}/amd")

    assert [h.path for h in hits] == ["/voice", "/amd", "/status"]
    assert "AnsweredBy" not in hits[0].form
    assert hits[1].form["AnsweredBy"] == "machine_start" and hits[1].signed
    assert [sent.status_code for sent in call.amd_callbacks] == [204]


def test_fate_is_chosen_per_number_from_the_request(transport: Transport, hits: list[Hit]) -> None:
    seen: list[tuple[str, Mapping[str, str]]] = []

    def fate(to: str, params: Mapping[str, str]) -> Fate:
        seen.append((to, params))
        return busy() if to == "+447700900456" else human(Scripted())

    api = make_api(transport, fate)
    place(api, events="completed")
    place(api, To="+447700900456", events="completed")

    played = api.play_pending()

    assert [c.status for c in played] == ["completed", "busy"]
    assert [to for to, _ in seen] == [VICTIM, "+447700900456"]
    assert seen[0][1]["Url"] == f"{APP}/voice"
    assert api.play_pending() == []


def test_a_webhook_the_app_rejects_is_logged_not_raised(transport: Transport) -> None:
    api = FakeTwilioApi(
        transport,
        account_sid=SID,
        auth_token="not-the-app-token",
        fate=lambda to, params: no_answer(),
    )

    place(api, auth=(SID, "not-the-app-token"), events="completed")
    [call] = api.play_pending()

    assert [(sent.status_code, sent.error is not None) for sent in call.callbacks] == [(403, True)]


def test_accepted_call_is_answered_like_twilio(transport: Transport) -> None:
    api = make_api(transport)

    status, body = place(api)

    [call] = api.calls
    assert status == 201
    assert body["sid"] == call.sid and body["status"] == "queued"
    assert (body["to"], body["from"], body["account_sid"]) == (VICTIM, SURVEY_LINE, SID)
    assert body["uri"] == f"/2010-04-01/Accounts/{SID}/Calls/{call.sid}.json"
    assert str(body["date_created"]).endswith("+0000")
    assert call.received_at.tzinfo is not None
    assert call.params["Timeout"] == "20"


def test_wrong_credentials_get_401_and_no_call(transport: Transport) -> None:
    api = make_api(transport)

    status, body = place(api, auth=(SID, "wrong-token"))

    assert (status, body["code"]) == (401, 20003)
    assert api.calls == []


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({"To": ""}, 400, 21201, "No 'To' number"),
        ({"To": "07700 900123"}, 400, 21211, "Invalid 'To' Phone Number"),
        ({"From": ""}, 400, 21213, "No 'From' number"),
        ({"Url": ""}, 400, 21205, "Url is required"),
        ({"Url": "/voice"}, 400, 21205, "not a valid URL"),
        ({"StatusCallback": "status"}, 400, 21609, "StatusCallback"),
        ({"Timeout": "10"}, 400, 21208, "Invalid Timeout '10'"),
        ({"MachineDetection": "Yes"}, 400, 20001, "MachineDetection"),
        ({"events": "answered hungup"}, 400, 20001, "hungup"),
        ({"path": "/2010-04-01/Accounts/AC" + "9" * 32 + "/Calls.json"}, 404, 20404, "not found"),
    ],
)
def test_invalid_requests_get_twilio_style_errors(
    transport: Transport, params: dict[str, str], status: int, code: int, message: str
) -> None:
    api = make_api(transport)

    got, body = place(api, **params)

    assert (got, body["code"], body["status"]) == (status, code, status)
    assert message in str(body["message"])
    assert api.calls == []


@pytest.fixture
def app_over_http(app_and_hits: tuple[Flask, list[Hit]]) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app_and_hits[0], threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_twilio_telephony_call_is_played_over_http_by_the_autoplay_worker(
    app_over_http: str, hits: list[Hit]
) -> None:
    transport = HTTPTransport(timeout=5)
    api = make_api(transport, human(Scripted()), autoplay=True)

    with api.serving() as base_url:
        placed = TwilioTelephony(SID, TOKEN, api_base_url=base_url).place_call(
            CallRequest(
                to=VICTIM,
                from_=SURVEY_LINE,
                url=f"{app_over_http}/voice?attempt=3",
                status_callback=f"{app_over_http}/status?attempt=3",
            )
        )
        api.wait_until_played(timeout=10)
    transport.close()

    assert [(h.path, h.form["CallStatus"]) for h in hits] == [
        ("/status", "initiated"),
        ("/status", "ringing"),
        ("/status", "in-progress"),
        ("/voice", "in-progress"),
        ("/status", "completed"),
    ]
    assert all(h.signed and h.form["CallSid"] == placed.sid for h in hits)
    assert api.calls[0].errors == []


def test_twilio_telephony_deletes_a_recording_through_the_rest_api(
    transport: Transport,
) -> None:
    from ivr.telephony.port import TelephonyError

    api = make_api(transport)
    sid = "RE" + "3" * 32
    url = f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Recordings/{sid}"
    with api.serving() as base_url:
        twilio = TwilioTelephony(SID, TOKEN, api_base_url=base_url)
        assert twilio.delete_recording(url) is True
        assert api.deleted_recordings == [sid]
        # Already gone (Twilio's 404) counts as deleted, and is not deleted twice.
        assert twilio.delete_recording(url + ".mp3") is True
        assert api.deleted_recordings == [sid]
        # Not a Twilio recording: nothing to delete there.
        assert twilio.delete_recording("https://example.com/words.wav") is False
        # Twilio refusing is an error the caller keeps the recording for.
        api.fail_next(500, 20500, "Internal Server Error")
        with pytest.raises(TelephonyError) as refused:
            twilio.delete_recording(url.replace("3" * 32, "4" * 32))
        assert refused.value.retryable
