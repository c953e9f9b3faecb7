"""The ``ivr`` command: the platform's own command groups, and ``ivr run``."""

from __future__ import annotations

from typing import Any

import click

from ivr.commands import LazyGroup

#: ``-h`` is help everywhere; help text wraps at a readable width.
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _create_app():  # type: ignore[no-untyped-def]
    from ivr.app import create_app
    from ivr.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        # A configuration mistake is the operator's to fix: say what, not where in the code.
        raise click.ClickException(str(exc)) from None


def _script_info() -> Any:
    # Flask's command-line module is imported only by a command that runs: ``ivr --help``
    # and the listing of commands never need it.
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=_create_app, set_debug_flag=False, load_dotenv_defaults=False)


@click.group("ivr", cls=LazyGroup, context_settings=CONTEXT)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Telephony surveys of victims of crime: questionnaires, calls, referrals, results."""
    if ctx.obj is None:
        # Commands build the app when they first need it (a test runner brings its own).
        ctx.obj = _script_info()
