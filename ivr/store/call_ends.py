"""A call's final status callback on PostgreSQL: what ending the call needs, read in one
statement, and what it changes, written in another, outside any transaction.

The write is guarded as a turn's is: the interview is hung up only if it is still at the
step that was read, and the attempt is ended only if nothing ended it since; when a guard
fails, the statement writes nothing that depends on it and says so, and the caller goes
the way that locks (a transaction), which sees what the other request did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ivr.store import turns
from ivr.store.campaigns import CALLING_FACTS, CaseToCall, case_to_call
from ivr.store.models import Base
from ivr.store.statuses import FINAL_CALL
from ivr.store.turns import InterviewRow, NewReferral

_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_CASES: Table = Base.metadata.tables["cases"]
_ATTEMPTS: Table = Base.metadata.tables["call_attempts"]
_SCHEDULES: Table = Base.metadata.tables["schedules"]
_ANSWERS: Table = Base.metadata.tables["answers"]
_DO_NOT_CALL: Table = Base.metadata.tables["do_not_call"]
_i, _c, _a, _s = _INTERVIEWS.c, _CASES.c, _ATTEMPTS.c, _SCHEDULES.c


class EndingAttempt(NamedTuple):
    """The attempt a status callback ends, and the interview it carried."""

    id: int
    case_id: int
    interview_id: int | None
    outbound: bool
    status: str
    answered_by: str | None
    ended: bool
    survey: str
    phone: str
    interview_status: str | None
    interview_state: dict[str, Any] | None


@dataclass(frozen=True)
class CallEnd:
    """What ending a call needs: the interview it carries (with its case's survey and
    district), the attempt it ends, and the case's schedule (``None`` when it has none or
    it is closed) with the active attempt, when each of its calls began and which
    questions its interview answered."""

    interview: InterviewRow | None
    attempt: EndingAttempt | None
    schedule: CaseToCall | None
    active_attempt_id: int | None
    starts: list[datetime]
    answered: frozenset[str]


def ends_in_one_statement(conn: Connection) -> bool:
    """Whether a call's end can be read in one statement and written in another."""
    return turns.turns_in_one_statement(conn)


def call_end(conn: Connection, call_sid: str, attempt_public_id: str | None) -> CallEnd:
    """Read what ending the call needs (see :class:`CallEnd`): its outbound attempt, by the
    public id in the callback's URL or else the call SID, or else its inbound one."""
    row = conn.execute(
        _end_statement(attempt_public_id is not None),
        {"call_sid": call_sid, "attempt": attempt_public_id},
    ).one()
    interview = None
    if row.interview_id is not None:
        interview = InterviewRow(
            row.interview_id,
            row.interview_case_id,
            row.questionnaire_version_id,
            row.step_no,
            row.status,
            row.state,
            row.case_survey,
            row.case_district,
        )
    attempt = None
    if row.attempt_id is not None:
        attempt = EndingAttempt(
            row.attempt_id,
            row.attempt_case_id,
            row.carried_id,
            row.attempt_direction == "outbound",
            row.attempt_status,
            row.attempt_answered_by,
            row.attempt_ended_at is not None,
            row.attempt_survey,
            row.attempt_phone,
            row.carried_status,
            row.carried_state,
        )
    schedule = None
    if row.schedule_case_id is not None and row.disposition is None:
        schedule = case_to_call(row, row.schedule_case_id, row.schedule_survey)
    return CallEnd(
        interview,
        attempt,
        schedule,
        row.active_attempt_id,
        sorted(_utc(start) for start in row.starts or ()),
        frozenset(row.answered or ()),
    )


def _utc(at: datetime) -> datetime:
    # Read through an aggregate, a moment does not pass through its column's own type.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@cache
