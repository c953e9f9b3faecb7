"""Outbound campaigns: who to ring, when, and the scheduler pass that queues the calls."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ivr.campaigns import quota_status
from ivr.campaigns.dispositions import Disposition, final_disposition
from ivr.campaigns.eligibility import Reason, Verdict, judge
from ivr.campaigns.policy import CallingPolicy, Outcome
from ivr.jobs import JobQueue
from ivr.questionnaire.population import AREA, Population
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.store import campaigns as store
from ivr.store.db import Database

log = logging.getLogger(__name__)

#: Cases planned per scheduler pass: a large new sample is planned over a few passes
#: rather than in one long transaction.
PLAN_BATCH = 5000
#: A queued attempt no worker has taken after this long is queued again (its job was
#: lost, e.g. Redis restarted); taking it is idempotent, so a duplicate job is harmless.
REQUEUE_AFTER = timedelta(minutes=2)
#: A call a worker started dialling that no status callback has reached after this long
#: is closed as not placed. It is never redialled: whether Twilio took it cannot be known.
STRANDED_AFTER = timedelta(minutes=30)
#: Outcomes after which a case is not rung again, and the disposition each one means.
FINAL_OUTCOMES = {
    Outcome.COMPLETED_INTERVIEW: Disposition.COMPLETE,
    Outcome.REFUSED: Disposition.REFUSAL,
    Outcome.OPTED_OUT: Disposition.REFUSAL,
    Outcome.WRONG_NUMBER: Disposition.WRONG_NUMBER,
    Outcome.SCREENED_OUT: Disposition.NO_ELIGIBLE_RESPONDENT,
    Outcome.QUOTA_FULL: Disposition.QUOTA_FILLED,
}
#: Open cases for interviewers only looked at per scheduler pass, to close the finished.
INTERVIEWER_ONLY_BATCH = 500
JOB_PLACE_CALL = "workers.dialer.place_call"


class CampaignError(ValueError):
    """A survey cannot be campaigned: unknown, or its questionnaire declares no calling."""


@dataclass(frozen=True)
class Campaign:
    """A survey's questionnaire and the calling policy its campaign runs under."""

    questionnaire: Questionnaire
    policy: CallingPolicy
    #: A survey of the public's population figures, for its quotas (None without quotas).
    population: Population | None = None

    @property
    def survey(self) -> str:
        return self.questionnaire.id

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.policy.windows.tz)


def campaign_for(registry: QuestionnaireRegistry, survey: str) -> Campaign:
    """The campaign of a loaded survey; CampaignError naming what is wrong otherwise."""
    if survey not in registry.surveys():
        raise CampaignError(
            f"unknown survey '{survey}' (loaded: {', '.join(registry.surveys()) or 'none'})"
        )
    q = registry.current(survey).questionnaire
    cached = q.derived.get(__name__)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if q.campaign is None:
        raise CampaignError(f"survey '{survey}' declares no 'campaign:' for outbound calls")
    try:
        policy = CallingPolicy.from_settings(q.campaign.calling)
    except ValueError as exc:
        raise CampaignError(f"survey '{survey}': campaign.calling: {exc}") from None
    # A policy's bank holidays take milliseconds to build, and every status callback
    # needs one: kept with the questionnaire it comes from.
    population = registry.population(survey) if q.quotas is not None else None
    campaign = q.derived[__name__] = Campaign(q, policy, population)
    return campaign


def local_today(campaign: Campaign, now: datetime) -> date:
    """The date in the force's zone at ``now``: eligibility counts whole local days."""
    return now.astimezone(campaign.zone).date()


def _start_of(campaign: Campaign, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=campaign.zone).astimezone(UTC)


def judge_case(
    campaign: Campaign,
    case: store.CaseToCall,
    now: datetime,
    *,
    do_not_call: bool,
    interviewed: bool,
) -> Verdict:
    """A scheduled case's eligibility at ``now``."""
    return judge(
        campaign.questionnaire,
        case.fields,
        local_today(campaign, now),
        do_not_call=do_not_call,
        interviewed=interviewed,
    )


# --- planning -----------------------------------------------------------------------------


