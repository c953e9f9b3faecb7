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

__all__ = ["CallRecord", "HTTPTransport", "SimulatorError", "Transport", "TwilioSimulator",
           "TwimlError", "WSGITransport", "parse_twiml"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
MAX_REQUESTS = 200
API_VERSION = "2010-04-01"
EndedBy = Literal["app", "respondent", "error"]


class SimulatorError(Exception):
    """The simulated call could not proceed; `record` holds the call up to the failure."""

    record: CallRecord | None = None


class TwimlError(SimulatorError):
    """The app returned TwiML that Twilio would reject or that the simulator does not support."""


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
        response = self.client.post(_path(url), base_url=f"{parts.scheme}://{parts.netloc}",
                                    data=urlencode(params), headers=plain,
                                    content_type=ctype or FORM_CONTENT_TYPE)
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
    ended_by: EndedBy | None = None
    duration: int = 0
    status: str = "completed"

    @property
    def heard_text(self) -> str:
        """All spoken text of the call as one string."""
        return " ".join(self.transcript)


def _ints(low: int) -> Callable[[str], bool]:
    return lambda v: v.strip().isdigit() and int(v) >= low


def _one_of(*allowed: str) -> Callable[[str], bool]:
    return lambda v: v.lower() in allowed


_NESTABLE = {"Say", "Play", "Pause"}
_CHILDREN = {"Gather": _NESTABLE,
             "Response": _NESTABLE | {"Gather", "Record", "Redirect", "Hangup", "Reject"}}
_SSML = {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
_ATTRS: dict[str, set[str]] = {
    "Say": {"voice", "language", "loop"}, "Play": {"loop", "digits"}, "Pause": {"length"},
    "Gather": {"action", "method", "input", "numDigits", "timeout", "finishOnKey", "speechTimeout",
               "hints", "language", "actionOnEmptyResult", "speechModel", "profanityFilter",
               "enhanced", "bargeIn", "partialResultCallback", "partialResultCallbackMethod"},
    "Record": {"action", "method", "timeout", "finishOnKey", "maxLength", "playBeep", "trim",
               "recordingStatusCallback", "recordingStatusCallbackMethod",
               "recordingStatusCallbackEvent", "transcribe", "transcribeCallback"},
    "Redirect": {"method"}, "Hangup": set(), "Reject": {"reason"},
}
_BOOL = (_one_of("true", "false"), "'true' or 'false'")
_VALUES: dict[str, tuple[Callable[[str], bool], str]] = {
    **dict.fromkeys(("loop", "length", "timeout"), (_ints(0), "a non-negative integer")),
    **dict.fromkeys(("numDigits", "maxLength"), (_ints(1), "a positive integer")),
    **dict.fromkeys(("actionOnEmptyResult", "profanityFilter", "enhanced", "bargeIn",
                     "playBeep", "transcribe"), _BOOL),
    "speechTimeout": (lambda v: v == "auto" or _ints(0)(v), "'auto' or a non-negative integer"),
    "digits": (lambda v: bool(v) and set(v) <= set("0123456789*#wW"), "DTMF digits, w or W"),
    "finishOnKey": (lambda v: set(v) <= set("0123456789*#"), "keys from 0-9, * and #"),
    "input": (lambda v: bool(v.split()) and set(v.split()) <= {"dtmf", "speech"},
              "'dtmf', 'speech' or 'dtmf speech'"),
    "trim": (_one_of("trim-silence", "do-not-trim"), "'trim-silence' or 'do-not-trim'"),
    "reason": (_one_of("rejected", "busy"), "'rejected' or 'busy'"),
}


def _check_verb(el: ET.Element, parent: str) -> None:
    where = f"<{el.tag}> in <{parent}>"
    if el.tag not in _CHILDREN[parent]:
        known = "is not allowed here" if el.tag in _ATTRS else "is not a supported verb"
        raise TwimlError(f"{where} {known}; <{parent}> accepts {sorted(_CHILDREN[parent])}")
    for name, value in el.attrib.items():
        if name not in _ATTRS[el.tag]:
            raise TwimlError(f"{where}: unsupported attribute {name!r}; "
                             f"allowed: {sorted(_ATTRS[el.tag])}")
        if name.endswith(("Method", "method")) and value.upper() not in ("GET", "POST"):
            raise TwimlError(f"{where}: {name}={value!r} must be GET or POST")
        if name == "method" and value.upper() == "GET":
            raise TwimlError(f"{where}: method=GET is not supported by the simulator, use POST")
        check = _VALUES.get(name)
        if check and not check[0](value):
            raise TwimlError(f"{where}: {name}={value!r} must be {check[1]}")
    if el.tag == "Gather" and len(el.get("finishOnKey", "#")) > 1:
        raise TwimlError(f"{where}: finishOnKey must be a single key or empty")
    if el.tag == "Say":
        for node in el.iter():
            if node is not el and node.tag not in _SSML:
                raise TwimlError(f"{where}: <{node.tag}> is not allowed inside <Say>")
        return
    for child in el:
        if el.tag != "Gather":
            raise TwimlError(f"{where}: <{child.tag}> cannot be nested in <{el.tag}>")
        _check_verb(child, "Gather")
    text = (el.text or "").strip()
    if el.tag in ("Redirect", "Play"):
        if not text and not el.get("digits"):
            raise TwimlError(f"{where}: a URL is required")
    elif text or any((child.tail or "").strip() for child in el):
        raise TwimlError(f"{where}: unexpected text {text!r}")


def parse_twiml(body: str) -> list[ET.Element]:
    """Parse and validate a TwiML voice document, returning its top-level verbs."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TwimlError(f"response is not well-formed XML ({exc}): {body[:200]!r}") from None
    if root.tag != "Response" or root.attrib:
        raise TwimlError(f"root element must be a bare <Response>, got <{root.tag}> {root.attrib}")
    if (root.text or "").strip() or any((verb.tail or "").strip() for verb in root):
        raise TwimlError("<Response> must contain only verbs, not bare text")
    for verb in root:
        _check_verb(verb, "Response")
    return list(root)


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


class TwilioSimulator:
    """Plays Twilio's side of voice calls against an app reachable through `transport`.

    Webhooks are signed with `auth_token` over their absolute URL under `public_base_url`.
    `account_sid` defaults to a random AC sid. With `repeat_requests` every webhook is sent
    twice and differing answers are listed in `CallRecord.mismatches`.
    """

    def __init__(self, transport: Transport, *, auth_token: str, public_base_url: str,
                 account_sid: str | None = None, repeat_requests: bool = False) -> None:
        self.transport = transport
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/")
        self.account_sid = account_sid or _sid("AC")
        self.repeat_requests = repeat_requests

    def call(self, *, from_: str, to: str, respondent: Respondent, url: str | None = None,
             direction: str = "inbound", status_callback: str | None = None,
             answered_by: str | None = None, call_sid: str | None = None,
             extra_params: dict[str, str] | None = None) -> CallRecord:
        """Run one call from its first webhook to its status callback and return the record."""
        if direction not in ("inbound", "outbound-api"):
            raise ValueError(f"direction must be 'inbound' or 'outbound-api', not {direction!r}")
        record = CallRecord(call_sid or _sid("CA"), from_, to, direction)
        run = _CallRun(self, record, respondent, dict(extra_params or {}))
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
        self.send(record, status_callback or self.public_base_url + "/twilio/status",
                  run.params(final))
        if failure is not None:
            failure.record = record
            raise failure
        return record

    def send(self, record: CallRecord, url: str, params: dict[str, str]) -> str | None:
        """POST one signed webhook (twice if repeating); return the body, or None on failure."""
        record.requests.append((url, dict(params)))
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params),
                   "Content-Type": FORM_CONTENT_TYPE}
        try:
            status, body = self.transport.post(url, params, headers)
            if self.repeat_requests:
                first = (status, body)
                status, body = self.transport.post(url, params, headers)
                if first != (status, body):
                    record.mismatches.append(
                        f"POST {url}: first answer HTTP {first[0]} {first[1][:300]!r} "
                        f"differs from repeat HTTP {status} {body[:300]!r}")
        except (OSError, http.client.HTTPException) as exc:
            record.errors.append(f"POST {url} failed: {exc!r}")
            return None
        if not 200 <= status < 300:
            record.errors.append(f"POST {url} returned HTTP {status}: {body[:300]!r}")
            return None
        return body


class _CallRun:
    """One call in progress: what the caller has heard since their last input, elapsed time."""

    def __init__(self, sim: TwilioSimulator, record: CallRecord, respondent: Respondent,
                 extra: dict[str, str]) -> None:
        self.sim, self.record, self.respondent, self.extra = sim, record, respondent, extra
        self.heard: list[str] = []
        self.seconds = 0.0

    def params(self, specific: dict[str, str]) -> dict[str, str]:
        rec = self.record
        return {"AccountSid": self.sim.account_sid, "CallSid": rec.call_sid, "From": rec.from_,
                "To": rec.to, "Caller": rec.from_, "Called": rec.to, "CallStatus": "in-progress",
                "Direction": rec.direction, "ApiVersion": API_VERSION, **self.extra, **specific}

    def run(self, target: Target | None) -> None:
        try:
            while target is not None:
                if len(self.record.responses) >= MAX_REQUESTS:
                    raise SimulatorError(f"more than {MAX_REQUESTS} webhook requests in one call; "
                                         "is the app looping?")
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
        params = {"RecordingSid": sid, "RecordingDuration": str(seconds),
                  "RecordingUrl": f"https://api.twilio.com/{API_VERSION}/Accounts/"
                                  f"{self.sim.account_sid}/Recordings/{sid}"}
        # A recording cut off by maxLength ends without a key press.
        key = "#" if "#" in finish_keys else finish_keys[:1]
        if key and seconds < max_length:
            params["Digits"] = key
        return urljoin(doc_url, verb.get("action", "")), params
