"""A survey of the public's progress for supervisors: each area and its cells against the
year's and the quarter's targets, on track or behind by the calendar, and how many
numbers each area should release a week to reach its year's target, with a warning when
its sample will run out first. The campaign status command and the console page show it.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from ivr.campaigns.dispositions import Disposition
from ivr.campaigns.planning import ReleasePlan, plan_release
from ivr.campaigns.quota_status import REACHED_GATE, CellLine, SurveyYear, achieved, status_lines
from ivr.questionnaire.population import AREA, Cell, Population
from ivr.questionnaire.schema import Questionnaire
from ivr.store.campaigns import sample_by_area

#: Interviews per released number assumed until the survey's own numbers have shown
#: theirs (planning blends the two): a telephone survey of the public by random digit
#: dialling commonly gets one interview for every twelve or so numbers.
ASSUMED_YIELD = 0.08
#: Weeks a released number takes to be worked to its end (six attempts, call-backs).
FIELDWORK_WEEKS = 2
#: How each kind of cell is named to a reader.
KIND_NAMES = {AREA: "area", "age_sex": "age and sex", "ethnicity": "ethnicity"}


@dataclass(frozen=True)
class AreaProgress:
    """One area: its own total, its cells, and its release plan."""

    area: str
    total: CellLine
    cells: list[CellLine]
    release: ReleasePlan


@dataclass(frozen=True)
class QuotaProgress:
    """Every area's progress in the survey year ``today`` falls in."""

    survey: str
    today: date
    year: SurveyYear
    areas: list[AreaProgress]

    @property
    def warnings(self) -> list[str]:
        return [
            f"{area.area}: {area.release.warning}" for area in self.areas if area.release.warning
        ]

    def as_dict(self) -> dict[str, Any]:
        """The same figures for ``--json``."""
        return {
            "date": self.today.isoformat(),
            "year_start": self.year.start.isoformat(),
            "year_end": self.year.end.isoformat(),
            "quarter": self.year.quarter,
            "areas": [
                {
                    **_line_dict(area.total),
                    "area": area.area,
                    "cells": [
                        {"kind": line.cell[1], "group": line.cell[2], **_line_dict(line)}
                        for line in area.cells
                    ],
                    "release": {
                        "per_week": area.release.per_week,
                        "yield_per_number": round(area.release.yield_per_number, 4),
                        "remaining": area.release.remaining,
                        "needed": area.release.needed,
                        "available": area.release.available,
                        "runs_out_in_week": area.release.runs_out_in_week,
                        "warning": area.release.warning,
                    },
                }
                for area in self.areas
            ],
            "warnings": self.warnings,
        }


def _line_dict(line: CellLine) -> dict[str, Any]:
    return {
        "achieved": line.progress.achieved,
        "to_date_target": line.to_date_target,
        "year_target": line.year_target,
        "expected_by_today": round(line.progress.expected, 1),
        "status": line.progress.status,
    }


def cell_name(cell: Cell) -> str:
    """A cell in words, e.g. "age and sex 16-24 female" or "ethnicity white"."""
    _area, kind, group = cell
    return f"{KIND_NAMES.get(kind, kind)} {group}"


def quota_progress(
    conn: Connection,
    q: Questionnaire,
    population: Population,
    today: date,
    *,
    assumed_yield: float = ASSUMED_YIELD,
) -> QuotaProgress:
    """Where a survey with quotas stands on ``today`` (the force's date)."""
    assert q.quotas is not None, "only a survey with quotas has quota progress"
    year, lines = status_lines(conn, q, population, today)
    samples = sample_by_area(conn, q.id, Disposition.COMPLETE.code)
    # A number released in the year's last weeks has no time for its call-backs: the
    # numbers the year needs are released before them.
    weeks_left = max(1, math.ceil(((year.end - today).days + 1) / 7) - FIELDWORK_WEEKS)
    reached = achieved(conn, q, year.start, REACHED_GATE)
    areas: list[AreaProgress] = []
    for area in q.quotas.areas:
        own = [line for line in lines if line.cell[0] == area]
        total = next(line for line in own if line.cell[1] == AREA)
        sample = samples.get(area)
        release = plan_release(
            target=total.year_target,
            achieved=total.progress.achieved,
            finished_numbers=sample.finished if sample else 0,
            interviews_from_finished=sample.interviewed if sample else 0,
            available=sample.not_rung if sample else 0,
            weeks_left=weeks_left,
            assumed_yield=assumed_yield,
            cells=_short_cells(own, total, reached, population),
        )
        cells = [line for line in own if line.cell[1] != AREA]
        areas.append(AreaProgress(area, total, cells, release))
    return QuotaProgress(q.id, today, year, areas)


def _short_cells(
    own: list[CellLine], total: CellLine, reached: Counter[Cell], population: Population
) -> list[tuple[int, float]]:
    """The area's cells still short of the year's target, each with its share of the
    area's interviews: respondents of the cell who reached the quota gate (counted, or
    turned away once it was full) per completed interview, or until one has, its share of
    the residents."""
    completed = max(1, total.progress.achieved)
    short = []
    for line in own:
        area, kind, group = line.cell
        if kind == AREA or line.progress.achieved >= line.year_target:
            continue
        share = (
            reached[line.cell] / completed
            if reached[line.cell]
            else population.shares(area, kind).get(group, 0.0)
        )
        short.append((line.year_target - line.progress.achieved, share))
    return short


def progress_text(report: QuotaProgress) -> list[str]:
    """The report as lines of text for the command line."""
    year = report.year
    out = [
        f"quotas: survey year {year.start} to {year.end}, quarter {year.quarter} "
        "(achieved / target to the end of this quarter / year target: status)"
    ]
    for area in report.areas:
        out.append(f"  {area.area}: {_figures(area.total)}")
        out += [f"    {cell_name(line.cell)}: {_figures(line)}" for line in area.cells]
    out.append("release plan: numbers to release a week to reach the year's target")
    for area in report.areas:
        plan = area.release
        out.append(
            f"  {area.area}: {plan.per_week:,} a week "
            f"(yield {plan.yield_per_number:.1%} an interview a number; "
            f"{plan.needed:,} numbers needed, {plan.available:,} not yet rung)"
        )
    out += [f"warning: {warning}" for warning in report.warnings]
    return out


def _figures(line: CellLine) -> str:
    return (
        f"{line.progress.achieved} / {line.to_date_target} / {line.year_target}: "
        f"{line.progress.status}"
    )
