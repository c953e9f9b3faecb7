"""The app as a WSGI server serves it: ``gunicorn ivr.wsgi:app``."""

from __future__ import annotations

from ivr.app import create_app, warn_if_webhooks_refused
from ivr.services import current_services

app = create_app()
with app.app_context():
    warn_if_webhooks_refused(current_services().settings)
