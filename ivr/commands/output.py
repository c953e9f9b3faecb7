"""What the commands share: whole tables on any output, and the schema they need."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any

import click
from flask.cli import with_appcontext
from rich.console import Console

from ivr.services import current_services
from ivr.spreadsheet import text_cell

#: Wide enough that a table printed to a pipe or a file is never cut short.
PIPED_WIDTH = 10_000


def console() -> Console:
    """A console for tables: literal text (districts and ids come from imported data), as
    wide as the terminal, or never cut when the output goes to a pipe or a file."""
    width = None if sys.stdout.isatty() else PIPED_WIDTH
    return Console(markup=False, emoji=False, highlight=False, width=width)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return "; ".join(_cell(item) for item in value)
    text = str(value)
    return text_cell(text)


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """Rows as CSV with a header of ``columns``: lists joined with "; ", nothing a
    spreadsheet would run as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def needs_schema(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``command`` in the app's context, once the database has the current schema;
    otherwise say so, and what to run, and exit 1."""

    @wraps(command)
    def checked(*args: Any, **kwargs: Any) -> Any:
        problem = current_services().db.schema_problem()
        if problem is not None:
            click.echo(f"{problem}: run `ivr db upgrade` first", err=True)
            sys.exit(1)
        return command(*args, **kwargs)

    return with_appcontext(checked)


def plural(count: int, thing: str, things: str | None = None) -> str:
    """'1 case', '2 cases'."""
    return f"{count} {thing if count == 1 else (things or thing + 's')}"
