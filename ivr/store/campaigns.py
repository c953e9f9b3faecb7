"""The outbound campaign's SQL: schedules, outbound attempts, the do-not-call list."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Select,
    String,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ivr.store.models import Base, case_field_values, public_id, utcnow
from ivr.store.sealing import keyring_of
from ivr.store.statuses import CLOSED_INTERVIEW, LIVE_ATTEMPT, LIVE_ATTEMPT_RANK

SCHEDULES: Table = Base.metadata.tables["schedules"]
CASES: Table = Base.metadata.tables["cases"]
ATTEMPTS: Table = Base.metadata.tables["call_attempts"]
INTERVIEWS: Table = Base.metadata.tables["interviews"]
CAMPAIGNS: Table = Base.metadata.tables["campaigns"]
DO_NOT_CALL: Table = Base.metadata.tables["do_not_call"]

_s, _c, _a = SCHEDULES.c, CASES.c, ATTEMPTS.c


@dataclass(frozen=True)
class CaseToCall:
    """A scheduled case with what eligibility and dialling need."""

    case_id: int
    survey: str
    phone: str
    fields: dict[str, Any]
    attempts: int
    outcomes: tuple[str, ...]
    next_attempt_at: datetime | None
    appointment_at: datetime | None
    #: Since when only interviewers may ring the case (not safe to talk on an automated call).
    interviewer_only_since: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    """An outbound attempt as the dialler and the status callback see it."""

    id: int
    public_id: str
    case_id: int
    attempt_no: int
    status: str
    call_sid: str | None
    dialing_at: datetime | None
    outcome: str | None
    phone: str
    survey: str


#: What a call to a scheduled case needs besides the case's id and survey: the columns
#: ``case_to_call`` reads, for every statement that builds a ``CaseToCall``.
CALLING_FACTS = (
    _c.phone,
    _c.fields,
    _c.first_name,
    _c.crime_type,
    _c.district,
    _c.reported_on,
    _s.attempts,
    _s.outcomes,
    _s.next_attempt_at,
    _s.appointment_at,
    _s.interviewer_only_since,
)
_CASE_TO_CALL_COLUMNS = (_s.case_id, _s.survey, *CALLING_FACTS)


class _ScheduleRow(NamedTuple):
    """The columns of ``_CASE_TO_CALL_COLUMNS``, by name, for a prepared statement's row."""

    case_id: int
    survey: str
    phone: str
    fields: dict[str, Any] | None
    first_name: str | None
    crime_type: str | None
    district: str | None
    reported_on: date | None
    attempts: int
    outcomes: list[str] | None
    next_attempt_at: datetime | None
    appointment_at: datetime | None
    interviewer_only_since: datetime | None


def case_to_call(row: Any, case_id: int, survey: str) -> CaseToCall:
    """The case ``case_id`` of ``survey`` from a row holding the ``CALLING_FACTS``."""
    return CaseToCall(
        case_id,
        survey,
        row.phone,
        case_field_values(row),
        row.attempts,
        tuple(row.outcomes or ()),
        row.next_attempt_at,
        row.appointment_at,
        row.interviewer_only_since,
    )


def _case_to_call(row: Any) -> CaseToCall:
    return case_to_call(row, row.case_id, row.survey)


# --- schedules ----------------------------------------------------------------------------


def add_missing_schedules(conn: Connection, survey: str, now: datetime) -> int:
    """Give every case of ``survey`` without a schedule one, to be planned; how many."""
    missing = (
        # The empty list goes as a JSON parameter: CAST('[]' AS JSON) means a number to
        # SQLite, which has no JSON type.
        select(
            _c.id,
            _c.survey,
            literal(0),
            literal([], _s.outcomes.type),
            literal(now, _s.updated_at.type),
        )
        .select_from(CASES.outerjoin(SCHEDULES, _s.case_id == _c.id))
        .where(_c.survey == survey, _s.case_id.is_(None))
    )
    result = conn.execute(
        insert(SCHEDULES).from_select(
            ["case_id", "survey", "attempts", "outcomes", "updated_at"], missing
        )
    )
    return int(result.rowcount or 0)


def unplanned(conn: Connection, survey: str, limit: int) -> list[CaseToCall]:
    """Cases of ``survey`` the scheduler has not planned yet."""
    rows = conn.execute(
        select(*_CASE_TO_CALL_COLUMNS)
        .join(CASES, _c.id == _s.case_id)
        .where(_s.survey == survey, _s.planned_at.is_(None))
        .limit(limit)
    )
    return [_case_to_call(row) for row in rows]