def plan(conn: Connection, campaign: Campaign, now: datetime, limit: int = PLAN_BATCH) -> int:
    """Give unplanned cases their first call time, or close those never to be rung."""
    cases = store.unplanned(conn, campaign.survey, limit)
    if not cases:
        return 0
    listed = store.on_do_not_call(conn, (c.phone for c in cases))
    closed = store.closed_cases(conn, [c.case_id for c in cases])
    store.set_plans(
        conn,
        [
            (
                case.case_id,
                *_plan_for(
                    conn,
                    campaign,
                    case,
                    judge_case(
                        campaign,
                        case,
                        now,
                        do_not_call=case.phone in listed,
                        interviewed=case.case_id in closed,
                    ),
                    now,
                ),
            )
            for case in cases
        ],
        now,
    )
    return len(cases)


def _plan_for(
    conn: Connection, campaign: Campaign, case: store.CaseToCall, verdict: Verdict, now: datetime
) -> tuple[datetime | None, str | None, str | None]:
    """(next call, disposition, reason) for a case's eligibility verdict."""
    if verdict.reason.final:
        code = _closing_disposition(conn, campaign, case, verdict.reason).code
        return None, code, verdict.reason.value
    assert verdict.first_day is not None
    first = campaign.policy.first_attempt(
        eligible_from=max(_start_of(campaign, verdict.first_day), now), now=now
    )
    return first, None, None


def _apply_verdict(
    conn: Connection, campaign: Campaign, case: store.CaseToCall, verdict: Verdict, now: datetime
) -> None:
    following, code, reason = _plan_for(conn, campaign, case, verdict, now)
    store.set_plan(
        conn, case.case_id, now=now, next_attempt_at=following, disposition=code, reason=reason
    )


def _closing_disposition(
    conn: Connection, campaign: Campaign, case: store.CaseToCall, reason: Reason
) -> Disposition:
    """The disposition of a case that will not be rung (again) for ``reason``.

    A case whose calling period ran out is still in the sample: it keeps what its calls
    found, or is "not attempted" (3.11) if it was never rung. Only a case outside the
    survey's population (crime type, age, consent at closure, no date to count from) is
    out of sample (4.10).
    """
    if reason is Reason.DO_NOT_CALL:
        return Disposition.REFUSAL
    if reason is Reason.ALREADY_INTERVIEWED:
        return Disposition.COMPLETE
    if reason is Reason.PAST_PERIOD:
        return (
            case_disposition(conn, campaign, case.case_id, case.outcomes, attempts_exhausted=True)
            or Disposition.NOT_ATTEMPTED
        )
    if reason is Reason.NO_SAFETY_CHECK:
        # In the survey's population, but the questionnaire cannot ring it safely.
        return Disposition.NOT_ATTEMPTED
    return Disposition.OUT_OF_SAMPLE


def case_disposition(
    conn: Connection,
    campaign: Campaign,
    case_id: int,
    outcomes: tuple[str, ...] | list[str],
    *,
    attempts_exhausted: bool,
) -> Disposition | None:
    """The final disposition of a case's calls, with an interview that stopped early
    weighed against the questionnaire's partial threshold."""
    return disposition_of(
        campaign,
        outcomes,
        lambda ids: store.core_answers(conn, case_id, ids),
        attempts_exhausted=attempts_exhausted,
    )


def disposition_of(
    campaign: Campaign,
    outcomes: Sequence[str],
    core_answers: Callable[[Sequence[str]], int],
    *,
    attempts_exhausted: bool,
) -> Disposition | None:
    """:func:`case_disposition` with ``core_answers`` telling how many of these core
    questions the case's interview answered (asked only when an interview stopped early)."""
    met = False
    if Outcome.PARTIAL.value in outcomes:
        q = campaign.questionnaire
        met = core_answers(q.core_ids) >= q.partial_threshold
    return final_disposition(
        [Outcome(o) for o in outcomes],
        attempts_exhausted=attempts_exhausted,
        partial_threshold_met=met,
    )


# --- the scheduler pass -------------------------------------------------------------------