def _end_statement(by_public_id: bool) -> Select[Any]:
    """The call's end's one read: a row that always comes back (each lateral join finds at
    most one row)."""
    interview = (
        select(
            _i.id.label("interview_id"),
            _i.case_id.label("interview_case_id"),
            _i.questionnaire_version_id,
            _i.step_no,
            _i.status,
            _i.state,
            _c.survey.label("case_survey"),
            _c.district.label("case_district"),
        )
        .join(_CASES, _c.id == _i.case_id)
        .where(_i.call_sid == bindparam("call_sid"))
        .limit(1)
        .lateral("hung_up")
    )
    key = (
        _a.public_id == bindparam("attempt")
        if by_public_id
        else _a.call_sid == bindparam("call_sid")
    )
    carried = _INTERVIEWS.alias("carried")
    # The outbound attempt, as the dialler finds it; else the call's inbound attempt.
    attempt = (
        select(
            _a.id.label("attempt_id"),
            _a.case_id.label("attempt_case_id"),
            _a.direction.label("attempt_direction"),
            _a.status.label("attempt_status"),
            _a.answered_by.label("attempt_answered_by"),
            _a.ended_at.label("attempt_ended_at"),
            _c.survey.label("attempt_survey"),
            _c.phone.label("attempt_phone"),
            carried.c.id.label("carried_id"),
            carried.c.status.label("carried_status"),
            carried.c.state.label("carried_state"),
        )
        .join(_CASES, _c.id == _a.case_id)
        .outerjoin(carried, carried.c.id == _a.interview_id)
        .where(
            (key & (_a.direction == "outbound"))
            | ((_a.call_sid == bindparam("call_sid")) & (_a.direction == "inbound"))
        )
        .order_by((_a.direction == "outbound").desc(), _a.id)
        .limit(1)
        .lateral("attempt")
    )
    schedule = (
        select(
            _s.case_id.label("schedule_case_id"),
            _s.survey.label("schedule_survey"),
            *CALLING_FACTS,
            _s.disposition,
            _s.active_attempt_id,
        )
        .join(_CASES, _c.id == _s.case_id)
        .where(_s.case_id == attempt.c.attempt_case_id)
        .lateral("schedule")
    )
    started = func.coalesce(_a.dialing_at, _a.scheduled_for)
    starts = (
        select(func.array_agg(started))
        .where(
            _a.case_id == attempt.c.attempt_case_id,
            _a.direction.in_(("outbound", "interviewer")),
            started.is_not(None),
        )
        .scalar_subquery()
    )
    answered = (
        select(func.array_agg(func.distinct(_ANSWERS.c.question_id)))
        .select_from(_ANSWERS.join(_INTERVIEWS, _i.id == _ANSWERS.c.interview_id))
        .where(_i.case_id == attempt.c.attempt_case_id, _ANSWERS.c.code.is_not(None))
        .scalar_subquery()
    )
    one = select(literal(1).label("one")).subquery("one")
    return select(
        *interview.c,
        *attempt.c,
        *schedule.c,
        starts.label("starts"),
        answered.label("answered"),
    ).select_from(
        one.outerjoin(interview, true()).outerjoin(attempt, true()).outerjoin(schedule, true())
    )


@dataclass(frozen=True)
class HangUp:
    """The interview hung up: where it got to, its answers and the referrals it raised."""

    interview_id: int
    read_step_no: int
    status: str
    state: dict[str, Any]
    ended_at: datetime | None
    answers: list[dict[str, Any]]
    referrals: list[dict[str, Any]]


@dataclass(frozen=True)
class Ending:
    """The attempt ended: its status, outcome and duration (outbound) or outcome
    (inbound); who answered, if the callback said."""

    attempt_id: int
    outbound: bool
    status: str
    outcome: str
    duration: int | None
    answered_by: str | None
    call_sid: str


@dataclass(frozen=True)
class Replan:
    """The case's schedule after the call: ``release`` frees it of the ended attempt
    (outbound) and adds ``outcome`` to its history if it was the active one; an inbound
    call's outcome is added whatever. ``plan`` None leaves the plan as it is."""

    case_id: int
    outcome: str
    release: bool
    next_attempt_at: datetime | None = None
    disposition: str | None = None
    reason: str | None = None
    appointment_at: datetime | None = None
    interviewer_only: bool = False
    plan: bool = True


@dataclass(frozen=True)
class OptOut:
    """The victim declined: the number goes on the do-not-call list, and every other case
    with it closes (its calls not yet dialled cancelled and given back)."""

    phone: str
    phone_hashes: list[str]
    reason: str
    source: str
    #: What the other cases with the number close as: their disposition and why.
    disposition: str
    closed_because: str


class Ended(NamedTuple):
    """What the write did: whether the interview was hung up (None: none was to be), the
    referrals it raised, and whether the attempt was ended."""

    hung_up: bool | None
    referrals: list[NewReferral]
    ended: bool


