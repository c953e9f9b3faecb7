"""``ivr results``: export interviews as JSON or CSV, and summarise a survey."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from ivr.app import services
from ivr.reports import SurveySummary, export_interviews, survey_summary

FIXED_COLUMNS = ("case_ref", "survey", "status", "started_at", "ended_at", "channel")


@click.group("results")
def command() -> None:
    """Survey results."""


def _known_survey(survey: str) -> None:
    """Exit 1 with a message on stderr unless a questionnaire defines ``survey``."""
    surveys = services().questionnaires.surveys()
    if survey not in surveys:
        click.echo(f"unknown survey '{survey}' (known: {', '.join(surveys) or 'none'})",
                   err=True)
        sys.exit(1)


def to_csv(rows: list[dict[str, Any]], question_ids: list[str]) -> str:
    """Interviews as CSV: the fixed columns, then a code and a ``_via`` column per question."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*FIXED_COLUMNS, *(c for qid in question_ids for c in (qid, f"{qid}_via"))])
    for row in rows:
        cells = [row[column] for column in FIXED_COLUMNS]
        for qid in question_ids:
            # A question added after this interview's version was pinned: leave it blank.
            answer = row["answers"].get(qid, {})
            cells.extend((answer.get("code"), answer.get("via")))
        writer.writerow(["" if cell is None else cell for cell in cells])
    return buffer.getvalue()


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8", newline="")


@command.command("export")
@click.option("--survey", required=True, help="Survey id, e.g. uss.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")
@with_appcontext
def export(survey: str, fmt: str, output: Path | None) -> None:
    """Export every interview of a survey with its answers."""
    _known_survey(survey)
    svc = services()
    with svc.db.transaction() as session:
        rows = export_interviews(session, survey)
    if fmt == "json":
        text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    else:
        questions = svc.questionnaires.current(survey).questionnaire.questions
        text = to_csv(rows, [q.id for q in questions])
    _emit(text, output)
    if output is not None:
        click.echo(f"wrote {len(rows)} interviews to {output}", err=True)


def summary_json(summary: SurveySummary) -> dict[str, Any]:
    """The summary as plain JSON-ready data."""
    return dataclasses.asdict(summary)


def _summary_tables(summary: SurveySummary) -> list[Table]:
    statuses = Table(title=f"Interviews: {summary.survey}")
    statuses.add_column("status")
    statuses.add_column("interviews", justify="right")
    for status, count in summary.interviews_by_status.items():
        statuses.add_row(status, str(count))
    statuses.add_row("total", str(sum(summary.interviews_by_status.values())))

    core = Table(title="Core questions: satisfied (keys 1-3)")
    for name in ("question", "answered", "satisfied", "%", "95% CI"):
        core.add_column(name, justify="left" if name == "question" else "right")
    for result in summary.core:
        core.add_row(result.question_id, str(result.answered), str(result.satisfied),
                     f"{result.percent:.1f}",
                     f"{result.ci_low:.1f}-{result.ci_high:.1f}" if result.answered else "-")

    referrals = Table(title="Referrals by district")
    kinds = sorted({k for counts in summary.referrals_by_district.values() for k in counts})
    referrals.add_column("district")
    for kind in kinds:
        referrals.add_column(kind, justify="right")
    for district, counts in summary.referrals_by_district.items():
        referrals.add_row(district, *(str(counts.get(kind, 0)) for kind in kinds))
    return [statuses, core, referrals]


@command.command("summary")
@click.option("--survey", required=True, help="Survey id, e.g. uss.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@with_appcontext
def summary(survey: str, as_json: bool) -> None:
    """Interviews by status, core satisfaction with 95% intervals, referrals by district."""
    _known_survey(survey)
    with services().db.transaction() as session:
        result = survey_summary(session, survey)
    if as_json:
        click.echo(json.dumps(summary_json(result), indent=2, ensure_ascii=False))
        return
    # Markup off: districts and ids come from imported data and must print literally.
    console = Console(markup=False, emoji=False, highlight=False)
    for table in _summary_tables(result):
        console.print(table)
