"""The application factory: builds and wires; nothing runs at import time."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr.config import Settings
from ivr.jobs import JobQueue
from ivr.services import Services, build_services, current_services
from ivr.telephony.port import Telephony

log = logging.getLogger(__name__)


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
    """Build the Flask app on the composition root's services (from the environment when
    no settings are given): the webhooks, the sign-in pages, the queue and the console."""
    from ivr.accounts import guards
    from ivr.accounts import web as sign_in_pages
    from ivr.admin import web as admin_pages
    from ivr.calls import webhooks
    from ivr.console import web as console_pages
    from ivr.referrals import web as queue_pages
    from ivr.results import web as results_pages
    from ivr.web import errors, health, phones, surveys

    svc = build_services(settings, queue=queue, clock=clock, telephony=telephony)
    settings = svc.settings
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
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
    app.extensions["ivr"] = svc
    guards.init_app(app)
    # Twilio's webhooks are signed instead of carrying a CSRF token.
    guards.csrf.exempt(webhooks.bp)
    app.register_blueprint(webhooks.bp)
    sign_in_pages.init_app(app)
    queue_pages.init_app(app)
    console_pages.init_app(app)
    results_pages.init_app(app)
    admin_pages.init_app(app)
    health.init_app(app)
    errors.init_app(app)
    phones.init_app(app)
    surveys.init_app(app)
    return app


def services() -> Services:
    """The running app's services (:func:`ivr.services.current_services`)."""
    return current_services()
