"""What has outlived its survey's retention periods, and forgetting it (set by set)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, Table, and_, delete, exists, func, select, update

from ivr.store.models import Base
from ivr.store.subjects import LIVE_ATTEMPTS

_CASES: Table = Base.metadata.tables["cases"]
_SCHEDULES: Table = Base.metadata.tables["schedules"]
_ATTEMPTS: Table = Base.metadata.tables["call_attempts"]
_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_TURNS: Table = Base.metadata.tables["turns"]
_ANSWERS: Table = Base.metadata.tables["answers"]
_TRANSCRIPTIONS: Table = Base.metadata.tables["transcriptions"]
_REFERRALS: Table = Base.metadata.tables["referrals"]
_AUDIT: Table = Base.metadata.tables["audit_log"]

#: The reference an erased case keeps (see :func:`ivr.store.subjects.erase`).
ERASED_PREFIX = "ERASED-"


class Recording(NamedTuple):
    answer_id: int
    interview_id: int
    question_id: str
    url: str


def cases_past(conn: Connection, survey: str, before: datetime) -> list[int]:
    """The survey's cases not yet erased whose calling closed before ``before`` (or, never
    closed, that were imported before it), with no call under way; oldest first."""
    c, s, t = _CASES.c, _SCHEDULES.c, _ATTEMPTS.c
    since = func.coalesce(s.closed_at, c.imported_at)
    live = exists().where(t.case_id == c.id, t.status.in_(LIVE_ATTEMPTS))
    return list(
        conn.scalars(
            select(c.id)
            .select_from(_CASES.outerjoin(_SCHEDULES, s.case_id == c.id))
            .where(
                c.survey == survey,
                ~c.case_ref.startswith(ERASED_PREFIX),
                since < before,
                ~live,
            )
            .order_by(since, c.id)
        )
    )


def recordings_past(conn: Connection, survey: str, before: datetime) -> list[Recording]:
    """The survey's recorded answers made before ``before`` that still have an address."""
    a, i, c = _ANSWERS.c, _INTERVIEWS.c, _CASES.c
    return [
        Recording(*row)
        for row in conn.execute(
            select(a.id, a.interview_id, a.question_id, a.recording_url)
            .join(_INTERVIEWS, i.id == a.interview_id)
            .join(_CASES, c.id == i.case_id)
            .where(c.survey == survey, a.recording_url.is_not(None), a.answered_at < before)
            .order_by(a.id)
        )
    ]


def forget_recordings(conn: Connection, recordings: Sequence[Recording]) -> int:
    """Drop the recordings' addresses and their transcriptions (the victim's words)."""
    a, t = _ANSWERS.c, _TRANSCRIPTIONS.c
    for first in range(0, len(recordings), 500):
        batch = recordings[first : first + 500]
        conn.execute(
            update(_ANSWERS)
            .where(a.id.in_([r.answer_id for r in batch]))
            .values(recording_url=None)
        )
        for r in batch:
            conn.execute(
                delete(_TRANSCRIPTIONS).where(
                    and_(t.interview_id == r.interview_id, t.question_id == r.question_id)
                )
            )
    return len(recordings)


def interviews_past(conn: Connection, survey: str, before: datetime) -> list[int]:
    """The survey's interviews started before ``before`` that still have answers, and no
    recording left to delete where it is kept (those wait for the next run)."""
    i, c, a = _INTERVIEWS.c, _CASES.c, _ANSWERS.c
    kept = _ANSWERS.alias("kept")
    return list(
        conn.scalars(
            select(i.id)
            .join(_CASES, c.id == i.case_id)
            .where(
                c.survey == survey,
                i.started_at < before,
                exists().where(a.interview_id == i.id),
                ~exists().where(kept.c.interview_id == i.id, kept.c.recording_url.is_not(None)),
            )
            .order_by(i.id)
        )
    )


def forget_answers(conn: Connection, interview_ids: Sequence[int]) -> int:
    """Remove the interviews' answers, transcriptions, saved TwiML and the reasons of their
    referrals: that an interview took place is all that is left. How many answers went."""
    removed = 0
    for first in range(0, len(interview_ids), 500):
        batch = list(interview_ids[first : first + 500])
        removed += conn.execute(delete(_ANSWERS).where(_ANSWERS.c.interview_id.in_(batch))).rowcount
        conn.execute(delete(_TRANSCRIPTIONS).where(_TRANSCRIPTIONS.c.interview_id.in_(batch)))
        conn.execute(delete(_TURNS).where(_TURNS.c.interview_id.in_(batch)))
        conn.execute(
            update(_REFERRALS).where(_REFERRALS.c.interview_id.in_(batch)).values(reasons=[])
        )
        conn.execute(
            update(_INTERVIEWS).where(_INTERVIEWS.c.id.in_(batch)).values(state={}, notes=None)
        )
    return removed


def audit_entries_before(conn: Connection, before: datetime) -> int:
    return int(
        conn.scalar(select(func.count()).select_from(_AUDIT).where(_AUDIT.c.at < before)) or 0
    )


def forget_audit_entries(conn: Connection, before: datetime) -> int:
    return int(conn.execute(delete(_AUDIT).where(_AUDIT.c.at < before)).rowcount or 0)
