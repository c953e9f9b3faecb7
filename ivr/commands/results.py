"""``ivr results``: export interviews as JSON or CSV, and summarise a survey's figures."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NoReturn, TextIO

import click
from rich.table import Table
from sqlalchemy.engine import Connection

from ivr.calendar import ZONE
from ivr.commands.output import console as output_console
from ivr.commands.output import needs_schema, plural
from ivr.results.export import export_objects, write_csv, write_json
from ivr.results.model import (
    DIMENSION_LABELS,
    DIMENSIONS,
    Breakdown,
    Period,
    PeriodError,
    Proportion,
    Report,
    Scope,
)
from ivr.results.report import REPORT_WORK_MEM, build_report, coding_of, window
from ivr.results.settings import thresholds_of
from ivr.services import current_services
from ivr.store import results as store
from ivr.store.interviews import pinned_questionnaire

#: The first year a date may be in: before any survey this platform ran.
OPEN_START = date(2000, 1, 1)
#: Non-substantive answers by kind, in the order tables show them, in words.
NOT_COUNTED_WORDS = {
    "dont_know": "don't know",
    "does_not_apply": "does not apply",
    "prefer_not_to_say": "prefer not to say",
}


@click.group("results")
def command() -> None:
    """Survey results."""


def known_survey(survey: str) -> None:
    """Exit 1 with a message on stderr unless a questionnaire defines ``survey``."""
    surveys = current_services().questionnaires.surveys()
    if survey not in surveys:
        click.echo(f"unknown survey '{survey}' (known: {', '.join(surveys) or 'none'})", err=True)
        sys.exit(1)


def fail(message: str) -> NoReturn:
    """Say what is wrong on stderr and exit 1."""
    click.echo(message, err=True)
    sys.exit(1)


def london_day(text: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option's day, or None when it was left out; exit 1 if unreadable."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        day = None
    if day is None or len(text.strip()) != 10 or not OPEN_START.year <= day.year <= 2099:
        fail(f"{option} '{text}' is not a date: write it as YYYY-MM-DD, e.g. 2026-07-01")
    return day


def today() -> date:
    """Today in London, by the services' clock."""
    return current_services().clock().astimezone(ZONE).date()


@contextmanager
def output_stream(output: Path | None) -> Iterator[TextIO]:
    """Stdout, or a new file written beside ``output`` and moved into place only once it
    is whole, so that a failed export never leaves half a file under the name asked for."""
    if output is None:
        yield sys.stdout
        return
    partial = output.with_name(output.name + ".part")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


# --- export ---------------------------------------------------------------------------------


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
@click.option(
    "--from", "from_", metavar="YYYY-MM-DD", help="Interviews started on or after this day."
)
@click.option("--to", metavar="YYYY-MM-DD", help="Interviews started on or before this day.")
@needs_schema
def export(survey: str, fmt: str, output: Path | None, from_: str | None, to: str | None) -> None:
    """Export each case's interview with its answers, its case's facts and groups, and its
    weight in the quarterly report; streamed, a row at a time (London days, both ends
    included; either may be left out)."""
    known_survey(survey)
    first, last = london_day(from_, "--from"), london_day(to, "--to")
    if first is not None and last is not None and last < first:
        fail(f"--to ({last}) is before --from ({first})")
    if output is not None and not output.parent.is_dir():
        fail(f"--output {output}: no such folder {output.parent}")
    start = window(Period.between(first, first)).start if first else None
    end = window(Period.between(last, last)).end if last else None
    svc = current_services()
    question_ids = [q.id for q in svc.questionnaires.current(survey).questionnaire.questions]
    # One read-only transaction: the rows stream from a cursor that stays open until the
    # last, and the calls going on meanwhile are not held up. The report's work_mem: with
    # the server's default 4MB, from some 500,000 interviews up the choice of each case's
    # interview checks its cases with more than one interview by a scan per interview
    # instead of a hash, and the first row took hours. No JIT: compiling the one long
    # query cost seconds and saved nothing.
    with (
        svc.db.snapshot(work_mem=REPORT_WORK_MEM, jit=False) as conn,
        output_stream(output) as out,
    ):
        rows = export_objects(conn, survey, start=start, end=end, registry=svc.questionnaires)
        written = write_json(rows, out) if fmt == "json" else write_csv(rows, out, question_ids)
    if output is not None:
        click.echo(f"wrote {plural(written, 'interview')} to {output}", err=True)


