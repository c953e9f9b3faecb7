"""The demo's history made to read like a real month: how long its simulated calls took.

The demo plays each call through the webhooks in an instant of simulated time, so every
interview would end the moment it started. These queries give each ended interview the
length a real call has, its answers spread over it in the order they were given.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ivr.store.models import Answer, Interview


class EndedInterview(NamedTuple):
    """An interview that has ended: its id, status and start."""

    id: int
    status: str
    started_at: datetime


def ended_interviews(session: Session) -> list[EndedInterview]:
    """Every interview with an end, oldest first."""
    return [
        EndedInterview(*row)
        for row in session.execute(
            select(Interview.id, Interview.status, Interview.started_at)
            .where(Interview.ended_at.is_not(None))
            .order_by(Interview.id)
        )
    ]


def set_call_lengths(session: Session, lengths: Mapping[int, timedelta]) -> None:
    """End each interview ``lengths[id]`` after it started, its answers evenly between."""
    if not lengths:
        return
    started = {
        interview_id: start
        for interview_id, start in session.execute(
            select(Interview.id, Interview.started_at).where(Interview.id.in_(list(lengths)))
        )
    }
    answers: dict[int, list[int]] = {}
    for answer_id, interview_id in session.execute(
        select(Answer.id, Answer.interview_id)
        .where(Answer.interview_id.in_(list(lengths)))
        .order_by(Answer.interview_id, Answer.answered_at, Answer.id)
    ):
        answers.setdefault(interview_id, []).append(answer_id)
    for interview_id, length in lengths.items():
        start = started.get(interview_id)
        if start is None:
            continue
        session.execute(
            update(Interview).where(Interview.id == interview_id).values(ended_at=start + length)
        )
        given = answers.get(interview_id, [])
        for n, answer_id in enumerate(given, 1):
            at = start + length * n / (len(given) + 1)
            session.execute(update(Answer).where(Answer.id == answer_id).values(answered_at=at))