def due(
    conn: Connection,
    survey: str,
    now: datetime,
    limit: int,
    *,
    for_interviewers: bool = False,
    waiting_districts: Collection[str] = (),
) -> list[CaseToCall]:
    """Cases of ``survey`` due a call at ``now``, soonest first (the partial index's query).

    The dialler never sees a case for interviewers only; interviewers see every due case.
    Cases in ``waiting_districts`` (a survey of the public's areas whose quota is full
    this quarter) are left where they are, due, for the next quarter.
    """
    conditions = [
        _s.survey == survey,
        _s.disposition.is_(None),
        _s.active_attempt_id.is_(None),
        _s.next_attempt_at <= now,
        _s.held_by_id.is_(None),
    ]
    if not for_interviewers:
        conditions.append(_s.interviewer_only_since.is_(None))
    if waiting_districts:
        conditions.append(_c.district.not_in(sorted(waiting_districts)))
    rows = conn.execute(
        select(*_CASE_TO_CALL_COLUMNS)
        .join(CASES, _c.id == _s.case_id)
        .where(*conditions)
        .order_by(_s.next_attempt_at)
        .limit(limit)
    )
    return [_case_to_call(row) for row in rows]


def interviewer_only_open(conn: Connection, survey: str, limit: int) -> list[CaseToCall]:
    """Cases of ``survey`` still open that only interviewers may ring, oldest first."""
    rows = conn.execute(
        select(*_CASE_TO_CALL_COLUMNS)
        .join(CASES, _c.id == _s.case_id)
        .where(
            _s.survey == survey,
            _s.disposition.is_(None),
            _s.interviewer_only_since.is_not(None),
            _s.active_attempt_id.is_(None),
            _s.held_by_id.is_(None),
        )
        .order_by(_s.interviewer_only_since)
        .limit(limit)
    )
    return [_case_to_call(row) for row in rows]


def make_interviewer_only(conn: Connection, case_id: int, now: datetime) -> None:
    """From now on only interviewers may ring the case; the dialler never will again."""
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id, _s.interviewer_only_since.is_(None))
        .values(interviewer_only_since=now, updated_at=now)
    )


def is_interviewer_only(conn: Connection, case_id: int) -> bool:
    """Whether only interviewers may ring the case."""
    return (
        conn.execute(select(_s.interviewer_only_since).where(_s.case_id == case_id)).scalar()
        is not None
    )


def core_answers(conn: Connection, case_id: int, core_ids: Sequence[str]) -> int:
    """How many of the core questions the case's interview has an answer to."""
    if not core_ids:
        return 0
    answers = Base.metadata.tables["answers"]
    i = INTERVIEWS.c
    return int(
        conn.execute(
            select(func.count(func.distinct(answers.c.question_id)))
            .select_from(answers.join(INTERVIEWS, i.id == answers.c.interview_id))
            .where(
                i.case_id == case_id,
                answers.c.code.is_not(None),
                answers.c.question_id.in_(list(core_ids)),
            )
        ).scalar_one()
    )


def set_plan(
    conn: Connection,
    case_id: int,
    *,
    now: datetime,
    next_attempt_at: datetime | None = None,
    disposition: str | None = None,
    reason: str | None = None,
    appointment_at: datetime | None = None,
) -> None:
    """Plan a case's next call, or close it with a disposition."""
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id)
        .values(
            planned_at=now,
            next_attempt_at=next_attempt_at,
            disposition=disposition,
            # Results count a case in the period its calling closed.
            closed_at=now if disposition is not None else None,
            reason=reason,
            appointment_at=appointment_at,
            updated_at=now,
        )
    )


_SET_PLAN = (
    update(SCHEDULES)
    .where(_s.case_id == bindparam("b_case_id"))
    .values(
        planned_at=bindparam("b_now", type_=_s.planned_at.type),
        next_attempt_at=bindparam("b_next", type_=_s.next_attempt_at.type),
        disposition=bindparam("b_disposition", type_=_s.disposition.type),
        closed_at=bindparam("b_closed", type_=_s.closed_at.type),
        reason=bindparam("b_reason", type_=_s.reason.type),
        updated_at=bindparam("b_now2", type_=_s.updated_at.type),
    )
)


