"""``ivr sample import``: load a survey's cases from a CSV file, every row or none."""

from __future__ import annotations

import io
import random
import sys
from datetime import date, datetime
from pathlib import Path

import click
from sqlalchemy.exc import DBAPIError, IntegrityError

from ivr.calendar import ZONE
from ivr.campaigns.public_sample import generate_sample, import_public_sample
from ivr.campaigns.random_digits import NumberRangeError
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

    A survey of the public takes telephone numbers: columns phone and area (or
    district), optional line_type (landline or mobile), released_on (YYYY-MM-DD, default
    today) and case_ref (generated when absent).

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
            stream = io.StringIO(text, newline="")
            if questionnaire.sample == "public":
                report = import_public_sample(
                    session, questionnaire, stream, today=_today(ivr.clock())
                )
            else:
                report = import_sample(session, questionnaire, stream)
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


def _today(now: datetime) -> date:
    """The date in London: a number released "today" is today where the force works."""
    return now.astimezone(ZONE).date()


@command.command("generate")
@click.option("--survey", required=True, help="Survey id of a survey of the public, e.g. lpcs.")
@click.option("--area", required=True, help="The policing area, as the quotas name it.")
@click.option("--count", required=True, type=click.IntRange(min=1), help="Numbers to add.")
@click.option("--seed", type=int, default=None, help="Seed the draw, to repeat it exactly.")
@click.option("--dry-run", is_flag=True, help="Draw and check the numbers, add nothing.")
@needs_schema
def generate_command(survey: str, area: str, count: int, seed: int | None, dry_run: bool) -> None:
    """Random digit dialling: add COUNT new numbers drawn in the area's number ranges.

    None is a number the survey already holds or one on the do-not-call list; each is
    released today. Only how many were added is printed, never the numbers.
    """
    ivr = current_services()
    known = ivr.questionnaires.surveys()
    if survey not in known:
        raise click.ClickException(f"unknown survey '{survey}' (known: {', '.join(known)})")
    questionnaire = ivr.questionnaires.current(survey).questionnaire
    if questionnaire.sample != "public":
        raise click.ClickException(f"survey '{survey}' samples victims, not the public")
    # SystemRandom unless seeded: a sample's numbers should not be predictable.
    rng = random.Random(seed) if seed is not None else random.SystemRandom()
    try:
        with ivr.db.transaction() as session:
            report = generate_sample(
                session,
                questionnaire,
                area,
                count,
                today=_today(ivr.clock()),
                rng=rng,
                dry_run=dry_run,
            )
    except (ValueError, NumberRangeError) as exc:
        raise click.ClickException(str(exc)) from None
    verb = "would add" if dry_run else "added"
    click.echo(
        f"{verb} {plural(report.added, 'number')} in {area} for survey {survey}"
        + (
            f" ({report.skipped} drawn were already held or on the do-not-call list)"
            if report.skipped
            else ""
        ),
        err=True,
    )


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
