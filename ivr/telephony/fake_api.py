"""A fake Twilio REST API that accepts outbound calls and plays them back to the app.

It answers `POST /2010-04-01/Accounts/{sid}/Calls.json` as Twilio does, then rings the
callee through a pluggable `fate`: a person (run by `TwilioSimulator`), an answering
machine, no answer, busy or failed, sending signed voice webhooks and status callbacks to
the URLs the request named.
"""

from __future__ import annotations

import hmac
import http.client
import itertools
import json
import logging
import re
import secrets
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from ivr.telephony.respondents import Respondent, Scripted
from ivr.telephony.simulator import (
    API_VERSION,
    FORM_CONTENT_TYPE,
    CallRecord,
    DialOutcome,
    SimulatorError,
    Transport,
    TwilioSimulator,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "Fate",
    "FakeCall",
    "FakeTwilioApi",
    "FateFunction",
    "SentCallback",
    "busy",
    "failed",
    "human",
    "machine",
    "no_answer",
]

logger = logging.getLogger(__name__)

Outcome = Literal["human", "machine", "no-answer", "busy", "failed"]
STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
E164 = re.compile(r"\+[1-9]\d{6,14}")
# Never delivered: the simulator's own final callback is swallowed so that this API can send
# the final one itself, with sequence numbers, duplicates and reordering.
_SWALLOWED = "http://fake-twilio.invalid/simulator-final-status"
# Progress events each outcome passes through before its final status.
_PROGRESS: dict[Outcome, tuple[str, ...]] = {
    "human": ("initiated", "ringing", "answered"),
    "machine": ("initiated", "ringing", "answered"),
    "no-answer": ("initiated", "ringing"),
    "busy": ("initiated",),
    "failed": (),
}
_PROGRESS_STATUS = {"initiated": "initiated", "ringing": "ringing", "answered": "in-progress"}


@dataclass(frozen=True)
class Fate:
    """What happens when a call rings: who answers, and what detection reports."""

    outcome: Outcome
    respondent: Respondent | None = None
    answered_by: str | None = None
    #: How a put-through to a person (a <Dial> in the app's TwiML) ends.
    dial_status: DialOutcome = "no-answer"

    def __post_init__(self) -> None:
        if self.outcome == "human" and self.respondent is None:
            raise ValueError("a human fate needs a respondent to play the caller")

    @property
    def answered(self) -> bool:
        """True when someone or something picks up."""
        return self.outcome in ("human", "machine")


def human(respondent: Respondent) -> Fate:
    """A person answers and behaves as `respondent`."""
    return Fate("human", respondent, "human")


def machine(answered_by: str = "machine_start") -> Fate:
    """An answering machine (or fax) picks up; it hangs up at the first prompt."""
    if not answered_by.startswith("machine_") and answered_by != "fax":
        raise ValueError(f"answered_by: {answered_by!r} must be 'machine_...' or 'fax'")
    return Fate("machine", Scripted(), answered_by)


def no_answer() -> Fate:
    """The phone rings until the timeout."""
    return Fate("no-answer")


def busy() -> Fate:
    """The line is engaged."""
    return Fate("busy")


def failed() -> Fate:
    """The carrier cannot connect the call."""
    return Fate("failed")


FateFunction = Callable[[str, Mapping[str, str]], Fate]


def _hangs_up_at_first_prompt(to: str, params: Mapping[str, str]) -> Fate:
    return human(Scripted())


@dataclass(frozen=True)
class SentCallback:
    """One POST of a status callback: what was sent and how the app answered."""

    url: str
    params: dict[str, str]
    status_code: int | None
    error: str | None = None


