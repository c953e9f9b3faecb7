"""The interview export: one object per case's reported interview, shaped and written a
row at a time.

The rows come from the store's streamed :func:`~ivr.store.results.export_rows` and are
written as they come (a JSON array, or CSV), so an export of any size holds one row in
memory, never the list. Each row carries the case's facts, its demographic groups (never
a name, a phone number or an exact age) and the weight the quarterly report gives it:
its crime type by district cell's weight in the quarter its interview started; none when
the report leaves it out of the weighted figures (not counted, or a cell with no eligible
case closed in that quarter). A survey of the public's interview carries instead its raked
weight in its quarter (:mod:`ivr.results.public_weights`), and its demographic groups
from its answers.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TextIO

from sqlalchemy.engine import Connection

from ivr.calendar import ZONE
from ivr.questionnaire.options import declared_not_counted
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.results import public_weights
from ivr.results.model import Period
from ivr.results.public_weights import PublicQuarterWeights
from ivr.results.questions import WEIGHT_CELL, weights_of
from ivr.results.report import coding_of, window
from ivr.results.reports import counted, iso
from ivr.spreadsheet import text_cell
from ivr.store import results as store
from ivr.store.interviews import pinned_questionnaire

#: The columns every exported interview has, in the CSV's order; the answers follow.
COLUMNS = (
    "case_ref",
    "survey",
    "status",
    "counted",
    "started_at",
    "ended_at",
    "channel",
    "mode",
    "language",
    "questionnaire_version",
    "district",
    "crime_type",
    "reported_on",
    "disposition",
    "attempts",
    "ethnicity",
    "age_band",
    "sex",
    "disability",
    "weight",
)

Cell = tuple[str | None, ...]


class QuarterWeights:
    """The report's cell weights (crime type by district, to the mix of the eligible cases
    whose calling closed in the quarter), worked out once per quarter as rows need them."""

    def __init__(self, conn: Connection, survey: str, versions: Mapping[int, Questionnaire]):
        self.conn, self.survey = conn, survey
        self.rules = coding_of(dict(versions))[1]
        self.by_quarter: dict[tuple[int, int], dict[Cell, float]] = {}

    def weight(
        self, started_at: datetime, crime_type: str | None, district: str | None
    ) -> float | None:
        """The weight of an interview started at ``started_at`` in that cell: its cell's
        weight in the quarter, or None when the quarter gives that cell none (no eligible
        case of it closed then: the report leaves its interviews out of the weighted
        figures, and says how many)."""
        day = started_at.astimezone(ZONE).date()
        quarter = (day.year, (day.month - 1) // 3 + 1)
        if quarter not in self.by_quarter:
            self.by_quarter[quarter] = self._of(Period.of_quarter(*quarter))
        return self.by_quarter[quarter].get((crime_type, district))

    def _of(self, quarter: Period) -> dict[Cell, float]:
        span = window(quarter)
        interviews = store.interview_counts(
            self.conn,
            self.survey,
            rules=self.rules,
            windows=[span],
            groupings=[WEIGHT_CELL],
            districts=None,
        )
        cases = store.case_counts(
            self.conn, self.survey, windows=[span], groupings=[WEIGHT_CELL], districts=None
        )
        # The report's own weights: a cell with interviews but no eligible case closed in
        # the quarter has none (the report leaves it out of the weighted figures).
        return weights_of(interviews, cases).by_cell


def export_objects(
    conn: Connection,
    survey: str,
    *,
    start: datetime | None,
    end: datetime | None,
    registry: QuestionnaireRegistry | None = None,
) -> Iterator[dict[str, Any]]:
    """Each case's reported interview started in [start, end) (None: open), as the export
    writes it, in the order the interviews started; one at a time, as the store streams
    them. ``answers`` holds the pinned questionnaire's questions that were asked, in its
    order (none of the opening, identity or consent steps). Given the ``registry``, a
    survey of the public's interviews carry their raked weight and their groups."""
    versions: dict[int, Questionnaire] = {
        vid: pinned_questionnaire(conn, vid) for vid in store.versions_of_survey(conn, survey)
    }
    public = None if registry is None else public_weights.population_of(registry, survey)
    weights: QuarterWeights | PublicQuarterWeights = (
        QuarterWeights(conn, survey, versions)
        if public is None
        else PublicQuarterWeights(conn, survey, versions, *public)
    )
    shapes = {vid: Shape.of(q) for vid, q in versions.items()}
    for row in store.export_rows(conn, survey, start=start, end=end):
        shape = shapes.get(row.questionnaire_version_id)
        if shape is None:  # a version pinned after the export began
            shape = shapes[row.questionnaire_version_id] = Shape.of(
                pinned_questionnaire(conn, row.questionnaire_version_id)
            )
        yield _shaped(row, shape, weights)


