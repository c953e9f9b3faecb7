"""The webhook hot path's SQL: Core statements built once, run on one Connection per request.

The ORM's unit of work, identity map and per-call statement building cost far more than the
database does for a webhook turn, so the turn, call-start and status paths read and write
here with prebuilt statements whose only per-request work is binding parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Select,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ivr.store.models import Base
from ivr.store.statuses import FINAL_CALL

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
    #: The case's survey and district, which a referral the turn raises carries: read
    #: with the turn's interview (None where the interview was read without them).
    case_survey: str | None = None
    case_district: str | None = None


@dataclass(frozen=True)
class NewReferral:
    """A referral a turn stored, as its notification needs it."""

    id: int
    kind: str
    district: str


_INTERVIEW_COLUMNS = (
    _i.id,
    _i.case_id,
    _i.questionnaire_version_id,
    _i.step_no,
    _i.status,
    _i.state,
)

# A turn's one read: the interview, its case's survey and district (for a referral the turn
# may raise) and, outer-joined, the TwiML already sent for this turn.
_FOR_TURN = (
    select(*_INTERVIEW_COLUMNS, _CASES.c.survey, _CASES.c.district, _t.response)
    .select_from(
        _INTERVIEWS.join(_CASES, _CASES.c.id == _i.case_id).outerjoin(
            _TURNS, (_t.interview_id == _i.id) & (_t.step_no == bindparam("step_no"))
        )
    )
    .where(_i.public_id == bindparam("public_id"))
)
# FOR UPDATE serialises a status callback with a turn on PostgreSQL; SQLite renders no such
# clause and is already serialised by the BEGIN IMMEDIATE the engine issues.
_LOCK_BY_CALL_SID = (
    select(*_INTERVIEW_COLUMNS).where(_i.call_sid == bindparam("call_sid")).with_for_update()
)
# The call's opening TwiML is the turn its interview was at when the call began; an outer
# join tells "no interview" from "no turn".
_OPENING_BY_CALL_SID = (
    select(_i.id, _t.response)
    .select_from(
        _INTERVIEWS.outerjoin(
            _TURNS, (_t.interview_id == _i.id) & (_t.step_no == _i.opening_step_no)
        )
    )
    .where(_i.call_sid == bindparam("call_sid"))
)
# A case's interview: one per case, carried on by every call to it.
_INTERVIEW_OF_CASE = (
    select(*_INTERVIEW_COLUMNS, _i.public_id)
    .where(_i.case_id == bindparam("case_id"))
    .order_by(_i.id.desc())
    .limit(1)
)
# A new call carries on the interview: only if no other request moved it on meanwhile.
_CARRY_ON = (
    update(_INTERVIEWS)
    .where(_i.id == bindparam("interview_id"), _i.step_no == bindparam("read_step_no"))
    .values(
        step_no=bindparam("new_step_no", type_=_i.step_no.type),
        opening_step_no=bindparam("new_opening", type_=_i.opening_step_no.type),
        status=bindparam("new_status", type_=_i.status.type),
        state=bindparam("new_state", type_=_i.state.type),
        call_sid=bindparam("new_call_sid", type_=_i.call_sid.type),
        channel=bindparam("new_channel", type_=_i.channel.type),
        ended_at=None,
    )
)
_CASE_SURVEY_AND_DISTRICT = select(_CASES.c.survey, _CASES.c.district).where(
    _CASES.c.id == bindparam("case_id")
)
_ANSWER_KEYS = (
    "interview_id",
    "question_id",
    "code",
    "label",
    "via",
    "raw",
    "confidence",
    "recording_url",
    "answered_at",
)
_ADD_ANSWERS = insert(_ANSWERS)
_ADD_REFERRAL = insert(_REFERRALS).returning(_REFERRALS.c.id)
_ADD_TURN = insert(_TURNS)
_ADD_INTERVIEW = insert(_INTERVIEWS).returning(_i.id)
# An interview's ended_at is set once, by the turn that ends it; coalesce keeps it otherwise.
# The step number in the WHERE clause makes the update conditional on nobody having moved
# the interview on since it was read: of two copies of one turn, only the first updates a
# row (on PostgreSQL the second waits for the first's row lock, then matches nothing).
_ADVANCE = (
    update(_INTERVIEWS)
    .where(_i.id == bindparam("interview_id"), _i.step_no == bindparam("read_step_no"))
    .values(
        step_no=bindparam("new_step_no", type_=_i.step_no.type),
        status=bindparam("new_status", type_=_i.status.type),
        state=bindparam("new_state", type_=_i.state.type),
        ended_at=func.coalesce(bindparam("new_ended_at", type_=_i.ended_at.type), _i.ended_at),
    )
)


def interview_for_turn(
    conn: Connection, public_id: str, step_no: int
) -> tuple[InterviewRow, str | None] | None:
    """The interview with this public id and the TwiML already sent for turn ``step_no``
    (None when the turn is new), read without a lock; None when there is no such interview."""
    row = conn.execute(_FOR_TURN, {"public_id": public_id, "step_no": step_no}).first()
    return None if row is None else (InterviewRow(*row[:-1]), row[-1])


def interview_of_case(conn: Connection, case_id: int) -> tuple[InterviewRow, str] | None:
    """The case's interview (the newest, for cases from before one interview per case) and
    its public id, if it has one."""
    row = conn.execute(_INTERVIEW_OF_CASE, {"case_id": case_id}).first()
    return None if row is None else (InterviewRow(*row[:-1]), row[-1])


def carry_on(
    conn: Connection,
    interview: InterviewRow,
    *,
    status: str,
    state: dict[str, Any],
    call_sid: str | None,
    channel: str,
) -> int | None:
    """Take an interview onto a new call (or a new sitting at the console): its opening
    turn is the next step. The new step number; None if another request moved it first."""
    opening = interview.step_no + 1
    if not conn.execute(
        _CARRY_ON,
        {
            "interview_id": interview.id,
            "read_step_no": interview.step_no,
            "new_step_no": opening,
            "new_opening": opening,
            "new_status": status,
            "new_state": state,
            "new_call_sid": call_sid,
            "new_channel": channel,
        },
    ).rowcount:
        return None
    return opening


def interview_by_public_id(conn: Connection, public_id: str) -> tuple[int, int] | None:
    """An interview's row id and pinned questionnaire version, by the id in its URLs."""
    row = conn.execute(
        select(_i.id, _i.questionnaire_version_id).where(_i.public_id == public_id)
    ).first()
    return None if row is None else (int(row[0]), int(row[1]))


