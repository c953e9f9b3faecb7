"""One victim's records: everything held about a case, and erasing the personal data in it.

A case's personal data is its reference, phone number, first name and sample fields; the
interview's saved state (which carries the case's values) and the interviewer's notes;
the TwiML said on each call (it greets the victim by name); a spoken answer's words, a
recording's address and its transcription; and what staff wrote working a referral. What
is left after erasure is pseudonymous: the coded answers, the case's crime type, district
and the groups reports break figures down by.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, delete, func, insert, or_, select, update

from ivr.store.models import Base
from ivr.store.sealing import keyring_of

_CASES: Table = Base.metadata.tables["cases"]
_SCHEDULES: Table = Base.metadata.tables["schedules"]
_ATTEMPTS: Table = Base.metadata.tables["call_attempts"]
_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_TURNS: Table = Base.metadata.tables["turns"]
_ANSWERS: Table = Base.metadata.tables["answers"]
_TRANSCRIPTIONS: Table = Base.metadata.tables["transcriptions"]
_REFERRALS: Table = Base.metadata.tables["referrals"]
_EVENTS: Table = Base.metadata.tables["referral_events"]
_DNC: Table = Base.metadata.tables["do_not_call"]
_AUDIT: Table = Base.metadata.tables["audit_log"]

#: Sample fields kept after erasure: the groups reports break figures down by (no one is
#: named by them once the reference, number and name are gone).
REPORTED_FIELDS = ("ethnicity", "age", "sex", "disability", "domestic_abuse")
#: Referral event details that are staff's own words about the victim.
WRITTEN_DETAILS = ("text", "note", "notes", "comment")
#: Statuses of a call attempt still under way: a case is not erased in the middle of a call.
LIVE_ATTEMPTS = ("queued", "dialing", "initiated", "ringing", "in-progress", "answered")


class CaseMatch(NamedTuple):
    id: int
    survey: str
    case_ref: str


class Erased(NamedTuple):
    """How many of each thing an erasure changed."""

    cases: int
    interviews: int
    turns: int
    answers: int
    transcriptions: int
    referral_events: int
    #: The recordings' addresses, for deleting them where they are stored.
    recordings: tuple[str, ...]


def cases_with_ref(conn: Connection, case_ref: str, survey: str | None) -> list[CaseMatch]:
    """The cases with this reference (one per survey), optionally only one survey's."""
    c = _CASES.c
    query = select(c.id, c.survey, c.case_ref).where(c.case_ref == case_ref)
    if survey is not None:
        query = query.where(c.survey == survey)
    return [CaseMatch(*row) for row in conn.execute(query.order_by(c.survey))]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(conn: Connection, table: Table, *where: Any, order: Any = None) -> list[dict[str, Any]]:
    query = select(table).where(*where)
    if order is not None:
        query = query.order_by(order)
    return [
        {key: _plain(value) for key, value in row._mapping.items()} for row in conn.execute(query)
    ]


def records_of(conn: Connection, case_id: int) -> dict[str, Any]:
    """Every row held about the case, table by table, as plain JSON values."""
    interview_ids = list(
        conn.scalars(select(_INTERVIEWS.c.id).where(_INTERVIEWS.c.case_id == case_id))
    )
    referral_ids = list(
        conn.scalars(select(_REFERRALS.c.id).where(_REFERRALS.c.case_id == case_id))
    )
    [case] = _rows(conn, _CASES, _CASES.c.id == case_id)
    audit_about = or_(
        (_AUDIT.c.object_type == "case") & (_AUDIT.c.object_id == case_id),
        (_AUDIT.c.object_type == "interview") & _AUDIT.c.object_id.in_(interview_ids),
        (_AUDIT.c.object_type == "referral") & _AUDIT.c.object_id.in_(referral_ids),
    )
    return {
        "case": case,
        "schedule": _rows(conn, _SCHEDULES, _SCHEDULES.c.case_id == case_id),
        "call_attempts": _rows(
            conn, _ATTEMPTS, _ATTEMPTS.c.case_id == case_id, order=_ATTEMPTS.c.id
        ),
        "interviews": _rows(
            conn, _INTERVIEWS, _INTERVIEWS.c.case_id == case_id, order=_INTERVIEWS.c.id
        ),
        "turns": _rows(
            conn, _TURNS, _TURNS.c.interview_id.in_(interview_ids), order=_TURNS.c.step_no
        ),
        "answers": _rows(
            conn, _ANSWERS, _ANSWERS.c.interview_id.in_(interview_ids), order=_ANSWERS.c.id
        ),
        "transcriptions": _rows(
            conn,
            _TRANSCRIPTIONS,
            _TRANSCRIPTIONS.c.interview_id.in_(interview_ids),
            order=_TRANSCRIPTIONS.c.id,
        ),
        "referrals": _rows(
            conn, _REFERRALS, _REFERRALS.c.case_id == case_id, order=_REFERRALS.c.id
        ),
        "referral_events": _rows(
            conn, _EVENTS, _EVENTS.c.referral_id.in_(referral_ids), order=_EVENTS.c.id
        ),
        "do_not_call": _rows(
            conn, _DNC, _DNC.c.phone_hash.in_(keyring_of(conn.dialect).phone_hashes(case["phone"]))
        ),
        "audit_entries": _rows(conn, _AUDIT, audit_about, order=_AUDIT.c.id),
    }


