"""``ivr run``: serve the web pages and webhooks with the development server."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo
from werkzeug.serving import run_simple

from ivr.app import warn_if_webhooks_refused
from ivr.commands.output import needs_schema
from ivr.services import current_services


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--debug", is_flag=True, help="Reload on code changes and show tracebacks.")
@needs_schema
def command(host: str, port: int, debug: bool) -> None:
    """Serve the staff pages and Twilio's webhooks (production: gunicorn ivr.wsgi:app)."""
    warn_if_webhooks_refused(current_services().settings)
    info = click.get_current_context().find_object(ScriptInfo)
    assert info is not None, "ivr sets up the app's script info"
    app = info.load_app()
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)
