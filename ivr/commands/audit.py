"""``ivr audit export``: the audit trail of views and actions, for review outside the app."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from ivr.accounts.audit import entries_since
from ivr.admin.audit_log import COLUMNS, LOCAL_TIME, to_csv
from ivr.commands.output import needs_schema
from ivr.services import current_services

__all__ = ["COLUMNS", "LOCAL_TIME", "command", "to_csv"]


@click.group("audit")
def command() -> None:
    """The audit trail."""


@command.command("export")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="First day to include (YYYY-MM-DD, from midnight UK time).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@needs_schema
def export(since: datetime, fmt: str) -> None:
    """Print the audit entries since a day, oldest first, as JSON or CSV."""
    start = since.replace(tzinfo=LOCAL_TIME).astimezone(UTC)
    with current_services().db.transaction() as session:
        entries = entries_since(session, start)
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2, ensure_ascii=False))
    else:
        click.echo(to_csv(entries), nl=False)
