"""What an administrator does to accounts from the pages: the same changes as ``ivr users``
makes, each in one transaction with its audit entry. Adding an account and changing its
role, districts or phone check every field first and say what is wrong with each, so a
form can show each problem beside its field."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ivr.accounts import audit, second_factor
from ivr.accounts.passwords import password_problem
from ivr.accounts.sessions import end_everywhere
from ivr.accounts.staff import (
    AccountError,
    Role,
    add_user,
    disable_user,
    enable_user,
    normalise_email,
    set_password,
)
from ivr.store import audit as audit_store
from ivr.store import staff as staff_store
from ivr.store.db import Database
from ivr.store.models import User
from ivr.telephony.numbers import PhoneError, to_e164
from ivr.web.phones import uk_phone

#: Said in the audit entry of every change made from the administrator's pages.
VIA = "admin page"


#: The longest name, email and district the columns hold.
MAX_NAME = 100
MAX_EMAIL = 254
MAX_DISTRICT = 100
#: The longest phone number as typed that is read at all.
MAX_PHONE_TYPED = 40


class NoSuchAccount(LookupError):
    """No account has this id."""


class FormProblems(AccountError):
    """Fields of a form that will not do: ``problems`` maps each field to why."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = dict(problems)


def phone_problem(typed: str) -> tuple[str | None, str | None]:
    """A typed phone number as E.164, or why it will not do (the sample import's rules:
    a valid number of the UK, Guernsey, Jersey or the Isle of Man)."""
    text = typed.replace("\x00", "").strip()
    if len(text) > MAX_PHONE_TYPED:
        return None, "Enter a phone number of at most 40 characters, such as 0113 496 0001."
    try:
        return to_e164(text), None
    except PhoneError:
        return None, (
            "Enter a valid UK phone number, such as 0113 496 0001 or +44 113 496 0001 "
            "(Guernsey, Jersey and Isle of Man numbers are accepted too)."
        )


def districts_from(chosen: Iterable[str], typed: str) -> tuple[list[str], str | None]:
    """The districts ticked plus those typed (separated by commas), or why not."""
    names = [d.strip() for d in chosen] + [d.strip() for d in typed.split(",")]
    wanted = sorted({" ".join(d.split()) for d in names if d.strip()})
    for district in wanted:
        if len(district) > MAX_DISTRICT:
            return [], f"A district's name has at most {MAX_DISTRICT} characters."
        if not district.isprintable():
            return [], "A district's name must be letters, numbers and punctuation only."
    return wanted, None


def role_problem(role: str, districts: list[str]) -> str | None:
    """Why this role and these districts do not go together, or None."""
    if role not in {r.value for r in Role}:
        return "Choose a role."
    if role == Role.DISTRICT_OFFICER.value and not districts:
        return "Choose or type at least one district for a district research officer."
    if role != Role.DISTRICT_OFFICER.value and districts:
        return "Only district research officers have districts: clear them or change the role."
    return None


def generated_password() -> str:
    """A password nobody could guess, for the administrator to pass on once."""
    # 20 random characters of 55: far beyond any guessing, and easy to read out.
    alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(20))
        if password_problem(password) is None:
            return password


@dataclass
class NewAccount:
    """An account as the add form gives it, before it is checked."""

    email: str = ""
    name: str = ""
    role: str = ""
    districts: list[str] = field(default_factory=list)
    districts_typed: str = ""
    phone: str = ""
    password: str = ""
    password_again: str = ""
    generate_password: bool = False


@dataclass(frozen=True)
class Added:
    """An account just added: its id, email and the password made for it, if one was."""

    id: int
    email: str
    generated_password: str | None


