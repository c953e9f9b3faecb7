"""A data subject's rights over one case: see everything held, and have it erased.

Both are audited by case id, never by anything that names the victim.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ivr.accounts import audit
from ivr.privacy.retention import delete_recordings
from ivr.store import subjects
from ivr.store.db import Database
from ivr.telephony.port import RecordingStore


class SubjectError(Exception):
    """The case cannot be found, is ambiguous, or cannot be erased now; says why."""


def find_case(db: Database, case_ref: str, survey: str | None) -> subjects.CaseMatch:
    """The one case with this reference (in ``survey`` if given)."""
    with db.reading() as conn:
        found = subjects.cases_with_ref(conn, case_ref.strip(), survey)
    where = f" in survey '{survey}'" if survey else ""
    if not found:
        raise SubjectError(f"no case '{case_ref}'{where}")
    if len(found) > 1:
        surveys = ", ".join(match.survey for match in found)
        raise SubjectError(
            f"case '{case_ref}' is in more than one survey ({surveys}): give --survey"
        )
    return found[0]


def export_subject(
    db: Database,
    case_ref: str,
    survey: str | None,
    *,
    actor: Any,
    now: datetime,
    **how: Any,
) -> dict[str, Any]:
    """Everything held about the case, table by table; the view is audited (with ``how``:
    the page or command it was seen by, never anything about the victim)."""
    match = find_case(db, case_ref, survey)
    with db.snapshot() as conn:
        records = subjects.records_of(conn, match.id)
    with db.transaction() as session:
        audit.record(
            session,
            actor,
            "subject_export",
            object_type="case",
            object_id=match.id,
            now=now,
            **how,
        )
    return {"survey": match.survey, "case_ref": match.case_ref, "held": records}


def _refuse_live_call(conn: Connection, match: subjects.CaseMatch) -> None:
    if subjects.live_attempts(conn, match.id):
        raise SubjectError(
            f"a call to case '{match.case_ref}' is under way: erase it once the call ends"
        )


def erase_subject(
    db: Database,
    case_ref: str,
    survey: str | None,
    *,
    answers: bool,
    recordings: RecordingStore | None,
    actor: Any,
    now: datetime,
    **how: Any,
) -> subjects.Erased:
    """Remove the case's personal data everywhere it is held: its recordings where they
    are kept (Twilio), then everything in the database (and with ``answers`` its answers
    too), in one transaction with its audit entry. Refused while a call to the case is
    under way, and (nothing erased) when a recording cannot be deleted yet. ``how``: the
    page or command it was asked for by, for the audit entry."""
    match = find_case(db, case_ref, survey)
    with db.reading() as conn:
        _refuse_live_call(conn, match)
        urls = subjects.recordings_of(conn, match.id)
    if delete_recordings(recordings, urls):
        raise SubjectError(
            "not all of the victim's recordings could be deleted at Twilio yet: nothing "
            "else was erased; try again later"
        )
    with db.transaction() as session:
        conn = session.connection()
        _refuse_live_call(conn, match)
        erased = subjects.erase(conn, match.id, answers=answers, now=now)
        audit.record(
            session,
            actor,
            "subject_erase",
            object_type="case",
            object_id=match.id,
            now=now,
            survey=match.survey,
            answers_removed=answers,
            interviews=erased.interviews,
            answers=erased.answers,
            recordings=len(erased.recordings),
            **how,
        )
    return erased
