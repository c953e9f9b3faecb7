"""A stand-in for Twilio that calls a web app with signed webhooks and follows its TwiML."""

from __future__ import annotations

import http.client
import math
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlencode, urljoin, urlsplit

from twilio.request_validator import RequestValidator

from ivr.telephony.respondents import Action, HangUp, Press, Prompt, RecordAudio, Respondent, Speak
from ivr.telephony.twiml_check import SimulatorError, TwimlError, parse_twiml

__all__ = [
    "CallRecord",
    "HTTPTransport",
    "SimulatorError",
    "Transport",
    "TwilioSimulator",
    "TwimlError",
    "WSGITransport",
    "parse_twiml",
]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_REQUESTS = 200
API_VERSION = "2010-04-01"
EndedBy = Literal["app", "respondent", "error"]


class Transport(Protocol):
    """Delivers one form-encoded POST and returns (status code, body text)."""

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST `params` to the absolute `url` with `headers`."""
        ...


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class WSGITransport:
    """Calls a Flask app in-process through its test client."""

    def __init__(self, app: Any) -> None:
        # One client serves many calls, so a shared cookie jar would leak state between them.
        self.client = app.test_client(use_cookies=False)

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST to the app so that it sees `url` (scheme, host, path, query) as the request URL."""
        parts = urlsplit(url)
        plain = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        response = self.client.post(
            _path(url),
            base_url=f"{parts.scheme}://{parts.netloc}",
            data=urlencode(params),
            headers=plain,
            content_type=ctype or FORM_CONTENT_TYPE,
        )
        return response.status_code, response.get_data(as_text=True)