@dataclass
class FakeCall:
    """A call request the API accepted, and everything done with it since."""

    sid: str
    account_sid: str
    path: str
    form: list[tuple[str, str]]
    received_at: datetime
    status: str = "queued"
    fate: Fate | None = None
    record: CallRecord | None = None
    callbacks: list[SentCallback] = field(default_factory=list)
    amd_callbacks: list[SentCallback] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def params(self) -> dict[str, str]:
        """The request's parameters; repeated ones joined with spaces, as Twilio accepts them."""
        joined: dict[str, str] = {}
        for name, value in self.form:
            joined[name] = f"{joined[name]} {value}" if name in joined else value
        return joined

    @property
    def status_events(self) -> tuple[str, ...]:
        """The `StatusCallbackEvent`s requested, whether repeated or space separated."""
        return tuple(self.params.get("StatusCallbackEvent", "").split())

    @property
    def callback_statuses(self) -> list[str]:
        """`CallStatus` of each status callback POST, in delivery order."""
        return [sent.params["CallStatus"] for sent in self.callbacks]


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> Response:
        body = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
        }
        return Response(json.dumps(body), self.status, mimetype="application/json")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _validate(params: Mapping[str, str], invalid_numbers: Collection[str]) -> None:
    """Reject a call request as Twilio would, with its error codes."""
    to, from_, url = params.get("To", ""), params.get("From", ""), params.get("Url", "")
    if not to:
        raise _ApiError(400, 21201, "No 'To' number is specified")
    if not E164.fullmatch(to) or to in invalid_numbers:
        raise _ApiError(400, 21211, f"Invalid 'To' Phone Number: {to} (must be E.164)")
    if not from_:
        raise _ApiError(400, 21213, "No 'From' number is specified")
    if not E164.fullmatch(from_):
        raise _ApiError(400, 21212, f"Invalid 'From' Phone Number: {from_} (must be E.164)")
    if not url:
        raise _ApiError(400, 21205, "Url is required (the fake API does not take Twiml)")
    if not _absolute(url):
        raise _ApiError(400, 21205, f"Url is not a valid URL: {url}")
    callback = params.get("StatusCallback", "")
    if callback and not _absolute(callback):
        raise _ApiError(400, 21609, f"Invalid StatusCallback url: {callback}")
    for name in ("Method", "StatusCallbackMethod"):
        if params.get(name, "POST").upper() != "POST":
            raise _ApiError(400, 21205, f"{name}={params[name]}: the fake API only uses POST")
    timeout = params.get("Timeout")
    if timeout is not None and not (timeout.isdigit() and 15 <= int(timeout) <= 600):
        raise _ApiError(
            400,
            21208,
            f"Invalid Timeout {timeout!r}: must be a whole number of "
            "seconds from 15 to 600 (Twilio pads shorter ones)",
        )
    detection = params.get("MachineDetection")
    if detection is not None and detection not in ("Enable", "DetectMessageEnd"):
        raise _ApiError(
            400, 20001, f"MachineDetection={detection!r}: must be Enable or DetectMessageEnd"
        )
    unknown = set(params.get("StatusCallbackEvent", "").split()) - set(STATUS_EVENTS)
    if unknown:
        raise _ApiError(
            400,
            20001,
            f"StatusCallbackEvent: unknown {sorted(unknown)}; allowed {list(STATUS_EVENTS)}",
        )


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Tests make many requests; a line each on stderr would bury real failures.
        pass


class _CallTransport:
    """The app's transport for one call: swallows the simulator's own final callback and
    runs `after_first_webhook` once the first voice webhook has been answered."""

    def __init__(self, inner: Transport, after_first_webhook: Callable[[], None] | None) -> None:
        self.inner, self.after_first_webhook = inner, after_first_webhook

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        if url == _SWALLOWED:
            return 200, ""
        answer = self.inner.post(url, params, headers)
        hook, self.after_first_webhook = self.after_first_webhook, None
        if hook is not None:
            hook()
        return answer