def set_plans(
    conn: Connection,
    plans: list[tuple[int, datetime | None, str | None, str | None]],
    now: datetime,
) -> None:
    """Plan many cases in one executemany: (case id, next call, disposition, reason)."""
    if plans:
        conn.execute(
            _SET_PLAN,
            [
                {
                    "b_case_id": case_id,
                    "b_now": now,
                    "b_next": following,
                    "b_disposition": code,
                    "b_closed": now if code is not None else None,
                    "b_reason": reason,
                    "b_now2": now,
                }
                for case_id, following, code, reason in plans
            ],
        )


_SCHEDULE_OF = (
    select(*_CASE_TO_CALL_COLUMNS, _s.disposition)
    .join(CASES, _c.id == _s.case_id)
    .where(_s.case_id == bindparam("case_id"))
)


def open_schedule_of(conn: Connection, case_id: int) -> CaseToCall | None:
    """One case's schedule, if it is still being worked (no final disposition yet)."""
    row = conn.execute(_SCHEDULE_OF, {"case_id": case_id}).first()
    if row is None or row[-1] is not None:
        return None
    return _case_to_call(_ScheduleRow(*row[:-1]))


def closed_cases(conn: Connection, case_ids: Sequence[int]) -> set[int]:
    """Which of these cases already have an interview that closes them."""
    if not case_ids:
        return set()
    i = INTERVIEWS.c
    return set(
        conn.scalars(
            select(i.case_id).where(i.case_id.in_(case_ids), i.status.in_(CLOSED_INTERVIEW))
        )
    )


class CaseToJudge(NamedTuple):
    """A case as the campaign preview judges its eligibility."""

    case_id: int
    phone: str
    fields: dict[str, Any]


def closed_cases_of_survey(conn: Connection, survey: str) -> set[int]:
    """Which cases of ``survey`` already have an interview that closes them."""
    i = INTERVIEWS.c
    return set(
        conn.scalars(
            select(i.case_id)
            .join(CASES, _c.id == i.case_id)
            .where(_c.survey == survey, i.status.in_(CLOSED_INTERVIEW))
        )
    )


def cases_to_judge(conn: Connection, survey: str) -> Iterator[CaseToJudge]:
    """Every case of ``survey``, streamed through a cursor 2000 rows at a time (the caller
    holds a transaction until it has read them all)."""
    rows = conn.execution_options(yield_per=2000).execute(
        select(
            _c.id, _c.phone, _c.fields, _c.first_name, _c.crime_type, _c.district, _c.reported_on
        ).where(_c.survey == survey)
    )
    return (CaseToJudge(row.id, row.phone, case_field_values(row)) for row in rows)


# --- attempts -----------------------------------------------------------------------------


def add_attempt(
    conn: Connection, case: CaseToCall, *, scheduled_for: datetime, now: datetime
) -> tuple[int, str] | None:
    """Create the case's next outbound attempt and make it the case's active one.

    None when another scheduler got there first: the schedule is updated only if it still
    has no active attempt and the attempt count it was read with, and (case, attempt_no)
    is unique, so an attempt is never created twice.
    """
    taken = conn.execute(
        update(SCHEDULES)
        .where(
            _s.case_id == case.case_id,
            _s.active_attempt_id.is_(None),
            _s.attempts == case.attempts,
            _s.disposition.is_(None),
            _s.interviewer_only_since.is_(None),
        )
        .values(attempts=case.attempts + 1, updated_at=now, active_attempt_id=-1)
    )
    if not taken.rowcount:
        return None
    attempt_public_id = public_id()
    result = conn.execute(
        insert(ATTEMPTS)
        .returning(_a.id)
        .values(
            public_id=attempt_public_id,
            case_id=case.case_id,
            direction="outbound",
            status="queued",
            attempt_no=case.attempts + 1,
            scheduled_for=scheduled_for,
            created_at=now,
            updated_at=now,
        )
    )
    attempt_id = int(result.scalar_one())
    conn.execute(
        update(SCHEDULES).where(_s.case_id == case.case_id).values(active_attempt_id=attempt_id)
    )
    return attempt_id, attempt_public_id


_ATTEMPT_COLUMNS = (
    _a.id,
    _a.public_id,
    _a.case_id,
    _a.attempt_no,
    _a.status,
    _a.call_sid,
    _a.dialing_at,
    _a.outcome,
    _c.phone,
    _c.survey,
)


def _attempt(row: Any) -> Attempt:
    return Attempt(
        row.id,
        row.public_id,
        row.case_id,
        row.attempt_no,
        row.status,
        row.call_sid,
        row.dialing_at,
        row.outcome,
        row.phone,
        row.survey,
    )


