"""``ivr report``: a survey's quarterly report as one HTML or PDF file, CSV tables or JSON.

The same report the results pages give, as it may leave the building: small bases held
back, and never a dissatisfied victim's reasons.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from ivr.commands.output import needs_schema
from ivr.commands.results import command_line_report, fail, known_survey
from ivr.results.model import Period, PeriodError, Report

FORMATS = ("html", "pdf", "csv", "json")
#: The years a quarter may be asked for (a typing slip should not reach the database).
FIRST_YEAR, LAST_YEAR = 2000, 2099


def _quarter(text: str) -> Period:
    try:
        period = Period.parse_quarter(text)
    except PeriodError as exc:
        fail(str(exc))
    assert period.quarter is not None
    if not FIRST_YEAR <= period.quarter[0] <= LAST_YEAR:
        fail(f"'{text}' is not a quarter between {FIRST_YEAR} and {LAST_YEAR}")
    return period


def _write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all: a half-written report is never left
    under the name asked for."""
    partial = path.with_name(path.name + ".part")
    try:
        if isinstance(data, bytes):
            partial.write_bytes(data)
        else:
            partial.write_text(data, encoding="utf-8", newline="")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _csv_out(report: Report, out: Path | None) -> None:
    from ivr.results.files import report_tables

    tables = report_tables(report)
    if out is None:
        # One stream, each table after a blank line and a "# name" line.
        click.echo("\n".join(f"# {name}\n{text}" for name, text in tables.items()), nl=False)
        return
    if out.exists() and not out.is_dir():
        fail(f"--out {out} is a file: CSV tables go in a folder, one file per table")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        _write(out / f"{name}.csv", text)
    click.echo(f"wrote {len(tables)} tables to {out}", err=True)


@click.command("report")
@click.option("--survey", required=True, help="Survey id, e.g. uss.")
@click.option("--quarter", required=True, metavar="YYYYQn", help="The quarter, e.g. 2026Q3.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="The file kind.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Write here (a folder for csv); JSON, HTML and CSV go to stdout without it.",
)
@click.option(
    "--weighted",
    is_flag=True,
    help="Add figures weighted to the eligible sample's crime type by district mix.",
)
@needs_schema
def command(survey: str, quarter: str, fmt: str, out: Path | None, weighted: bool) -> None:
    """A survey's quarterly report: figures, breakdowns, changes, trend, response rates,
    representativeness and service recovery, as HTML, PDF, CSV tables or JSON."""
    known_survey(survey)
    period = _quarter(quarter)
    if fmt == "pdf" and out is None and sys.stdout.isatty():
        fail("a PDF is not for a terminal: give --out FILE, or send stdout to a file")
    if out is not None and fmt != "csv" and out.is_dir():
        fail(f"--out {out} is a folder: give a file name for the {fmt} report")
    if out is not None and not out.parent.is_dir():
        fail(f"--out {out}: no such folder {out.parent}")
    report = command_line_report(survey, period, weighted=weighted)
    # Loaded here: the files' charts bring matplotlib, slow to import for every command.
    from ivr.results import files

    if fmt == "csv":
        _csv_out(report, out)
        return
    data: str | bytes
    if fmt == "json":
        data = json.dumps(files.report_json(report), indent=2, ensure_ascii=False) + "\n"
    elif fmt == "html":
        data = files.report_html(report)
    else:
        data = files.report_pdf(report)
    if out is not None:
        _write(out, data)
        click.echo(f"wrote the {period.label} report ({fmt}) to {out}", err=True)
    elif isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        click.echo(data, nl=False)
