"""Callers who asked for a person: who can take them, the console's list, the hand-over,
and the cases only interviewers may ring (and why)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, exists, func, select, update

from ivr.store.campaigns import CASES, SCHEDULES
from ivr.store.models import Base

_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_USERS: Table = Base.metadata.tables["users"]
_SESSIONS: Table = Base.metadata.tables["staff_sessions"]
_s, _c, _i = SCHEDULES.c, CASES.c, _INTERVIEWS.c

#: Why a case is for interviewers only (None: the safety check was not passed).
ASKED_FOR_PERSON = "asked_for_person"
ACCESS_NEEDS = "access_needs"


def interviewer_signed_in(conn: Connection, now: datetime, max_session: timedelta) -> bool:
    """Whether an active interviewer has a session that has not ended and is younger than
    ``max_session`` (idle time is kept in the browser's cookie, not here)."""
    u, st = _USERS.c, _SESSIONS.c
    return bool(
        conn.execute(
            select(
                exists().where(
                    st.user_id == u.id,
                    u.role == "interviewer",
                    u.active.is_(True),
                    st.ended_at.is_(None),
                    st.started_at > now - max_session,
                )
            )
        ).scalar()
    )


def make_interviewer_only(conn: Connection, case_id: int, reason: str, now: datetime) -> None:
    """The dialler never rings the case again, for ``reason``; a case already for
    interviewers only keeps when and why it became so."""
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id, _s.interviewer_only_since.is_(None))
        .values(interviewer_only_since=now, interviewer_only_reason=reason, updated_at=now)
    )


def make_interviewer_only_by_ref(
    conn: Connection, survey: str, case_refs: Collection[str], reason: str, now: datetime
) -> None:
    """:func:`make_interviewer_only` for a survey's cases by reference (a new sample)."""
    if not case_refs:
        return
    ids = select(_c.id).where(_c.survey == survey, _c.case_ref.in_(sorted(case_refs)))
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id.in_(ids), _s.interviewer_only_since.is_(None))
        .values(interviewer_only_since=now, interviewer_only_reason=reason, updated_at=now)
    )


def hand_over(conn: Connection, case_id: int, now: datetime) -> None:
    """The victim's call is being put through to a person: list it in the console."""
    make_interviewer_only(conn, case_id, ASKED_FOR_PERSON, now)
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id, _s.handed_over_at.is_(None))
        .values(handed_over_at=now, updated_at=now)
    )


def hand_over_ended(conn: Connection, case_id: int, now: datetime) -> None:
    """The put-through is over (answered and finished, or nobody answered)."""
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id, _s.handed_over_at.is_not(None))
        .values(handed_over_at=None, updated_at=now)
    )


def handed_over_callers(conn: Connection) -> list[dict[str, Any]]:
    """Callers being put through whom no interviewer has taken, longest waiting first:
    case_id, case_ref, survey, handed_over_at and the language the interview is held in
    (None: the questionnaire's own)."""
    rows = conn.execute(
        select(
            _s.case_id,
            _c.case_ref,
            _c.survey,
            _s.handed_over_at,
            _i.language,
        )
        .join(CASES, _c.id == _s.case_id)
        .outerjoin(_INTERVIEWS, (_i.case_id == _s.case_id) & (_i.status == "in_progress"))
        .where(
            _s.handed_over_at.is_not(None),
            _s.held_by_id.is_(None),
            _s.disposition.is_(None),
        )
        .order_by(_s.handed_over_at, _s.case_id)
    ).mappings()
    return [dict(row) for row in rows]


def take_handed_over(conn: Connection, user_id: int, case_id: int, now: datetime) -> int | None:
    """Hold a handed-over case for ``user_id`` and make its interview in progress theirs, run
    from the console; the interview's id, or None if the case is not (or no longer) waiting.

    Unlike an ordinary hold, the victim's call is live: it is the call being put through.
    """
    interview_id = conn.execute(
        select(func.max(_i.id)).where(_i.case_id == case_id, _i.status == "in_progress")
    ).scalar()
    if interview_id is None:
        return None
    taken = conn.execute(
        update(SCHEDULES)
        .where(
            _s.case_id == case_id,
            _s.handed_over_at.is_not(None),
            _s.held_by_id.is_(None),
            _s.disposition.is_(None),
        )
        .values(held_by_id=user_id, held_at=now, updated_at=now)
    )
    if not taken.rowcount:
        return None
    conn.execute(
        update(_INTERVIEWS)
        .where(_i.id == interview_id)
        .values(interviewer_id=user_id, channel="interviewer")
    )
    return int(interview_id)


def handed_over(conn: Connection, case_ids: Collection[int]) -> set[int]:
    """The cases among ``case_ids`` whose live call has been put through to a person: the
    console may work them although the victim is on the line."""
    if not case_ids:
        return set()
    return {
        int(case_id)
        for case_id in conn.scalars(
            select(_s.case_id).where(_s.case_id.in_(list(case_ids)), _s.handed_over_at.is_not(None))
        )
    }


def interviewer_only_reason(conn: Connection, case_id: int) -> str | None:
    """Why the case is for interviewers only (None: not, or for the safety check)."""
    return conn.execute(select(_s.interviewer_only_reason).where(_s.case_id == case_id)).scalar()