def keep_transcription(
    conn: Connection,
    *,
    interview_id: int,
    question_id: str,
    recording_sid: str | None,
    status: str,
    text: str | None,
    now: datetime,
) -> bool:
    """Keep a recorded answer's transcription; False (nothing changed) if it was kept
    before, as when Twilio repeats the callback."""
    values = {
        "interview_id": interview_id,
        "question_id": question_id,
        "recording_sid": recording_sid,
        "status": status,
        "text": text,
        "received_at": now,
    }
    table = Base.metadata.tables["transcriptions"]
    stmt: Any = (
        (pg_insert(table) if conn.dialect.name == "postgresql" else sqlite_insert(table))
        .values(values)
        .on_conflict_do_nothing()
    )
    return bool(conn.execute(stmt).rowcount)


def lock_interview_by_call_sid(conn: Connection, call_sid: str) -> InterviewRow | None:
    """The interview a call is carrying, row-locked (on PostgreSQL), if any."""
    row = conn.execute(_LOCK_BY_CALL_SID, {"call_sid": call_sid}).first()
    return None if row is None else InterviewRow(*row)


def opening_by_call_sid(conn: Connection, call_sid: str) -> tuple[bool, str | None]:
    """Whether a call already has an interview, and the TwiML its first webhook got."""
    row = conn.execute(_OPENING_BY_CALL_SID, {"call_sid": call_sid}).first()
    return (False, None) if row is None else (True, row[1])


def case_survey_and_district(conn: Connection, case_id: int) -> tuple[str, str | None]:
    """A case's survey and district, which its referrals carry and are routed by."""
    row = conn.execute(_CASE_SURVEY_AND_DISTRICT, {"case_id": case_id}).first()
    assert row is not None, "an interview's case exists (foreign key)"
    return row[0], row[1]