def _attempt_query(key: Any, lock: bool) -> Select[Any]:
    query = (
        select(*_ATTEMPT_COLUMNS)
        .join(CASES, _c.id == _a.case_id)
        .where(_a.direction == "outbound", key == bindparam("key"))
    )
    return query.with_for_update(of=ATTEMPTS) if lock else query


# Built once: the status webhook and the dialler look attempts up on every call.
_ATTEMPT_BY = {
    (by, lock): _attempt_query(column, lock)
    for by, column in (("public_id", _a.public_id), ("call_sid", _a.call_sid))
    for lock in (False, True)
}


def outbound_attempt(
    conn: Connection,
    *,
    attempt_public_id: str | None = None,
    call_sid: str | None = None,
    lock: bool = False,
) -> Attempt | None:
    """An outbound attempt by its public id (in its URLs) or by call SID."""
    if attempt_public_id is not None:
        by, key = "public_id", attempt_public_id
    elif call_sid is not None:
        by, key = "call_sid", call_sid
    else:
        return None
    row = conn.execute(_ATTEMPT_BY[by, lock], {"key": key}).first()
    if row is None:
        return None
    attempt_id, public, case_id, attempt_no, status, sid, dialing_at, outcome, phone, survey = row
    return Attempt(
        attempt_id,
        public,
        case_id,
        attempt_no,
        status,
        sid,
        dialing_at,
        outcome,
        phone,
        survey,
    )


def claim_for_dialing(conn: Connection, attempt_id: int, now: datetime) -> bool:
    """Take a queued attempt to dial it; False if it was taken (or ended) before.

    This one conditional update is what stops a re-run job, or a second worker, from
    ringing the victim a second time for the same attempt.
    """
    result = conn.execute(
        update(ATTEMPTS)
        .where(_a.id == attempt_id, _a.status == "queued", _a.dialing_at.is_(None))
        .values(status="dialing", dialing_at=now, updated_at=now)
    )
    return bool(result.rowcount)


def note_placed(conn: Connection, attempt_id: int, call_sid: str, now: datetime) -> None:
    """Keep the SID Twilio gave the call, unless a status callback brought it first."""
    conn.execute(
        update(ATTEMPTS)
        .where(_a.id == attempt_id, _a.call_sid.is_(None))
        .values(call_sid=call_sid, updated_at=now)
    )
    conn.execute(
        update(ATTEMPTS)
        .where(_a.id == attempt_id, _a.status == "dialing")
        .values(status="initiated", updated_at=now)
    )


def advance_status(
    conn: Connection,
    attempt_id: int,
    status: str,
    now: datetime,
    *,
    call_sid: str | None = None,
    answered_by: str | None = None,
) -> bool:
    """Move a live attempt forward to a non-final ``status``; never back, never once ended.
    Whether anything about the attempt changed.

    The call SID and answering party are kept whatever the order callbacks came in; all of
    it in one statement.
    """
    changes, values = _advancing(status, now, call_sid, answered_by)
    changed = conn.execute(
        update(ATTEMPTS).where(_a.id == attempt_id, or_(*changes)).values(values)
    )
    return bool(changed.rowcount)


def advance_outbound(
    conn: Connection,
    *,
    attempt_public_id: str | None,
    call_sid: str | None,
    status: str,
    now: datetime,
    answered_by: str | None = None,
) -> bool:
    """A status callback's news of a call still going on, kept on its outbound attempt (by
    the public id in the callback's URL, else the call SID) as :func:`advance_status`
    keeps it; False, with nothing changed, when the call has no outbound attempt. On
    PostgreSQL one statement, outside any transaction."""
    if attempt_public_id:
        key = _a.public_id == attempt_public_id
    elif call_sid:
        key = _a.call_sid == call_sid
    else:
        return False
    found = select(_a.id).where(key, _a.direction == "outbound")
    changes, values = _advancing(status, now, call_sid, answered_by)
    if conn.dialect.name != "postgresql":
        attempt_id = conn.execute(found).scalar()
        if attempt_id is None:
            return False
        advance_status(conn, attempt_id, status, now, call_sid=call_sid, answered_by=answered_by)
        return True
    target = found.cte("target")
    moved = (
        update(ATTEMPTS)
        .where(_a.id.in_(select(target.c.id)), or_(*changes))
        .values(values)
        .returning(_a.id)
        .cte("moved")
    )
    return bool(conn.execute(select(func.count()).select_from(target).add_cte(moved)).scalar())


