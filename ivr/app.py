"""The application factory: builds and wires; nothing runs at import time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.config import ConfigError, Settings
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.queue import JobQueue, make_queue
from ivr.scheduling.limiter import CallRateLimiter, LocalRateLimiter, RedisRateLimiter
from ivr.store.db import Database
from ivr.store.models import utcnow
from ivr.telephony.port import Telephony, TwilioTelephony
from ivr.telephony.signature import SignatureChecker
from ivr.web.requests import Request

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What views and commands share: settings, database, questionnaires, queue."""

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
                from redis import Redis

                self.limiter = RedisRateLimiter(
                    Redis.from_url(self.settings.redis_url), self.settings.calls_per_second
                )
            else:
                self.limiter = LocalRateLimiter(self.settings.calls_per_second)
        return self.telephony, self.limiter


def warn_if_webhooks_refused(settings: Settings) -> None:
    """Say so at start-up when the app serves Twilio's webhooks but cannot check them."""
    if not settings.twilio_auth_token:
        log.warning("TWILIO_AUTH_TOKEN is not set: every /twilio request will be refused")


def create_app(
    settings: Settings | None = None,
    *,
    queue: JobQueue | None = None,
    clock: Callable[[], datetime] | None = None,
    telephony: Telephony | None = None,
) -> Flask:
    """Build the Flask app from settings (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.request_class = Request
    if settings.proxy_count:
        # The client's address and scheme as the trusted proxies saw them. Webhook
        # signatures do not depend on this: they are checked over PUBLIC_BASE_URL.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_count, x_proto=settings.proxy_count
        )
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
    )
    app.extensions["ivr"] = Services(
        settings=settings,
        db=Database(settings.database_url),
        questionnaires=QuestionnaireRegistry(settings.questionnaires_dir),
        queue=queue or make_queue(settings.redis_url),
        signatures=SignatureChecker(settings.twilio_auth_token),
        clock=clock or utcnow,
        telephony=telephony,
    )
    from ivr.web import auth, console, twilio
    from ivr.web import queue as queue_pages

    app.register_blueprint(twilio.bp)
    auth.init_app(app)
    queue_pages.init_app(app)
    console.init_app(app)
    return app


def services() -> Services:
    """The running app's services."""
    return current_app.extensions["ivr"]  # type: ignore[no-any-return]
