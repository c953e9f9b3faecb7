"""``ivr subject``: a victim's right to see what is held about them, and to erasure."""

from __future__ import annotations

import json
import sys

import click

from ivr.admin.audit_log import by_command
from ivr.commands.output import needs_schema
from ivr.privacy.subject import SubjectError, erase_subject, export_subject
from ivr.services import current_services, recording_store


@click.group("subject")
def command() -> None:
    """A data subject's requests (subject access, erasure)."""


def _fail(exc: SubjectError) -> None:
    click.echo(str(exc), err=True)
    sys.exit(1)


@command.command("export")
@click.option("--case", "case_ref", required=True, help="The case reference, e.g. CLE/26/1234.")
@click.option("--survey", help="The survey, when the reference is in more than one.")
@needs_schema
def export(case_ref: str, survey: str | None) -> None:
    """Print everything held about one victim's case as JSON (audited)."""
    svc = current_services()
    try:
        held = export_subject(svc.db, case_ref, survey, actor=None, now=svc.clock(), **by_command())
    except SubjectError as exc:
        _fail(exc)
    click.echo(json.dumps(held, indent=2, ensure_ascii=False, default=str))


@command.command("erase")
@click.option("--case", "case_ref", required=True, help="The case reference, e.g. CLE/26/1234.")
@click.option("--survey", help="The survey, when the reference is in more than one.")
@click.option(
    "--answers",
    is_flag=True,
    help="Remove the coded answers too (by default they are kept, pseudonymous, for trends).",
)
@needs_schema
def erase(case_ref: str, survey: str | None, answers: bool) -> None:
    """Erase one victim's personal data everywhere the database holds it (audited; it
    cannot be undone). Their answers stay, with nothing that says whose they are, unless
    --answers is given."""
    svc = current_services()
    if sys.stdin.isatty() and not click.confirm(
        f"Erase the personal data of case {case_ref}? This cannot be undone", default=False
    ):
        sys.exit(1)
    try:
        erased = erase_subject(
            svc.db,
            case_ref,
            survey,
            answers=answers,
            recordings=recording_store(svc),
            actor=None,
            now=svc.clock(),
            **by_command(),
        )
    except SubjectError as exc:
        _fail(exc)
    kept = "removed" if answers else "kept, pseudonymous"
    click.echo(
        f"erased case {case_ref}: {erased.interviews} interview(s), {erased.turns} call "
        f"turn(s), {erased.transcriptions} transcription(s), {erased.referral_events} "
        f"referral note(s); answers {kept} ({erased.answers}); "
        f"{len(erased.recordings)} recording(s) deleted",
        err=True,
    )
