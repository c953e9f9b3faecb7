"""The campaign pages: each survey's outbound calling, its cases by AAPOR disposition,
what the next scheduler pass would do with the open cases and why, and the start, pause
and resume buttons (the same change as ``ivr campaign``, audited the same way).

Pausing a campaign stops the dialler and the console's "next case" alike; a case already
open in the console stays workable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from ivr.accounts import audit
from ivr.accounts.guards import access_required
from ivr.accounts.staff import Role
from ivr.campaigns import scheduler
from ivr.campaigns.dispositions import Disposition
from ivr.services import current_services
from ivr.store import campaigns as store
from ivr.store.db import Database
from ivr.wording import local_time, words

bp = Blueprint(
    "admin_campaigns", __name__, url_prefix="/admin/campaigns", template_folder="templates"
)

#: Who sees and runs the campaigns: administrators and supervisors.
CAMPAIGN_ROLES = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value})
campaign_access_required = access_required(lambda user: user.role in CAMPAIGN_ROLES)

#: Each change of a campaign's status: the status it needs, the one it leaves, the audit
#: action (as ``ivr campaign`` writes it) and what the page says once it is done.
CHANGES = {
    "start": ("not started", "running", "start_campaign", "Calling has started."),
    "pause": ("running", "paused", "pause_campaign", "Calling is paused."),
    "resume": ("paused", "running", "resume_campaign", "Calling has resumed."),
}
#: What each standing of an open case means, as the preview says it.
STANDING_WORDS = {
    "on_a_call": "On a call now",
    "held": "Held in the console by an interviewer",
    "not_planned": "Not planned yet: the pass plans them, or closes those never to be rung",
    "interviewer_only": "For interviewers only (not safe to talk on an automated call)",
    "no_call_time": "No call time set",
    "attempts_used": "Every attempt used: the pass closes them",
    "appointment": "Appointment booked with the victim",
    "later": "Waiting for their next call time",
}


class CampaignChangeError(ValueError):
    """The campaign is not in the status the change needs; the message says why."""


def change_status(
    db: Database, actor: Any, survey: str, change: str, now: datetime, via: str
) -> str:
    """Start, pause or resume a survey's campaign, audited; the status it had before.
    Starting a paused campaign resumes it, as ``ivr campaign start`` does."""
    needs, leaves, action, _ = CHANGES[change]
    with db.transaction() as session:
        # One transaction for the change and its audit entry: neither without the other.
        conn = session.connection()
        before = store.campaign_status(conn, survey)
        allowed = {needs, "paused"} if change == "start" else {needs}
        if before not in allowed:
            raise CampaignChangeError(f"calling for this survey is {before}")
        store.set_campaign_status(conn, survey, leaves, now)
        audit.record(session, actor, action, now=now, survey=survey, status_before=before, via=via)
    return before


@dataclass(frozen=True)
class Reason:
    """One line of the preview: why so many open cases stand where they do."""

    key: str
    words: str
    cases: int


def next_pass(
    db: Database, campaign: scheduler.Campaign, state: str, now: datetime
) -> list[Reason]:
    """What the next scheduler pass would do with the survey's open cases, by reason."""
    with db.reading() as conn:
        counts = store.next_pass_standings(conn, campaign.survey, now, campaign.policy.max_attempts)
    due = counts.get("due", 0)
    if state == "paused":
        due_words = "Due, but calling is paused: neither the dialler nor the console gives them out"
    elif state != "running":
        # Interviewers may still work a sample by hand before the dialler is started.
        due_words = "Due, but calling is not started: the dialler rings none (interviewers may)"
    elif campaign.policy.may_start(now):
        due_words = "Due now: the next pass rings them"
    else:
        opens = local_time(campaign.policy.windows.next_open(now))
        due_words = f"Due, waiting for the calling window (it opens {opens})"
    reasons = [Reason("due", due_words, due)] if due else []
    reasons += [
        Reason(key, text, counts[key]) for key, text in STANDING_WORDS.items() if counts.get(key)
    ]
    if counts.get("closed"):
        reasons.append(Reason("closed", "Closed with a final disposition", counts["closed"]))
    return reasons


def _campaign(survey: str) -> scheduler.Campaign:
    try:
        return scheduler.campaign_for(current_services().questionnaires, survey)
    except scheduler.CampaignError:
        abort(404)


def _title(survey: str) -> str:
    return current_services().questionnaires.current(survey).questionnaire.title


@bp.get("")
@campaign_access_required
def index() -> Any:
    """Every survey with outbound calling, and whether it is running."""
    svc = current_services()
    rows = []
    for survey in svc.questionnaires.surveys():
        try:
            scheduler.campaign_for(svc.questionnaires, survey)
        except scheduler.CampaignError:
            continue
        with svc.db.reading() as conn:
            state = store.campaign_status(conn, survey)
        rows.append({"survey": survey, "title": _title(survey), "status": state})
    return render_template("admin/campaigns.html", campaigns=rows)


@bp.get("/<survey>")
@campaign_access_required
def campaign(survey: str) -> Any:
    """One survey's campaign: status, dispositions, the next pass's preview, the buttons."""
    svc = current_services()
    chosen = _campaign(survey)
    now = svc.clock()
    status = scheduler.status(svc.db, chosen, now)
    with svc.db.reading() as conn:
        by_code = store.counts_by(conn, survey)["by_disposition"]
    labels = {d.code: d.label for d in Disposition}
    dispositions = [(code, labels.get(code, ""), n) for code, n in sorted(by_code.items())]
    eligibility = scheduler.preview(svc.db, chosen, now)
    return render_template(
        "admin/campaign.html",
        survey=survey,
        title=_title(survey),
        status=status,
        dispositions=dispositions,
        reasons=next_pass(svc.db, chosen, status["status"], now),
        eligibility=eligibility,
        not_eligible=[(words(k), n) for k, n in eligibility["not_eligible"].items()],
        next_due=local_time(datetime.fromisoformat(status["next_due"]))
        if status["next_due"]
        else None,
    )


def _change(survey: str, change: str) -> BaseResponse:
    svc = current_services()
    _campaign(survey)
    try:
        change_status(
            svc.db,
            current_user._get_current_object(),
            survey,
            change,
            svc.clock(),
            via="campaign page",
        )
    except CampaignChangeError as refused:
        flash(f"Nothing changed: {refused}.", "error")
    else:
        flash(CHANGES[change][3], "success")
    return redirect(url_for("admin_campaigns.campaign", survey=survey))


@bp.post("/<survey>/start")
@campaign_access_required
def start(survey: str) -> BaseResponse:
    """Start calling: the next scheduler pass rings the cases due."""
    return _change(survey, "start")


@bp.post("/<survey>/pause")
@campaign_access_required
def pause(survey: str) -> BaseResponse:
    """Pause calling: no new call starts and the console deals none of its cases."""
    return _change(survey, "pause")


@bp.post("/<survey>/resume")
@campaign_access_required
def resume(survey: str) -> BaseResponse:
    """Resume calling after a pause."""
    return _change(survey, "resume")
