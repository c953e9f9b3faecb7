"""Callers handed over: victims who pressed 0 on an automated call and are being put
through to the team, listed at the top of the console until an interviewer takes one.

Taking a caller holds the case for that interviewer (as being given a case does) and
makes its interview theirs where it stands: the answers so far are kept and the console
carries the same interview on, while the victim is on the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ivr.console.assisted import CONSOLE_ROLES, ConsoleError
from ivr.console.script import language_in_english
from ivr.store import handovers

if TYPE_CHECKING:
    from ivr.store.db import Database


@dataclass(frozen=True)
class WaitingCaller:
    """A handed-over caller as the console lists them: nothing that names the victim."""

    case_id: int
    case_ref: str
    survey: str
    since: datetime
    #: The interview's language by the name staff know it ("Welsh"); None: the
    #: questionnaire's own.
    language: str | None


def waiting(db: Database) -> list[WaitingCaller]:
    """Callers being put through whom no interviewer has taken, longest waiting first."""
    with db.reading() as conn:
        rows = handovers.handed_over_callers(conn)
    return [
        WaitingCaller(
            row["case_id"],
            row["case_ref"],
            row["survey"],
            row["handed_over_at"],
            language_in_english(row["language"]) if row["language"] else None,
        )
        for row in rows
    ]


def take(db: Database, user: Any, case_id: int, now: datetime) -> int:
    """Hold a handed-over caller's case for ``user`` and give them its interview; the
    interview's id. ConsoleError when another interviewer took it first or it has ended."""
    if not getattr(user, "active", False) or user.role not in CONSOLE_ROLES:
        raise ConsoleError("only interviewers may take callers")
    with db.begin() as conn:
        interview_id = handovers.take_handed_over(conn, user.id, case_id, now)
    if interview_id is None:
        raise ConsoleError("another interviewer has taken this caller, or the call has ended")
    return interview_id
