"""Placing one outbound attempt, and what its status callbacks mean for the case."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from ivr.campaigns.limiter import CallRateLimiter
from ivr.campaigns.policy import Outcome
from ivr.campaigns.scheduler import Campaign, CampaignError, campaign_for, replan_after
from ivr.config import Settings
from ivr.engine import Status
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.store import campaigns as store
from ivr.store import turns
from ivr.store.db import Database
from ivr.store.statuses import FINAL_CALL
from ivr.telephony.port import CallRequest, Telephony, TelephonyError

log = logging.getLogger(__name__)

#: How an interview's final status ends the attempt that carried it.
OUTCOME_OF_INTERVIEW = {
    Status.COMPLETED.value: Outcome.COMPLETED_INTERVIEW,
    Status.PARTIAL.value: Outcome.PARTIAL,
    Status.REFUSED.value: Outcome.REFUSED,
    Status.CALLBACK_REQUESTED.value: Outcome.CALLBACK_REQUESTED,
    Status.WRONG_NUMBER.value: Outcome.WRONG_NUMBER,
    "wrong_person": Outcome.WRONG_NUMBER,
    Status.UNSAFE.value: Outcome.UNSAFE,
    Status.NO_RESPONSE.value: Outcome.NO_SCREENER,
    Status.SCREENED_OUT.value: Outcome.SCREENED_OUT,
    Status.QUOTA_FULL.value: Outcome.QUOTA_FULL,
}


def outcome_of_interview(status: str) -> Outcome:
    """How an interview's status after a call ends the call's attempt. An interview still
    in progress when its call ended never had the hang-up applied: nobody confirmed
    anything we know of, so it counts as no screener completed."""
    return OUTCOME_OF_INTERVIEW.get(status, Outcome.NO_SCREENER)


#: No call within this long after the information message (Ofcom's persistent misuse rules).
QUIET_AFTER_INFO = timedelta(hours=72)
OUTCOME_OF_CALL_STATUS = {
    "no-answer": Outcome.NO_ANSWER,
    "busy": Outcome.BUSY,
    "failed": Outcome.FAILED,
    "canceled": Outcome.CANCELLED,
}


@dataclass(frozen=True)
class Dialled:
    """What placing an attempt did: ``placed``, ``skipped`` (with why) or ``failed``."""

    result: str
    detail: str = ""


def voice_url(settings: Settings, attempt_public_id: str) -> str:
    """The Voice URL an outbound call asks Twilio to fetch when answered."""
    return f"{settings.public_base_url}/twilio/voice?attempt={attempt_public_id}"


def status_url(settings: Settings, attempt_public_id: str) -> str:
    """Where Twilio reports the outbound call's progress."""
    return f"{settings.public_base_url}/twilio/status?attempt={attempt_public_id}"


