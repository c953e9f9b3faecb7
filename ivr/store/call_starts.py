"""A call's first webhook: what starting the call needs, read at once, and what it writes.

On PostgreSQL the read is one statement (has this call begun already, the case, its
outbound attempt, its interview) and the writes another (the interview started or carried
on, its opening turn, the call's attempt, queued calls cancelled), run outside any
transaction: two round trips. SQLite reads and writes them one statement at a time, in the
transaction the caller holds.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Select,
    Table,
    bindparam,
    insert,
    literal,
    or_,
    select,
    true,
    update,
)

from ivr.store import turns
from ivr.store.interviews import (
    CASE_FACTS,
    CaseFacts,
    attempt_for_call,
    case_by_id,
    open_case_for_phone,
)
from ivr.store.models import Base, public_id
from ivr.store.sealing import keyring_of
from ivr.store.statuses import CLOSED_INTERVIEW
from ivr.store.turns import InterviewRow

_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_TURNS: Table = Base.metadata.tables["turns"]
_CASES: Table = Base.metadata.tables["cases"]
_ATTEMPTS: Table = Base.metadata.tables["call_attempts"]
_SCHEDULES: Table = Base.metadata.tables["schedules"]
_i, _t, _c, _a, _s = _INTERVIEWS.c, _TURNS.c, _CASES.c, _ATTEMPTS.c, _SCHEDULES.c


class CallFacts(NamedTuple):
    """What a call's first webhook finds: whether the call has an interview already and
    the TwiML its first webhook got; otherwise the case it is about (for an outbound call,
    whatever its survey), the outbound attempt it answers, and the case's interview with
    its public id."""

    opened: bool
    opening: str | None
    case: CaseFacts | None = None
    attempt_id: int | None = None
    interview: tuple[InterviewRow, str] | None = None


def in_one_statement(conn: Connection) -> bool:
    """Whether the call's start can be read in one statement and written in another."""
    return turns.turns_in_one_statement(conn)


def call_facts(
    conn: Connection,
    call_sid: str,
    *,
    phone: str | None,
    attempt_public_id: str | None,
    surveys: list[str],
    opening_only: bool = False,
) -> CallFacts:
    """What starting this call needs (see :class:`CallFacts`). ``phone`` is an inbound
    caller's number (None when unknown or withheld), ``surveys`` those whose cases an
    inbound call may be about. With ``opening_only``, SQLite reads no more than whether
    the call has begun; PostgreSQL reads everything in the one statement either way."""
    if in_one_statement(conn):
        return _facts_in_one_statement(conn, call_sid, phone, attempt_public_id, surveys)
    found, opening = turns.opening_by_call_sid(conn, call_sid)
    if found or opening_only:
        return CallFacts(found, opening)
    case: CaseFacts | None = None
    attempt_id: int | None = None
    if attempt_public_id:
        attempt = attempt_for_call(conn, attempt_public_id)
        if attempt is not None and attempt.case_id is not None:
            case, attempt_id = case_by_id(conn, attempt.case_id), attempt.id
    elif phone is not None:
        case = open_case_for_phone(conn, phone, surveys)
    interview = None if case is None else turns.interview_of_case(conn, case.id)
    return CallFacts(False, None, case, attempt_id if case else None, interview)


def _facts_in_one_statement(
    conn: Connection,
    call_sid: str,
    phone: str | None,
    attempt_public_id: str | None,
    surveys: list[str],
) -> CallFacts:
    if attempt_public_id:
        row = conn.execute(
            _facts_statement(True), {"call_sid": call_sid, "attempt": attempt_public_id}
        ).one()
    else:
        hashes = [] if phone is None else keyring_of(conn.dialect).phone_hashes(phone)
        row = conn.execute(
            _facts_statement(False),
            {"call_sid": call_sid, "hashes": hashes, "surveys": surveys},
        ).one()
    if row.opened is not None:
        return CallFacts(True, row.opening)
    case = None if row.case_id is None else CaseFacts(*row[2 : 2 + len(CASE_FACTS)])
    interview = None
    if row.interview_id is not None:
        columns = row[2 + len(CASE_FACTS) : -2]
        interview = (InterviewRow(*columns), row.interview_public_id)
    return CallFacts(False, None, case, row.attempt_id if case else None, interview)


