"""A survey of the public's quota counts: who has been interviewed this survey year, by
area and by their answers to the quota questions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from ivr.engine.model import Status
from ivr.store.models import Answer, Case, Interview


def completed_answers(
    conn: Connection,
    survey: str,
    since: datetime,
    question_ids: Sequence[str],
    statuses: Sequence[str] = (Status.COMPLETED.value,),
) -> list[tuple[str | None, dict[str, str | None]]]:
    """Each interview of ``survey`` since ``since`` that ended in one of ``statuses``
    (completed): its case's area (district) and its codes for ``question_ids`` (a question
    it has no answer to is left out)."""
    interviews = (
        select(Interview.id, Case.district)
        .join(Case, Case.id == Interview.case_id)
        .where(
            Case.survey == survey,
            Interview.status.in_(list(statuses)),
            Interview.started_at >= since,
        )
        .subquery()
    )
    rows = conn.execute(
        select(interviews.c.id, interviews.c.district, Answer.question_id, Answer.code)
        .outerjoin(
            Answer,
            (Answer.interview_id == interviews.c.id) & Answer.question_id.in_(list(question_ids)),
        )
        .order_by(interviews.c.id)
    )
    found: dict[int, tuple[str | None, dict[str, str | None]]] = {}
    for interview_id, district, question_id, code in rows:
        _district, codes = found.setdefault(interview_id, (district, {}))
        if question_id is not None:
            codes[question_id] = code
    return list(found.values())
