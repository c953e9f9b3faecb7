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
from rich.table import Table

from ivr.commands.output import console as output_console
from ivr.commands.output import needs_schema
from ivr.questionnaire.options import NOT_COUNTED_WORDS
from ivr.questionnaire.schema import NotCounted
from ivr.results.reports import SurveySummary, export_interviews, survey_summary
from ivr.services import current_services

FIXED_COLUMNS = (
    "case_ref",
    "survey",
    "status",
    "counted",
    "started_at",
    "ended_at",
    "channel",
    "mode",
    "questionnaire_version",
    "district",
    "crime_type",
    "reported_on",
    "disposition",
    "attempts",
)


@click.group("results")
def command() -> None:
    """Survey results."""


def _known_survey(survey: str) -> None:
    """Exit 1 with a message on stderr unless a questionnaire defines ``survey``."""
    surveys = current_services().questionnaires.surveys()
    if survey not in surveys:
        click.echo(f"unknown survey '{survey}' (known: {', '.join(surveys) or 'none'})", err=True)
        sys.exit(1)


def to_csv(rows: list[dict[str, Any]], question_ids: list[str]) -> str:
    """Interviews as CSV: the fixed columns, then per question its code, its label (which
    says "don't know" and the like in words) and a ``_via`` column."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [*FIXED_COLUMNS, *(c for qid in question_ids for c in (qid, f"{qid}_label", f"{qid}_via"))]
    )
    for row in rows:
        cells = [row[column] for column in FIXED_COLUMNS]
        for qid in question_ids:
            # A question added after this interview's version was pinned: leave it blank.
            answer = row["answers"].get(qid, {})
            cells.extend((answer.get("code"), answer.get("label"), answer.get("via")))
        writer.writerow(["" if cell is None else cell for cell in cells])
    return buffer.getvalue()


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8", newline="")


@command.command("export")
@click.option("--survey", required=True, help="Survey id, e.g. uss.")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@needs_schema
def export(survey: str, fmt: str, output: Path | None) -> None:
    """Export every interview of a survey with its answers."""
    _known_survey(survey)
    svc = current_services()
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

    counted = summary.counted
    core = Table(
        title=(
            f"Core questions: {counted.get('complete', 0)} complete and "
            f"{counted.get('partial', 0)} partial interviews counted (partial: "
            f"{summary.partial_rule or 'none'}); one interview per case"
        )
    )
    kinds = [
        k
        for k in ("dont_know", "does_not_apply", "prefer_not_to_say")
        if any(r.not_counted.get(k) for r in summary.core)
    ]
    for name in (
        "question",
        "counted as positive",
        "base",
        "positive",
        "%",
        "95% CI",
        *(NOT_COUNTED_WORDS[NotCounted(k)][0] for k in kinds),
        "no answer",
    ):
        core.add_column(
            name, justify="left" if name in ("question", "counted as positive") else "right"
        )
    for result in summary.core:
        core.add_row(
            result.question_id,
            result.counts_as,
            str(result.base),
            str(result.positive),
            f"{result.percent:.1f}" if result.base else "-",
            f"{result.ci_low:.1f}-{result.ci_high:.1f}" if result.base else "-",
            *(str(result.not_counted.get(k, 0)) for k in kinds),
            str(result.no_answer),
        )

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
@needs_schema
def summary(survey: str, as_json: bool) -> None:
    """Interviews by status, core figures with 95% intervals and the answers kept out of
    each base, referrals by district."""
    _known_survey(survey)
    with current_services().db.transaction() as session:
        result = survey_summary(session, survey)
    if as_json:
        click.echo(json.dumps(summary_json(result), indent=2, ensure_ascii=False))
        return
    # Markup off: districts and ids come from imported data and must print literally.
    console = output_console()
    for table in _summary_tables(result):
        console.print(table)
