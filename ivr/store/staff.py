"""The staff accounts' SQL (sign-in lookups, adding, disabling, listing) and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ivr.store.models import AuditEntry, User

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


def user_by_email(session: Session, email: str) -> User | None:
    """The account signing in with this (normalised) email, or None."""
    return session.scalars(select(User).where(User.email == email).limit(1)).first()


def user_by_id(session: Session, user_id: int) -> User | None:
    """The account with this id, or None."""
    return session.get(User, user_id)


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
) -> AuditEntry:
    """Append one entry to the audit log (written when the session flushes)."""
    entry = AuditEntry(
        at=at,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details,
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
