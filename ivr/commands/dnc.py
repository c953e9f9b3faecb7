"""``ivr dnc``: the do-not-call list, which every survey's campaign respects."""

from __future__ import annotations

import json

import click

from ivr.accounts import audit
from ivr.admin.audit_log import by_command
from ivr.campaigns import dialler
from ivr.commands.output import needs_schema
from ivr.services import current_services
from ivr.store import campaigns as store
from ivr.telephony.numbers import PhoneError, to_e164


@click.group("dnc")
def command() -> None:
    """Numbers never to ring again."""


def _number(phone: str) -> str:
    try:
        return to_e164(phone)
    except PhoneError as exc:
        raise click.ClickException(str(exc)) from None


@command.command("add")
@click.argument("phone")
@click.option("--reason", default="asked not to be called", show_default=True)
@needs_schema
def add_command(phone: str, reason: str) -> None:
    """Never ring PHONE again, for any survey; its open cases are closed."""
    svc = current_services()
    number = _number(phone)
    with svc.db.begin() as conn:
        already = bool(store.on_do_not_call(conn, [number]))
        dialler.opt_out(conn, number, reason=reason, source="command line", now=svc.clock())
    click.echo(
        f"{number} {'was already' if already else 'is now'} on the do-not-call list", err=True
    )


@command.command("remove")
@click.argument("phone")
@needs_schema
def remove_command(phone: str) -> None:
    """Allow PHONE to be rung again (closed cases stay closed)."""
    svc = current_services()
    number = _number(phone)
    with svc.db.begin() as conn:
        removed = store.remove_do_not_call(conn, number)
    if not removed:
        raise click.ClickException(f"{number} is not on the do-not-call list")
    click.echo(f"{number} removed from the do-not-call list", err=True)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@needs_schema
def list_command(as_json: bool) -> None:
    """The list, newest first (numbers are personal data: mind where this goes; the
    listing is audited)."""
    svc = current_services()
    with svc.db.reading() as conn:
        rows = store.do_not_call_list(conn)
    with svc.db.transaction() as session:
        # How many numbers were shown, never which.
        audit.record(
            session,
            None,
            "view_do_not_call",
            now=svc.clock(),
            numbers=len(rows),
            **by_command(),
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        click.echo(f"{row['phone']}\t{row['added_at']:%Y-%m-%d}\t{row['source']}\t{row['reason']}")
    click.echo(f"{len(rows)} numbers", err=True)
