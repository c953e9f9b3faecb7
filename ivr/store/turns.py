"""The webhook hot path's SQL: Core statements built once, run on one Connection per request.

The ORM's unit of work, identity map and per-call statement building cost far more than the
database does for a webhook turn, so the turn, call-start and status paths read and write
here with prebuilt statements whose only per-request work is binding parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, CursorResult, Table, bindparam, func, insert, select, update

from ivr.store.models import Base

_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_TURNS: Table = Base.metadata.tables["turns"]
_ANSWERS: Table = Base.metadata.tables["answers"]
_REFERRALS: Table = Base.metadata.tables["referrals"]
_CASES: Table = Base.metadata.tables["cases"]
_ATTEMPTS: Table = Base.metadata.tables["call_attempts"]

_i, _t = _INTERVIEWS.c, _TURNS.c


class InterviewRow(NamedTuple):
    """The interview columns a turn reads: what the engine and the update need."""

    id: int
    case_id: int
    questionnaire_version_id: int
    step_no: int
    status: str
    state: dict[str, Any]


@dataclass(frozen=True)
class NewReferral:
    """A referral a turn stored, as its notification needs it."""

    id: int
    kind: str
    district: str


class AttemptRow(NamedTuple):
    """What a status callback may change on a call attempt."""

    id: int
    status: str
    duration_seconds: int | None
    answered_by: str | None


_INTERVIEW_COLUMNS = (_i.id, _i.case_id, _i.questionnaire_version_id, _i.step_no, _i.status,
                      _i.state)

_REPLAY = (
    select(_t.response)
    .select_from(_TURNS.join(_INTERVIEWS, _t.interview_id == _i.id))
    .where(_i.public_id == bindparam("public_id"), _t.step_no == bindparam("step_no"))
)
# FOR UPDATE serialises duplicate turns on PostgreSQL; SQLite renders no such clause and
# is already serialised by the BEGIN IMMEDIATE the engine issues.
_LOCK_BY_PUBLIC_ID = (
    select(*_INTERVIEW_COLUMNS).where(_i.public_id == bindparam("public_id")).with_for_update()
)
_LOCK_BY_CALL_SID = (
    select(*_INTERVIEW_COLUMNS).where(_i.call_sid == bindparam("call_sid")).with_for_update()
)
_STORED = select(_t.response).where(_t.interview_id == bindparam("interview_id"),
                                    _t.step_no == bindparam("step_no"))
# Turn 0 is the call's opening TwiML; an outer join tells "no interview" from "no turn".
_OPENING_BY_CALL_SID = (
    select(_i.id, _t.response)
    .select_from(_INTERVIEWS.outerjoin(_TURNS, (_t.interview_id == _i.id) & (_t.step_no == 0)))
    .where(_i.call_sid == bindparam("call_sid"))
)
_CASE_SURVEY_AND_DISTRICT = select(_CASES.c.survey, _CASES.c.district).where(
    _CASES.c.id == bindparam("case_id"))
_ADD_ANSWERS = insert(_ANSWERS)
_ADD_REFERRAL = insert(_REFERRALS)
_ADD_TURN = insert(_TURNS)
_ADD_INTERVIEW = insert(_INTERVIEWS)
# An interview's ended_at is set once, by the turn that ends it; coalesce keeps it otherwise.
_ADVANCE = (
    update(_INTERVIEWS)
    .where(_i.id == bindparam("interview_id"))
    .values(
        step_no=bindparam("new_step_no", type_=_i.step_no.type),
        status=bindparam("new_status", type_=_i.status.type),
        state=bindparam("new_state", type_=_i.state.type),
        ended_at=func.coalesce(bindparam("new_ended_at", type_=_i.ended_at.type), _i.ended_at),
    )
)
_ATTEMPTS_BY_CALL_SID = (
    select(_ATTEMPTS.c.id, _ATTEMPTS.c.status, _ATTEMPTS.c.duration_seconds,
           _ATTEMPTS.c.answered_by)
    .where(_ATTEMPTS.c.call_sid == bindparam("call_sid"))
    .order_by(_ATTEMPTS.c.id)
)
_UPDATE_ATTEMPT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(
        status=bindparam("new_status", type_=_ATTEMPTS.c.status.type),
        duration_seconds=bindparam("new_duration", type_=_ATTEMPTS.c.duration_seconds.type),
        answered_by=bindparam("new_answered_by", type_=_ATTEMPTS.c.answered_by.type),
        updated_at=bindparam("now", type_=_ATTEMPTS.c.updated_at.type),
    )
)


def _new_id(result: CursorResult[Any]) -> int:
    """The row id a single-row INSERT just created."""
    key = result.inserted_primary_key
    assert key is not None, "an INSERT of one row has a primary key"
    return int(key[0])


def replay(conn: Connection, public_id: str, step_no: int) -> str | None:
    """The TwiML already sent for turn ``step_no`` of the interview, read without a lock."""
    return conn.execute(_REPLAY, {"public_id": public_id, "step_no": step_no}).scalar()


def lock_interview(conn: Connection, public_id: str) -> InterviewRow | None:
    """The interview with this public id, row-locked (on PostgreSQL) for the turn."""
    row = conn.execute(_LOCK_BY_PUBLIC_ID, {"public_id": public_id}).first()
    return None if row is None else InterviewRow(*row)


def lock_interview_by_call_sid(conn: Connection, call_sid: str) -> InterviewRow | None:
    """The interview a call is carrying, row-locked (on PostgreSQL), if any."""
    row = conn.execute(_LOCK_BY_CALL_SID, {"call_sid": call_sid}).first()
    return None if row is None else InterviewRow(*row)


def stored_turn(conn: Connection, interview_id: int, step_no: int) -> str | None:
    """The TwiML already sent for a turn, if it was processed before."""
    return conn.execute(_STORED, {"interview_id": interview_id, "step_no": step_no}).scalar()


def opening_by_call_sid(conn: Connection, call_sid: str) -> tuple[bool, str | None]:
    """Whether a call already has an interview, and the TwiML its first webhook got."""
    row = conn.execute(_OPENING_BY_CALL_SID, {"call_sid": call_sid}).first()
    return (False, None) if row is None else (True, row.response)


def case_survey_and_district(conn: Connection, case_id: int) -> tuple[str, str | None]:
    """A case's survey and district, which its referrals carry and are routed by."""
    survey, district = conn.execute(_CASE_SURVEY_AND_DISTRICT, {"case_id": case_id}).one()
    return survey, district