class FakeTwilioApi:
    """A WSGI app imitating Twilio's Calls API, which plays accepted calls back to the app.

    `transport` reaches the app under test (`WSGITransport(app)` or `HTTPTransport()`);
    webhooks are signed with `auth_token` over the absolute URLs given in `Url` and
    `StatusCallback`. `fate(to, params)` decides each call's outcome. Calls are played when
    `play_pending()` is called, or by a background worker while `serving()` if `autoplay`.
    `invalid_numbers` are refused with error 21211, as Twilio refuses well-formed numbers
    that no carrier serves.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        account_sid: str,
        auth_token: str,
        fate: FateFunction | None = None,
        duplicate_callbacks: bool = False,
        out_of_order_callbacks: bool = False,
        repeat_webhooks: bool = False,
        autoplay: bool = False,
        invalid_numbers: Collection[str] = (),
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("account_sid and auth_token are both required")
        self.transport = transport
        self.account_sid, self.auth_token = account_sid, auth_token
        self.fate: FateFunction = fate or _hangs_up_at_first_prompt
        self.duplicate_callbacks = duplicate_callbacks
        self.out_of_order_callbacks = out_of_order_callbacks
        self.repeat_webhooks = repeat_webhooks
        self.autoplay = autoplay
        self.invalid_numbers = frozenset(invalid_numbers)
        self._failures: deque[_ApiError] = deque()
        self.validator = RequestValidator(auth_token)
        self.calls: list[FakeCall] = []
        #: The sids of the recordings deleted through the API.
        self.deleted_recordings: list[str] = []
        self._pending: deque[FakeCall] = deque()
        self._playing = 0
        self._changed = threading.Condition()
        # One call at a time: transports such as HTTPTransport are not thread-safe.
        self._play_lock = threading.Lock()
        self._routes = Map(
            [
                Rule(
                    "/2010-04-01/Accounts/<sid>/Calls.json",
                    methods=["POST"],
                    endpoint="create_call",
                ),
                Rule(
                    "/2010-04-01/Accounts/<sid>/Recordings/<recording>.json",
                    methods=["DELETE"],
                    endpoint="delete_recording",
                ),
            ]
        )

    # -- the REST API -------------------------------------------------------------------

    def fail_next(self, status: int, code: int, message: str = "injected failure") -> None:
        """Answer the next authenticated call request with this error instead of a call."""
        with self._changed:
            self._failures.append(_ApiError(status, code, message))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request of the REST API."""
        request = Request(environ)
        try:
            self._authenticate(request)
            try:
                endpoint, args = self._routes.bind_to_environ(environ).match()
            except MethodNotAllowed:
                raise _ApiError(405, 20004, "Method not allowed") from None
            except HTTPException:
                raise _ApiError(
                    404, 20404, f"The requested resource {request.path} was not found"
                ) from None
            if endpoint == "delete_recording":
                response = self._delete_recording(request, str(args["sid"]), args["recording"])
            else:
                response = self._create_call(request, str(args["sid"]))
        except _ApiError as exc:
            response = exc.response()
        return response(environ, start_response)

    def _authenticate(self, request: Request) -> None:
        auth = request.authorization
        ok = (
            auth is not None
            and auth.type == "basic"
            and hmac.compare_digest((auth.username or "").encode(), self.account_sid.encode())
            and hmac.compare_digest((auth.password or "").encode(), self.auth_token.encode())
        )
        if not ok:
            raise _ApiError(401, 20003, "Authenticate")

    def _delete_recording(self, request: Request, account_sid: str, recording: str) -> Response:
        # Twilio answers 204 with no body; a recording it does not have is a 404.
        if account_sid != self.account_sid or recording in self.deleted_recordings:
            raise _ApiError(404, 20404, f"The requested resource {request.path} was not found")
        with self._changed:
            if self._failures:
                raise self._failures.popleft()
            self.deleted_recordings.append(recording)
        return Response(b"", 204)

    def _create_call(self, request: Request, account_sid: str) -> Response:
        if account_sid != self.account_sid:
            raise _ApiError(404, 20404, f"The requested resource {request.path} was not found")
        with self._changed:
            if self._failures:
                raise self._failures.popleft()
        received = datetime.now(UTC)
        call = FakeCall(
            "CA" + secrets.token_hex(16),
            account_sid,
            request.path,
            list(request.form.items(multi=True)),
            received,
        )
        _validate(call.params, self.invalid_numbers)
        with self._changed:
            self.calls.append(call)
            self._pending.append(call)
            self._changed.notify_all()
        params, stamp = call.params, format_datetime(received)
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{call.sid}"
        body = {
            "sid": call.sid,
            "account_sid": account_sid,
            "status": "queued",
            "to": params["To"],
            "to_formatted": params["To"],
            "from": params["From"],
            "from_formatted": params["From"],
            "direction": "outbound-api",
            "api_version": API_VERSION,
            "date_created": stamp,
            "date_updated": stamp,
            "start_time": None,
            "end_time": None,
            "duration": None,
            "price": None,
            "price_unit": "USD",
            "answered_by": None,
            "parent_call_sid": None,
            "phone_number_sid": None,
            "group_sid": None,
            "caller_name": None,
            "forwarded_from": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": f"{uri}.json",
            "subresource_uris": {
                name: f"{uri}/{name}.json" for name in ("notifications", "recordings", "events")
            },
        }
        return Response(json.dumps(body), 201, mimetype="application/json")

    @contextmanager
    def serving(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve the API on `host` in a background thread; yield its base URL."""
        server = make_server(host, port, self, threaded=True, request_handler=_QuietHandler)
        # A short poll keeps shutdown quick: tests start and stop a server each.
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-twilio-api",
            daemon=True,
        )
        thread.start()
        stop = threading.Event()
        worker = None
        if self.autoplay:
            worker = threading.Thread(
                target=self._work, args=(stop,), name="fake-twilio-calls", daemon=True
            )
            worker.start()
        try:
            yield f"http://{host}:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            if worker is not None:
                with self._changed:
                    stop.set()
                    self._changed.notify_all()
                worker.join()

    # -- playing calls ------------------------------------------------------------------

    def play_pending(self) -> list[FakeCall]:
        """Play every accepted call not yet played, in this thread; return them."""
        played: list[FakeCall] = []
        while (call := self._next()) is not None:
            try:
                self._play(call)
            finally:
                self._done()
            played.append(call)
        return played

    def wait_until_played(self, timeout: float = 10.0) -> None:
        """Block until the autoplay worker has played every accepted call."""
        with self._changed:
            if not self._changed.wait_for(lambda: not self._pending and not self._playing, timeout):
                raise TimeoutError(f"calls still unplayed after {timeout} s")

    def _next(self) -> FakeCall | None:
        with self._changed:
            if not self._pending:
                return None
            self._playing += 1
            return self._pending.popleft()

    def _done(self) -> None:
        with self._changed:
            self._playing -= 1
            self._changed.notify_all()

    def _work(self, stop: threading.Event) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: bool(self._pending) or stop.is_set())
                if stop.is_set():
                    return
            call = self._next()
            if call is None:
                continue
            try:
                self._play(call)
            except Exception as exc:  # noqa: BLE001 - a worker must outlive one bad call
                logger.exception("fake Twilio API could not play call %s", call.sid)
                call.errors.append(f"playing the call failed: {exc!r}")
            finally:
                self._done()

    def _play(self, call: FakeCall) -> None:
        with self._play_lock:
            params = call.params
            fate = call.fate = self.fate(params["To"], params)
            amd = params.get("MachineDetection") in ("Enable", "DetectMessageEnd")
            sequence = itertools.count()
            requested = set(call.status_events)
            progress = [
                self._status_params(
                    call,
                    _PROGRESS_STATUS[event],
                    sequence,
                    fate.answered_by if amd and event == "answered" else None,
                )
                for event in _PROGRESS[fate.outcome]
                if event in requested
            ]
            if not self.out_of_order_callbacks:
                for sent in progress:
                    self._send_status(call, sent)
            status: str = fate.outcome
            duration = 0
            if fate.answered:
                status, duration = self._answer(call, fate, amd)
            final = self._status_params(
                call, status, sequence, fate.answered_by if amd and fate.answered else None
            )
            final["CallDuration"] = str(duration)
            call.status = status
            self._send_status(call, final)
            if self.out_of_order_callbacks:
                for sent in progress:
                    self._send_status(call, sent)

    def _answer(self, call: FakeCall, fate: Fate, amd: bool) -> tuple[str, int]:
        """Run the answered call through the simulator; return its final status and length."""
        params = call.params
        asynchronous = amd and params.get("AsyncAmd", "false").lower() == "true"
        hook = None
        if asynchronous and params.get("AsyncAmdStatusCallback"):
            amd_params = {
                "AccountSid": call.account_sid,
                "CallSid": call.sid,
                "AnsweredBy": fate.answered_by or "unknown",
                "MachineDetectionDuration": "2500",
            }

            def hook() -> None:
                self._deliver(params["AsyncAmdStatusCallback"], amd_params, call.amd_callbacks)

        simulator = TwilioSimulator(
            _CallTransport(self.transport, hook),
            auth_token=self.auth_token,
            account_sid=call.account_sid,
            public_base_url=_origin(params["Url"]),
            repeat_requests=self.repeat_webhooks,
        )
        record: CallRecord | None
        try:
            record = simulator.call(
                from_=params["From"],
                to=params["To"],
                respondent=fate.respondent or Scripted(),
                url=params["Url"],
                direction="outbound-api",
                status_callback=_SWALLOWED,
                answered_by=fate.answered_by if amd and not asynchronous else None,
                call_sid=call.sid,
                dial_status=fate.dial_status,
            )
        except SimulatorError as exc:
            record = exc.record
            call.errors.append(f"the app's TwiML broke the call: {exc}")
        call.record = record
        if record is None:
            return "completed", 0
        return record.status, record.duration

    def _status_params(
        self, call: FakeCall, status: str, sequence: Iterator[int], answered_by: str | None
    ) -> dict[str, str]:
        params = call.params
        sent = {
            "AccountSid": call.account_sid,
            "CallSid": call.sid,
            "From": params["From"],
            "To": params["To"],
            "Caller": params["From"],
            "Called": params["To"],
            "Direction": "outbound-api",
            "ApiVersion": API_VERSION,
            "CallStatus": status,
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(next(sequence)),
            "Timestamp": format_datetime(datetime.now(UTC)),
        }
        if answered_by:
            sent["AnsweredBy"] = answered_by
        return sent

    def _send_status(self, call: FakeCall, params: dict[str, str]) -> None:
        target = call.params.get("StatusCallback")
        if target:
            self._deliver(target, params, call.callbacks)

    def _deliver(self, target: str, params: dict[str, str], log: list[SentCallback]) -> None:
        """POST one signed callback (twice if duplicating) and log each delivery."""
        headers = {
            "X-Twilio-Signature": self.validator.compute_signature(target, params),
            "Content-Type": FORM_CONTENT_TYPE,
        }
        for _ in range(2 if self.duplicate_callbacks else 1):
            try:
                code, body = self.transport.post(target, params, headers)
            except (OSError, http.client.HTTPException) as exc:
                log.append(SentCallback(target, dict(params), None, repr(exc)))
                continue
            error = None if 200 <= code < 300 else f"HTTP {code}: {body[:300]!r}"
            log.append(SentCallback(target, dict(params), code, error))
