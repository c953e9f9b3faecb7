"""``ivr campaign``: preview, start, pause, run and watch a survey's outbound calling."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ivr.accounts import audit
from ivr.campaigns import scheduler
from ivr.campaigns.quota_progress import progress_text, quota_progress
from ivr.commands.output import needs_schema
from ivr.jobs import InProcessQueue
from ivr.services import Services, current_services
from ivr.store import campaigns as store


@click.group("campaign")
def command() -> None:
    """Outbound survey campaigns."""


def _campaign(survey: str) -> scheduler.Campaign:
    try:
        return scheduler.campaign_for(current_services().questionnaires, survey)
    except scheduler.CampaignError as exc:
        raise click.ClickException(str(exc)) from None


def _echo(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            click.echo(f"{key}:")
            for name, count in value.items():
                click.echo(f"  {name}: {count}")
        else:
            click.echo(f"{key}: {value}")


SURVEY = click.option("--survey", required=True, help="Survey id, e.g. uss or vcas_exit.")
AS_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@command.command("preview")
@SURVEY
@AS_JSON
@needs_schema
def preview_command(survey: str, as_json: bool) -> None:
    """How many cases are eligible to ring now, and why the others are not."""
    svc = current_services()
    _echo(scheduler.preview(svc.db, _campaign(survey), svc.clock()), as_json)


def _set_status(survey: str, status: str) -> Services:
    """Set the campaign's status, audited as the campaign page's buttons are."""
    svc = current_services()
    _campaign(survey)
    now = svc.clock()
    with svc.db.transaction() as session:
        conn = session.connection()
        before = store.campaign_status(conn, survey)
        store.set_campaign_status(conn, survey, status, now)
        action = (
            "pause_campaign"
            if status == "paused"
            else "resume_campaign"
            if before == "paused"
            else "start_campaign"
        )
        audit.record(session, None, action, now=now, survey=survey, status_before=before, via="cli")
    return svc


@command.command("start")
@SURVEY
@needs_schema
def start_command(survey: str) -> None:
    """Start (or resume) calling: the next scheduler pass places its calls."""
    _announce_running(survey, _set_status(survey, "running"))


@command.command("resume")
@SURVEY
@needs_schema
def resume_command(survey: str) -> None:
    """Resume a paused campaign: the next scheduler pass places its calls, and the console
    deals its cases again."""
    svc = current_services()
    _campaign(survey)
    with svc.db.reading() as conn:
        state = store.campaign_status(conn, survey)
    if state != "paused":
        raise click.ClickException(f"campaign {survey} is {state}, not paused")
    _announce_running(survey, _set_status(survey, "running"))


def _announce_running(survey: str, svc: Services) -> None:
    if svc.settings.redis_url:
        click.echo(
            f"campaign {survey} running; the clock (rq cron workers.clock) and the workers "
            "(rq worker --with-scheduler) place the calls",
            err=True,
        )
    else:
        click.echo(
            f"campaign {survey} running; run `ivr campaign run --survey {survey}` "
            "to place the calls",
            err=True,
        )


@command.command("pause")
@SURVEY
@needs_schema
def pause_command(survey: str) -> None:
    """Stop starting new calls (calls under way finish); the console deals none of the
    survey's cases until it is resumed."""
    _set_status(survey, "paused")
    click.echo(f"campaign {survey} paused", err=True)


@command.command("status")
@SURVEY
@AS_JSON
@needs_schema
def status_command(survey: str, as_json: bool) -> None:
    """Eligible, in progress, completed, by disposition, calls placed today, next due;
    for a survey with quotas, each area's and cell's progress and the release plan."""
    svc = current_services()
    campaign = _campaign(survey)
    data = scheduler.status(svc.db, campaign, svc.clock())
    data["eligible_now"] = scheduler.preview(svc.db, campaign, svc.clock())["eligible"]
    if campaign.population is None:
        _echo(data, as_json)
        return
    # A survey of the public: each area's and cell's progress and the release plan after.
    with svc.db.reading() as conn:
        progress = quota_progress(
            conn,
            campaign.questionnaire,
            campaign.population,
            scheduler.local_today(campaign, svc.clock()),
        )
    if as_json:
        _echo({**data, "quotas": progress.as_dict()}, as_json)
        return
    _echo(data, as_json)
    for line in progress_text(progress):
        click.echo(line)


@command.command("run")
@SURVEY
@click.option("--once", is_flag=True, help="One scheduler pass, then exit.")
@click.option("--interval", default=30, show_default=True, help="Seconds between passes.")
@AS_JSON
@needs_schema
def run_command(survey: str, once: bool, interval: int, as_json: bool) -> None:
    """Run scheduler passes in the foreground, placing the due calls from this process.

    The calls are placed, not waited for: their progress arrives at the status webhook.
    Running a campaign that was never started starts it; a paused one stays paused
    until ``ivr campaign start``.
    """
    svc = current_services()
    campaign = _campaign(survey)
    try:
        svc.dialer()
    except Exception as exc:
        raise click.ClickException(str(exc)) from None
    with svc.db.begin() as conn:
        if store.campaign_status(conn, survey) == "not started":
            store.set_campaign_status(conn, survey, "running", svc.clock())
            click.echo(f"campaign {survey} started", err=True)
    # Calls are dialled here, whatever queue the app sends other jobs to.
    dial_here = InProcessQueue()
    while True:
        report = scheduler.tick(
            svc.db,
            campaign,
            dial_here,
            svc.clock(),
            max_concurrent_calls=svc.settings.max_concurrent_calls,
        )
        if as_json:
            click.echo(json.dumps(report.as_dict()))
        else:
            _say(report)
        if once:
            return
        time.sleep(interval)


def _say(report: scheduler.TickReport) -> None:
    if not report.running:
        click.echo(f"{report.survey}: campaign paused (ivr campaign start resumes it)", err=True)
        return
    parts = [f"planned {report.planned}", f"calls placed {len(report.queued)}"]
    if not report.window_open:
        parts.append("outside the calling window")
    if report.requeued:
        parts.append(f"requeued {report.requeued}")
    if report.stranded:
        parts.append(f"closed {report.stranded} attempts that never reported")
    if report.closed:
        parts.append("closed " + ", ".join(f"{n} {why}" for why, n in report.closed.items()))
    click.echo(f"{report.survey}: " + "; ".join(parts), err=True)
