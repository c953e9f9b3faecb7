"""The interviewer console's SQL: held cases, interviewers' interviews and notes, their
attempts at a case, what the console shows, and the call bridged to the victim."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, func, insert, select, update

from ivr.store.campaigns import ATTEMPTS, CALLING_FACTS, CASES, SCHEDULES, CaseToCall, case_to_call
from ivr.store.models import Base, public_id
from ivr.store.statuses import LIVE_ATTEMPT
from ivr.store.turns import InterviewRow

_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_ANSWERS: Table = Base.metadata.tables["answers"]
_REFERRALS: Table = Base.metadata.tables["referrals"]
_USERS: Table = Base.metadata.tables["users"]
_i, _s, _c, _u, _a = _INTERVIEWS.c, SCHEDULES.c, CASES.c, _USERS.c, ATTEMPTS.c
#: Twilio ends any call after four hours: an inbound call whose end was never reported is
#: not taken to be live for longer than that.
LONGEST_CALL = timedelta(hours=4)


class StaffMember(NamedTuple):
    """An active account as the supervision page lists it."""

    id: int
    name: str | None
    email: str


class ScreenRow(NamedTuple):
    """What the console's screen reads of an interview, its case and its schedule."""

    id: int
    case_id: int
    status: str
    state: dict[str, Any]
    questionnaire_version_id: int
    notes: list[Any] | None
    case_ref: str
    survey: str
    first_name: str | None
    phone: str
    interviewer_only_since: datetime | None


class CaseToGive(NamedTuple):
    """A case a supervisor means to give to an interviewer, and where its calling stands."""

    case: CaseToCall
    case_ref: str
    disposition: str | None
    held_by_id: int | None


class AnswerShown(NamedTuple):
    """One answer so far, as the console lists it."""

    question_id: str
    label: str | None
    raw: str | None
    code: str | None
    recording_url: str | None


# --- held cases ---------------------------------------------------------------------------


def hold_case(
    conn: Connection, user_id: int, case_id: int, now: datetime, *, due_only: bool
) -> bool:
    """Hold a case for a user if nobody holds it, no call is on it and it is still open
    (and, if ``due_only``, due); False if it could not be taken. This conditional update is
    what stops two interviewers (or an interviewer and the dialler) taking one case."""
    conditions = [
        _s.case_id == case_id,
        _s.held_by_id.is_(None),
        _s.active_attempt_id.is_(None),
        _s.disposition.is_(None),
    ]
    if due_only:
        conditions.append(_s.next_attempt_at <= now)
    taken = conn.execute(
        update(SCHEDULES).where(*conditions).values(held_by_id=user_id, held_at=now, updated_at=now)
    )
    return bool(taken.rowcount)


def release_held_case(conn: Connection, user_id: int, case_id: int, now: datetime) -> bool:
    """Give up a case the user holds (due again at once if still open with no call
    planned); False if the user did not hold it."""
    released = conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id, _s.held_by_id == user_id)
        .values(held_by_id=None, held_at=None, updated_at=now)
    )
    # A case given up mid-interview, still open but with no call planned, is due again.
    conn.execute(
        update(SCHEDULES)
        .where(
            _s.case_id == case_id,
            _s.disposition.is_(None),
            _s.next_attempt_at.is_(None),
            _s.held_by_id.is_(None),
        )
        .values(next_attempt_at=now)
    )
    return bool(released.rowcount)


def held_case_ids(conn: Connection, user_id: int) -> list[int]:
    """The cases a user holds, the longest held first."""
    return list(
        conn.scalars(
            select(_s.case_id).where(_s.held_by_id == user_id).order_by(_s.held_at, _s.case_id)
        )
    )