def add_answers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store a turn's answers in one executemany; every row carries the same keys."""
    if rows:
        conn.execute(_ADD_ANSWERS, rows)


def add_referral(conn: Connection, *, interview_id: int, case_id: int, survey: str, kind: str,
                 district: str, reasons: list[dict[str, Any]], now: datetime) -> NewReferral:
    """Store a new referral and return what its notification needs."""
    result = conn.execute(_ADD_REFERRAL, {
        "interview_id": interview_id, "case_id": case_id, "survey": survey, "kind": kind,
        "district": district, "reasons": reasons, "status": "new", "created_at": now,
    })
    return NewReferral(_new_id(result), kind, district)


def add_interview(conn: Connection, values: dict[str, Any]) -> int:
    """Store a new interview and return its row id."""
    return _new_id(conn.execute(_ADD_INTERVIEW, values))


def save_interview(conn: Connection, interview_id: int, *, step_no: int, status: str,
                   state: dict[str, Any], ended_at: datetime | None) -> None:
    """Keep where an interview got to; ``ended_at`` None leaves the stored one alone."""
    conn.execute(_ADVANCE, {"interview_id": interview_id, "new_step_no": step_no,
                            "new_status": status, "new_state": state,
                            "new_ended_at": ended_at})


def add_turn(conn: Connection, interview_id: int, step_no: int, response: str,
             now: datetime) -> None:
    """Keep the TwiML sent for a turn so a retry of it gets the very same bytes."""
    conn.execute(_ADD_TURN, {"interview_id": interview_id, "step_no": step_no,
                             "response": response, "created_at": now})


def attempts_by_call_sid(conn: Connection, call_sid: str) -> list[AttemptRow]:
    """Attempts (normally one) recorded for a call."""
    return [AttemptRow(*row) for row in conn.execute(_ATTEMPTS_BY_CALL_SID,
                                                     {"call_sid": call_sid})]


def save_attempt(conn: Connection, attempt: AttemptRow, now: datetime) -> None:
    """Store an attempt's changed status, duration and answering party."""
    conn.execute(_UPDATE_ATTEMPT, {"attempt_id": attempt.id, "new_status": attempt.status,
                                   "new_duration": attempt.duration_seconds,
                                   "new_answered_by": attempt.answered_by, "now": now})