# --- summary --------------------------------------------------------------------------------


def summary_period(survey: str, first: date | None, last: date | None) -> Period:
    """The days a summary counts: ``first`` to ``last``, from the survey's first counted
    interview when ``first`` is left out and to today when ``last`` is; exit 1 if they
    make no sense."""
    end = last or today()
    if first is None:
        with current_services().db.reading() as conn:
            first = min(first_counted_day(conn, survey, end) or end, end)
    try:
        return Period.between(first, end)
    except PeriodError as exc:
        fail(str(exc))


def first_counted_day(conn: Connection, survey: str, until: date) -> date | None:
    """The London day of the survey's first interview in the figures (to ``until``'s
    year), found by counting interviews per year, then per month of the first year with
    any, then per day of its first month: three counts, whatever the number of
    interviews."""
    versions = {
        vid: pinned_questionnaire(conn, vid) for vid in store.versions_of_survey(conn, survey)
    }
    if not versions:
        return None
    rules = coding_of(versions)[1]

    def first_of(spans: list[tuple[date, date]]) -> tuple[date, date] | None:
        counts = store.interview_counts(
            conn,
            survey,
            rules=rules,
            windows=[store.london_window(str(i), a, b) for i, (a, b) in enumerate(spans)],
            groupings=[()],
            districts=None,
        )
        busy = {int(row.window) for row in counts if row.complete + row.partial}
        return next((span for i, span in enumerate(spans) if i in busy), None)

    year = first_of(
        [(date(y, 1, 1), date(y, 12, 31)) for y in range(OPEN_START.year, until.year + 1)]
    )
    if year is None:
        return None
    months = [date(year[0].year, m, 1) for m in range(1, 13)]
    month = first_of(
        [
            (m, (months[i + 1] if i < 11 else date(m.year + 1, 1, 1)) - timedelta(1))
            for i, m in enumerate(months)
        ]
    )
    if month is None:
        return None
    start, stop = month
    day = first_of(
        [(start + timedelta(d), start + timedelta(d)) for d in range((stop - start).days + 1)]
    )
    return day[0] if day else None


def _percent(p: Proportion) -> str:
    if p.suppressed:
        return "suppressed"
    if p.percent is None:
        return "-"
    return f"{p.percent:.1f}" + (" (low base)" if p.low_base else "")


def _ci(p: Proportion) -> str:
    if p.low is None or p.high is None:
        return "-"
    return f"{p.low:.1f}-{p.high:.1f}"


def _number(n: int | float | None) -> str:
    return "-" if n is None else str(n)


def _kinds(report: Report) -> list[str]:
    """The non-substantive kinds any question has a count of, in the usual order."""
    seen = {
        kind
        for q in report.questions
        for counts in (q.not_counted, *(g.not_counted for b in q.breakdowns for g in b.groups))
        if counts
        for kind, n in counts.items()
        if n
    }
    return [k for k in NOT_COUNTED_WORDS if k in seen] + sorted(seen - set(NOT_COUNTED_WORDS))


def _figure_columns(table: Table, first: Sequence[str], kinds: Sequence[str]) -> None:
    for name in first:
        table.add_column(name)
    for name in ("base", "positive", "%", "95% CI", *(NOT_COUNTED_WORDS.get(k, k) for k in kinds)):
        table.add_column(name, justify="right")


