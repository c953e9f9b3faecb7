"""The staff accounts' SQL (sign-in lookups, adding, disabling, listing), their sessions
and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from ivr.store.models import AuditEntry, Case, StaffSession, User

# --- accounts -----------------------------------------------------------------------------


class Account(NamedTuple):
    """What the signed-in view of an account is made of, read on every request."""

    id: int
    email: str
    name: str | None
    role: str
    districts: list[str] | None
    active: bool


def account(conn: Connection, user_id: int) -> Account | None:
    """The account with this id as a plain row (active or not), or None."""
    row = conn.execute(
        select(User.id, User.email, User.name, User.role, User.districts, User.active).where(
            User.id == user_id
        )
    ).one_or_none()
    return None if row is None else Account(*row)


class SignedIn(NamedTuple):
    """An account with one of its sessions that has not been ended."""

    account: Account
    started_at: datetime


def signed_in(conn: Connection, user_id: int, session_id: str) -> SignedIn | None:
    """The account with this id, if the session with this id is its own and not ended."""
    row = conn.execute(
        select(
            User.id,
            User.email,
            User.name,
            User.role,
            User.districts,
            User.active,
            StaffSession.started_at,
        )
        .join(StaffSession, StaffSession.user_id == User.id)
        .where(
            User.id == user_id,
            StaffSession.id == session_id,
            StaffSession.ended_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else SignedIn(Account(*row[:6]), row[6])


def account_id_by_email(conn: Connection, email: str) -> int | None:
    """The id of the account with this (normalised) email, or None."""
    return conn.execute(select(User.id).where(User.email == email)).scalar_one_or_none()


def user_by_email(session: Session, email: str) -> User | None:
    """The account signing in with this (normalised) email, or None."""
    return session.scalars(select(User).where(User.email == email).limit(1)).first()


def user_by_id(session: Session, user_id: int) -> User | None:
    """The account with this id, or None."""
    return session.get(User, user_id)


def user_for_update(session: Session, user_id: int) -> User | None:
    """The account with this id, its row locked until the transaction ends (so that two
    requests spending one second-factor code cannot both succeed), or None."""
    return session.scalars(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def add_user(
    session: Session,
    *,
    email: str,
    name: str | None,
    role: str,
    districts: Sequence[str],
    password_hash: str,
    now: datetime,
) -> User:
    """Store a new, active account and give it its id."""
    user = User(
        email=email,
        name=name,
        role=role,
        districts=list(districts),
        password_hash=password_hash,
        active=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def sample_districts(conn: Connection) -> list[str]:
    """Every district the sample's cases name, in order: what an officer may be given."""
    return list(
        conn.scalars(
            select(Case.district)
            .where(Case.district.is_not(None))
            .distinct()
            .order_by(Case.district)
        )
    )


def all_users(session: Session) -> list[User]:
    """Every account, by email."""
    return list(session.scalars(select(User).order_by(User.email)).all())


def active_users_with_role(session: Session, role: str) -> list[User]:
    """The active accounts of one role, oldest first."""
    return list(
        session.scalars(
            select(User).where(User.active.is_(True), User.role == role).order_by(User.id)
        )
    )


def active_users_without_role(session: Session, role: str) -> list[User]:
    """The active accounts of every role but one, by email."""
    return list(
        session.scalars(
            select(User).where(User.active.is_(True), User.role != role).order_by(User.email)
        )
    )


# --- sessions -----------------------------------------------------------------------------


def start_session(
    session: Session, *, session_id: str, user_id: int, at: datetime, address: str | None
) -> None:
    """Record a new signed-in session of an account."""
    session.add(StaffSession(id=session_id, user_id=user_id, started_at=at, address=address))


def end_session(session: Session, session_id: str, at: datetime) -> None:
    """End one session (if it has not ended already)."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
        .values(ended_at=at)
    )


def end_sessions_of(session: Session, user_id: int, at: datetime) -> int:
    """End every session of an account still open; how many there were."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=at)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_sessions_before(session: Session, user_id: int, before: datetime) -> None:
    """Delete an account's sessions started before ``before``: past use even as a usual
    address."""
    session.execute(
        delete(StaffSession).where(
            StaffSession.user_id == user_id, StaffSession.started_at < before
        )
    )


def signed_in_from(conn: Connection, email: str, address: str, since: datetime) -> bool:
    """Whether the account with this email has signed in from ``address`` since ``since``."""
    found = conn.execute(
        select(StaffSession.id)
        .join(User, User.id == StaffSession.user_id)
        .where(
            User.email == email,
            StaffSession.address == address,
            StaffSession.started_at >= since,
        )
        .limit(1)
    ).first()
    return found is not None


# --- the audit log ------------------------------------------------------------------------


class AuditRow(NamedTuple):
    """An audit entry with the email of whoever it was by (None for the system)."""

    entry: AuditEntry
    actor_email: str | None


def add_audit_entry(
    session: Session,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    object_type: str | None,
    object_id: int | None,
    details: dict[str, Any],
    address: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit log (written when the session flushes)."""
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
        address=address,
    )
    session.add(entry)
    return entry


def audit_entries_since(session: Session, since: datetime) -> list[AuditRow]:
    """Entries at or after ``since``, oldest first, with the actor's email."""
    rows = session.execute(
        select(AuditEntry, User.email)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(AuditEntry.at >= since)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return [AuditRow(entry, email) for entry, email in rows]
