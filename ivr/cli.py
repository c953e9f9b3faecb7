"""The ``ivr`` command: the platform's own command groups, and ``ivr run``."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo

from ivr.commands import register
from ivr.commands.report import command as report_command

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


@click.group("ivr", context_settings=CONTEXT)
@click.pass_context
def main(ctx: click.Context) -> None:
    """Telephony surveys of victims of crime: questionnaires, calls, referrals, results."""
    if ctx.obj is None:
        # Commands build the app when they first need it (a test runner brings its own).
        ctx.obj = ScriptInfo(
            create_app=_create_app, set_debug_flag=False, load_dotenv_defaults=False
        )


register(main)
# The quarterly report: a command of its own, beside the groups above.
main.add_command(report_command)