def add_answers(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Store a turn's answers in one executemany; every row carries every answer column."""
    if rows:
        conn.execute(_ADD_ANSWERS, rows)


def add_referral(
    conn: Connection,
    *,
    interview_id: int,
    case_id: int,
    survey: str,
    kind: str,
    district: str,
    reasons: list[dict[str, Any]],
    now: datetime,
    due_at: datetime | None,
    consented: bool = True,
) -> NewReferral:
    """Store a new referral, its notice counted as queued (see :func:`_referral_row`), and
    return what its notification needs."""
    referral = {
        "case_id": case_id,
        "survey": survey,
        "kind": kind,
        "district": district,
        "reasons": reasons,
        "due_at": due_at,
        "consented": consented,
    }
    row = conn.execute(
        _ADD_REFERRAL, {"interview_id": interview_id, **_referral_row(referral, now)}
    ).first()
    assert row is not None, "an INSERT ... RETURNING gives its row"
    return NewReferral(int(row[0]), kind, district)


def revise_referral(
    conn: Connection,
    *,
    interview_id: int,
    kind: str,
    reasons: list[dict[str, Any]],
    consented: bool,
    due_at: datetime | None,
    now: datetime,
) -> None:
    """A resumed interview changed what its referral says: keep the one referral, with the
    new reasons and consent, and say so in its timeline. Consent given now starts the
    first-contact deadline; one already running is kept."""
    r = _REFERRALS.c
    found = conn.execute(
        select(r.id, r.due_at).where(r.interview_id == interview_id, r.kind == kind)
    ).first()
    if found is None:
        return
    referral_id, running = found
    conn.execute(
        update(_REFERRALS)
        .where(r.id == referral_id)
        .values(
            reasons=reasons,
            consented=consented,
            updated_at=now,
            due_at=(running or due_at) if consented else None,
        )
    )
    conn.execute(
        insert(Base.metadata.tables["referral_events"]).values(
            referral_id=referral_id,
            at=now,
            actor_id=None,
            kind="revised",
            details={"consented": consented, "questions": [x["question"] for x in reasons]},
        )
    )


def add_interview(conn: Connection, values: dict[str, Any]) -> int:
    """Store a new interview and return its row id."""
    row = conn.execute(_ADD_INTERVIEW, values).first()
    assert row is not None, "an INSERT ... RETURNING gives its row"
    return int(row[0])


def save_interview(
    conn: Connection,
    interview_id: int,
    *,
    read_step_no: int,
    step_no: int,
    status: str,
    state: dict[str, Any],
    ended_at: datetime | None,
) -> bool:
    """Keep where an interview got to, if it is still at ``read_step_no``; False if another
    request moved it on first. ``ended_at`` None leaves the stored one alone."""
    return bool(
        conn.execute(
            _ADVANCE,
            {
                "interview_id": interview_id,
                "read_step_no": read_step_no,
                "new_step_no": step_no,
                "new_status": status,
                "new_state": state,
                "new_ended_at": ended_at,
            },
        ).rowcount
    )


def turns_in_one_statement(conn: Connection) -> bool:
    """Whether a turn's writes can go as one statement: PostgreSQL's data-modifying WITH."""
    return conn.dialect.name == "postgresql"


#: The columns of a new referral that a turn's one statement writes, besides its interview.
_REFERRAL_KEYS = (
    "case_id",
    "survey",
    "kind",
    "district",
    "reasons",
    "status",
    "created_at",
    "due_at",
    "consented",
    "notice_queued_at",
)


def keep_turn_in_one_statement(
    conn: Connection,
    interview_id: int,
    *,
    read_step_no: int,
    status: str,
    state: dict[str, Any],
    ended_at: datetime | None,
    answers: list[dict[str, Any]],
    response: str,
    now: datetime,
    referrals: list[dict[str, Any]] | None = None,
) -> list[NewReferral] | None:
    """Where the interview got to, the turn's answers, the new referrals it raised (each
    row as :func:`add_referral` takes it) and the TwiML sent for it, written in one
    statement and so one round trip, atomically, outside any transaction (PostgreSQL).

    The referrals stored; None, with nothing written, when another request moved the
    interview on since ``read_step_no`` (the guard of :func:`save_interview`).
    """
    raised = referrals or []
    values: dict[str, Any] = {
        "b_interview_id": interview_id,
        "b_read_step_no": read_step_no,
        "b_step_no": read_step_no + 1,
        "b_status": status,
        "b_state": state,
        "b_ended_at": ended_at,
        "b_response": response,
        "b_now": now,
    }
    values.update(turn_values(answers, raised, now))
    written = conn.execute(_turn_statement(len(answers), len(raised)), values).one()
    if not written[0]:
        return None
    return [
        NewReferral(int(referral_id), referral["kind"], referral["district"])
        for referral_id, referral in zip(written[1:], raised, strict=True)
    ]


def _referral_row(referral: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A new referral's row. Its notice counts as queued from the start: the caller queues
    it once the row is committed, and says otherwise if the job queue cannot take it (see
    ``ivr.referrals.notifications.announce``)."""
    return {**referral, "status": "new", "created_at": now, "notice_queued_at": now}


def turn_values(
    answers: list[dict[str, Any]], referrals: list[dict[str, Any]], now: datetime
) -> dict[str, Any]:
    """The bound values of :func:`turn_ctes`'s answers and referrals."""
    values: dict[str, Any] = {}
    for n, answer in enumerate(answers):
        values.update({f"b_a{n}_{key}": answer[key] for key in _ANSWER_KEYS[1:]})
    for n, referral in enumerate(referrals):
        row = _referral_row(referral, now)
        values.update({f"b_r{n}_{key}": row[key] for key in _REFERRAL_KEYS})
    return values


@cache
def _turn_statement(answers: int, referrals: int = 0) -> Select[Any]:
    """The one statement of a turn with this many answers and new referrals. Its row: how
    many interviews it moved (0 or 1), then each referral's id."""
    moved, kept, raised = turn_ctes(answers, referrals)
    return select(
        select(func.count()).select_from(moved).scalar_subquery(),
        *(select(referral.c.id).scalar_subquery() for referral in raised),
    ).add_cte(*kept, *raised)


def turn_ctes(
    answers: int, referrals: int, *, keep_turn: bool = True
) -> tuple[Any, list[Any], list[Any]]:
    """A guarded update of the interview (``moved``) whose RETURNING feeds the inserts of
    the turn's TwiML (unless not ``keep_turn``), its answers and, apart, its referrals."""
    moved = (
        update(_INTERVIEWS)
        .where(_i.id == bindparam("b_interview_id"), _i.step_no == bindparam("b_read_step_no"))
        .values(
            step_no=bindparam("b_step_no", type_=_i.step_no.type),
            status=bindparam("b_status", type_=_i.status.type),
            state=bindparam("b_state", type_=_i.state.type),
            ended_at=func.coalesce(bindparam("b_ended_at", type_=_i.ended_at.type), _i.ended_at),
        )
        .returning(_i.id)
        .cte("moved")
    )
    kept = []
    if keep_turn:
        kept.append(
            insert(_TURNS)
            .from_select(
                ["interview_id", "step_no", "response", "created_at"],
                select(
                    moved.c.id,
                    bindparam("b_step_no", type_=_t.step_no.type),
                    bindparam("b_response", type_=_t.response.type),
                    bindparam("b_now", type_=_t.created_at.type),
                ),
            )
            .returning(_t.step_no)
            .cte("kept_turn")
        )
    a = _ANSWERS.c
    for n in range(answers):
        kept.append(
            insert(_ANSWERS)
            .from_select(
                list(_ANSWER_KEYS),
                select(
                    moved.c.id,
                    *(bindparam(f"b_a{n}_{key}", type_=a[key].type) for key in _ANSWER_KEYS[1:]),
                ),
            )
            .returning(a.id)
            .cte(f"kept_answer_{n}")
        )
    r = _REFERRALS.c
    raised = [
        insert(_REFERRALS)
        .from_select(
            ["interview_id", *_REFERRAL_KEYS],
            select(
                moved.c.id,
                *(bindparam(f"b_r{n}_{key}", type_=r[key].type) for key in _REFERRAL_KEYS),
            ),
        )
        .returning(r.id)
        .cte(f"raised_referral_{n}")
        for n in range(referrals)
    ]
    return moved, kept, raised


def add_turn(
    conn: Connection, interview_id: int, step_no: int, response: str, now: datetime
) -> None:
    """Keep the TwiML sent for a turn so a retry of it gets the very same bytes."""
    conn.execute(
        _ADD_TURN,
        {"interview_id": interview_id, "step_no": step_no, "response": response, "created_at": now},
    )


def keep_call_progress(
    conn: Connection,
    call_sid: str,
    *,
    status: str,
    duration: int | None,
    answered_by: str | None,
    now: datetime,
) -> None:
    """Keep what a status callback says of a call's attempts (normally one), in one
    statement: its status, unless it has ended; its duration and who answered, when given.
    An attempt this changes nothing of keeps its updated_at."""
    a = _ATTEMPTS.c
    values: dict[str, Any] = {
        "status": case(
            (a.status.in_(FINAL_CALL), a.status),
            else_=literal(status, a.status.type) if status else a.status,
        ),
        "duration_seconds": a.duration_seconds
        if duration is None
        else literal(duration, a.duration_seconds.type),
        "answered_by": a.answered_by
        if answered_by is None
        else literal(answered_by, a.answered_by.type),
    }
    conn.execute(
        update(_ATTEMPTS)
        .where(
            a.call_sid == call_sid,
            or_(*(value.is_distinct_from(a[name]) for name, value in values.items())),
        )
        .values(**values, updated_at=now)
    )
