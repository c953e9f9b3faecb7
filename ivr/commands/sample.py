"""``ivr sample import``: load a survey's cases from a CSV file, every row or none."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import click
from sqlalchemy.exc import DBAPIError, IntegrityError

from ivr.campaigns.samples import import_sample
from ivr.commands.output import needs_schema, plural
from ivr.services import current_services


@click.group("sample")
def command() -> None:
    """Samples of cases to survey."""


@command.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--survey", required=True, help="Survey id, e.g. uss or vcas_exit.")
@needs_schema
def import_(file: Path, survey: str) -> None:
    """Import the cases in a CSV FILE (UTF-8, header on line 1) for a survey.

    Every row is checked first; on any problem nothing is imported, each problem is
    printed as ``line N: reason`` and the exit status is 1.
    """
    ivr = current_services()
    known = ivr.questionnaires.surveys()
    if survey not in known:
        click.echo(f"unknown survey '{survey}' (known: {', '.join(known) or 'none'})", err=True)
        sys.exit(1)
    questionnaire = ivr.questionnaires.current(survey).questionnaire
    text = _read_text(file)
    try:
        with ivr.db.transaction() as session:
            report = import_sample(session, questionnaire, io.StringIO(text, newline=""))
    except IntegrityError:
        # Only another import committing the same case_refs since ours checked gets here.
        click.echo(
            "some of these cases were imported by another run at the same time; "
            "nothing was imported, run the import again to see which",
            err=True,
        )
        sys.exit(1)
    except DBAPIError as exc:
        # The database's own words would carry the row's values (names, numbers): only
        # the kind of error is said.
        click.echo(
            f"the database refused the sample ({type(exc.orig).__name__}); nothing was imported",
            err=True,
        )
        sys.exit(1)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if report.problems:
        sys.exit(1)
    click.echo(f"imported {plural(report.imported, 'case')} for survey {survey}", err=True)


def _read_text(file: Path) -> str:
    """The file's text, or exit 1 saying why it cannot be read."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        click.echo(f"cannot read {file}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    try:
        # utf-8-sig: spreadsheets often save UTF-8 CSV with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        click.echo(
            f"line {line}: the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save it as CSV UTF-8",
            err=True,
        )
        sys.exit(1)