def end_call(
    conn: Connection,
    *,
    hang_up: HangUp | None,
    ending: Ending,
    replan: Replan | None,
    now: datetime,
    opt_out: OptOut | None = None,
) -> Ended:
    """Hang up the interview, end the attempt, replan the case and list a number that
    opted out, in one statement."""
    values: dict[str, Any] = {
        "b_now": now,
        "b_attempt_id": ending.attempt_id,
        "b_call_status": ending.status,
        "b_outcome": ending.outcome,
        "b_duration": ending.duration,
        "b_answered_by": ending.answered_by,
        "b_call_sid": ending.call_sid,
    }
    answers = referrals = 0
    if hang_up is not None:
        answers, referrals = len(hang_up.answers), len(hang_up.referrals)
        values.update(
            b_interview_id=hang_up.interview_id,
            b_read_step_no=hang_up.read_step_no,
            b_step_no=hang_up.read_step_no + 1,
            b_status=hang_up.status,
            b_state=hang_up.state,
            b_ended_at=hang_up.ended_at,
        )
        values.update(turns.turn_values(hang_up.answers, hang_up.referrals, now))
    if replan is not None:
        values.update(
            b_case_id=replan.case_id,
            b_case_outcome=replan.outcome,
            b_next=replan.next_attempt_at,
            b_disposition=replan.disposition,
            b_closed=now if replan.disposition is not None else None,
            b_reason=replan.reason,
            b_appointment=replan.appointment_at,
        )
    if opt_out is not None:
        assert replan is not None, "a case opts out as its schedule is replanned"
        values.update(
            b_phone=opt_out.phone,
            b_phone_hash=opt_out.phone_hashes[0],
            b_phone_hashes=opt_out.phone_hashes,
            b_dnc_reason=opt_out.reason,
            b_dnc_source=opt_out.source,
            b_dnc_disposition=opt_out.disposition,
            b_dnc_closed_because=opt_out.closed_because,
        )
    statement = _end_call_statement(
        answers,
        referrals,
        hang_up=hang_up is not None,
        outbound=ending.outbound,
        replan=None if replan is None else (replan.release, replan.plan, replan.interviewer_only),
        opt_out=opt_out is not None,
    )
    row = conn.execute(statement, values).one()
    raised = [
        NewReferral(int(referral_id), referral["kind"], referral["district"])
        for referral_id, referral in zip(
            row[2:], [] if hang_up is None else hang_up.referrals, strict=True
        )
        if referral_id is not None
    ]
    return Ended(None if hang_up is None else bool(row[0]), raised, bool(row[1]))


@cache
def _end_call_statement(
    answers: int,
    referrals: int,
    *,
    hang_up: bool,
    outbound: bool,
    replan: tuple[bool, bool, bool] | None,
    opt_out: bool = False,
) -> Select[Any]:
    writes: list[Any] = []
    moved = None
    counted: list[Any] = []
    if hang_up:
        moved, kept, raised = turns.turn_ctes(answers, referrals, keep_turn=False)
        writes += [moved, *kept, *raised]
        counted = [select(referral.c.id).scalar_subquery() for referral in raised]
    # The attempt ends once, and only with the interview hung up if one was to be.
    guard: list[Any] = [_a.ended_at.is_(None)]
    if moved is not None:
        guard.append(select(moved.c.id).exists())
    if outbound:
        key = and_(_a.id == bindparam("b_attempt_id"), *guard)
        values: dict[str, Any] = {
            "status": bindparam("b_call_status", type_=_a.status.type),
            "outcome": bindparam("b_outcome", type_=_a.outcome.type),
            "duration_seconds": bindparam("b_duration", type_=_a.duration_seconds.type),
            "answered_by": func.coalesce(
                bindparam("b_answered_by", type_=_a.answered_by.type), _a.answered_by
            ),
            "call_sid": func.coalesce(_a.call_sid, bindparam("b_call_sid", type_=String)),
        }
    else:
        # As keep_call_progress then finish_inbound: the status kept unless it had ended.
        key = and_(_a.id == bindparam("b_attempt_id"), _a.case_id.is_not(None), *guard)
        values = {
            "status": case(
                (_a.status.in_(FINAL_CALL), _a.status),
                else_=bindparam("b_call_status", type_=_a.status.type),
            ),
            "outcome": bindparam("b_outcome", type_=_a.outcome.type),
            "duration_seconds": func.coalesce(
                bindparam("b_duration", type_=_a.duration_seconds.type), _a.duration_seconds
            ),
            "answered_by": func.coalesce(
                bindparam("b_answered_by", type_=_a.answered_by.type), _a.answered_by
            ),
        }
    ended = (
        update(_ATTEMPTS)
        .where(key)
        .values(
            **values,
            ended_at=bindparam("b_now", type_=_a.ended_at.type),
            updated_at=bindparam("b_now", type_=_a.updated_at.type),
        )
        .returning(_a.id)
        .cte("ended")
    )
    writes.append(ended)
    if replan is not None:
        release, plan, interviewer_only = replan
        now = bindparam("b_now", type_=_s.updated_at.type)
        active = _s.active_attempt_id == bindparam("b_attempt_id")
        appended = cast(
            func.coalesce(cast(_s.outcomes, JSONB), literal([], JSONB)).op("||")(
                func.jsonb_build_array(bindparam("b_case_outcome", type_=String))
            ),
            _s.outcomes.type,
        )
        changes: dict[str, Any] = {"updated_at": now}
        if release:
            changes["active_attempt_id"] = case((active, None), else_=_s.active_attempt_id)
            changes["outcomes"] = case((active, appended), else_=_s.outcomes)
        else:
            changes["outcomes"] = appended
        if plan:
            changes.update(
                planned_at=now,
                next_attempt_at=bindparam("b_next", type_=_s.next_attempt_at.type),
                disposition=bindparam("b_disposition", type_=_s.disposition.type),
                closed_at=bindparam("b_closed", type_=_s.closed_at.type),
                reason=bindparam("b_reason", type_=_s.reason.type),
                appointment_at=bindparam("b_appointment", type_=_s.appointment_at.type),
            )
        if interviewer_only:
            changes["interviewer_only_since"] = func.coalesce(_s.interviewer_only_since, now)
        writes.append(
            update(_SCHEDULES)
            .where(_s.case_id == bindparam("b_case_id"), select(ended.c.id).exists())
            .values(changes)
            .returning(_s.case_id)
            .cte("replanned")
        )
    if opt_out:
        writes += _opt_out_ctes(ended)
    hung = (
        select(func.count()).select_from(moved).scalar_subquery()
        if moved is not None
        else literal(0)
    )
    return select(
        hung, select(func.count()).select_from(ended).scalar_subquery(), *counted
    ).add_cte(*writes)