def held_cases_by_user(conn: Connection, user_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The cases each of these users holds, longest held first, with the case's latest
    interview: case_id, held_at, case_ref, survey, first_name, phone, interview_id,
    interview_status."""
    latest = (
        select(func.max(_i.id))
        .where(_i.case_id == _s.case_id)
        .correlate(SCHEDULES)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            _s.held_by_id,
            _s.case_id,
            _s.held_at,
            _c.case_ref,
            _c.survey,
            _c.first_name,
            _c.phone,
            _i.id.label("interview_id"),
            _i.status.label("interview_status"),
        )
        .join(CASES, _c.id == _s.case_id)
        .outerjoin(_INTERVIEWS, _i.id == latest)
        .where(_s.held_by_id.in_(user_ids))
        .order_by(_s.held_at, _s.case_id)
    ).mappings()
    held: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        values = dict(row)
        values["held_at"] = values["held_at"]
        held.setdefault(values.pop("held_by_id"), []).append(values)
    return held


def case_holder(conn: Connection, case_id: int) -> tuple[int | None, int | None] | None:
    """Who holds a case and the attempt on it now: (held_by_id, active_attempt_id); None
    when the case has no schedule (it is in no calling campaign)."""
    row = conn.execute(
        select(_s.held_by_id, _s.active_attempt_id).where(_s.case_id == case_id)
    ).first()
    return None if row is None else (row.held_by_id, row.active_attempt_id)


def on_a_live_call(conn: Connection, case_ids: Iterable[int], now: datetime) -> set[int]:
    """The cases among ``case_ids`` whose victim is on an automated call now: the dialler's
    attempt is under way, or they rang in and the call has not been reported ended."""
    ids = list(case_ids)
    if not ids:
        return set()
    # A call put through to a person is the console's to work, though the victim is on it.
    not_handed_over = select(_s.case_id).where(_s.case_id.in_(ids), _s.handed_over_at.is_(None))
    dialled = select(_s.case_id).where(
        _s.case_id.in_(ids), _s.active_attempt_id.is_not(None), _s.handed_over_at.is_(None)
    )
    rang_in = select(_a.case_id).where(
        _a.case_id.in_(not_handed_over),
        _a.direction == "inbound",
        _a.ended_at.is_(None),
        _a.status.in_(LIVE_ATTEMPT),
        _a.created_at > now - LONGEST_CALL,
    )
    return {int(case_id) for case_id in conn.scalars(dialled.union(rang_in))}


def case_to_give(conn: Connection, survey: str, case_ref: str) -> CaseToGive | None:
    """A survey's case by its reference, with its schedule; None when there is no such case
    or it is in no calling campaign."""
    row = conn.execute(
        select(
            _s.case_id,
            _s.survey,
            _c.case_ref,
            *CALLING_FACTS,
            _s.disposition,
            _s.held_by_id,
        )
        .join(CASES, _c.id == _s.case_id)
        .where(_c.survey == survey, _c.case_ref == case_ref)
    ).first()
    if row is None:
        return None
    case = case_to_call(row, row.case_id, row.survey)
    return CaseToGive(case, row.case_ref, row.disposition, row.held_by_id)


def case_phone(conn: Connection, case_id: int) -> str:
    """A case's telephone number."""
    return str(conn.execute(select(_c.phone).where(_c.id == case_id)).scalar_one())


def appointment_of(conn: Connection, case_id: int) -> datetime | None:
    """The call-back booked for a case, as stored (naive on SQLite), if any."""
    return conn.execute(select(_s.appointment_at).where(_s.case_id == case_id)).scalar()


# --- interviews ---------------------------------------------------------------------------


def interview_row(conn: Connection, interview_id: int) -> InterviewRow | None:
    """An interview's columns a console action reads, by row id; None if there is none."""
    row = conn.execute(
        select(
            _i.id, _i.case_id, _i.questionnaire_version_id, _i.step_no, _i.status, _i.state
        ).where(_i.id == interview_id)
    ).first()
    return None if row is None else InterviewRow(*row)


def interviewer_and_holder(conn: Connection, interview_id: int) -> tuple[int | None, int | None]:
    """Who runs an interview and who holds its case: (interviewer_id, held_by_id), each None
    when nobody (or no such interview, or a case with no schedule)."""
    row = conn.execute(
        select(_i.interviewer_id, _s.held_by_id)
        .select_from(_INTERVIEWS.outerjoin(SCHEDULES, _s.case_id == _i.case_id))
        .where(_i.id == interview_id)
    ).first()
    return (None, None) if row is None else (row.interviewer_id, row.held_by_id)


def assign_interviewer(conn: Connection, interview_id: int, user_id: int, channel: str) -> None:
    """Make the interview the user's, run on ``channel``."""
    conn.execute(
        update(_INTERVIEWS)
        .where(_i.id == interview_id)
        .values(interviewer_id=user_id, channel=channel)
    )


def add_interview_note(conn: Connection, interview_id: int, note: dict[str, Any]) -> None:
    """Keep an interviewer's note after the interview's earlier ones."""
    kept = conn.execute(select(_i.notes).where(_i.id == interview_id)).scalar() or []
    conn.execute(update(_INTERVIEWS).where(_i.id == interview_id).values(notes=[*kept, note]))


def referral_kinds(conn: Connection, interview_id: int) -> set[str]:
    """The kinds of referral an interview has raised."""
    return set(
        conn.scalars(select(_REFERRALS.c.kind).where(_REFERRALS.c.interview_id == interview_id))
    )


def add_interviewer_attempt(
    conn: Connection,
    *,
    case_id: int,
    interview_id: int,
    direction: str,
    call_status: str,
    outcome: str,
    now: datetime,
) -> None:
    """Count an interviewer's call as the case's next attempt, with its outcome in the
    case's history; nothing when the case has no schedule."""
    schedule = conn.execute(select(_s.attempts, _s.outcomes).where(_s.case_id == case_id)).first()
    if schedule is None:
        return
    attempt_no = schedule.attempts + 1
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id)
        .values(
            attempts=attempt_no,
            outcomes=[*(schedule.outcomes or []), outcome],
            updated_at=now,
        )
    )
    conn.execute(
        insert(ATTEMPTS).values(
            public_id=public_id(),
            case_id=case_id,
            interview_id=interview_id,
            direction=direction,
            status=call_status,
            outcome=outcome,
            attempt_no=attempt_no,
            scheduled_for=now,
            ended_at=now,
            created_at=now,
            updated_at=now,
        )
    )