@dataclass
class TickReport:
    """What one scheduler pass did."""

    survey: str
    running: bool = True
    window_open: bool = True
    planned: int = 0
    queued: list[str] = field(default_factory=list)
    requeued: int = 0
    stranded: int = 0
    closed: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey": self.survey,
            "running": self.running,
            "window_open": self.window_open,
            "planned": self.planned,
            "calls_queued": len(self.queued),
            "requeued": self.requeued,
            "stranded": self.stranded,
            "closed": dict(self.closed),
        }


def tick(
    db: Database, campaign: Campaign, queue: JobQueue, now: datetime, *, max_concurrent_calls: int
) -> TickReport:
    """One scheduler pass: plan new cases, queue the calls now due, tidy lost attempts.

    Calls are queued only while the campaign runs, inside a calling window,
    and up to the concurrent-call limit; the jobs are sent after the transaction commits,
    so a worker always finds its attempt.
    """
    report = TickReport(campaign.survey)
    requeue: list[str] = []
    with db.begin() as conn:
        report.running = store.campaign_status(conn, campaign.survey) == "running"
        report.planned = plan(conn, campaign, now)
        report.stranded = _close_stranded(conn, campaign, now)
        _close_finished_interviewer_only(conn, campaign, now, report)
        if report.running:
            requeue = store.queued_attempts(conn, campaign.survey, now - REQUEUE_AFTER)
            report.window_open = campaign.policy.may_start(now)
            if report.window_open:
                capacity = max_concurrent_calls - store.live_calls(conn) - len(requeue)
                if capacity > 0:
                    report.queued = _queue_due(conn, campaign, now, capacity, report)
    for attempt_public_id in [*requeue, *report.queued]:
        queue.enqueue(JOB_PLACE_CALL, attempt_public_id)
    report.requeued = len(requeue)
    return report


def _queue_due(
    conn: Connection, campaign: Campaign, now: datetime, capacity: int, report: TickReport
) -> list[str]:
    """Create attempts for up to ``capacity`` due cases still eligible; their public ids."""
    queued: list[str] = []
    # Read a little more than the capacity: some due cases turn out ineligible now.
    cases = store.due(
        conn,
        campaign.survey,
        now,
        capacity * 2,
        waiting_districts=_full_areas(conn, campaign, now),
    )
    listed = store.on_do_not_call(conn, (c.phone for c in cases))
    closed = store.closed_cases(conn, [c.case_id for c in cases])
    for case in cases:
        if len(queued) >= capacity:
            break
        verdict = judge_case(
            campaign,
            case,
            now,
            do_not_call=case.phone in listed,
            interviewed=case.case_id in closed,
        )
        if not verdict.eligible and not _keeps_appointment(case, verdict):
            if verdict.reason.final:
                report.closed[verdict.reason.value] += 1
            _apply_verdict(conn, campaign, case, verdict, now)
            continue
        if case.attempts >= campaign.policy.max_attempts:
            _close_exhausted(conn, campaign, case, now)
            report.closed["attempts_exhausted"] += 1
            continue
        created = store.add_attempt(conn, case, scheduled_for=case.next_attempt_at or now, now=now)
        if created is not None:
            queued.append(created[1])
    return queued


def _full_areas(conn: Connection, campaign: Campaign, now: datetime) -> set[str]:
    """A survey of the public's areas whose own total is full this quarter: their numbers
    wait, open, for the next quarter (the sample knows a number's area, nothing more)."""
    if campaign.population is None:
        return set()
    full = quota_status.full_cells(
        conn, campaign.questionnaire, campaign.population, local_today(campaign, now)
    )
    return {area for area, kind, _group in full if kind == AREA}


def _keeps_appointment(case: store.CaseToCall, verdict: Verdict) -> bool:
    # A victim who asked to be rung back is rung back, even just past the calling period.
    return case.appointment_at is not None and verdict.reason is Reason.PAST_PERIOD


def _close_exhausted(
    conn: Connection,
    campaign: Campaign,
    case: store.CaseToCall,
    now: datetime,
) -> None:
    planned = _exhausted(campaign, case, lambda ids: store.core_answers(conn, case.case_id, ids))
    store.set_plan(
        conn, case.case_id, now=now, disposition=planned.disposition, reason=planned.reason
    )