class HTTPTransport:
    """Sends real HTTP(S) requests, keeping one connection alive per scheme and host."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._pool: dict[tuple[str, str], http.client.HTTPConnection] = {}

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST `params` form-encoded to `url`; network failures raise OSError or HTTPException."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL scheme in {url!r}")
        key = (parts.scheme, parts.netloc)
        while True:
            reused = key in self._pool
            if not reused:
                https = key[0] == "https"
                cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
                self._pool[key] = cls(parts.netloc, timeout=self.timeout)
            conn = self._pool[key]
            try:
                conn.request("POST", _path(url), body=urlencode(params), headers=headers)
                response = conn.getresponse()
                data = response.read()
            except Exception as exc:
                self._pool.pop(key).close()
                # A server may drop an idle keep-alive connection; only then is resending safe.
                stale = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
                if reused and isinstance(exc, stale):
                    continue
                raise
            charset = response.headers.get_content_charset() or "utf-8"
            return response.status, data.decode(charset, errors="replace")

    def close(self) -> None:
        """Close every pooled connection."""
        while self._pool:
            self._pool.popitem()[1].close()


@dataclass
class CallRecord:
    """Everything observable about one simulated call."""

    call_sid: str
    from_: str
    to: str
    direction: str
    transcript: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    #: Each <Dial> followed: (number dialled, caller id shown, DialCallStatus reported).
    dials: list[tuple[str, str, str]] = field(default_factory=list)
    ended_by: EndedBy | None = None
    duration: int = 0
    status: str = "completed"

    @property
    def heard_text(self) -> str:
        """All spoken text of the call as one string."""
        return " ".join(self.transcript)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _speech_seconds(text: str) -> float:
    # Roughly 15 characters per second of synthesised or spoken speech.
    return len(text) / 15


class _Ended(Exception):
    def __init__(self, by: EndedBy, status: str = "completed") -> None:
        super().__init__(by)
        self.by, self.status = by, status


Target = tuple[str, dict[str, str]]
#: How the party a <Dial> rings answers: Twilio's DialCallStatus values.
DIAL_STATUSES = ("completed", "answered", "busy", "no-answer", "failed", "canceled")
#: Seconds a dialled party who answers stays on the line, unless the call says otherwise.
DIAL_TALK_SECONDS = 120
#: How a <Dial> ends: a DialCallStatus, or a function of the number dialled that returns
#: one (run while the call is put through, so a test can act as the person who answers).
DialOutcome = str | Callable[[str], str]


class TwilioSimulator:
    """Plays Twilio's side of voice calls against an app reachable through `transport`.

    Webhooks are signed with `auth_token` over their absolute URL under `public_base_url`.
    `account_sid` defaults to a random AC sid. With `repeat_requests` every webhook is sent
    twice and differing answers are listed in `CallRecord.mismatches`.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        auth_token: str,
        public_base_url: str,
        account_sid: str | None = None,
        repeat_requests: bool = False,
    ) -> None:
        self.transport = transport
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/")
        self.account_sid = account_sid or _sid("AC")
        self.repeat_requests = repeat_requests

    def call(
        self,
        *,
        from_: str,
        to: str,
        respondent: Respondent,
        url: str | None = None,
        direction: str = "inbound",
        status_callback: str | None = None,
        answered_by: str | None = None,
        call_sid: str | None = None,
        extra_params: dict[str, str] | None = None,
        dial_status: DialOutcome = "no-answer",
    ) -> CallRecord:
        """Run one call from its first webhook to its status callback and return the record.

        A ``<Dial>`` in the app's TwiML ends with ``dial_status`` (Twilio's DialCallStatus:
        ``completed`` when the dialled party answered and the two talked).
        """
        if direction not in ("inbound", "outbound-api"):
            raise ValueError(f"direction must be 'inbound' or 'outbound-api', not {direction!r}")
        if isinstance(dial_status, str) and dial_status not in DIAL_STATUSES:
            raise ValueError(f"dial_status must be one of {', '.join(DIAL_STATUSES)}")
        record = CallRecord(call_sid or _sid("CA"), from_, to, direction)
        run = _CallRun(self, record, respondent, dict(extra_params or {}), dial_status)
        failure: SimulatorError | None = None
        first = {"CallStatus": "ringing" if direction == "inbound" else "in-progress"}
        if answered_by:
            first["AnsweredBy"] = answered_by
        try:
            run.run((url or self.public_base_url + "/twilio/voice", first))
        except SimulatorError as exc:
            # Twilio hangs up on an application error but still reports the call as completed.
            record.errors.append(str(exc))
            record.ended_by, failure = "error", exc
        record.duration = math.ceil(run.seconds) if record.status == "completed" else 0
        final = {"CallStatus": record.status, "CallDuration": str(record.duration)}
        self.send(
            record, status_callback or self.public_base_url + "/twilio/status", run.params(final)
        )
        # Transcriptions come once Twilio has worked on the recording: after the call.
        for url, params in run.transcriptions:
            self.send(record, url, params)
        if failure is not None:
            failure.record = record
            raise failure
        return record

    def send(self, record: CallRecord, url: str, params: dict[str, str]) -> str | None:
        """POST one signed webhook (twice if repeating); return the body, or None on failure."""
        record.requests.append((url, dict(params)))
        headers = {
            "X-Twilio-Signature": self.validator.compute_signature(url, params),
            "Content-Type": FORM_CONTENT_TYPE,
        }
        try:
            status, body = self.transport.post(url, params, headers)
            if self.repeat_requests:
                first = (status, body)
                status, body = self.transport.post(url, params, headers)
                if first != (status, body):
                    record.mismatches.append(
                        f"POST {url}: first answer HTTP {first[0]} {first[1][:300]!r} "
                        f"differs from repeat HTTP {status} {body[:300]!r}"
                    )
        except (OSError, http.client.HTTPException) as exc:
            record.errors.append(f"POST {url} failed: {exc!r}")
            return None
        if not 200 <= status < 300:
            record.errors.append(f"POST {url} returned HTTP {status}: {body[:300]!r}")
            return None
        return body