def _opt_out_ctes(ended: Any) -> list[Any]:
    """``dialler.opt_out`` as parts of the call's end's one statement, once the attempt
    ended: the number listed unless it is already (under any of its hashes), the queued
    calls of its cases cancelled, and those cases (but the call's own, which is replanned
    beside these) given their calls back and closed."""
    d = _DO_NOT_CALL.c
    now = bindparam("b_now", type_=_s.updated_at.type)
    listed = (
        pg_insert(_DO_NOT_CALL)
        .from_select(
            ["phone_hash", "phone", "reason", "source", "added_at"],
            select(
                bindparam("b_phone_hash", type_=d.phone_hash.type),
                bindparam("b_phone", type_=d.phone.type),
                bindparam("b_dnc_reason", type_=d.reason.type),
                bindparam("b_dnc_source", type_=d.source.type),
                bindparam("b_now", type_=d.added_at.type),
            ).where(
                select(ended.c.id).exists(),
                ~select(d.phone_hash)
                .where(d.phone_hash.in_(bindparam("b_phone_hashes", expanding=True)))
                .exists(),
            ),
        )
        .on_conflict_do_nothing()
        .returning(d.phone_hash)
        .cte("listed")
    )
    cases = select(_c.id).where(_c.phone_hash.in_(bindparam("b_phone_hashes", expanding=True)))
    cancelled = (
        update(_ATTEMPTS)
        .where(
            _a.case_id.in_(cases),
            _a.direction == "outbound",
            _a.status == "queued",
            select(ended.c.id).exists(),
        )
        .values(
            status="cancelled",
            outcome="cancelled",
            ended_at=bindparam("b_now", type_=_a.ended_at.type),
            updated_at=bindparam("b_now", type_=_a.updated_at.type),
        )
        .returning(_a.id)
        .cte("cancelled")
    )
    # One update per schedule row: a row is changed once in a statement.
    given_back = _s.active_attempt_id.in_(select(cancelled.c.id)) & (_s.attempts > 0)
    still_open = _s.disposition.is_(None)
    closed = (
        update(_SCHEDULES)
        .where(
            _s.case_id.in_(cases),
            _s.case_id != bindparam("b_case_id"),
            given_back | still_open,
            select(ended.c.id).exists(),
        )
        .values(
            active_attempt_id=case((given_back, None), else_=_s.active_attempt_id),
            attempts=case((given_back, _s.attempts - 1), else_=_s.attempts),
            disposition=case(
                (still_open, bindparam("b_dnc_disposition", type_=_s.disposition.type)),
                else_=_s.disposition,
            ),
            closed_at=case((still_open, now), else_=_s.closed_at),
            reason=case(
                (still_open, bindparam("b_dnc_closed_because", type_=_s.reason.type)),
                else_=_s.reason,
            ),
            next_attempt_at=case((still_open, None), else_=_s.next_attempt_at),
            updated_at=now,
        )
        .returning(_s.case_id)
        .cte("closed")
    )
    return [listed, cancelled, closed]
