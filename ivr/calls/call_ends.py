"""A call's final status callback in two statements (PostgreSQL): one read, one write.

The read finds the interview the call carries, the attempt it ends and the case's schedule;
the engine hangs the interview up and the campaign's rules plan the case's next call, as
the transaction's way does (``ivr.calls.webhooks.status``, ``ivr.campaigns.dialler``),
and one guarded statement writes it all. What it cannot do the same (a call with no
attempt of the dialler's or the victim's, a hang-up that switches language or revises a
referral, a guard another request tripped) is left to the transaction's way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection

from ivr.calls import interviews
from ivr.campaigns.dialler import (
    DECLINED,
    OPTED_OUT,
    OUTCOME_OF_CALL_STATUS,
    QUIET_AFTER_INFO,
    outcome_of_interview,
)
from ivr.campaigns.policy import Outcome
from ivr.campaigns.scheduler import CampaignError, campaign_for, plan_after
from ivr.engine import HangUp, Status
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.store import call_ends as store
from ivr.store import campaigns as campaign_store
from ivr.store import turns
from ivr.store.sealing import keyring_of
from ivr.store.turns import NewReferral


class CallEnded(NamedTuple):
    """What the two statements did: the referrals the hang-up raised, and whether all of
    the call's end was written (False: the transaction's way is to finish it)."""

    referrals: list[NewReferral]
    done: bool


def end_call(
    conn: Connection,
    registry: QuestionnaireRegistry,
    form: Mapping[str, str],
    attempt_public_id: str | None,
    *,
    due_days: int,
    now: datetime,
) -> CallEnded:
    """End a call that Twilio says is over, on ``conn`` outside any transaction."""
    call_sid, call_status = form["CallSid"], form["CallStatus"]
    facts = store.call_end(conn, call_sid, attempt_public_id)
    attempt = facts.attempt
    interview = facts.interview
    live = interview is not None and interview.status == Status.IN_PROGRESS.value
    duration = form.get("CallDuration", "")
    answered_by = form.get("AnsweredBy") or None
    if attempt is None or attempt.ended:
        if live:
            return CallEnded([], False)
        # A repeated callback (the attempt ended once), or a call that started nothing (a
        # caller we could not match): only what the callback says of the call (who
        # answered, its SID, its length) is kept, as the transaction's way keeps it.
        if attempt is not None and attempt.outbound:
            campaign_store.advance_outbound(
                conn,
                attempt_public_id=attempt_public_id,
                call_sid=call_sid,
                status=call_status,
                now=now,
                answered_by=answered_by,
            )
        else:
            turns.keep_call_progress(
                conn,
                call_sid,
                status=call_status,
                duration=int(duration) if duration.isdigit() else None,
                answered_by=answered_by,
                now=now,
            )
        return CallEnded([], True)
    carried_status, carried_state = attempt.interview_status, attempt.interview_state
    hang_up = None
    answered = set(facts.answered)
    if interview is not None and live:
        questionnaire, step = interviews.next_step(conn, interview, HangUp())
        kept = interviews.kept_in_one_statement(
            interview, questionnaire, step, due_days=due_days, now=now
        )
        if kept is None:
            return CallEnded([], False)
        hang_up = store.HangUp(
            interview.id,
            interview.step_no,
            kept.status,
            kept.state,
            kept.ended_at,
            kept.answers,
            kept.referrals,
        )
        answered |= {a["question_id"] for a in kept.answers if a["code"] is not None}
        if attempt.interview_id == interview.id:
            carried_status, carried_state = kept.status, kept.state
    if attempt.outbound:
        outcome, choice = _outbound_outcome(
            attempt, call_status, answered_by, carried_status, carried_state
        )
        attempt_outcome = outcome.value
    else:
        if carried_status is None:
            outcome, choice = None, None
        else:
            outcome = outcome_of_interview(carried_status)
            choice = (carried_state or {}).get("callback")
        attempt_outcome = call_status
    replan = None if outcome is None else _replan(registry, facts, outcome, choice, answered, now)
    opt_out = None
    if outcome is Outcome.REFUSED and replan is not None:
        if facts.active_attempt_id not in (None, attempt.id):
            # The case's own call queued meanwhile would be given back too: rare enough
            # for the transaction's way.
            return CallEnded([], False)
        # The number goes on the do-not-call list and every other case with it closes.
        opt_out = store.OptOut(
            attempt.phone,
            keyring_of(conn.dialect).phone_hashes(attempt.phone),
            *DECLINED,
            *OPTED_OUT,
        )
    ended = store.end_call(
        conn,
        hang_up=hang_up,
        ending=store.Ending(
            attempt.id,
            attempt.outbound,
            call_status,
            attempt_outcome,
            int(duration) if duration.isdigit() else None,
            answered_by,
            call_sid,
        ),
        replan=replan,
        now=now,
        opt_out=opt_out,
    )
    return CallEnded(ended.referrals, ended.ended)


def _outbound_outcome(
    attempt: store.EndingAttempt,
    call_status: str,
    answered_by: str | None,
    interview_status: str | None,
    interview_state: Mapping[str, object] | None,
) -> tuple[Outcome, str | None]:
    """How a finished outbound call went, and the callback time a victim chose, as
    ``dialler.record_call_status`` judges it."""
    if call_status in OUTCOME_OF_CALL_STATUS:
        return OUTCOME_OF_CALL_STATUS[call_status], None
    if interview_status is not None:
        choice = (interview_state or {}).get("callback")
        return outcome_of_interview(interview_status), choice if isinstance(choice, str) else None
    by = answered_by or attempt.answered_by or ""
    if by.startswith("machine") or by == "fax" or attempt.status == "machine":
        return Outcome.MACHINE, None
    return Outcome.INFO_MESSAGE, None


def _replan(
    registry: QuestionnaireRegistry,
    facts: store.CallEnd,
    outcome: Outcome,
    choice: object,
    answered: set[str],
    now: datetime,
) -> store.Replan | None:
    """The case's schedule after the call, as ``scheduler.replan_after`` plans it."""
    attempt = facts.attempt
    assert attempt is not None
    try:
        campaign = campaign_for(registry, attempt.survey)
    except CampaignError:
        if not attempt.outbound:
            return None
        # As record_call_status: the case rests for the 72 hours after the information
        # message the call heard.
        return store.Replan(
            attempt.case_id, outcome.value, True, next_attempt_at=now + QUIET_AFTER_INFO
        )
    schedule = facts.schedule
    if schedule is None:
        return store.Replan(attempt.case_id, outcome.value, attempt.outbound, plan=False)
    # Planned on the schedule as it is once the outcome is added, as replan_after reads it.
    if not attempt.outbound or facts.active_attempt_id == attempt.id:
        schedule = replace(schedule, outcomes=(*schedule.outcomes, outcome.value))

    def core_answers(ids: Sequence[str]) -> int:
        return len(answered.intersection(ids))

    planned = plan_after(
        campaign,
        schedule,
        outcome,
        now,
        starts=lambda: facts.starts,
        core_answers=core_answers,
        appointment_choice=choice if isinstance(choice, str) else None,
    )
    return store.Replan(
        attempt.case_id,
        outcome.value,
        attempt.outbound,
        next_attempt_at=planned.next_attempt_at,
        disposition=planned.disposition,
        reason=planned.reason,
        appointment_at=planned.appointment_at,
        interviewer_only=planned.interviewer_only,
    )