def _close_finished_interviewer_only(
    conn: Connection, campaign: Campaign, now: datetime, report: TickReport
) -> None:
    """Close the cases for interviewers only whose calling period or attempts ran out: the
    dialler's due query never sees them, so this pass does."""
    cases = store.interviewer_only_open(conn, campaign.survey, INTERVIEWER_ONLY_BATCH)
    for case in cases:
        verdict = judge_case(campaign, case, now, do_not_call=False, interviewed=False)
        if verdict.reason.final and not _keeps_appointment(case, verdict):
            report.closed[verdict.reason.value] += 1
            _apply_verdict(conn, campaign, case, verdict, now)
        elif case.attempts >= campaign.policy.max_attempts:
            report.closed["attempts_exhausted"] += 1
            _close_exhausted(conn, campaign, case, now)


def _close_stranded(conn: Connection, campaign: Campaign, now: datetime) -> int:
    stranded = store.stranded_attempts(conn, campaign.survey, now - STRANDED_AFTER)
    for attempt in stranded:
        if store.finish_attempt(
            conn, attempt.id, status="not-placed", outcome=Outcome.NOT_PLACED.value, now=now
        ):
            log.warning(
                "attempt %s: no callback %s after dialling; closed, not redialled",
                attempt.public_id,
                STRANDED_AFTER,
            )
            replan_after(conn, campaign, attempt.case_id, attempt.id, Outcome.NOT_PLACED, now)
    return len(stranded)


# --- after a call -------------------------------------------------------------------------


@dataclass(frozen=True)
class NextPlan:
    """What a case's schedule becomes after a call: its next call (and whether that is an
    appointment), or its final disposition; and whether only interviewers ring it now."""

    next_attempt_at: datetime | None = None
    disposition: str | None = None
    reason: str | None = None
    appointment_at: datetime | None = None
    interviewer_only: bool = False


def replan_after(
    conn: Connection,
    campaign: Campaign,
    case_id: int,
    attempt_id: int | None,
    outcome: Outcome,
    now: datetime,
    *,
    appointment_choice: str | None = None,
) -> None:
    """Plan a case's next call after an attempt (or an inbound call) ended with ``outcome``."""
    if attempt_id is not None:
        store.release_case(conn, case_id, attempt_id, outcome=outcome.value, now=now)
    case = store.open_schedule_of(conn, case_id)
    if case is None:
        return
    planned = plan_after(
        campaign,
        case,
        outcome,
        now,
        starts=lambda: store.attempt_starts(conn, case_id),
        core_answers=lambda ids: store.core_answers(conn, case_id, ids),
        appointment_choice=appointment_choice,
    )
    if planned.interviewer_only:
        store.make_interviewer_only(conn, case_id, now)
    store.set_plan(
        conn,
        case_id,
        now=now,
        next_attempt_at=planned.next_attempt_at,
        disposition=planned.disposition,
        reason=planned.reason,
        appointment_at=planned.appointment_at,
    )


def plan_after(
    campaign: Campaign,
    case: store.CaseToCall,
    outcome: Outcome,
    now: datetime,
    *,
    starts: Callable[[], list[datetime]],
    core_answers: Callable[[Sequence[str]], int],
    appointment_choice: str | None = None,
) -> NextPlan:
    """The plan of an open case (its schedule as it is once the call's outcome is added)
    after a call ended with ``outcome``. ``starts`` gives when the case's calls began and
    ``core_answers`` how many of these core questions its interview answered: each is
    asked only when the plan depends on it."""
    if outcome in FINAL_OUTCOMES:
        return NextPlan(disposition=FINAL_OUTCOMES[outcome].code, reason=outcome.value)
    if (
        outcome is not Outcome.CALLBACK_REQUESTED
        and _calls_since_stopping(case.outcomes) > campaign.policy.resume_calls
    ):
        # Rung back as often as the policy allows to carry on an interview that stopped
        # part way, however those calls went (a victim who asked for a call-back still
        # gets it): it stays partial (1.2) or a break-off (2.12), by the threshold.
        return _exhausted(campaign, case, core_answers, reason="stopped_part_way")
    # Not safe to talk (or not a clear yes): no automated call ever again; an interviewer
    # tries later, starting with the safety question.
    unsafe = outcome is Outcome.UNSAFE
    if outcome is Outcome.CALLBACK_REQUESTED:
        when = campaign.policy.appointment(appointment_choice or "tomorrow_daytime", now)
        return NextPlan(next_attempt_at=when, appointment_at=when)
    following = campaign.policy.next_attempt(
        outcome=outcome, attempts_made=case.attempts, previous_starts=starts(), now=now
    )
    if following is None:
        return replace(_exhausted(campaign, case, core_answers), interviewer_only=unsafe)
    return NextPlan(next_attempt_at=following, interviewer_only=unsafe)