def _advancing(
    status: str, now: datetime, call_sid: str | None, answered_by: str | None
) -> tuple[list[Any], dict[str, Any]]:
    """What advancing an attempt to ``status`` changes: the conditions under which it
    changes anything, and the new values."""
    rank = LIVE_ATTEMPT_RANK.get(status)
    earlier = [] if rank is None else [name for name, r in LIVE_ATTEMPT_RANK.items() if r < rank]
    moves = and_(_a.ended_at.is_(None), _a.status.in_(earlier)) if earlier else false()
    changes: list[Any] = [moves]
    values: dict[str, Any] = {
        "status": sql_case((moves, status), else_=_a.status),
        # A callback that only names the call or who answered stamps the real time, as the
        # column's own default does.
        "updated_at": sql_case((moves, now), else_=utcnow()),
    }
    if answered_by:
        values["answered_by"] = answered_by
        changes.append(true())
    if call_sid:
        values["call_sid"] = func.coalesce(_a.call_sid, call_sid)
        changes.append(_a.call_sid.is_(None))
    return changes, values


def finish_attempt(
    conn: Connection,
    attempt_id: int,
    *,
    status: str,
    outcome: str,
    now: datetime,
    duration: int | None = None,
) -> bool:
    """End an attempt with its outcome; False if it had already ended (first end wins)."""
    result = conn.execute(
        update(ATTEMPTS)
        .where(_a.id == attempt_id, _a.ended_at.is_(None))
        .values(
            status=status, outcome=outcome, ended_at=now, duration_seconds=duration, updated_at=now
        )
    )
    return bool(result.rowcount)


def _with_outcome(conn: Connection, outcome: str) -> Any:
    """The schedule's outcomes with one more at the end, worked out by the database, so
    that adding one is a single UPDATE (no read first)."""
    if conn.dialect.name == "postgresql":
        appended = func.coalesce(cast(_s.outcomes, JSONB), literal([], JSONB)).op("||")(
            func.jsonb_build_array(literal(outcome, String))
        )
        return cast(appended, _s.outcomes.type)
    return func.json_insert(func.coalesce(_s.outcomes, "[]"), "$[#]", literal(outcome, String))


def release_case(
    conn: Connection, case_id: int, attempt_id: int, *, outcome: str, now: datetime
) -> None:
    """The attempt is over: clear it from the case and add its outcome to the history."""
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id, _s.active_attempt_id == attempt_id)
        .values(active_attempt_id=None, outcomes=_with_outcome(conn, outcome), updated_at=now)
    )


def add_outcome(conn: Connection, case_id: int, outcome: str, now: datetime) -> None:
    """Add a call's outcome to the case's history (for calls the dialler did not place)."""
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id)
        .values(outcomes=_with_outcome(conn, outcome), updated_at=now)
    )


def queued_attempts(conn: Connection, survey: str, older_than: datetime) -> list[str]:
    """Public ids of attempts queued before ``older_than`` and never taken by a worker."""
    return list(
        conn.scalars(
            select(_a.public_id)
            .join(CASES, _c.id == _a.case_id)
            .where(_c.survey == survey, _a.status == "queued", _a.created_at < older_than)
        )
    )


def stranded_attempts(conn: Connection, survey: str, older_than: datetime) -> list[Attempt]:
    """Attempts a worker took to dial before ``older_than`` that no callback ever reached.

    Whether the call was placed cannot be known: they are closed, never redialled.
    """
    rows = conn.execute(
        select(*_ATTEMPT_COLUMNS)
        .join(CASES, _c.id == _a.case_id)
        .where(
            _c.survey == survey,
            _a.direction == "outbound",
            _a.ended_at.is_(None),
            _a.status.in_(("dialing", "initiated")),
            _a.dialing_at < older_than,
        )
    )
    return [_attempt(row) for row in rows]


def attempt_starts(conn: Connection, case_id: int) -> list[datetime]:
    """When each of a case's calls began, earliest first: the dialler's and, rung at a time
    of day too, the interviewers' from the console."""
    started = func.coalesce(_a.dialing_at, _a.scheduled_for)
    starts = conn.scalars(
        select(started)
        .where(
            _a.case_id == case_id,
            _a.direction.in_(("outbound", "interviewer")),
            started.is_not(None),
        )
        .order_by(started)
    )
    return list(starts)


def interview_of_attempt(
    conn: Connection, attempt_id: int
) -> tuple[str, dict[str, Any] | None] | None:
    """The status and saved state of the interview an attempt carried, if it carried one."""
    i = INTERVIEWS.c
    row = conn.execute(
        select(i.status, i.state).join(ATTEMPTS, _a.interview_id == i.id).where(_a.id == attempt_id)
    ).first()
    return None if row is None else (row.status, row.state)