_INTERVIEW_COLUMNS = (
    _i.id.label("interview_id"),
    _i.case_id.label("interview_case_id"),
    _i.questionnaire_version_id,
    _i.step_no,
    _i.status,
    _i.state,
    _i.public_id.label("interview_public_id"),
)
_NOT_CLOSED = ~(
    select(_INTERVIEWS.c.id)
    .where(
        _INTERVIEWS.c.case_id == _c.id,
        or_(*(_INTERVIEWS.c.status == status for status in CLOSED_INTERVIEW)),
    )
    .exists()
)


@cache
def _facts_statement(outbound: bool) -> Select[Any]:
    """The first webhook's one read: a row that always comes back, with the call's opening
    TwiML if it has begun, and otherwise its case, attempt and interview (each lateral
    join finds at most one row)."""
    opening = (
        select(_i.id.label("opened"), _t.response.label("opening"))
        .select_from(
            _INTERVIEWS.outerjoin(
                _TURNS, (_t.interview_id == _i.id) & (_t.step_no == _i.opening_step_no)
            )
        )
        .where(_i.call_sid == bindparam("call_sid"))
        .lateral("opening")
    )
    if outbound:
        case = (
            select(*(col.label(f"case_{col.name}") for col in CASE_FACTS), _a.id.label("attempt"))
            .select_from(_ATTEMPTS.join(_CASES, _c.id == _a.case_id))
            .where(_a.public_id == bindparam("attempt"))
            .lateral("found_case")
        )
    else:
        # The newest open case with the number whose survey is loaded, as
        # open_case_for_phone finds it.
        case = (
            select(
                *(col.label(f"case_{col.name}") for col in CASE_FACTS),
                literal(None).label("attempt"),
            )
            .where(
                _c.phone_hash.in_(bindparam("hashes", expanding=True)),
                _c.survey.in_(bindparam("surveys", expanding=True)),
                _NOT_CLOSED,
            )
            .order_by(_c.imported_at.desc(), _c.id.desc())
            .limit(1)
            .lateral("found_case")
        )
    interview = (
        select(*_INTERVIEW_COLUMNS)
        .where(_i.case_id == case.c.case_id)
        .order_by(_i.id.desc())
        .limit(1)
        .lateral("found_interview")
    )
    one = select(literal(1).label("one")).subquery("one")
    return select(
        opening.c.opened,
        opening.c.opening,
        *(case.c[f"case_{col.name}"] for col in CASE_FACTS),
        *(interview.c[col.name] for col in _INTERVIEW_COLUMNS),
        case.c.attempt.label("attempt_id"),
    ).select_from(
        one.outerjoin(opening, true()).outerjoin(case, true()).outerjoin(interview, true())
    )


def start_in_one_statement(
    conn: Connection,
    *,
    case_id: int,
    call_sid: str,
    response: str,
    now: datetime,
    new: dict[str, Any] | None = None,
    carried: InterviewRow | None = None,
    carried_values: dict[str, Any] | None = None,
    attempt_id: int | None = None,
) -> int | None:
    """Start a call in one statement, atomically, outside any transaction (PostgreSQL):
    the interview, stored (``new``, its row's values) or carried on from ``carried`` (with
    ``carried_values``: status, state, channel); the TwiML of its opening turn; and the
    call's attempt, the outbound ``attempt_id`` marked answered or, for an inbound call, a
    new one, with the case's queued outbound calls cancelled and given back to it.

    The interview's row id; None, with nothing written, when another request moved the
    carried interview on since it was read. A duplicate of the webhook that lost the race
    to a new interview fails on the unique call SID instead.
    """
    values: dict[str, Any] = {
        "b_case_id": case_id,
        "b_call_sid": call_sid,
        "b_response": response,
        "b_now": now,
    }
    if new is not None:
        values.update({f"b_{key}": value for key, value in new.items()})
        values["b_opening"] = new["opening_step_no"]
    else:
        assert carried is not None and carried_values is not None
        values.update({f"b_{key}": value for key, value in carried_values.items()})
        values.update(
            b_interview_id=carried.id,
            b_read_step_no=carried.step_no,
            b_opening=carried.step_no + 1,
        )
    if attempt_id is None:
        values["b_attempt_public_id"] = public_id()
    else:
        values["b_attempt_id"] = attempt_id
    return conn.execute(_start_statement(new is not None, attempt_id is not None), values).scalar()


