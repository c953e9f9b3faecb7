"""What an administrator does to another account from the pages: the same changes as
``ivr users`` makes, each in one transaction with its audit entry."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ivr.accounts import audit, second_factor
from ivr.accounts.sessions import end_everywhere
from ivr.accounts.staff import AccountError, disable_user, enable_user, set_password
from ivr.store import audit as audit_store
from ivr.store import staff as staff_store
from ivr.store.db import Database
from ivr.store.models import User

#: Said in the audit entry of every change made from the administrator's pages.
VIA = "admin page"


class NoSuchAccount(LookupError):
    """No account has this id."""


def accounts(db: Database, now: datetime, session_hours: int) -> list[audit_store.AccountLine]:
    """Every account, with its sessions that could still be used (not ended, and started
    within the longest a session lasts)."""
    with db.reading() as conn:
        return audit_store.accounts_with_sessions(conn, now - timedelta(hours=session_hours))


def _account(session: Any, user_id: int) -> User:
    user = staff_store.user_by_id(session, user_id)
    if user is None:
        raise NoSuchAccount(user_id)
    return user


def sign_out_everywhere(db: Database, admin: Any, user_id: int, now: datetime) -> int:
    """End every session of the account (it stays enabled); how many were open."""
    with db.transaction() as session:
        user = _account(session, user_id)
        ended = end_everywhere(session, user.id, now)
        audit.record(
            session,
            admin,
            "sign_out_everywhere",
            object_type="user",
            object_id=user.id,
            now=now,
            sessions=ended,
            via=VIA,
        )
    return ended


def disable(db: Database, admin: Any, user_id: int, now: datetime) -> bool:
    """Disable the account and end its sessions; False if it was disabled already.
    An administrator cannot disable their own account (nobody might be left to enable it)."""
    if user_id == admin.id:
        raise AccountError("you cannot disable your own account")
    with db.transaction() as session:
        user = _account(session, user_id)
        if not user.active:
            return False
        disable_user(session, user, now)
        audit.record(
            session, admin, "disable_user", object_type="user", object_id=user.id, now=now, via=VIA
        )
    return True


def enable(db: Database, admin: Any, user_id: int, now: datetime) -> bool:
    """Let a disabled account sign in again; False if it was enabled already."""
    with db.transaction() as session:
        user = _account(session, user_id)
        if user.active:
            return False
        enable_user(session, user)
        audit.record(
            session, admin, "enable_user", object_type="user", object_id=user.id, now=now, via=VIA
        )
    return True


def reset_password(db: Database, admin: Any, user_id: int, password: str, now: datetime) -> None:
    """Give the account a new password (checked as every password is: AccountError says
    why one is refused); every session of it ends. An administrator changes their own
    password on the change-password page, which asks for the current one."""
    if user_id == admin.id:
        raise AccountError("change your own password on the Change password page")
    with db.transaction() as session:
        user = _account(session, user_id)
        set_password(session, user, password, now)
        audit.record(
            session,
            admin,
            "reset_password",
            object_type="user",
            object_id=user.id,
            now=now,
            via=VIA,
        )


def reset_second_factor(db: Database, admin: Any, user_id: int, now: datetime) -> bool:
    """Take the account's second factor away (a lost phone, used-up recovery codes): every
    session of it ends and it sets one up again at its next sign-in; whether it had one.
    An administrator's own is reset by another administrator or the command."""
    if user_id == admin.id:
        raise AccountError("another administrator must reset your own second factor")
    with db.transaction() as session:
        user = _account(session, user_id)
        had_one = second_factor.is_enabled(user)
        second_factor.reset(user)
        ended = end_everywhere(session, user.id, now)
        audit.record(
            session,
            admin,
            "reset_second_factor",
            object_type="user",
            object_id=user.id,
            now=now,
            had_one=had_one,
            sessions=ended,
            via=VIA,
        )
    return had_one
