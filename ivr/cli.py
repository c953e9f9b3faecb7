"""The ``ivr`` command: Flask's CLI plus the platform's own command groups."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from ivr.commands import register


def _create_app():  # type: ignore[no-untyped-def]
    from ivr.app import create_app
    from ivr.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:
        # A configuration mistake is the operator's to fix: say what, not where in the code.
        raise click.ClickException(str(exc)) from None


@click.group(
    cls=FlaskGroup,
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main() -> None:
    """Telephony surveys of victims of crime: questionnaires, calls, referrals, results."""


register(main)