class Shape(NamedTuple):
    """What shaping a row needs of its questionnaire version, worked out once per version
    rather than once per row: its questions in order, each with the answer codes that are
    not opinions (don't know and the like)."""

    questionnaire: Questionnaire
    questions: tuple[tuple[str, frozenset[str]], ...]

    @classmethod
    def of(cls, q: Questionnaire) -> Shape:
        """The shape of questionnaire ``q``."""
        return cls(
            q,
            tuple(
                (question.id, frozenset(d.key for d in declared_not_counted(question)))
                for question in q.questions
            ),
        )


def _shaped(
    row: store.ExportRow, shape: Shape, weights: QuarterWeights | PublicQuarterWeights
) -> dict[str, Any]:
    q = shape.questionnaire
    answers: dict[str, Any] = {}
    for question_id, not_opinions in shape.questions:
        answer = row.answers.get(question_id)
        if answer is None:
            continue  # not asked: skipped by its condition, or never reached
        entry: dict[str, Any] = {
            "code": answer.code,
            "label": answer.label,
            "via": answer.via,
            "substantive": answer.code not in not_opinions,
        }
        if answer.recording_url:
            entry["recording_url"] = answer.recording_url
            entry["transcription"] = row.transcriptions.get(question_id)
        answers[question_id] = entry
    codes = {qid: a.code for qid, a in row.answers.items()}
    in_figures = counted(q, row.status, codes)
    demographics = {"ethnicity": row.ethnicity, "age_band": row.age_band, "sex": row.sex}
    demographics["disability"] = row.disability
    weight: float | None = None
    if isinstance(weights, PublicQuarterWeights):
        # A survey of the public's case knows nothing of the respondent: their groups are
        # their answers to the demographic questions.
        groups = public_weights.groups_of(q, codes)
        demographics = {k: v or groups.get(k) for k, v in demographics.items()}
        if in_figures is not None:
            weight = weights.weight(row)
    elif in_figures is not None:
        weight = weights.weight(row.started_at, row.crime_type, row.district)
    return {
        "case_ref": row.case_ref,
        "survey": row.survey,
        "status": row.status,
        "counted": in_figures,
        "started_at": iso(row.started_at),
        "ended_at": iso(row.ended_at),
        "channel": row.channel,
        "mode": row.mode,
        # Interviews before translations were all in the questionnaire's own language.
        "language": row.language or q.language,
        "questionnaire_version": row.version,
        "district": row.district,
        "crime_type": row.crime_type,
        "reported_on": row.reported_on.isoformat() if row.reported_on else None,
        "disposition": row.disposition,
        "attempts": row.attempts,
        **demographics,
        "weight": weight,
        "answers": answers,
    }


def write_json(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    """Write ``rows`` to ``out`` as one JSON array, an object per line, as they come;
    how many were written."""
    written = 0
    out.write("[")
    for row in rows:
        out.write(",\n" if written else "\n")
        out.write(json.dumps(row, ensure_ascii=False))
        written += 1
    out.write("\n]\n" if written else "]\n")
    return written


def write_csv(rows: Iterable[Mapping[str, Any]], out: TextIO, question_ids: Sequence[str]) -> int:
    """Write ``rows`` to ``out`` as CSV, a line each as they come: the fixed columns, then
    per question its code, its label (which says "don't know" and the like in words) and
    how it was given (``_via``); how many rows were written. A question named as a fixed
    column (a survey of the public asks ``ethnicity``) is headed ``answer_<id>``, so that
    no two columns share a name."""
    writer = csv.writer(out, lineterminator="\n")
    heads = [f"answer_{qid}" if qid in COLUMNS else qid for qid in question_ids]
    writer.writerow([*COLUMNS, *(c for h in heads for c in (h, f"{h}_label", f"{h}_via"))])
    written = 0
    for row in rows:
        cells = [row[column] for column in COLUMNS]
        for qid in question_ids:
            # A question this interview's version did not have, or did not ask: blank.
            answer = row["answers"].get(qid, {})
            cells.extend((answer.get("code"), answer.get("label"), answer.get("via")))
        # Inline rather than a function per cell: some forty cells a row, a million rows.
        writer.writerow(
            [
                ""
                if value is None
                else text_cell(value)
                if type(value) is str
                else str(value)
                if isinstance(value, bool | int | float)
                else text_cell(str(value))
                for value in cells
            ]
        )
        written += 1
    return written
