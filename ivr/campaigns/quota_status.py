"""Where a survey of the public stands against its quotas: the survey year and quarter of
a day, each cell's target to date and what it has achieved, which cells are full (the
interview's quota gate and the dialler read this) and whether each is on track."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection

from ivr.calendar import ZONE
from ivr.campaigns.quotas import Progress, QuotaPlan, progress
from ivr.engine import Status, respondent_groups
from ivr.questionnaire.population import AREA, Cell, Population, quota_cells
from ivr.questionnaire.schema import Questionnaire, Quotas
from ivr.store import quotas as store


@dataclass(frozen=True)
class SurveyYear:
    """One survey year and the quarter a day falls in."""

    start: date
    end: date
    #: 1-based.
    quarter: int
    quarter_start: date
    quarter_end: date


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, day.day)


def survey_year(quotas: Quotas, today: date) -> SurveyYear:
    """The survey year (starting on ``year_starts``) and quarter that ``today`` is in."""
    month, day = (int(part) for part in quotas.year_starts.split("-"))
    start = date(today.year, month, min(day, 28) if month == 2 else day)
    if start > today:
        start = date(today.year - 1, start.month, start.day)
    end = _add_months(start, 12) - timedelta(days=1)
    months = 12 // quotas.quarters
    quarter = 1
    while _add_months(start, quarter * months) <= today and quarter < quotas.quarters:
        quarter += 1
    quarter_start = _add_months(start, (quarter - 1) * months)
    quarter_end = (
        end if quarter == quotas.quarters else _add_months(start, quarter * months) - timedelta(1)
    )
    return SurveyYear(start, end, quarter, quarter_start, quarter_end)


def plan_of(q: Questionnaire, population: Population) -> QuotaPlan:
    """The year's targets from the questionnaire's quotas and the population's shares."""
    assert q.quotas is not None
    return QuotaPlan(
        area_targets=dict(q.quotas.areas),
        shares={
            area: {cell: population.shares(area, cell) for cell in q.quotas.cells}
            for area in q.quotas.areas
        },
        quarters=q.quotas.quarters,
    )


def _since(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZONE)


#: Interviews that reached the quota gate: counted in, or turned away as their cell was full.
REACHED_GATE = (Status.COMPLETED.value, Status.QUOTA_FULL.value)


def achieved(
    conn: Connection,
    q: Questionnaire,
    since: date,
    statuses: tuple[str, ...] = (Status.COMPLETED.value,),
) -> Counter[Cell]:
    """Interviews since ``since`` in each quota cell: completed ones, or those ending in
    ``statuses``."""
    assert q.quotas is not None
    wanted = set(q.quotas.demographics)
    question_ids = [x.id for x in q.questions if x.demographic in wanted]
    counts: Counter[Cell] = Counter()
    found = store.completed_answers(conn, q.id, _since(since), question_ids, statuses)
    for district, codes in found:
        answers = {qid: {"code": code} for qid, code in codes.items()}
        groups = respondent_groups(q, answers)
        counts.update(quota_cells(district or "", q.quotas.cells, groups))
    return counts


def full_cells(
    conn: Connection, q: Questionnaire, population: Population, today: date
) -> frozenset[Cell]:
    """The quota cells whose achieved interviews this survey year have reached their
    target to the end of the current quarter."""
    assert q.quotas is not None
    year = survey_year(q.quotas, today)
    targets = plan_of(q, population).targets_to(year.quarter)
    done = achieved(conn, q, year.start)
    return frozenset(cell for cell, target in targets.items() if done[cell] >= target)


@dataclass(frozen=True)
class CellLine:
    """One cell's progress this survey year."""

    cell: Cell
    year_target: int
    to_date_target: int
    progress: Progress


def status_lines(
    conn: Connection, q: Questionnaire, population: Population, today: date
) -> tuple[SurveyYear, list[CellLine]]:
    """Every cell's achieved interviews against its year's target and where the calendar
    says it should be by ``today``, areas first."""
    assert q.quotas is not None
    year = survey_year(q.quotas, today)
    plan = plan_of(q, population)
    year_targets = plan.year_targets()
    to_date = plan.targets_to(year.quarter)
    done = achieved(conn, q, year.start)
    lines = [
        CellLine(
            cell,
            target,
            to_date[cell],
            progress(
                done[cell],
                target,
                start=year.start,
                end=year.end,
                today=today,
                tolerance=q.quotas.tolerance,
            ),
        )
        for cell, target in year_targets.items()
    ]
    lines.sort(key=lambda line: (line.cell[0], line.cell[1] != AREA, line.cell[1]))
    return year, lines