def place_call(
    db: Database,
    registry: QuestionnaireRegistry,
    settings: Settings,
    telephony: Telephony,
    limiter: CallRateLimiter,
    attempt_public_id: str,
    now: datetime,
) -> Dialled:
    """Dial one queued attempt, at most once whatever happens to this process.

    The attempt is taken (queued -> dialing) and committed before Twilio is asked, so a
    re-run of this job, or a second worker, finds it taken and does nothing. If the process
    dies after that commit, the attempt stays ``dialing``: a status callback reconciles it
    if the call was placed, and otherwise the scheduler closes it later; it is never
    dialled again.
    """
    with db.begin() as conn:
        attempt = store.outbound_attempt(conn, attempt_public_id=attempt_public_id, lock=True)
        if attempt is None:
            return Dialled("skipped", "no such attempt")
        if attempt.status != "queued":
            return Dialled("skipped", f"attempt is already {attempt.status}")
        try:
            campaign = campaign_for(registry, attempt.survey)
        except CampaignError as exc:
            _call_off(conn, None, attempt, now, reason=str(exc))
            return Dialled("skipped", str(exc))
        why_not = _why_not_now(conn, campaign, attempt, now)
        if why_not:
            _call_off(conn, campaign, attempt, now, reason=why_not)
            return Dialled("skipped", why_not)
        if not store.claim_for_dialing(conn, attempt.id, now):
            return Dialled("skipped", "taken by another worker")
    limiter.acquire()
    request = CallRequest(
        to=attempt.phone,
        from_=settings.twilio_from_number,
        url=voice_url(settings, attempt.public_id),
        status_callback=status_url(settings, attempt.public_id),
        timeout_seconds=campaign.policy.ring_timeout_seconds,
        machine_detection="Enable",
    )
    try:
        placed = telephony.place_call(request)
    except TelephonyError as exc:
        if exc.status is None:
            # No answer from the API: it may have taken the call. Leave the attempt to its
            # status callbacks, or to the scheduler's sweep of stranded attempts.
            # The error's text is not logged: a provider's message may quote the number.
            log.warning(
                "attempt %s: Twilio did not answer (%s); not redialling",
                attempt.public_id,
                type(exc.__cause__ or exc).__name__,
            )
            return Dialled("failed", "unknown whether placed: no answer from the API")
        with db.begin() as conn:
            if store.finish_attempt(
                conn, attempt.id, status="failed", outcome=Outcome.NOT_PLACED.value, now=now
            ):
                replan_after(conn, campaign, attempt.case_id, attempt.id, Outcome.NOT_PLACED, now)
        log.warning(
            "attempt %s: Twilio refused the call (HTTP %s, code %s)",
            attempt.public_id,
            exc.status,
            exc.code,
        )
        return Dialled("failed", f"refused: HTTP {exc.status} code {exc.code}")
    with db.begin() as conn:
        store.note_placed(conn, attempt.id, placed.sid, now)
    return Dialled("placed", placed.sid)


def _why_not_now(
    conn: Connection, campaign: Campaign, attempt: store.Attempt, now: datetime
) -> str:
    """Why the attempt must not ring now ("" if it may): checked again at dial time because
    a queue can hold a job past its window or past a change of heart."""
    if store.campaign_status(conn, campaign.survey) != "running":
        return "campaign paused"
    if not campaign.policy.may_start(now):
        return "outside the calling window"
    if store.on_do_not_call(conn, [attempt.phone]):
        return "number is on the do-not-call list"
    if store.closed_cases(conn, [attempt.case_id]):
        return "case already interviewed"
    if store.is_interviewer_only(conn, attempt.case_id):
        return "case is for interviewers only"
    return ""


def _call_off(
    conn: Connection,
    campaign: Campaign | None,
    attempt: store.Attempt,
    now: datetime,
    *,
    reason: str,
) -> None:
    """Cancel an attempt that never rang; it does not count against the case."""
    if not store.cancel_attempts(conn, [attempt.id], now):
        return
    store.uncount_attempt(conn, attempt.case_id, attempt.id, now)
    if campaign is not None:
        replan_after(conn, campaign, attempt.case_id, None, Outcome.CANCELLED, now)
    log.info("attempt %s called off: %s", attempt.public_id, reason)


# --- status callbacks ---------------------------------------------------------------------


