"""The audit log's searches for the administrator's pages, and the accounts listed beside
them (with their sessions still open)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, func, or_, select

from ivr.store.models import AuditEntry, Case, Interview, Referral, StaffSession, User


@dataclass(frozen=True)
class AuditSearch:
    """Which entries to find; every part left None matches every entry."""

    #: The email of the account the entries are by (already normalised).
    actor_email: str | None = None
    #: Entries about this case: the case itself, its interviews and its referrals.
    case_ref: str | None = None
    action: str | None = None
    #: From this moment (inclusive) to that one (exclusive), both aware.
    start: datetime | None = None
    end: datetime | None = None


class AuditLine(NamedTuple):
    """One entry as the log's pages and files show it."""

    id: int
    at: datetime
    actor_email: str | None
    address: str | None
    action: str
    object_type: str | None
    object_id: int | None
    details: dict[str, Any]


def _about_case(case_ref: str) -> Any:
    cases = select(Case.id).where(Case.case_ref == case_ref)
    interviews = select(Interview.id).where(Interview.case_id.in_(cases))
    referrals = select(Referral.id).where(Referral.case_id.in_(cases))
    return or_(
        (AuditEntry.object_type == "case") & AuditEntry.object_id.in_(cases),
        (AuditEntry.object_type == "interview") & AuditEntry.object_id.in_(interviews),
        (AuditEntry.object_type == "referral") & AuditEntry.object_id.in_(referrals),
    )


def _where(query: Select[Any], search: AuditSearch) -> Select[Any]:
    if search.actor_email is not None:
        query = query.where(User.email == search.actor_email)
    if search.case_ref is not None:
        query = query.where(_about_case(search.case_ref))
    if search.action is not None:
        query = query.where(AuditEntry.action == search.action)
    if search.start is not None:
        query = query.where(AuditEntry.at >= search.start)
    if search.end is not None:
        query = query.where(AuditEntry.at < search.end)
    return query


def find_entries(
    conn: Connection, search: AuditSearch, *, limit: int | None = None, offset: int = 0
) -> list[AuditLine]:
    """The entries that match, newest first (``limit`` of them from ``offset``, or all)."""
    query = _where(
        select(
            AuditEntry.id,
            AuditEntry.at,
            User.email,
            AuditEntry.address,
            AuditEntry.action,
            AuditEntry.object_type,
            AuditEntry.object_id,
            AuditEntry.details,
        ).outerjoin(User, User.id == AuditEntry.actor_id),
        search,
    ).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return [AuditLine(*row) for row in conn.execute(query)]


def count_entries(conn: Connection, search: AuditSearch) -> int:
    """How many entries match."""
    query = _where(
        select(func.count(AuditEntry.id)).outerjoin(User, User.id == AuditEntry.actor_id),
        search,
    )
    return int(conn.execute(query).scalar_one())


def actions_in_log(conn: Connection) -> list[str]:
    """Every action the log holds at least once, in alphabetical order."""
    return list(conn.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


class AccountLine(NamedTuple):
    """An account as the administrator's list shows it: never its password hash."""

    id: int
    email: str
    name: str | None
    role: str
    districts: list[str]
    active: bool
    last_login_at: datetime | None
    open_sessions: int
    #: Whether the account signs in with a second factor.
    second_factor: bool


def accounts_with_sessions(conn: Connection, started_since: datetime) -> list[AccountLine]:
    """Every account by email, with how many of its sessions started since
    ``started_since`` have not ended (older ones can no longer be used)."""
    open_sessions = (
        select(StaffSession.user_id, func.count(StaffSession.id).label("open"))
        .where(StaffSession.ended_at.is_(None), StaffSession.started_at >= started_since)
        .group_by(StaffSession.user_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            User.id,
            User.email,
            User.name,
            User.role,
            User.districts,
            User.active,
            User.last_login_at,
            func.coalesce(open_sessions.c.open, 0),
            User.totp_enabled_at.is_not(None),
        )
        .outerjoin(open_sessions, open_sessions.c.user_id == User.id)
        .order_by(User.email)
    )
    return [
        AccountLine(
            id, email, name, role, list(districts or []), active, last, int(count), bool(factor)
        )
        for id, email, name, role, districts, active, last, count, factor in rows
    ]
