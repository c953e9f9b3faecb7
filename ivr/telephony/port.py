"""The `Telephony` port: placing outbound calls through Twilio or a test double."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ivr.config import Settings

__all__ = [
    "STATUS_EVENTS",
    "CallRequest",
    "PlacedCall",
    "RecordingStore",
    "RecordingTelephony",
    "Telephony",
    "TelephonyError",
    "TwilioTelephony",
]

STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
MACHINE_DETECTION = ("Enable", "DetectMessageEnd")
E164 = re.compile(r"\+[1-9]\d{6,14}")
#: A Twilio recording's sid in its address (.../Recordings/RE<32 hex>[.mp3]).
RECORDING_SID = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})(?:\.\w+)?$")
MIN_RING_SECONDS = 15
MAX_RING_SECONDS = 600
DEFAULT_HTTP_TIMEOUT = 10.0


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class CallRequest:
    """One outbound call to place: who to ring, from which number, and where Twilio reports."""

    to: str
    from_: str
    url: str
    status_callback: str
    status_events: tuple[str, ...] = STATUS_EVENTS
    timeout_seconds: int = 30
    machine_detection: str | None = "Enable"
    async_amd: bool = False

    def __post_init__(self) -> None:
        for name, number in (("to", self.to), ("from_", self.from_)):
            if not E164.fullmatch(number):
                raise ValueError(f"{name}: {number!r} is not a number in E.164, e.g. +441134960999")
        for name, url in (("url", self.url), ("status_callback", self.status_callback)):
            if not _absolute(url):
                raise ValueError(f"{name}: {url!r} must be an absolute http(s) URL")
        unknown = set(self.status_events) - set(STATUS_EVENTS)
        if unknown:
            raise ValueError(f"status_events: unknown {sorted(unknown)}; allowed {STATUS_EVENTS}")
        if not MIN_RING_SECONDS <= self.timeout_seconds <= MAX_RING_SECONDS:
            # Twilio pads short timeouts by about 5 s, so below 15 the real ring time is unclear.
            raise ValueError(
                f"timeout_seconds: {self.timeout_seconds} must be between "
                f"{MIN_RING_SECONDS} and {MAX_RING_SECONDS}"
            )
        if self.machine_detection is not None and self.machine_detection not in MACHINE_DETECTION:
            raise ValueError(
                f"machine_detection: {self.machine_detection!r} must be one of "
                f"{MACHINE_DETECTION} or None"
            )


@dataclass(frozen=True)
class PlacedCall:
    """A call Twilio accepted: its sid and the status it reported (usually `queued`)."""

    sid: str
    status: str


class TelephonyError(Exception):
    """Placing a call failed; `retryable` says whether trying again later may succeed."""

    def __init__(
        self, message: str, *, retryable: bool, code: int | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.status = status

    def __repr__(self) -> str:
        return (
            f"TelephonyError({str(self)!r}, retryable={self.retryable}, code={self.code}, "
            f"status={self.status})"
        )


class Telephony(Protocol):
    """Places outbound calls."""

    def place_call(self, request: CallRequest) -> PlacedCall:
        """Ask the provider to ring `request.to`; raise `TelephonyError` on failure."""
        ...


class RecordingStore(Protocol):
    """Where recorded answers are kept: deleting one when its time is up or on erasure."""

    def delete_recording(self, recording_url: str) -> bool:
        """Delete the recording at ``recording_url``; False when it is not one this store
        keeps (nothing to delete there). Already gone counts as deleted. Raise
        `TelephonyError` when the store cannot be reached or refuses."""
        ...


def recording_sid(recording_url: str) -> str | None:
    """The sid of the Twilio recording at ``recording_url``, or None if it is not one."""
    found = RECORDING_SID.search(recording_url.split("?", 1)[0])
    return found.group(1) if found else None


def _retryable_status(status: int) -> bool:
    return status >= 500 or status == 429


class _Deleting:
    """Deleting recordings with the Twilio REST client (mixed into TwilioTelephony)."""

    _client: Any

    def delete_recording(self, recording_url: str) -> bool:
        """Delete the Twilio recording at ``recording_url`` (see `RecordingStore`)."""
        import requests
        from twilio.base.exceptions import TwilioRestException

        sid = recording_sid(recording_url)
        if sid is None:
            return False
        try:
            self._client.recordings(sid).delete()
        except TwilioRestException as exc:
            if int(exc.status) == 404:
                return True  # already gone
            raise TelephonyError(
                f"Twilio refused to delete recording {sid}: HTTP {exc.status}",
                retryable=_retryable_status(int(exc.status)),
                status=int(exc.status),
            ) from exc
        except requests.RequestException as exc:
            raise TelephonyError(f"could not reach the Twilio API: {exc}", retryable=True) from exc
        return True


class TwilioTelephony(_Deleting):
    """Places calls with the official Twilio REST client, optionally against another base URL.

    With `api_base_url` (the `TWILIO_API_BASE_URL` setting) requests go to
    `{api_base_url}/2010-04-01/Accounts/{sid}/Calls.json` instead of https://api.twilio.com.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_base_url: str | None = None,
        http_timeout: float = DEFAULT_HTTP_TIMEOUT,
    ) -> None:
        if not account_sid or not auth_token:
            raise ValueError("account_sid and auth_token are both required")
        if api_base_url is not None and not _absolute(api_base_url):
            raise ValueError(f"api_base_url: {api_base_url!r} must be an absolute http(s) URL")
        if http_timeout <= 0:
            raise ValueError("http_timeout: please enter a number of seconds greater than 0")
        # Imported here: the REST client and requests cost every process tens of
        # milliseconds at start-up, and only the dialler needs them.
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        # No automatic retries: resending a create that timed out after Twilio accepted it
        # would ring the victim twice; the caller decides about retrying.
        http_client = TwilioHttpClient(timeout=http_timeout)
        # A non-empty environment stops the client reading TWILIO_EDGE and TWILIO_REGION from
        # os.environ, which would silently move requests to another host; settings are injected.
        self._client: Any = Client(
            account_sid,
            auth_token,
            http_client=http_client,
            environment={"TWILIO_ACCOUNT_SID": account_sid},
        )
        if api_base_url is not None:
            # The Api domain joins its base_url with "2010-04-01/Accounts/...", so replacing it
            # moves every call request, and nothing else, to the Twilio-compatible API.
            self._client.api.base_url = api_base_url.rstrip("/")
        self.account_sid = account_sid
        self.api_base_url = api_base_url

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioTelephony:
        """Build from the app's settings (`TWILIO_*`)."""
        return cls(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            api_base_url=settings.twilio_api_base_url,
        )

    def place_call(self, request: CallRequest) -> PlacedCall:
        """Create the call with Twilio; map every failure to `TelephonyError`.

        The errors' messages may quote the number rung: callers must not log them.
        """
        import requests
        from twilio.base.exceptions import TwilioRestException, TwilioServiceException

        try:
            call = self._client.calls.create(
                to=request.to,
                from_=request.from_,
                url=request.url,
                method="POST",
                status_callback=request.status_callback,
                status_callback_method="POST",
                status_callback_event=list(request.status_events),
                timeout=request.timeout_seconds,
                # The client drops None values, so a call without detection sends neither.
                machine_detection=request.machine_detection,
                async_amd=(
                    ("true" if request.async_amd else "false")
                    if request.machine_detection
                    else None
                ),
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            status = int(exc.status)
            # Without a JSON body the client reports the HTTP status as the code.
            code = exc.code if exc.code not in (None, status) else None
            detail = getattr(exc, "msg", None) or getattr(exc, "title", "")
            raise TelephonyError(
                f"Twilio refused the call to {request.to}: HTTP {status}"
                f"{f' error {code}' if code else ''}: {detail}",
                retryable=_retryable_status(status),
                code=code,
                status=status,
            ) from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise TelephonyError(f"could not reach the Twilio API: {exc}", retryable=True) from exc
        except requests.RequestException as exc:
            raise TelephonyError(f"bad request to the Twilio API: {exc}", retryable=False) from exc
        except ValueError as exc:
            # A 2xx whose body is not JSON: the call may exist, so retrying could ring twice.
            raise TelephonyError(
                f"unreadable answer from the Twilio API: {exc}", retryable=False
            ) from exc
        if not call.sid:
            raise TelephonyError(
                "the Twilio API accepted the call but returned no sid", retryable=False
            )
        return PlacedCall(sid=str(call.sid), status=str(call.status or "queued"))


class RecordingTelephony:
    """A test double that records every request and answers with fake sids.

    `errors` are consumed one per call, in order: `None` lets that call succeed, an error is
    raised instead of placing it. Once they run out every call succeeds. Failed requests are
    recorded too, because the caller did try to place them.
    """

    def __init__(self, errors: Iterable[TelephonyError | None] = ()) -> None:
        self.requests: list[CallRequest] = []
        self.placed: list[PlacedCall] = []
        #: The recordings deleted, by address.
        self.deleted: list[str] = []
        self._errors = list(errors)
        self._lock = threading.Lock()

    def fail_next(self, error: TelephonyError) -> None:
        """Make the next call not yet configured to fail raise `error`."""
        with self._lock:
            self._errors.append(error)

    def place_call(self, request: CallRequest) -> PlacedCall:
        """Record `request`, then fail with the next configured error or return a new sid."""
        with self._lock:
            self.requests.append(request)
            error = self._errors.pop(0) if self._errors else None
            if error is not None:
                raise error
            placed = PlacedCall(sid="CA" + secrets.token_hex(16), status="queued")
            self.placed.append(placed)
            return placed

    def delete_recording(self, recording_url: str) -> bool:
        """Record the deletion of a Twilio recording (see `RecordingStore`)."""
        if recording_sid(recording_url) is None:
            return False
        with self._lock:
            self.deleted.append(recording_url)
        return True
