"""Staff sessions that the server can end: at sign-out, on a new password, when the account
is disabled, and by an administrator; and that end by themselves after a while idle and
after a working day.

The browser's (signed, readable) session holds only a random token and the time of its
last request; the database keeps a digest of the token, the account and when and where
it signed in. A copy of the cookie is refused once its session has ended, however it
was kept.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import session
from sqlalchemy.orm import Session

from ivr.services import current_services
from ivr.store import staff as staff_store

#: Keys in the browser's session (Flask-Login keeps the account's id beside them).
TOKEN = "staff_session"
SEEN_AT = "seen_at"
#: The last request's time is written to the cookie at most this often, so that a page's
#: requests do not each send a new cookie; idle time is measured to within it.
SEEN_RESOLUTION = timedelta(minutes=1)
#: How long an account's sign-ins are kept: the addresses it signed in from in this time
#: are its usual ones (see :mod:`ivr.accounts.throttle`).
KEPT_FOR = timedelta(days=30)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def begin(db: Session, user_id: int, now: datetime, address: str | None) -> None:
    """Start a session of the account in the database and in this browser's session."""
    token = secrets.token_urlsafe(32)
    staff_store.forget_sessions_before(db, user_id, now - KEPT_FOR)
    staff_store.start_session(
        db, session_id=_digest(token), user_id=user_id, at=now, address=address
    )
    session[TOKEN] = token
    session[SEEN_AT] = int(now.timestamp())


def end_this(db: Session, now: datetime) -> None:
    """End the session of this browser, in the database too."""
    token = session.get(TOKEN)
    if isinstance(token, str):
        staff_store.end_session(db, _digest(token), now)


def end_everywhere(db: Session, user_id: int, now: datetime) -> int:
    """End every session of an account; how many were open."""
    return staff_store.end_sessions_of(db, user_id, now)


def signed_in_account(user_id: str) -> staff_store.Account | None:
    """The account this browser's session is signed in to, if the session has not ended,
    the account is active, and the session is neither idle too long nor too old."""
    token = session.get(TOKEN)
    seen_at = session.get(SEEN_AT)
    if not isinstance(token, str) or not isinstance(seen_at, int):
        return None
    try:
        key = int(user_id)
    except ValueError:
        return None
    svc = current_services()
    # A lone read without a transaction: on SQLite a transaction takes the write lock,
    # which every page load would then contend for with the webhooks.
    with svc.db.reading() as conn:
        found = staff_store.signed_in(conn, key, _digest(token))
    if found is None or not found.account.active:
        return None
    now = svc.clock()
    settings = svc.settings
    if now - found.started_at >= timedelta(hours=settings.session_max_hours):
        return None
    idle = now.timestamp() - seen_at
    if idle >= timedelta(minutes=settings.session_idle_minutes).total_seconds():
        return None
    if idle >= SEEN_RESOLUTION.total_seconds():
        session[SEEN_AT] = int(now.timestamp())
    return found.account
