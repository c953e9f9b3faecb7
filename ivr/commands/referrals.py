"""``ivr referrals list``: service-recovery referrals and action alerts to work."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from ivr.accounts import audit
from ivr.admin.audit_log import by_command
from ivr.commands.output import console as output_console
from ivr.commands.output import csv_text, needs_schema
from ivr.results.reports import list_referrals
from ivr.services import current_services


@click.group("referrals")
def command() -> None:
    """Referrals for districts and services."""


def _reasons_text(reasons: list[dict[str, Any]]) -> str:
    return "\n".join(f"{r['question']}: {r['answer']}" for r in reasons)


#: What a referral listing shows: no phone numbers or names, only the case reference.
COLUMNS = ("case_ref", "survey", "kind", "district", "status", "created_at", "reasons")


def referrals_table(rows: list[dict[str, Any]]) -> Table:
    """A table of referrals; it shows no phone numbers or names, only the case reference."""
    table = Table(title=f"Referrals ({len(rows)})")
    for name in COLUMNS:
        table.add_column(name)
    for row in rows:
        table.add_row(
            row["case_ref"],
            row["survey"],
            row["kind"],
            row["district"],
            row["status"],
            row["created_at"],
            _reasons_text(row["reasons"]),
        )
    return table


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@click.option("--survey", help="Only this survey's referrals.")
@click.option("--status", help="Only referrals with this status, e.g. new.")
@needs_schema
def list_command(as_json: bool, as_csv: bool, survey: str | None, status: str | None) -> None:
    """List referrals, newest first (audited: the victims' reasons are shown)."""
    svc = current_services()
    with svc.db.transaction() as session:
        rows = list_referrals(session, survey=survey, status=status)
        audit.record(
            session,
            None,
            "list_referrals",
            now=svc.clock(),
            survey=survey,
            status=status,
            referrals=len(rows),
            **by_command(),
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if as_csv:
        reasons = [{**r, "reasons": _reasons_text(r["reasons"]).split("\n")} for r in rows]
        click.echo(csv_text(reasons, COLUMNS), nl=False)
        return
    # Markup off: district names and answers come from data and must print literally.
    console = output_console()
    if not rows:
        console.print("no referrals")
        return
    console.print(referrals_table(rows))
