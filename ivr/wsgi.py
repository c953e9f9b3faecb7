"""The app as a WSGI server serves it: ``gunicorn ivr.wsgi:app``."""

from __future__ import annotations

from ivr.app import create_app, services, warn_if_webhooks_refused

app = create_app()
with app.app_context():
    warn_if_webhooks_refused(services().settings)