def recordings_of(conn: Connection, case_id: int) -> list[str]:
    """The addresses of the case's recorded answers."""
    a, i = _ANSWERS.c, _INTERVIEWS.c
    return [
        url
        for url in conn.scalars(
            select(a.recording_url)
            .join(_INTERVIEWS, i.id == a.interview_id)
            .where(i.case_id == case_id, a.recording_url.is_not(None))
            .order_by(a.id)
        )
        if url
    ]


def live_attempts(conn: Connection, case_id: int) -> int:
    """The case's call attempts still under way."""
    return len(
        conn.scalars(
            select(_ATTEMPTS.c.id).where(
                _ATTEMPTS.c.case_id == case_id, _ATTEMPTS.c.status.in_(LIVE_ATTEMPTS)
            )
        ).all()
    )


def _kept_fields(fields: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (fields or {}).items() if k in REPORTED_FIELDS}


def _unwritten(details: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (details or {}).items() if k not in WRITTEN_DETAILS}


def erase(conn: Connection, case_id: int, *, answers: bool, now: datetime) -> Erased:
    """Remove the case's personal data everywhere it is held, in the caller's transaction.

    The case keeps an opaque reference (``ERASED-<id>``), no number and no name, and only
    the sample fields reports group by; calling stops. With ``answers`` the coded answers,
    transcriptions and referrals' reasons go too, leaving nothing of the interview but
    that it took place.
    """
    c, i, a = _CASES.c, _INTERVIEWS.c, _ANSWERS.c
    interview_ids = list(conn.scalars(select(i.id).where(i.case_id == case_id)))
    fields = conn.scalar(select(c.fields).where(c.id == case_id))
    cases = conn.execute(
        update(_CASES)
        .where(c.id == case_id)
        .values(
            case_ref=f"ERASED-{case_id}",
            phone="",
            # No hash of any number: the erased case is found by none.
            phone_hash="",
            first_name=None,
            fields={**_kept_fields(fields), "erased_on": now.date().isoformat()},
        )
    ).rowcount
    # Calling stops for good: the case is planned, with no next attempt (a case never
    # planned yet gets its schedule now, so the scheduler never plans a call to it).
    stopped = {"next_attempt_at": None, "appointment_at": None, "reason": "erased"}
    if conn.scalar(select(_SCHEDULES.c.case_id).where(_SCHEDULES.c.case_id == case_id)) is None:
        conn.execute(
            insert(_SCHEDULES).values(
                case_id=case_id,
                survey=conn.scalar(select(c.survey).where(c.id == case_id)),
                attempts=0,
                outcomes=[],
                planned_at=now,
                updated_at=now,
                **stopped,
            )
        )
    else:
        conn.execute(
            update(_SCHEDULES)
            .where(_SCHEDULES.c.case_id == case_id)
            .values(
                planned_at=func.coalesce(_SCHEDULES.c.planned_at, now), updated_at=now, **stopped
            )
        )
    interviews = conn.execute(
        update(_INTERVIEWS).where(i.case_id == case_id).values(state={}, notes=None)
    ).rowcount
    turns = conn.execute(delete(_TURNS).where(_TURNS.c.interview_id.in_(interview_ids))).rowcount
    recordings = tuple(
        url
        for url in conn.scalars(
            select(a.recording_url).where(
                a.interview_id.in_(interview_ids), a.recording_url.is_not(None)
            )
        )
        if url
    )
    in_case = a.interview_id.in_(interview_ids)
    if answers:
        answered = conn.execute(delete(_ANSWERS).where(in_case)).rowcount
    else:
        answered = conn.execute(
            update(_ANSWERS).where(in_case).values(raw=None, recording_url=None)
        ).rowcount
    transcriptions = conn.execute(
        delete(_TRANSCRIPTIONS).where(_TRANSCRIPTIONS.c.interview_id.in_(interview_ids))
    ).rowcount
    referral_ids = list(
        conn.scalars(select(_REFERRALS.c.id).where(_REFERRALS.c.case_id == case_id))
    )
    if answers:
        conn.execute(update(_REFERRALS).where(_REFERRALS.c.case_id == case_id).values(reasons=[]))
    events = 0
    for event_id, details in conn.execute(
        select(_EVENTS.c.id, _EVENTS.c.details).where(_EVENTS.c.referral_id.in_(referral_ids))
    ).all():
        if any(key in (details or {}) for key in WRITTEN_DETAILS):
            conn.execute(
                update(_EVENTS).where(_EVENTS.c.id == event_id).values(details=_unwritten(details))
            )
            events += 1
    return Erased(cases, interviews, turns, answered, transcriptions, events, recordings)