#: The columns of a new interview that its first webhook writes.
_NEW_INTERVIEW = (
    "public_id",
    "case_id",
    "questionnaire_version_id",
    "channel",
    "call_sid",
    "status",
    "step_no",
    "opening_step_no",
    "state",
    "started_at",
    "ended_at",
    "language",
)


def _b(name: str, column: Any) -> Any:
    return bindparam(f"b_{name}", type_=column.type)


@cache
def _start_statement(new: bool, outbound: bool) -> Select[Any]:
    """The one statement of a call's start: the interview stored or carried on, whose
    RETURNING feeds the opening turn and the attempt."""
    if new:
        started = (
            insert(_INTERVIEWS)
            .values({name: _b(name, _i[name]) for name in _NEW_INTERVIEW})
            .returning(_i.id)
            .cte("started")
        )
    else:
        # Carried on only if no other request moved the interview on since it was read.
        started = (
            update(_INTERVIEWS)
            .where(_i.id == bindparam("b_interview_id"), _i.step_no == bindparam("b_read_step_no"))
            .values(
                step_no=_b("opening", _i.step_no),
                opening_step_no=_b("opening", _i.opening_step_no),
                status=_b("status", _i.status),
                state=_b("state", _i.state),
                call_sid=_b("call_sid", _i.call_sid),
                channel=_b("channel", _i.channel),
                ended_at=None,
            )
            .returning(_i.id)
            .cte("started")
        )
    writes = [
        insert(_TURNS)
        .from_select(
            ["interview_id", "step_no", "response", "created_at"],
            select(
                started.c.id,
                _b("opening", _t.step_no),
                _b("response", _t.response),
                _b("now", _t.created_at),
            ),
        )
        .returning(_t.step_no)
        .cte("opening_turn")
    ]
    if outbound:
        writes.append(
            update(_ATTEMPTS)
            # Nothing is marked when the interview was not written.
            .where(_a.id == bindparam("b_attempt_id"), select(started.c.id).exists())
            .values(
                interview_id=select(started.c.id).scalar_subquery(),
                call_sid=_b("call_sid", _a.call_sid),
                status="in-progress",
                updated_at=_b("now", _a.updated_at),
            )
            .returning(_a.id)
            .cte("answered")
        )
    else:
        writes.append(
            insert(_ATTEMPTS)
            .from_select(
                [
                    "public_id",
                    "case_id",
                    "interview_id",
                    "call_sid",
                    "direction",
                    "status",
                    "created_at",
                    "updated_at",
                ],
                select(
                    _b("attempt_public_id", _a.public_id),
                    _b("case_id", _a.case_id),
                    started.c.id,
                    _b("call_sid", _a.call_sid),
                    literal("inbound", _a.direction.type),
                    literal("in-progress", _a.status.type),
                    _b("now", _a.created_at),
                    _b("now", _a.updated_at),
                ),
            )
            .returning(_a.id)
            .cte("inbound_attempt")
        )
        # The victim rang us: calls queued for them are not needed now, and do not count.
        cancelled = (
            update(_ATTEMPTS)
            .where(
                _a.case_id == bindparam("b_case_id"),
                _a.direction == "outbound",
                _a.status == "queued",
                select(started.c.id).exists(),
            )
            .values(
                status="cancelled",
                outcome="cancelled",
                ended_at=_b("now", _a.ended_at),
                updated_at=_b("now", _a.updated_at),
            )
            .returning(_a.id)
            .cte("cancelled")
        )
        writes.append(cancelled)
        writes.append(
            update(_SCHEDULES)
            .where(
                _s.case_id == bindparam("b_case_id"),
                _s.active_attempt_id.in_(select(cancelled.c.id)),
                _s.attempts > 0,
            )
            .values(
                active_attempt_id=None,
                attempts=_s.attempts - 1,
                updated_at=_b("now", _s.updated_at),
            )
            .returning(_s.case_id)
            .cte("given_back")
        )
    return select(started.c.id).add_cte(*writes)