def record_call_status(
    conn: Connection,
    registry: QuestionnaireRegistry,
    attempt_public_id: str | None,
    form: Mapping[str, str],
    now: datetime,
) -> bool:
    """Apply a status callback to an outbound attempt, in the caller's transaction; False
    when the callback is not about an outbound attempt.

    Callbacks may come twice or out of order: the status only moves forward, and the
    first final status ends the attempt once; later ones change nothing.
    """
    call_sid = form.get("CallSid") or None
    attempt = (
        store.outbound_attempt(conn, attempt_public_id=attempt_public_id, lock=True)
        if attempt_public_id
        else store.outbound_attempt(conn, call_sid=call_sid, lock=True)
    )
    if attempt is None:
        return False
    call_status = form.get("CallStatus", "")
    answered_by = form.get("AnsweredBy") or None
    store.advance_status(
        conn, attempt.id, call_status, now, call_sid=call_sid, answered_by=answered_by
    )
    if call_status not in FINAL_CALL:
        return True
    outcome, choice = _outcome(conn, attempt.id, call_status, answered_by)
    duration = form.get("CallDuration", "")
    if not store.finish_attempt(
        conn,
        attempt.id,
        status=call_status,
        outcome=outcome.value,
        now=now,
        duration=int(duration) if duration.isdigit() else None,
    ):
        return True
    try:
        campaign = campaign_for(registry, attempt.survey)
    except CampaignError:
        # The survey is not loaded (the call heard the information message): no policy to
        # plan with, so the case rests for the 72 hours the rules ask after that message.
        store.release_case(conn, attempt.case_id, attempt.id, outcome=outcome.value, now=now)
        store.set_plan(conn, attempt.case_id, now=now, next_attempt_at=now + QUIET_AFTER_INFO)
        return True
    replan_after(
        conn, campaign, attempt.case_id, attempt.id, outcome, now, appointment_choice=choice
    )
    if outcome is Outcome.REFUSED:
        opt_out(conn, attempt.phone, reason=DECLINED[0], source=DECLINED[1], now=now)
    return True


def _outcome(
    conn: Connection, attempt_id: int, call_status: str, answered_by: str | None
) -> tuple[Outcome, str | None]:
    """How a finished call went, and the callback time a victim chose, if any."""
    if call_status in OUTCOME_OF_CALL_STATUS:
        return OUTCOME_OF_CALL_STATUS[call_status], None
    interview = store.interview_of_attempt(conn, attempt_id)
    if interview is not None:
        interview_status, state = interview
        return outcome_of_interview(interview_status), (state or {}).get("callback")
    stored_status, stored_answered_by = store.attempt_status_and_answerer(conn, attempt_id)
    by = answered_by or stored_answered_by or ""
    if by.startswith("machine") or by == "fax" or stored_status == "machine":
        return Outcome.MACHINE, None
    # Answered, yet no interview: the call could not go on and heard the information message.
    return Outcome.INFO_MESSAGE, None


def interview_ended(
    conn: Connection,
    registry: QuestionnaireRegistry,
    case_id: int,
    interview_status: str,
    callback_choice: str | None,
    now: datetime,
) -> None:
    """An inbound call's interview ended: the case's campaign goes on from there."""
    survey, _district = turns.case_survey_and_district(conn, case_id)
    try:
        campaign = campaign_for(registry, survey)
    except CampaignError:
        return
    outcome = outcome_of_interview(interview_status)
    # The victim's own call counts in the case's history, as the dialler's calls do.
    store.add_outcome(conn, case_id, outcome.value, now)
    replan_after(conn, campaign, case_id, None, outcome, now, appointment_choice=callback_choice)
    if outcome is Outcome.REFUSED:
        phone = store.phone_of_case(conn, case_id)
        opt_out(conn, phone, reason=DECLINED[0], source=DECLINED[1], now=now)


def cancel_pending_for_inbound(conn: Connection, case_id: int, now: datetime) -> int:
    """A victim rang in: attempts not yet dialled are cancelled and do not count."""
    pending = store.pending_attempts_for_case(conn, case_id)
    cancelled = store.cancel_attempts(conn, pending, now)
    for attempt_id in pending:
        store.uncount_attempt(conn, case_id, attempt_id, now)
    return cancelled


#: How a case whose number opted out closes: a refusal, because of the do-not-call list.
OPTED_OUT = ("2.11", "do_not_call")
#: Why, and where, a victim who declined the survey on a call was listed.
DECLINED = ("declined the survey", "survey call")


def opt_out(conn: Connection, phone: str, *, reason: str, source: str, now: datetime) -> None:
    """Never ring this number again, for any survey: list it and close its open cases."""
    store.add_do_not_call(conn, phone, reason=reason, source=source, now=now)
    cases = store.cases_with_phone(conn, phone)
    for case_id in cases:
        cancel_pending_for_inbound(conn, case_id, now)
    disposition, because = OPTED_OUT
    store.close_open_schedules(conn, cases, disposition=disposition, reason=because, now=now)