def add_account(db: Database, admin: Any, form: NewAccount, now: datetime) -> Added:
    """Add an account from the form; FormProblems naming every field that will not do."""
    problems: dict[str, str] = {}
    email = ""
    try:
        email = normalise_email(form.email[: MAX_EMAIL + 1])
        if len(email) > MAX_EMAIL:
            problems["email"] = f"An email address has at most {MAX_EMAIL} characters."
    except AccountError:
        problems["email"] = "Enter an email address, such as sam.jones@force.example."
    name = " ".join(form.name.split())
    if len(name) > MAX_NAME:
        problems["name"] = f"A name has at most {MAX_NAME} characters."
    elif name and not name.isprintable():
        problems["name"] = "A name must be letters, numbers and punctuation only."
    districts, district_problem = districts_from(form.districts, form.districts_typed)
    problem = district_problem or role_problem(form.role, districts)
    if problem:
        problems["role" if form.role not in {r.value for r in Role} else "districts"] = problem
    phone = None
    if form.phone.strip():
        phone, problem = phone_problem(form.phone)
        if problem:
            problems["phone"] = problem
    password = generated_password() if form.generate_password else form.password
    if not form.generate_password:
        if password != form.password_again:
            problems["password"] = "The two passwords are not the same."
        else:
            problem = password_problem(password, (email, name))
            if problem:
                problems["password"] = problem[:1].upper() + problem[1:] + "."
    if problems:
        raise FormProblems(problems)
    with db.transaction() as session:
        if staff_store.user_by_email(session, email) is not None:
            raise FormProblems({"email": f"{email} already has an account."})
        user = add_user(
            session,
            email,
            role=form.role,
            password=password,
            districts=districts,
            name=name or None,
        )
        user.phone = phone
        audit.record(
            session,
            admin,
            "add_user",
            object_type="user",
            object_id=user.id,
            now=now,
            email=user.email,
            role=user.role,
            districts=list(user.districts),
            # Whether it has a phone, never the number.
            phone=phone is not None,
            password="generated" if form.generate_password else "chosen",
            via=VIA,
        )
        added = Added(user.id, user.email, password if form.generate_password else None)
    return added


def change_role(
    db: Database, admin: Any, user_id: int, role: str, districts: list[str], now: datetime
) -> bool:
    """Give an account a role (and a district research officer their districts); whether
    anything changed. Not one's own: an administrator could lock everyone out."""
    if user_id == admin.id:
        raise FormProblems({"role": "Another administrator must change your own role."})
    problem = role_problem(role, districts)
    if problem:
        raise FormProblems({"districts" if role in {r.value for r in Role} else "role": problem})
    with db.transaction() as session:
        user = _account(session, user_id)
        before_role, before_districts = user.role, sorted(user.districts or [])
        if (before_role, before_districts) == (role, districts):
            return False
        user.role = role
        user.districts = list(districts)
        audit.record(
            session,
            admin,
            "change_role",
            object_type="user",
            object_id=user.id,
            now=now,
            role_before=before_role,
            role=role,
            districts_before=before_districts,
            districts=list(districts),
            via=VIA,
        )
    return True


def set_phone(
    db: Database, admin: Any, user_id: int, typed: str | None, now: datetime, *, via: str = VIA
) -> str:
    """Record, change or (``typed`` None or blank) remove an account's own phone, the one
    the console rings to bridge a call; what was done: "recorded", "changed", "removed" or
    "unchanged". The audit entry says which, never the number."""
    phone = None
    if typed is not None and typed.strip():
        phone, problem = phone_problem(typed)
        if problem:
            raise FormProblems({"phone": problem})
    with db.transaction() as session:
        user = _account(session, user_id)
        before = user.phone
        if before == phone:
            return "unchanged"
        done = "removed" if phone is None else "recorded" if before is None else "changed"
        user.phone = phone
        audit.record(
            session,
            admin,
            "set_phone",
            object_type="user",
            object_id=user.id,
            now=now,
            change=done,
            via=via,
        )
    return done


def account_phones(db: Database) -> dict[int, str]:
    """Each account's own phone in UK format, by account id (only those with one)."""
    with db.transaction() as session:
        return {
            user.id: uk_phone(user.phone) for user in staff_store.all_users(session) if user.phone
        }


def sample_districts(db: Database) -> list[str]:
    """The districts the sample's cases name, to choose an officer's from."""
    with db.reading() as conn:
        return staff_store.sample_districts(conn)


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