def attempt_status_and_answerer(conn: Connection, attempt_id: int) -> tuple[str, str | None]:
    """An attempt's stored status and who or what answered it (``AnsweredBy``), if known."""
    row = conn.execute(select(_a.status, _a.answered_by).where(_a.id == attempt_id)).one()
    return row.status, row.answered_by


_PENDING_FOR_CASE = select(_a.id).where(
    _a.case_id == bindparam("case_id"), _a.direction == "outbound", _a.status == "queued"
)


def pending_attempts_for_case(conn: Connection, case_id: int) -> list[int]:
    """Outbound attempts of a case that no worker has dialled yet."""
    return [row[0] for row in conn.execute(_PENDING_FOR_CASE, {"case_id": case_id}).all()]


def live_calls(conn: Connection) -> int:
    """Outbound calls being dialled, ringing or under way, across every survey."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(ATTEMPTS)
            .where(
                _a.direction == "outbound", _a.ended_at.is_(None), _a.status.in_(LIVE_ATTEMPT[1:])
            )
        ).scalar_one()
    )


def calls_placed_since(conn: Connection, survey: str, since: datetime) -> int:
    """Outbound attempts of ``survey`` a worker dialled since ``since``."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(ATTEMPTS.join(CASES, _c.id == _a.case_id))
            .where(_c.survey == survey, _a.dialing_at >= since)
        ).scalar_one()
    )


# --- campaigns ----------------------------------------------------------------------------


def campaign_status(conn: Connection, survey: str) -> str:
    """``running``, ``paused``, or ``not started`` (which places no calls either)."""
    status = conn.execute(select(CAMPAIGNS.c.status).where(CAMPAIGNS.c.survey == survey)).scalar()
    return status or "not started"


def set_campaign_status(conn: Connection, survey: str, status: str, now: datetime) -> None:
    """Start or pause a survey's campaign."""
    values = {"survey": survey, "status": status, "updated_at": now}
    stmt: Any
    if conn.dialect.name == "postgresql":
        stmt = (
            pg_insert(CAMPAIGNS)
            .values(values)
            .on_conflict_do_update(
                index_elements=["survey"], set_={"status": status, "updated_at": now}
            )
        )
    else:
        stmt = (
            sqlite_insert(CAMPAIGNS)
            .values(values)
            .on_conflict_do_update(
                index_elements=["survey"], set_={"status": status, "updated_at": now}
            )
        )
    conn.execute(stmt)


# --- do not call --------------------------------------------------------------------------


def on_do_not_call(conn: Connection, phones: Iterable[str]) -> set[str]:
    """Which of ``phones`` are on the do-not-call list (found by their keyed hashes)."""
    keyring = keyring_of(conn.dialect)
    phone_of_hash = {h: phone for phone in set(phones) for h in keyring.phone_hashes(phone)}
    wanted = list(phone_of_hash)
    listed: set[str] = set()
    for start in range(0, len(wanted), 500):
        listed.update(
            conn.scalars(
                select(DO_NOT_CALL.c.phone_hash).where(
                    DO_NOT_CALL.c.phone_hash.in_(wanted[start : start + 500])
                )
            )
        )
    return {phone_of_hash[h] for h in listed}


def add_do_not_call(
    conn: Connection, phone: str, *, reason: str, source: str, now: datetime
) -> bool:
    """Put a number on the list; False if it was already there."""
    if on_do_not_call(conn, [phone]):
        return False
    values = {
        "phone_hash": keyring_of(conn.dialect).phone_hash(phone),
        "phone": phone,
        "reason": reason,
        "source": source,
        "added_at": now,
    }
    stmt: Any = (
        (
            pg_insert(DO_NOT_CALL)
            if conn.dialect.name == "postgresql"
            else sqlite_insert(DO_NOT_CALL)
        )
        .values(values)
        .on_conflict_do_nothing()
    )
    return bool(conn.execute(stmt).rowcount)


def remove_do_not_call(conn: Connection, phone: str) -> bool:
    """Take a number off the list; False if it was not there."""
    hashes = keyring_of(conn.dialect).phone_hashes(phone)
    return bool(
        conn.execute(delete(DO_NOT_CALL).where(DO_NOT_CALL.c.phone_hash.in_(hashes))).rowcount
    )


def do_not_call_phones(conn: Connection) -> set[str]:
    """Every number on the do-not-call list."""
    return {phone for (phone,) in conn.execute(select(DO_NOT_CALL.c.phone))}