# --- the screen ---------------------------------------------------------------------------


def screen_row(conn: Connection, interview_id: int) -> ScreenRow:
    """The interview, its case and its schedule as the console's screen reads them; raises
    :class:`sqlalchemy.exc.NoResultFound` when there is no such interview."""
    row = conn.execute(
        select(
            _i.id,
            _i.case_id,
            _i.status,
            _i.state,
            _i.questionnaire_version_id,
            _i.notes,
            _c.case_ref,
            _c.survey,
            _c.first_name,
            _c.phone,
            _s.interviewer_only_since,
        )
        .join(CASES, _c.id == _i.case_id)
        .outerjoin(SCHEDULES, _s.case_id == _i.case_id)
        .where(_i.id == interview_id)
    ).one()
    return ScreenRow(*row)


def answers_shown(conn: Connection, interview_id: int) -> list[AnswerShown]:
    """An interview's answers so far, in the order they were given."""
    a = _ANSWERS.c
    return [
        AnswerShown(*row)
        for row in conn.execute(
            select(a.question_id, a.label, a.raw, a.code, a.recording_url)
            .where(a.interview_id == interview_id)
            .order_by(a.id)
        )
    ]


# --- supervision --------------------------------------------------------------------------


def is_active_staff(conn: Connection, user_id: int, role: str) -> bool:
    """Whether the account is active and has ``role``."""
    return (
        conn.scalar(select(_u.id).where(_u.id == user_id, _u.active.is_(True), _u.role == role))
        is not None
    )


def active_staff(conn: Connection, role: str) -> list[StaffMember]:
    """The active accounts with ``role``, by name then email."""
    return [
        StaffMember(*row)
        for row in conn.execute(
            select(_u.id, _u.name, _u.email)
            .where(_u.active.is_(True), _u.role == role)
            .order_by(_u.name, _u.email)
        )
    ]


def completes_since(
    conn: Connection, interviewer_ids: list[int], since: datetime
) -> list[tuple[int, datetime | None]]:
    """(interviewer_id, ended_at) of each interview these interviewers completed since
    ``since``, ended_at as stored (naive on SQLite)."""
    return [
        (row.interviewer_id, row.ended_at)
        for row in conn.execute(
            select(_i.interviewer_id, _i.ended_at).where(
                _i.interviewer_id.in_(interviewer_ids),
                _i.status == "completed",
                _i.ended_at >= since,
            )
        )
    ]


# --- the bridged call ---------------------------------------------------------------------


def interviewer_phone(conn: Connection, user_id: int) -> str | None:
    """The interviewer's own phone, which the console rings to bridge a call."""
    return conn.scalar(select(_u.phone).where(_u.id == user_id))


def interview_public_id(conn: Connection, interview_id: int) -> str | None:
    """The id an interview carries in its URLs, by row id."""
    return conn.scalar(select(_i.public_id).where(_i.id == interview_id))


def victim_phone_to_bridge(conn: Connection, interview_public_id: str) -> str | None:
    """The victim's number for an interviewer's interview not yet ended; None when there
    is no such call to connect."""
    return conn.scalar(
        select(_c.phone)
        .join(_INTERVIEWS, _i.case_id == _c.id)
        .where(
            _i.public_id == interview_public_id,
            _i.interviewer_id.is_not(None),
            # Not while the victim is on an automated call that carried the interview on.
            _i.channel == "interviewer",
            _i.ended_at.is_(None),
        )
    )
