"""``ivr users``: the staff accounts that sign in to the service-recovery pages."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.table import Table

from ivr.accounts import audit, second_factor
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
from ivr.admin.accounts import FormProblems, phone_problem, set_phone
from ivr.commands.output import console as output_console
from ivr.commands.output import csv_text, needs_schema
from ivr.services import current_services
from ivr.store import staff as staff_store
from ivr.store.models import User


@click.group("users")
def command() -> None:
    """Staff accounts: add, disable and enable, reset passwords and second factors, sign
    out and list them."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, as `echo "$PASSWORD" | ivr users add ...` or a secrets file gives it.
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@command.command("add")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="What the account may do.",
)
@click.option(
    "--district",
    "districts",
    multiple=True,
    help="A district a district research officer works (repeat for more).",
)
@click.option("--name", help="The person's name, as shown to colleagues.")
@click.option(
    "--phone",
    help="The person's own phone (any UK writing), which the console rings first.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin instead of a prompt.",
)
@needs_schema
def add_command(
    email: str,
    role: str,
    districts: Sequence[str],
    name: str | None,
    phone: str | None,
    password_stdin: bool,
) -> None:
    """Add an account; the password is asked for without echoing it."""
    e164 = _phone(phone) if phone is not None else None
    password = _read_password(password_stdin)
    try:
        with current_services().db.transaction() as session:
            user = add_user(
                session, email, role=role, password=password, districts=districts, name=name
            )
            user.phone = e164
            audit.record(
                session,
                None,
                "add_user",
                object_type="user",
                object_id=user.id,
                email=user.email,
                role=user.role,
                via="cli",
                # That it has a phone, never the number.
                **_has_phone(e164),
            )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    where = f" for {', '.join(user.districts)}" if user.districts else ""
    click.echo(f"added {user.email} ({Role(user.role).label}{where})")


def _has_phone(e164: str | None) -> dict[str, Any]:
    """The audit detail saying an account was given a phone (none when it was not)."""
    return {"phone": True} if e164 is not None else {}


def _phone(typed: str) -> str:
    """A typed phone number in E.164; the sample import's rules, its message otherwise."""
    e164, problem = phone_problem(typed)
    if e164 is None:
        raise click.BadParameter(problem or "not a phone number", param_hint="NUMBER/--phone")
    return e164


def _account(session: Any, email: str) -> User:
    try:
        address = normalise_email(email)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    user = staff_store.user_by_email(session, address)
    if user is None:
        raise click.ClickException(f"no account for {address}")
    return user


@command.command("disable")
@click.argument("email")
@needs_schema
def disable_command(email: str) -> None:
    """Disable an account: it can no longer sign in, and any session of it ends at once."""
    svc = current_services()
    with svc.db.transaction() as session:
        user = _account(session, email)
        if not user.active:
            click.echo(f"{user.email} was already disabled")
            return
        disable_user(session, user, svc.clock())
        audit.record(
            session,
            None,
            "disable_user",
            object_type="user",
            object_id=user.id,
            email=user.email,
            via="cli",
        )
    click.echo(f"disabled {user.email}")


@command.command("enable")
@click.argument("email")
@needs_schema
def enable_command(email: str) -> None:
    """Let a disabled account sign in again (no old session comes back)."""
    svc = current_services()
    with svc.db.transaction() as session:
        user = _account(session, email)
        if user.active:
            click.echo(f"{user.email} was already enabled")
            return
        enable_user(session, user)
        audit.record(session, None, "enable_user", object_type="user", object_id=user.id, via="cli")
    click.echo(f"enabled {user.email}")


@command.command("password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the new password from one line of stdin."
)
@needs_schema
def password_command(email: str, password_stdin: bool) -> None:
    """Reset an account's password (an administrator's reset: every session of it ends;
    the password must be long and hard to guess)."""
    svc = current_services()
    with svc.db.transaction() as session:
        user = _account(session, email)
    password = _read_password(password_stdin)
    try:
        with svc.db.transaction() as session:
            user = _account(session, email)
            set_password(session, user, password, svc.clock())
            audit.record(
                session, None, "reset_password", object_type="user", object_id=user.id, via="cli"
            )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new password set for {user.email}; every session of it has ended")


@command.command("phone")
@click.argument("email")
@click.argument("number", required=False)
@click.option("--clear", is_flag=True, help="Remove the account's phone.")
@needs_schema
def phone_command(email: str, number: str | None, clear: bool) -> None:
    """Record or change an account's own phone (the console rings it first, then bridges
    the victim), or remove it with --clear. Audited without the number."""
    if clear == (number is not None):
        raise click.UsageError("give either a NUMBER or --clear")
    if number is not None:
        _phone(number)
    svc = current_services()
    with svc.db.transaction() as session:
        user = _account(session, email)
        user_id, address = user.id, user.email
    try:
        done = set_phone(svc.db, None, user_id, number, svc.clock(), via="cli")
    except FormProblems as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{address}: phone {done}")


@command.command("sign-out")
@click.argument("email")
@needs_schema
def sign_out_command(email: str) -> None:
    """Sign an account out everywhere: every session of it ends at its next request (the
    account stays enabled; use this when a device is lost or a session was stolen)."""
    svc = current_services()
    with svc.db.transaction() as session:
        user = _account(session, email)
        ended = end_everywhere(session, user.id, svc.clock())
        audit.record(
            session,
            None,
            "sign_out_everywhere",
            object_type="user",
            object_id=user.id,
            sessions=ended,
            via="cli",
        )
    click.echo(f"signed {user.email} out of {ended} session(s)")


@command.command("reset-2fa")
@click.argument("email")
@needs_schema
def reset_second_factor_command(email: str) -> None:
    """Take an account's second factor away (a lost phone, used-up recovery codes): every
    session of it ends, and it sets a new one up when it next signs in."""
    svc = current_services()
    with svc.db.transaction() as session:
        user = _account(session, email)
        had_one = second_factor.is_enabled(user)
        second_factor.reset(user)
        ended = end_everywhere(session, user.id, svc.clock())
        audit.record(
            session,
            None,
            "reset_second_factor",
            object_type="user",
            object_id=user.id,
            had_one=had_one,
            sessions=ended,
            via="cli",
        )
    what = "second factor reset" if had_one else "had no second factor; any setup begun is cleared"
    click.echo(f"{user.email}: {what}; signed out of {ended} session(s)")


def account_rows(users: Sequence[User]) -> list[dict[str, Any]]:
    """Accounts as plain rows: never the password hash."""
    return [
        {
            "email": u.email,
            "name": u.name,
            "role": u.role,
            "districts": list(u.districts),
            "active": u.active,
            "created_at": u.created_at.isoformat(),
            "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None,
        }
        for u in users
    ]


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@needs_schema
def list_command(as_json: bool, as_csv: bool) -> None:
    """List every account, by email."""
    with current_services().db.transaction() as session:
        rows = account_rows(staff_store.all_users(session))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if as_csv:
        columns = ("email", "name", "role", "districts", "active", "last_login_at")
        click.echo(csv_text(rows, columns), nl=False)
        return
    # Markup off: names come from people and must print literally.
    console = output_console()
    if not rows:
        console.print("no accounts")
        return
    table = Table(title=f"Accounts ({len(rows)})")
    for column in ("email", "name", "role", "districts", "active", "last_login_at"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["email"],
            row["name"] or "",
            Role(row["role"]).label,
            ", ".join(row["districts"]),
            "yes" if row["active"] else "no",
            row["last_login_at"] or "never",
        )
    console.print(table)
