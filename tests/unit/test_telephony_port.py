"""The Telephony port: TwilioTelephony against the fake Twilio API on loopback, and its double."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest

from ivr.config import Settings
from ivr.telephony.fake_api import FakeTwilioApi
from ivr.telephony.port import (
    CallRequest,
    PlacedCall,
    RecordingTelephony,
    TelephonyError,
    TwilioTelephony,
)

SID = "AC" + "1" * 32
TOKEN = "port-test-token-0123456789abcdef"
VICTIM = "+447700900123"
SURVEY_LINE = "+441134960999"
BASE = "https://ivr.example.test"


class NoApp:
    """The port tests never play calls, so nothing may reach an app."""

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        raise AssertionError(f"unexpected webhook to {url}")


def request(to: str = VICTIM, **changes: object) -> CallRequest:
    fields: dict[str, object] = {
        "to": to,
        "from_": SURVEY_LINE,
        "url": f"{BASE}/twilio/outbound?attempt=7",
        "status_callback": f"{BASE}/twilio/status?attempt=7",
        "timeout_seconds": 20,
    }
    fields.update(changes)
    return CallRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def api() -> FakeTwilioApi:
    return FakeTwilioApi(
        NoApp(), account_sid=SID, auth_token=TOKEN, invalid_numbers={"+447700900999"}
    )


@pytest.fixture
def base_url(api: FakeTwilioApi) -> Iterator[str]:
    with api.serving() as url:
        yield url


@pytest.fixture
def telephony(base_url: str) -> TwilioTelephony:
    return TwilioTelephony(SID, TOKEN, api_base_url=base_url)


def test_call_is_posted_form_encoded_to_calls_json_with_basic_auth(
    api: FakeTwilioApi, telephony: TwilioTelephony
) -> None:
    placed = telephony.place_call(request())

    [call] = api.calls
    assert call.path == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert placed == PlacedCall(sid=call.sid, status="queued")
    assert re.fullmatch(r"CA[0-9a-f]{32}", placed.sid)
    assert call.params == {
        "To": VICTIM,
        "From": SURVEY_LINE,
        "Url": f"{BASE}/twilio/outbound?attempt=7",
        "Method": "POST",
        "StatusCallback": f"{BASE}/twilio/status?attempt=7",
        "StatusCallbackMethod": "POST",
        "StatusCallbackEvent": "initiated ringing answered completed",
        "Timeout": "20",
        "MachineDetection": "Enable",
        "AsyncAmd": "false",
    }
    # Twilio's client sends one parameter per event, as Twilio documents.
    assert [v for k, v in call.form if k == "StatusCallbackEvent"] == [
        "initiated",
        "ringing",
        "answered",
        "completed",
    ]


def test_call_without_machine_detection_sends_no_detection_parameters(
    api: FakeTwilioApi, telephony: TwilioTelephony
) -> None:
    telephony.place_call(request(machine_detection=None, status_events=("completed",)))

    params = api.calls[0].params
    assert "MachineDetection" not in params and "AsyncAmd" not in params
    assert params["StatusCallbackEvent"] == "completed"


def test_ambient_twilio_edge_does_not_move_requests_off_the_configured_api(
    api: FakeTwilioApi, telephony: TwilioTelephony, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")

    TwilioTelephony(SID, TOKEN, api_base_url=telephony.api_base_url).place_call(request())

    assert len(api.calls) == 1


def test_from_settings_uses_the_twilio_settings(api: FakeTwilioApi, base_url: str) -> None:
    settings = Settings(
        twilio_account_sid=SID, twilio_auth_token=TOKEN, twilio_api_base_url=base_url + "/"
    )

    TwilioTelephony.from_settings(settings).place_call(request())

    assert len(api.calls) == 1


def test_invalid_number_is_a_permanent_error_with_twilio_code(
    api: FakeTwilioApi, telephony: TwilioTelephony
) -> None:
    with pytest.raises(TelephonyError) as caught:
        telephony.place_call(request(to="+447700900999"))

    assert (caught.value.retryable, caught.value.code, caught.value.status) == (False, 21211, 400)
    assert "+447700900999" in str(caught.value)
    assert api.calls == []


def test_wrong_credentials_are_a_permanent_error(base_url: str) -> None:
    with pytest.raises(TelephonyError) as caught:
        TwilioTelephony(SID, "wrong-token", api_base_url=base_url).place_call(request())

    assert (caught.value.retryable, caught.value.code, caught.value.status) == (False, 20003, 401)


@pytest.mark.parametrize(("status", "code"), [(429, 20429), (500, 20500), (503, 20503)])
def test_rate_limit_and_server_errors_are_retryable(
    api: FakeTwilioApi, telephony: TwilioTelephony, status: int, code: int
) -> None:
    api.fail_next(status, code)

    with pytest.raises(TelephonyError) as caught:
        telephony.place_call(request())

    assert (caught.value.retryable, caught.value.code, caught.value.status) == (True, code, status)
    assert telephony.place_call(request()).sid == api.calls[0].sid


def test_unreachable_api_is_a_retryable_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port was free a moment ago and nothing listens on it now.
    telephony = TwilioTelephony(SID, TOKEN, api_base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(TelephonyError) as caught:
        telephony.place_call(request())

    assert caught.value.retryable is True
    assert (caught.value.code, caught.value.status) == (None, None)


def test_hung_api_times_out_as_retryable() -> None:
    with socket.socket() as listener:
        # Accepts the connection (backlog) but never answers.
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        telephony = TwilioTelephony(
            SID, TOKEN, api_base_url=f"http://127.0.0.1:{port}", http_timeout=0.3
        )

        with pytest.raises(TelephonyError) as caught:
            telephony.place_call(request())

    assert caught.value.retryable is True


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"to": "07700 900123"}, "to: "),
        ({"from_": "441134960999"}, "from_: "),
        ({"url": "/twilio/outbound"}, "url: "),
        ({"status_callback": "ivr.example.test/status"}, "status_callback: "),
        ({"timeout_seconds": 10}, "timeout_seconds: 10"),
        ({"status_events": ("ringing", "hung-up")}, "status_events: unknown ['hung-up']"),
        ({"machine_detection": "Yes"}, "machine_detection: "),
    ],
)
def test_call_request_rejects_values_twilio_would_refuse(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        request(**changes)


def test_twilio_telephony_needs_credentials_and_an_absolute_base_url() -> None:
    with pytest.raises(ValueError, match="auth_token"):
        TwilioTelephony(SID, "")
    with pytest.raises(ValueError, match="api_base_url"):
        TwilioTelephony(SID, TOKEN, api_base_url="127.0.0.1:8081")


def test_recording_telephony_records_requests_and_fails_as_configured() -> None:
    refused = TelephonyError("invalid number", retryable=False, code=21211, status=400)
    telephony = RecordingTelephony([None, refused])

    first = telephony.place_call(request())
    with pytest.raises(TelephonyError) as caught:
        telephony.place_call(request(to="+447700900456"))
    telephony.fail_next(TelephonyError("down", retryable=True))
    with pytest.raises(TelephonyError):
        telephony.place_call(request())
    last = telephony.place_call(request())

    assert caught.value is refused
    assert [r.to for r in telephony.requests] == [VICTIM, "+447700900456", VICTIM, VICTIM]
    assert telephony.placed == [first, last]
    assert first.status == "queued" and re.fullmatch(r"CA[0-9a-f]{32}", first.sid)
    assert first.sid != last.sid