def _exhausted(
    campaign: Campaign,
    case: store.CaseToCall,
    core_answers: Callable[[Sequence[str]], int],
    reason: str = "attempts_exhausted",
) -> NextPlan:
    """The plan of a case closed because it was rung as often as it may be."""
    found = disposition_of(campaign, case.outcomes, core_answers, attempts_exhausted=True)
    return NextPlan(disposition=(found or Disposition.NO_ANSWER).code, reason=reason)


#: Outcomes of calls that never rang: they do not use up a call to carry on.
_NOT_RUNG = frozenset({Outcome.CANCELLED.value, Outcome.NOT_PLACED.value})


def _calls_since_stopping(outcomes: tuple[str, ...]) -> int:
    """Calls since an interview first stopped part way, that one included (0 if it never
    did): how many chances the victim has had to carry on, plus one."""
    if Outcome.PARTIAL.value not in outcomes:
        return 0
    since = outcomes[outcomes.index(Outcome.PARTIAL.value) :]
    return sum(1 for outcome in since if outcome not in _NOT_RUNG)


# --- preview and status -------------------------------------------------------------------


def preview(db: Database, campaign: Campaign, now: datetime) -> dict[str, Any]:
    """How many of the survey's cases are eligible now, and why the others are not."""
    reasons: Counter[str] = Counter()
    with db.begin() as conn:  # a transaction: the cases stream through a cursor
        listed = store.do_not_call_phones(conn)
        closed = store.closed_cases_of_survey(conn, campaign.survey)
        cases = store.cases_to_judge(conn, campaign.survey)
        today = local_today(campaign, now)
        for case in cases:
            verdict = judge(
                campaign.questionnaire,
                case.fields,
                today,
                do_not_call=case.phone in listed,
                interviewed=case.case_id in closed,
            )
            reasons[verdict.reason.value] += 1
    total = sum(reasons.values())
    return {
        "survey": campaign.survey,
        "date": today.isoformat(),
        "cases": total,
        "eligible": reasons.get(Reason.ELIGIBLE.value, 0),
        "not_eligible": {k: v for k, v in sorted(reasons.items()) if k != Reason.ELIGIBLE.value},
    }


def status(db: Database, campaign: Campaign, now: datetime) -> dict[str, Any]:
    """The campaign at a glance: eligible, in progress, completed, dispositions, today."""
    zone = campaign.zone
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    with db.reading() as conn:
        counts = store.counts_by(conn, campaign.survey)
        state = store.campaign_status(conn, campaign.survey)
        placed_today = store.calls_placed_since(conn, campaign.survey, midnight.astimezone(UTC))
    by_code = counts["by_disposition"]
    labels = {d.code: d.label for d in Disposition}
    next_due = counts["next_due"]
    return {
        "survey": campaign.survey,
        "status": state,
        "window_open_now": campaign.policy.may_start(now),
        "waiting": counts["waiting"],
        # Not safe to talk on an automated call: open, but only interviewers ring them.
        "for_interviewers": counts["for_interviewers"],
        "unplanned": counts["unplanned"],
        "in_progress": counts["in_progress"],
        "completed": by_code.get(Disposition.COMPLETE.code, 0),
        "by_disposition": {
            f"{code} {labels.get(code, '')}".strip(): n for code, n in sorted(by_code.items())
        },
        "calls_placed_today": placed_today,
        "next_due": next_due.isoformat() if next_due else None,
    }