def do_not_call_list(conn: Connection) -> list[dict[str, Any]]:
    """The whole list, newest first."""
    d = DO_NOT_CALL.c
    return [
        dict(row)
        for row in conn.execute(
            select(d.phone, d.reason, d.source, d.added_at).order_by(d.added_at.desc())
        ).mappings()
    ]


def cases_with_phone(conn: Connection, phone: str) -> list[int]:
    """Every case, of any survey, with this number."""
    hashes = keyring_of(conn.dialect).phone_hashes(phone)
    return list(conn.scalars(select(_c.id).where(_c.phone_hash.in_(hashes))))


def phone_of_case(conn: Connection, case_id: int) -> str:
    """The number a case is rung on."""
    return str(conn.execute(select(_c.phone).where(_c.id == case_id)).scalar_one())


def close_open_schedules(
    conn: Connection, case_ids: Sequence[int], *, disposition: str, reason: str, now: datetime
) -> None:
    """Give cases still being worked a final disposition (their live calls end on their own)."""
    if case_ids:
        conn.execute(
            update(SCHEDULES)
            .where(_s.case_id.in_(case_ids), _s.disposition.is_(None))
            .values(
                disposition=disposition,
                closed_at=now,
                reason=reason,
                next_attempt_at=None,
                updated_at=now,
            )
        )


def cancel_attempts(conn: Connection, attempt_ids: Sequence[int], now: datetime) -> int:
    """Cancel attempts no worker has taken yet; how many were cancelled."""
    if not attempt_ids:
        return 0
    result = conn.execute(
        update(ATTEMPTS)
        .where(_a.id.in_(attempt_ids), _a.status == "queued")
        .values(status="cancelled", outcome="cancelled", ended_at=now, updated_at=now)
    )
    return int(result.rowcount or 0)


def counts_by(conn: Connection, survey: str) -> dict[str, Any]:
    """Schedule counts for the campaign status: by disposition, in progress, waiting."""
    by_disposition = {
        code: n
        for code, n in conn.execute(
            select(_s.disposition, func.count())
            .where(_s.survey == survey, _s.disposition.is_not(None))
            .group_by(_s.disposition)
        )
    }
    in_progress = conn.execute(
        select(func.count()).where(_s.survey == survey, _s.active_attempt_id.is_not(None))
    ).scalar_one()
    waiting = conn.execute(
        select(func.count()).where(
            _s.survey == survey,
            _s.disposition.is_(None),
            _s.active_attempt_id.is_(None),
            _s.next_attempt_at.is_not(None),
            _s.interviewer_only_since.is_(None),
        )
    ).scalar_one()
    for_interviewers = conn.execute(
        select(func.count()).where(
            _s.survey == survey, _s.disposition.is_(None), _s.interviewer_only_since.is_not(None)
        )
    ).scalar_one()
    unplanned_count = conn.execute(
        select(func.count()).where(_s.survey == survey, _s.planned_at.is_(None))
    ).scalar_one()
    next_due = conn.execute(
        select(func.min(_s.next_attempt_at)).where(
            _s.survey == survey, _s.disposition.is_(None), _s.active_attempt_id.is_(None)
        )
    ).scalar()
    return {
        "by_disposition": by_disposition,
        "in_progress": int(in_progress),
        "waiting": int(waiting),
        "for_interviewers": int(for_interviewers),
        "unplanned": int(unplanned_count),
        "next_due": next_due,
    }


#: Where each open case stands before the next scheduler pass, in the order the
#: campaign page lists them (a case falls in the first that fits).
NEXT_PASS_STANDINGS = (
    "on_a_call",
    "held",
    "not_planned",
    "interviewer_only",
    "no_call_time",
    "attempts_used",
    "appointment",
    "due",
    "later",
)