def _core_table(report: Report, kinds: Sequence[str]) -> Table:
    table = Table(
        title=(
            f"Core questions, {report.period.label} ({report.scope}): {report.complete} "
            f"complete and {report.partial} partial interviews counted; one interview per case"
        ),
    )
    _figure_columns(table, ("question", "counted as positive"), kinds)
    table.add_column("no answer", justify="right")
    for q in report.questions:
        figure = q.overall
        table.add_row(
            q.question_id,
            q.counts_as,
            _number(figure.base),
            _number(figure.positive),
            _percent(figure),
            _ci(figure),
            *(_number(None if q.not_counted is None else q.not_counted.get(k, 0)) for k in kinds),
            _number(q.no_answer),
        )
    return table


def _breakdown_table(report: Report, dimension: str, kinds: Sequence[str]) -> Table:
    label = DIMENSION_LABELS.get(dimension, dimension)
    table = Table(title=f"By {label.lower()}, {report.period.label}")
    _figure_columns(table, ("question", label.lower()), kinds)
    for q in report.questions:
        found: Breakdown | None = next((b for b in q.breakdowns if b.dimension == dimension), None)
        if found is None:
            continue
        for index, group in enumerate(found.groups):
            table.add_row(
                q.question_id if index == 0 else "",
                group.group,
                _number(group.figure.base),
                _number(group.figure.positive),
                _percent(group.figure),
                _ci(group.figure),
                *(
                    _number(None if group.not_counted is None else group.not_counted.get(k, 0))
                    for k in kinds
                ),
            )
        table.add_section()
    return table


def _referrals_table(report: Report) -> Table:
    table = Table(title=f"Referrals raised by district, {report.period.label}")
    table.add_column("district")
    table.add_column("service_recovery", justify="right")
    table.add_column("action_alert", justify="right")
    for row in report.recovery.rows:
        table.add_row(row.district, _number(row.service_recovery), _number(row.action_alerts))
    return table


def command_line_report(survey: str, period: Period, *, weighted: bool = False) -> Report:
    """The survey's report as a command prints or writes it: every district, at the
    operator's thresholds, and never the victims' reasons (what a command writes can
    leave the building)."""
    svc = current_services()
    return build_report(
        svc.db,
        svc.questionnaires,
        survey,
        period,
        scope=Scope(reasons=False),
        thresholds=thresholds_of(svc.settings),
        weighted=weighted,
        now=svc.clock(),
    )


def only_breakdowns(report: Report, dimensions: Sequence[str]) -> Report:
    """The report with only the breakdowns by ``dimensions`` kept."""
    return replace(
        report,
        questions=tuple(
            replace(q, breakdowns=tuple(b for b in q.breakdowns if b.dimension in dimensions))
            for q in report.questions
        ),
    )


@command.command("summary")
@click.option("--survey", required=True, help="Survey id, e.g. uss.")
@click.option(
    "--from", "from_", metavar="YYYY-MM-DD", help="Interviews started on or after this day."
)
@click.option(
    "--to", metavar="YYYY-MM-DD", help="Interviews started on or before this day (default today)."
)
@click.option(
    "--by",
    "by",
    multiple=True,
    type=click.Choice(DIMENSIONS),
    help="Break the figures down by this (repeat for more).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
@needs_schema
def summary(
    survey: str, from_: str | None, to: str | None, by: tuple[str, ...], as_json: bool
) -> None:
    """Core figures with 95% intervals and the answers kept out of each base, over any
    days (London dates, both ends included), broken down as asked; small bases are held
    back as in every report."""
    known_survey(survey)
    period = summary_period(survey, london_day(from_, "--from"), london_day(to, "--to"))
    report = command_line_report(survey, period)
    chosen = list(dict.fromkeys(by))
    if as_json:
        # Loaded here: the files' charts bring matplotlib, slow to import for every command.
        from ivr.results.files import report_json

        data: dict[str, Any] = report_json(only_breakdowns(report, chosen) if chosen else report)
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    kinds = _kinds(report)
    console = output_console()
    console.print(_core_table(report, kinds))
    console.print(" ".join(report.method), soft_wrap=True)
    for dimension in chosen:
        console.print(_breakdown_table(report, dimension, kinds))
    console.print(_referrals_table(report))
    for note in report.notes:
        console.print(note, soft_wrap=True)
