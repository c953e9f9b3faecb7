"""``ivr audit export``: the audit trail of views and actions, for review outside the app."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from ivr.accounts.audit import entries_since
from ivr.commands.output import needs_schema
from ivr.services import current_services
from ivr.spreadsheet import text_cell

#: The day given to --since starts at midnight here, the forces' local time.
LOCAL_TIME = ZoneInfo("Europe/London")
COLUMNS = ("at", "actor", "address", "action", "object_type", "object_id", "details")


@click.group("audit")
def command() -> None:
    """The audit trail."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        if isinstance(value, dict)
        else str(value)
    )
    return text_cell(text)


def to_csv(entries: list[dict[str, Any]]) -> str:
    """Audit entries as CSV, with the details as a JSON object in one column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([_cell(entry.get(column)) for column in COLUMNS])
    return buffer.getvalue()


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