def next_pass_standings(
    conn: Connection, survey: str, now: datetime, max_attempts: int
) -> dict[str, int]:
    """How many of the survey's open cases stand where before the next pass (one of
    :data:`NEXT_PASS_STANDINGS`), with ``closed`` for those with a final disposition."""
    standing = sql_case(
        (_s.disposition.is_not(None), literal("closed")),
        (_s.active_attempt_id.is_not(None), literal("on_a_call")),
        (_s.held_by_id.is_not(None), literal("held")),
        (_s.planned_at.is_(None), literal("not_planned")),
        (_s.interviewer_only_since.is_not(None), literal("interviewer_only")),
        (_s.next_attempt_at.is_(None), literal("no_call_time")),
        (_s.attempts >= max_attempts, literal("attempts_used")),
        (
            (_s.appointment_at.is_not(None)) & (_s.next_attempt_at > now),
            literal("appointment"),
        ),
        (_s.next_attempt_at <= now, literal("due")),
        else_=literal("later"),
    ).label("standing")
    counts = {
        name: int(n)
        for name, n in conn.execute(
            select(standing, func.count()).where(_s.survey == survey).group_by(standing)
        )
    }
    # Cases imported since the last pass have no schedule yet: the pass gives them one.
    unscheduled = conn.execute(
        select(func.count())
        .select_from(CASES.outerjoin(SCHEDULES, _s.case_id == _c.id))
        .where(_c.survey == survey, _s.case_id.is_(None))
    ).scalar_one()
    if unscheduled:
        counts["not_planned"] = counts.get("not_planned", 0) + int(unscheduled)
    return counts


class AreaSample(NamedTuple):
    """A survey of the public's numbers in one area, for planning releases."""

    #: Numbers whose calling is over (a final disposition), and those that gave an interview.
    finished: int
    interviewed: int
    #: Numbers never rung yet and still open: what the sample has left.
    not_rung: int


def sample_by_area(conn: Connection, survey: str, complete_code: str) -> dict[str, AreaSample]:
    """Per area (the case's district): finished numbers, those that ended ``complete_code``
    (an interview), and numbers still open that have never been rung."""
    finished = func.count(_s.disposition)
    interviewed = func.count(sql_case((_s.disposition == complete_code, 1)))
    not_rung = func.count(sql_case(((_s.disposition.is_(None)) & (_s.attempts == 0), 1)))
    rows = conn.execute(
        select(_c.district, finished, interviewed, not_rung)
        .join(SCHEDULES, _s.case_id == _c.id)
        .where(_c.survey == survey)
        .group_by(_c.district)
    )
    return {
        district or "": AreaSample(int(done), int(complete), int(left))
        for district, done, complete, left in rows
    }


def uncount_attempt(conn: Connection, case_id: int, attempt_id: int, now: datetime) -> None:
    """Take back an attempt that never rang: free the case and give the attempt back."""
    conn.execute(
        update(SCHEDULES)
        .where(_s.case_id == case_id, _s.active_attempt_id == attempt_id, _s.attempts > 0)
        .values(active_attempt_id=None, attempts=_s.attempts - 1, updated_at=now)
    )


class InboundEnd(NamedTuple):
    """An inbound call just ended: its case, and its interview's id, status and saved
    state (None when the call carried no interview)."""

    case_id: int
    interview_id: int | None
    interview_status: str | None
    interview_state: dict[str, Any] | None


_I = Base.metadata.tables["interviews"]
# One statement ends the attempt and reads how its interview stands.
_FINISH_INBOUND = (
    update(ATTEMPTS)
    .where(
        _a.call_sid == bindparam("b_call_sid"),
        _a.direction == "inbound",
        _a.ended_at.is_(None),
        _a.case_id.is_not(None),
    )
    .values(
        ended_at=bindparam("b_now", type_=_a.ended_at.type),
        outcome=bindparam("b_outcome", type_=_a.outcome.type),
        updated_at=bindparam("b_now", type_=_a.updated_at.type),
    )
    .returning(
        _a.case_id,
        _a.interview_id,
        select(_I.c.status).where(_I.c.id == _a.interview_id).scalar_subquery(),
        select(_I.c.state).where(_I.c.id == _a.interview_id).scalar_subquery(),
    )
)


def finish_inbound(
    conn: Connection, call_sid: str, *, status: str, now: datetime
) -> InboundEnd | None:
    """End an inbound call's attempt once, and say how its interview stands; None if it
    had ended already or is not an inbound call."""
    row = conn.execute(
        _FINISH_INBOUND, {"b_call_sid": call_sid, "b_outcome": status, "b_now": now}
    ).first()
    return None if row is None else InboundEnd(*row)


def waiting_phones(conn: Connection, survey: str, limit: int) -> list[str]:
    """Numbers of cases still waiting for a call (for the demo's victims who ring in)."""
    return list(
        conn.scalars(
            select(_c.phone)
            .join(SCHEDULES, _s.case_id == _c.id)
            .where(
                _s.survey == survey,
                _s.disposition.is_(None),
                _s.attempts > 0,
                _s.active_attempt_id.is_(None),
            )
            .order_by(_s.case_id)
            .limit(limit)
        )
    )