class _CallRun:
    """One call in progress: what the caller has heard since their last input, elapsed time."""

    def __init__(
        self,
        sim: TwilioSimulator,
        record: CallRecord,
        respondent: Respondent,
        extra: dict[str, str],
        dial_status: DialOutcome = "no-answer",
    ) -> None:
        self.sim, self.record, self.respondent, self.extra = sim, record, respondent, extra
        self.dial_status = dial_status
        self.heard: list[str] = []
        self.seconds = 0.0
        self.transcriptions: list[Target] = []

    def params(self, specific: dict[str, str]) -> dict[str, str]:
        rec = self.record
        return {
            "AccountSid": self.sim.account_sid,
            "CallSid": rec.call_sid,
            "From": rec.from_,
            "To": rec.to,
            "Caller": rec.from_,
            "Called": rec.to,
            "CallStatus": "in-progress",
            "Direction": rec.direction,
            "ApiVersion": API_VERSION,
            **self.extra,
            **specific,
        }

    def run(self, target: Target | None) -> None:
        try:
            while target is not None:
                if len(self.record.responses) >= MAX_REQUESTS:
                    raise SimulatorError(
                        f"more than {MAX_REQUESTS} webhook requests in one call; "
                        "is the app looping?"
                    )
                body = self.sim.send(self.record, target[0], self.params(target[1]))
                if body is None:
                    raise _Ended("error")
                self.record.responses.append(body)
                target = self.follow(body, target[0])
            raise _Ended("app")
        except _Ended as end:
            self.record.ended_by, self.record.status = end.by, end.status

    def follow(self, body: str, doc_url: str) -> Target | None:
        """Execute one TwiML document; return the next request to make, or None at its end."""
        for index, verb in enumerate(parse_twiml(body)):
            target: Target | None = None
            if verb.tag in ("Say", "Play", "Pause"):
                self.play(verb)
            elif verb.tag == "Gather":
                for child in verb:
                    self.play(child)
                target = self.gather(verb, doc_url)
            elif verb.tag == "Record":
                target = self.record_audio(verb, doc_url)
            elif verb.tag == "Redirect":
                target = urljoin(doc_url, (verb.text or "").strip()), {}
            elif verb.tag == "Dial":
                target = self.dial(verb, doc_url)
            elif verb.tag == "Hangup":
                raise _Ended("app")
            elif verb.tag == "Reject":
                # Only a leading Reject stops Twilio answering; later on it is a plain hang-up.
                if index == 0 and len(self.record.responses) == 1:
                    busy = verb.get("reason", "").lower() == "busy"
                    raise _Ended("app", "busy" if busy else "no-answer")
                raise _Ended("app")
            if target is not None:
                return target
        return None

    def play(self, verb: ET.Element) -> None:
        repeats = max(1, int(verb.get("loop", "1")))
        if verb.tag == "Pause":
            self.seconds += int(verb.get("length", "1"))
        elif verb.tag == "Say":
            text = " ".join("".join(verb.itertext()).split())
            if text:
                self.record.transcript.append(text)
                self.heard.append(text)
                self.seconds += repeats * _speech_seconds(text)
        else:
            src, digits = (verb.text or "").strip(), verb.get("digits", "")
            self.heard.append(f"[play {src}]" if src else f"[play digits {digits}]")
            self.seconds += repeats * (5 if src else 0.5 * len(digits))

    def ask(self, prompt: Prompt) -> Action:
        heard, self.heard = " ".join(self.heard), []
        action = self.respondent.respond(heard, prompt)
        if isinstance(action, HangUp):
            raise _Ended("respondent")
        return action

    def gather(self, verb: ET.Element, doc_url: str) -> Target | None:
        inputs = tuple(verb.get("input", "dtmf").split())
        num_digits = int(verb.get("numDigits", "0")) or None
        finish_key = verb.get("finishOnKey", "#")
        hints = tuple(h.strip() for h in verb.get("hints", "").split(",") if h.strip())
        action = self.ask(Prompt("gather", inputs, num_digits, finish_key, hints))
        params: dict[str, str] = {}
        if isinstance(action, Press) and "dtmf" in inputs:
            digits, finished = "", ""
            for key in action.digits:
                if finish_key and key == finish_key:
                    finished = key
                    break
                digits += key
                if num_digits is not None and len(digits) >= num_digits:
                    break
            self.seconds += len(digits) + 1
            if digits:
                params = {"Digits": digits, "FinishedOnKey": finished}
        elif isinstance(action, Speak) and "speech" in inputs and action.text.strip():
            self.seconds += _speech_seconds(action.text) + 1
            params = {"SpeechResult": action.text, "Confidence": str(action.confidence)}
        else:
            self.seconds += int(verb.get("timeout", "5"))
        if not params and verb.get("actionOnEmptyResult", "false").lower() != "true":
            return None
        # Without an action Twilio posts back to the document that held the verb.
        return urljoin(doc_url, verb.get("action", "")), params

    def dial(self, verb: ET.Element, doc_url: str) -> Target | None:
        """Ring the number a <Dial> names; with an action, Twilio then requests it with how
        the dial went, and without one goes on to the next verb."""
        number = (verb.text or "").strip() or "".join(
            (child.text or "").strip() for child in verb if child.tag == "Number"
        )
        caller_id = verb.get("callerId") or self.record.from_
        status = self.dial_status if isinstance(self.dial_status, str) else self.dial_status(number)
        if status not in DIAL_STATUSES:
            raise SimulatorError(f"a dial cannot end {status!r}; one of {', '.join(DIAL_STATUSES)}")
        self.record.dials.append((number, caller_id, status))
        if status in ("completed", "answered"):
            talked = DIAL_TALK_SECONDS
            limit = verb.get("timeLimit")
            if limit:
                talked = min(talked, int(limit))
            status = "completed"
        else:
            talked = 0
            self.seconds += int(verb.get("timeout", "30"))
        self.seconds += talked
        action = verb.get("action")
        if not action:
            return None
        params = {
            "DialCallStatus": status,
            "DialCallSid": _sid("CA"),
            "DialCallDuration": str(talked),
            "DialBridged": "true" if talked else "false",
        }
        return urljoin(doc_url, action), params

    def record_audio(self, verb: ET.Element, doc_url: str) -> Target | None:
        finish_keys = verb.get("finishOnKey", "1234567890*#")
        action = self.ask(Prompt("record", (), None, finish_keys, ()))
        max_length = int(verb.get("maxLength", "3600"))
        seconds = 0
        if isinstance(action, RecordAudio):
            seconds = min(action.seconds, max_length)
        elif isinstance(action, Speak):
            seconds = min(math.ceil(_speech_seconds(action.text)), max_length)
        self.seconds += seconds + int(verb.get("timeout", "5"))
        if seconds <= 0:
            return None
        sid = _sid("RE")
        params = {
            "RecordingSid": sid,
            "RecordingDuration": str(seconds),
            "RecordingUrl": f"https://api.twilio.com/{API_VERSION}/Accounts/"
            f"{self.sim.account_sid}/Recordings/{sid}",
        }
        callback = verb.get("transcribeCallback")
        if verb.get("transcribe", "false").lower() == "true" and callback:
            text = action.text if isinstance(action, Speak | RecordAudio) else None
            transcription = _sid("TR")
            self.transcriptions.append(
                (
                    urljoin(doc_url, callback),
                    self.params(
                        {
                            **params,
                            "TranscriptionSid": transcription,
                            "TranscriptionStatus": "completed" if text else "failed",
                            "TranscriptionText": text or "",
                            "TranscriptionType": "fast",
                            "TranscriptionUrl": f"https://api.twilio.com/{API_VERSION}/Accounts/"
                            f"{self.sim.account_sid}/Transcriptions/{transcription}",
                            "CallStatus": "completed",
                        }
                    ),
                )
            )
        # A recording cut off by maxLength ends without a key press.
        key = "#" if "#" in finish_keys else finish_keys[:1]
        if key and seconds < max_length:
            params["Digits"] = key
        return urljoin(doc_url, verb.get("action", "")), params
