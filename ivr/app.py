"""The application factory: builds and wires; nothing runs at import time."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

from flask import Flask, current_app

from ivr.config import Settings
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.queue import JobQueue, make_queue
from ivr.store.db import Database
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


def create_app(settings: Settings | None = None, *, queue: JobQueue | None = None) -> Flask:
    """Build the Flask app from settings (read from the environment when not given)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.request_class = Request
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
    )
    if not settings.twilio_auth_token:
        log.warning("TWILIO_AUTH_TOKEN is not set: every /twilio request will be refused")
    app.extensions["ivr"] = Services(
        settings=settings,
        db=Database(settings.database_url),
        questionnaires=QuestionnaireRegistry(settings.questionnaires_dir),
        queue=queue or make_queue(settings.redis_url),
        signatures=SignatureChecker(settings.twilio_auth_token),
    )
    from ivr.web import twilio

    app.register_blueprint(twilio.bp)
    return app


def services() -> Services:
    """The running app's services."""
    return current_app.extensions["ivr"]  # type: ignore[no-any-return]
