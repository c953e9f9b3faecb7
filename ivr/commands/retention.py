"""``ivr retention run``: apply every survey's retention periods now (the clock does it
daily)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click
from rich.table import Table

from ivr.commands.output import console, needs_schema
from ivr.privacy.retention import run_retention
from ivr.services import current_services, recording_store


@click.group("retention")
def command() -> None:
    """How long what is held is kept."""


@command.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would go, change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@needs_schema
def run(dry_run: bool, as_json: bool) -> None:
    """Erase personal details, delete recordings and remove answers and audit entries
    that have outlived their retention periods (each survey's ``retention:``, and
    AUDIT_RETENTION_DAYS)."""
    svc = current_services()
    done = run_retention(
        svc.db,
        svc.questionnaires,
        None if dry_run else recording_store(svc),
        audit_days=svc.settings.audit_retention_days,
        now=svc.clock(),
        dry_run=dry_run,
    )
    if as_json:
        click.echo(json.dumps(asdict(done), indent=2))
        return
    verb = "would go" if dry_run else "done"
    table = Table(title=f"Retention ({'dry run: nothing changed' if dry_run else 'applied'})")
    for name in (
        "survey",
        "cases erased",
        "recordings deleted",
        "recordings failed",
        "interviews' answers removed",
    ):
        table.add_column(name, justify="left" if name == "survey" else "right")
    for line in done.surveys:
        table.add_row(
            line.survey,
            str(line.cases_erased),
            str(line.recordings_deleted),
            str(line.recordings_failed),
            str(line.interviews_emptied),
        )
    console().print(table)
    click.echo(f"audit entries older than the audit period: {done.audit_entries_removed} {verb}")
