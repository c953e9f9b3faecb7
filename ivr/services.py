"""The composition root: settings, database, questionnaires, jobs, telephony and clock,
built once per process and shared by the app factory, the commands and the workers.

Workers never build the Flask app: a job asks :func:`current_services`, which is the
services of the app it runs inside (in-process jobs, commands), or else the worker's own,
built from the environment the first time a job needs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from ivr.campaigns.limiter import CallRateLimiter, LocalRateLimiter, RedisRateLimiter
from ivr.config import ConfigError, Settings
from ivr.jobs import JobQueue, make_queue
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.store.db import Database
from ivr.store.models import utcnow
from ivr.store.sealing import Keyring
from ivr.telephony.port import RecordingStore, Telephony, TwilioTelephony
from ivr.telephony.signature import SignatureChecker

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What views, commands and jobs share: settings, database, questionnaires, queue."""

    settings: Settings
    db: Database
    questionnaires: QuestionnaireRegistry
    queue: JobQueue
    signatures: SignatureChecker
    #: The time now: the real clock, or a simulated one in the demo and tests.
    clock: Callable[[], datetime] = utcnow
    #: Places outbound calls; built from the Twilio settings when first needed.
    telephony: Telephony | None = None
    #: Paces outbound call starts; on Redis when there is one, so across every worker.
    limiter: CallRateLimiter | None = None

    def dialer(self) -> tuple[Telephony, CallRateLimiter]:
        """What placing calls needs; ConfigError if Twilio is not configured."""
        if self.telephony is None:
            s = self.settings
            if not (s.twilio_account_sid and s.twilio_auth_token and s.twilio_from_number):
                raise ConfigError(
                    "placing calls needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
                    "and TWILIO_FROM_NUMBER"
                )
            self.telephony = TwilioTelephony(
                s.twilio_account_sid, s.twilio_auth_token, api_base_url=s.twilio_api_base_url
            )
        if self.limiter is None:
            if self.settings.redis_url:
                self.limiter = RedisRateLimiter(
                    self.settings.redis_url, self.settings.calls_per_second
                )
            else:
                self.limiter = LocalRateLimiter(self.settings.calls_per_second)
        return self.telephony, self.limiter


def recording_store(services: Services) -> RecordingStore | None:
    """Where recordings are deleted: the telephony given (a test double, a fake API), or
    Twilio when its account is configured; None without either (nothing is kept there)."""
    telephony = services.telephony
    if telephony is not None and hasattr(telephony, "delete_recording"):
        return cast(RecordingStore, telephony)
    s = services.settings
    if s.twilio_account_sid and s.twilio_auth_token:
        return TwilioTelephony(
            s.twilio_account_sid, s.twilio_auth_token, api_base_url=s.twilio_api_base_url
        )
    return None


def build_services(
    settings: Settings | None = None,
    *,
    queue: JobQueue | None = None,
    clock: Callable[[], datetime] | None = None,
    telephony: Telephony | None = None,
) -> Services:
    """Everything the app, the commands and the jobs need, from settings (read from the
    environment when not given)."""
    settings = settings or Settings.from_env()
    if settings.production and not settings.data_key:
        log.warning("personal data is stored in clear: set IVR_DATA_KEY")
    keyring = Keyring.from_text(settings.data_key, settings.data_keys_previous)
    return Services(
        settings=settings,
        db=Database(settings.database_url, keyring),
        questionnaires=QuestionnaireRegistry(settings.questionnaires_dir),
        queue=queue or make_queue(settings.redis_url),
        signatures=SignatureChecker(settings.twilio_auth_token),
        clock=clock or utcnow,
        telephony=telephony,
    )


_using: ContextVar[Services | None] = ContextVar("ivr_services", default=None)
_worker: Services | None = None


def current_services() -> Services:
    """The services of whatever is running: those set by :func:`using`, the Flask app's
    (inside a request or a command), or this worker process's own."""
    chosen = _using.get()
    if chosen is not None:
        return chosen
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app.extensions["ivr"]  # type: ignore[no-any-return]
    global _worker
    if _worker is None:
        _worker = build_services()
    return _worker


@contextmanager
def using(services: Services) -> Iterator[Services]:
    """Make ``services`` the current ones for the code run inside (tests, tools)."""
    token = _using.set(services)
    try:
        yield services
    finally:
        _using.reset(token)
