"""Accounts, roles, which referrals each role may see and work, and whose results.

District scoping is decided here and only here: every query and page that shows a
referral asks :func:`referral_scope` (the store narrows its queries to it) or
:func:`may_see` (one referral); every results page asks :func:`results_scope` and
:func:`results_surveys`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from ivr.accounts.passwords import password_problem
from ivr.results.model import Scope
from ivr.store import staff as staff_store
from ivr.store.models import Referral, User, utcnow
from ivr.store.referrals import EVERYTHING, NOTHING, ReferralScope

#: Surveys whose referrals go to the victim support service, not a police district.
SERVICE_SURVEYS = frozenset({"vcas_exit"})
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so that a wrong email takes as long as
    a wrong password and sign-in does not reveal which emails have accounts. Made at the
    first sign-in, not at import: every command and worker would pay for it otherwise."""
    return _hasher.hash("not a password of anyone")


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    DISTRICT_OFFICER = "district_officer"
    SERVICE_MANAGER = "service_manager"
    INTERVIEWER = "interviewer"
    ANALYST = "analyst"

    @property
    def works_queue(self) -> bool:
        """Whether the role works referrals at all (interviewers and analysts do not)."""
        return self not in (Role.INTERVIEWER, Role.ANALYST)

    @property
    def sees_results(self) -> bool:
        """Whether the role may read survey results (everyone but interviewers)."""
        return self is not Role.INTERVIEWER

    @property
    def label(self) -> str:
        return {
            "admin": "Administrator",
            "supervisor": "Supervisor",
            "district_officer": "District research officer",
            "service_manager": "Victim service manager",
            "interviewer": "Interviewer",
            "analyst": "Analyst (Commissioner's office)",
        }[self.value]


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


def hash_password(password: str, about: Iterable[str] = ()) -> str:
    """An argon2id hash of a password good enough to keep (see :mod:`passwords`);
    AccountError saying why when it is not. ``about``: the account's email and name."""
    problem = password_problem(password, about)
    if problem is not None:
        raise AccountError(problem)
    return _hasher.hash(password)


def normalise_email(email: str) -> str:
    """The sign-in name as stored: trimmed and lower-case; AccountError if not an email."""
    text = email.strip().lower()
    local, at, domain = text.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in text):
        raise AccountError(f"'{email}' is not an email address")
    return text


def add_user(
    session: Session,
    email: str,
    *,
    role: str,
    password: str,
    districts: Iterable[str] = (),
    name: str | None = None,
) -> User:
    """Create an account; district research officers need at least one district."""
    try:
        chosen = Role(role)
    except ValueError:
        raise AccountError(
            f"unknown role '{role}' (one of: {', '.join(r.value for r in Role)})"
        ) from None
    wanted = sorted({d.strip() for d in districts if d.strip()})
    if chosen is Role.DISTRICT_OFFICER and not wanted:
        raise AccountError("a district research officer needs --district (one or more)")
    if chosen is not Role.DISTRICT_OFFICER and wanted:
        raise AccountError(f"only district research officers have districts, not {chosen}")
    address = normalise_email(email)
    if staff_store.user_by_email(session, address) is not None:
        raise AccountError(f"{address} already has an account")
    return staff_store.add_user(
        session,
        email=address,
        name=name,
        role=chosen.value,
        districts=wanted,
        password_hash=hash_password(password, (address, name or "")),
        now=utcnow(),
    )


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active account with this email and password, or None (taking the same time
    whether the email is unknown, the password wrong, or the account disabled)."""
    try:
        address = normalise_email(email)
    except AccountError:
        address = ""
    user = staff_store.user_by_email(session, address) if address else None
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def set_password(session: Session, user: User, password: str, now: datetime) -> None:
    """Give the account a new password; every session of it ends (a thief's with them)."""
    user.password_hash = hash_password(password, (user.email, user.name or ""))
    staff_store.end_sessions_of(session, user.id, now)


def enable_user(session: Session, user: User) -> None:
    """Let a disabled account sign in again (with its password; no session comes back)."""
    user.active = True


def disable_user(session: Session, user: User, now: datetime) -> None:
    """Disable the account: it can no longer sign in, and every session of it ends (so
    enabling it again brings none of them back)."""
    user.active = False
    staff_store.end_sessions_of(session, user.id, now)


def referral_scope(user: Any) -> ReferralScope:
    """What ``user`` may see and work, as the store narrows its queries of referrals."""
    role = Role(user.role)
    if not user.active or not role.works_queue:
        return NOTHING
    if role in (Role.ADMIN, Role.SUPERVISOR):
        return EVERYTHING
    if role is Role.SERVICE_MANAGER:
        return ReferralScope(surveys=tuple(sorted(SERVICE_SURVEYS)))
    districts = tuple(user.districts or [])
    if not districts:
        return NOTHING
    return ReferralScope(districts=districts, not_surveys=tuple(sorted(SERVICE_SURVEYS)))


def may_see(user: Any, referral: Referral) -> bool:
    """Whether ``user`` may see and work this referral (the same rule as
    :func:`referral_scope`)."""
    role = Role(user.role)
    if not user.active or not role.works_queue:
        return False
    if role in (Role.ADMIN, Role.SUPERVISOR):
        return True
    if role is Role.SERVICE_MANAGER:
        return referral.survey in SERVICE_SURVEYS
    return referral.survey not in SERVICE_SURVEYS and referral.district in (user.districts or [])


def may_hear_recordings(user: Any) -> bool:
    """Whether the role may play the victim's recorded words (everyone who works
    referrals: they call the victim back about exactly that)."""
    return bool(user.active) and Role(user.role).works_queue


#: Whose results nobody may see: a reader with this scope is refused (403).
NO_RESULTS = Scope(districts=(), label="no districts", reasons=False)


def results_scope(user: Any) -> Scope:
    """Whose figures ``user`` may read: every district (administrators, supervisors,
    analysts, the victim service's managers for its own survey), a district research
    officer's own districts, or none (interviewers, disabled accounts). Only roles that
    work the referral queue may read dissatisfied victims' reasons: analysts never do."""
    role = Role(user.role)
    if not user.active or not role.sees_results:
        return NO_RESULTS
    if role is Role.DISTRICT_OFFICER:
        districts = tuple(user.districts or [])
        if not districts:
            return NO_RESULTS
        return Scope(districts=districts, label=", ".join(districts), reasons=True)
    return Scope(districts=None, label="all districts", reasons=role.works_queue)


def may_see_results(user: Any) -> bool:
    """Whether ``user`` may open the results pages at all."""
    return results_scope(user) != NO_RESULTS


def results_surveys(user: Any, surveys: Iterable[str]) -> list[str]:
    """The surveys among ``surveys`` whose results ``user`` may read: the victim service's
    managers read only the service's own surveys (as with referrals)."""
    if not may_see_results(user):
        return []
    if Role(user.role) is Role.SERVICE_MANAGER:
        return [s for s in surveys if s in SERVICE_SURVEYS]
    return list(surveys)
