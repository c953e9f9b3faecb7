"""Interviewer-assisted calls: the same engine and storage as phone calls, channel "interviewer".

An interviewer takes the next due case (held so no one else, and no dialler, rings it),
reads the interviewer wording, and keys or types the victim's answers. Each answer goes
through :func:`ivr.interviews.next_step` and :func:`ivr.interviews.keep_step`, exactly as a
keypad answer does, so answers, referrals and statuses are the phone's. Ending a call
replans the case through :func:`ivr.campaigns.replan_after`, so dispositions are the
dialler's AAPOR ones.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ivr.accounts.staff import Role
from ivr.calls import interviews
from ivr.campaigns.dialler import opt_out
from ivr.campaigns.eligibility import Reason
from ivr.campaigns.policy import DEFAULT_TZ, AppointmentChoice, Outcome
from ivr.campaigns.scheduler import (
    Campaign,
    CampaignError,
    campaign_for,
    judge_case,
    plan,
    replan_after,
)
from ivr.console.script import Screen, number_range, screen_of
from ivr.engine import HangUp, InterviewerAnswer, State, Status
from ivr.engine.interpreter import MANUAL
from ivr.engine.script import (
    Node,
    index_of,
    nodes_of,
)
from ivr.questionnaire.schema import QuestionType
from ivr.referrals.deadlines import DEFAULT_WORKING_DAYS, first_contact_due
from ivr.store import campaigns as store
from ivr.store import interviewers, turns
from ivr.store.interviews import case_by_id, pinned_questionnaire
from ivr.store.turns import InterviewRow, NewReferral

if TYPE_CHECKING:
    from ivr.jobs import JobQueue
    from ivr.questionnaire.registry import QuestionnaireRegistry
    from ivr.store.db import Database

log = logging.getLogger(__name__)

CHANNEL = "interviewer"
#: Roles that may run interviews from the console.
CONSOLE_ROLES = frozenset({Role.INTERVIEWER, Role.SUPERVISOR, Role.ADMIN})
#: Due cases read per survey when looking for the next one to hold.
CANDIDATES = 50
#: How the interviewer's end-of-call choice ends the interview and the attempt.
END_OUTCOMES: dict[str, tuple[Status, Outcome, str]] = {
    "completed": (Status.COMPLETED, Outcome.COMPLETED_INTERVIEW, "completed"),
    "refused": (Status.REFUSED, Outcome.REFUSED, "completed"),
    "no_answer": (Status.NO_RESPONSE, Outcome.NO_ANSWER, "no-answer"),
    "busy": (Status.NO_RESPONSE, Outcome.BUSY, "busy"),
    "no_screener": (Status.NO_RESPONSE, Outcome.NO_SCREENER, "completed"),
    "wrong_number": (Status.WRONG_NUMBER, Outcome.WRONG_NUMBER, "completed"),
    "unsafe": (Status.UNSAFE, Outcome.UNSAFE, "completed"),
    "partial": (Status.PARTIAL, Outcome.PARTIAL, "completed"),
}


class ConsoleError(ValueError):
    """The console cannot do what was asked; the message is for the interviewer."""


# --- cases --------------------------------------------------------------------------------


def next_case(
    db: Database, registry: QuestionnaireRegistry, user: Any, now: datetime
) -> int | None:
    """Hold and return the next due case over every campaigned survey; None if none is due.

    The dialler's rules apply: due, inside the calling window, eligible, attempts left.
    A user who already holds a case gets that case back.
    """
    _check_user(user)
    with db.begin() as conn:
        holding = interviewers.held_case_ids(conn, user.id)
        if holding:
            return holding[0]
        candidates: list[tuple[datetime, int]] = []
        for survey in registry.surveys():
            try:
                campaign = campaign_for(registry, survey)
            except CampaignError:
                continue
            if not campaign.policy.may_start(now):
                continue
            plan(conn, campaign, now)
            cases = store.due(conn, survey, now, CANDIDATES, for_interviewers=True)
            listed = store.on_do_not_call(conn, (c.phone for c in cases))
            closed = store.closed_cases(conn, [c.case_id for c in cases])
            for case in cases:
                verdict = judge_case(
                    campaign,
                    case,
                    now,
                    do_not_call=case.phone in listed,
                    interviewed=case.case_id in closed,
                )
                keeps_appointment = (
                    case.appointment_at is not None and verdict.reason is Reason.PAST_PERIOD
                )
                if not verdict.eligible and not keeps_appointment:
                    continue  # the dialler's pass closes or replans it
                if case.attempts >= campaign.policy.max_attempts:
                    continue
                candidates.append((case.next_attempt_at or now, case.case_id))
        for _, case_id in sorted(candidates):
            if interviewers.hold_case(conn, user.id, case_id, now, due_only=True):
                return case_id
    return None


def release(db: Database, user: Any, case_id: int, now: datetime) -> None:
    """Give up a held case, so the dialler or another interviewer may ring it."""
    with db.begin() as conn:
        if not interviewers.release_held_case(conn, user.id, case_id, now):
            raise ConsoleError("you do not hold this case")


def held_cases(db: Database, user: Any) -> list[dict[str, Any]]:
    """The cases ``user`` holds, with their latest interview."""
    with db.reading() as conn:
        return interviewers.held_cases_by_user(conn, [user.id]).get(user.id, [])


# --- interviews ---------------------------------------------------------------------------


def open_interview(
    db: Database, registry: QuestionnaireRegistry, user: Any, case_id: int, now: datetime
) -> Screen:
    """The case's interview: taken over where it stands if in progress, else started or
    carried on from where an earlier call left it (identity and safety asked again).

    The case is held for ``user`` if nobody else holds it.
    """
    _check_user(user)
    with db.begin() as conn:
        case = case_by_id(conn, case_id)
        if case is None:
            raise ConsoleError("no such case")
        holder = interviewers.case_holder(conn, case_id)
        if holder is None:
            raise ConsoleError("this case is not in a calling campaign")
        held_by_id, _ = holder
        if held_by_id not in (None, user.id):
            raise ConsoleError("another interviewer holds this case")
        if held_by_id is None and not interviewers.hold_case(
            conn, user.id, case_id, now, due_only=False
        ):
            raise ConsoleError("this case is on a call or held by someone else")
        phone = interviewers.case_phone(conn, case_id)
        if store.on_do_not_call(conn, [phone]):
            raise ConsoleError("this number is on the do-not-call list")
        if store.closed_cases(conn, [case_id]):
            raise ConsoleError("this case has already been interviewed")
        found = turns.interview_of_case(conn, case_id)
        if found is not None and found[0].status == Status.IN_PROGRESS.value:
            interview_id = found[0].id
        else:
            try:
                started = interviews.open_for_call(conn, registry, case, channel=CHANNEL, now=now)
            except interviews.Overtaken:
                raise ConsoleError("this interview was moved on elsewhere; reload it") from None
            if started is None:
                raise ConsoleError("this case has already been interviewed")
            interview_id = started.id
        interviewers.assign_interviewer(conn, interview_id, user.id, CHANNEL)
        return screen_of(conn, interview_id)


def screen(db: Database, registry: QuestionnaireRegistry, user: Any, interview_id: int) -> Screen:
    """What the console shows for an interview now."""
    with db.reading() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, holding=False)
        return screen_of(conn, interview_id)


def repeat_question(
    db: Database, registry: QuestionnaireRegistry, user: Any, interview_id: int
) -> Screen:
    """The current question again, to read out once more; nothing is counted or stored."""
    return screen(db, registry, user, interview_id)


def answer(
    db: Database,
    registry: QuestionnaireRegistry,
    user: Any,
    interview_id: int,
    *,
    key: str | None = None,
    text: str | None = None,
    now: datetime,
    queue: JobQueue | None = None,
    due_days: int = DEFAULT_WORKING_DAYS,
) -> Screen:
    """Keep the victim's answer to the current step: an option's key, or typed text for a
    recording or number question. Anything the step does not accept changes nothing."""
    referrals: list[NewReferral] = []
    with db.begin() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, holding=True)
        if row.status != Status.IN_PROGRESS.value:
            raise ConsoleError("this interview has ended")
        questionnaire = pinned_questionnaire(conn, row.questionnaire_version_id)
        state = State.from_json(row.state)
        if state.node is None:
            raise ConsoleError("this interview has no question waiting")
        node = nodes_of(questionnaire)[index_of(questionnaire)[state.node]]
        event = _interviewer_answer(node, key, text)
        questionnaire, step = interviews.next_step(conn, row, event)
        if step.state.tries > state.tries or step.state.node == state.node:
            raise ConsoleError("that answer is not one this question accepts")
        kept = interviews.keep_step(conn, row, questionnaire, step, due_days=due_days, now=now)
        if kept is None:
            raise ConsoleError("this interview was moved on elsewhere; reload it")
        referrals = kept.referrals
        shown = screen_of(conn, interview_id)
    _announce(queue, referrals)
    return shown


def _interviewer_answer(node: Node, key: str | None, text: str | None) -> InterviewerAnswer:
    """The engine's input for what the interviewer entered; ConsoleError if it cannot fit."""
    if node.type in (QuestionType.RECORDING, QuestionType.NUMBER) and not node.is_control:
        typed = (text or "").strip()
        if not typed and node.question is not None and node.question.optional:
            return InterviewerAnswer(text="")  # nothing to add: on to the next question
        if not typed:
            raise ConsoleError("type the victim's answer")
        if node.type is QuestionType.NUMBER:
            question = node.question
            assert question is not None
            low, high = question.minimum, question.maximum
            if (
                not typed.isdigit()
                or (low is not None and int(typed) < low)
                or (high is not None and int(typed) > high)
            ):
                raise ConsoleError(f"enter a whole number{number_range(low, high)}")
        return InterviewerAnswer(text=typed)
    chosen = (key or "").strip()
    if node.option(chosen) is None:
        keys = ", ".join(o.key for o in node.options)
        raise ConsoleError(f"'{chosen}' is not an option here (press {keys})")
    return InterviewerAnswer(key=chosen)


#: The longest note an interviewer may type at once.
MAX_NOTE = 2000


def add_note(
    db: Database,
    registry: QuestionnaireRegistry,
    user: Any,
    interview_id: int,
    text: str,
    now: datetime,
) -> Screen:
    """Keep the interviewer's verbatim note on the interview (during or after the call)."""
    said = text.strip()
    if not said:
        raise ConsoleError("type the note first")
    if len(said) > MAX_NOTE:
        raise ConsoleError(f"a note is at most {MAX_NOTE:,} characters")
    with db.begin() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, holding=True)
        interviewers.add_interview_note(conn, row.id, {"at": now.isoformat(), "text": said})
        return screen_of(conn, row.id)


def action_alert(
    db: Database,
    registry: QuestionnaireRegistry,
    user: Any,
    interview_id: int,
    reason: str,
    now: datetime,
    *,
    queue: JobQueue | None = None,
    due_days: int = DEFAULT_WORKING_DAYS,
) -> int:
    """Raise an action alert for the victim now, with the interviewer's reason; its id.

    One per interview, as for the phone: the engine is told, so a later "yes" to the
    police-contact question does not raise a second.
    """
    said = reason.strip()
    if not said:
        raise ConsoleError("say why the police should contact the victim")
    with db.begin() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, holding=True)
        if "action_alert" in interviewers.referral_kinds(conn, row.id):
            raise ConsoleError("an action alert has already been raised in this interview")
        q = pinned_questionnaire(conn, row.questionnaire_version_id)
        survey, case_district = turns.case_survey_and_district(conn, row.case_id)
        district = (
            q.routing.service if q.routing.to == "service" else case_district
        ) or "unassigned"
        state = State.from_json(row.state)
        # Raised by hand: the questionnaire's own rule never raises or revises another.
        raised = state.but(
            raised=tuple(dict.fromkeys((*state.raised, "action_alert"))),
            referred={**state.referred, "action_alert": MANUAL},
        )
        if not turns.save_interview(
            conn,
            row.id,
            read_step_no=row.step_no,
            step_no=row.step_no + 1,
            status=row.status,
            state=raised.to_json(),
            ended_at=None,
        ):
            raise ConsoleError("this interview was moved on elsewhere; try again")
        referral = turns.add_referral(
            conn,
            interview_id=row.id,
            case_id=row.case_id,
            survey=survey,
            kind="action_alert",
            district=district,
            reasons=[{"question": "interviewer", "answer": said, "code": None}],
            now=now,
            due_at=first_contact_due(now, due_days),
        )
    _announce(queue, [referral])
    return referral.id


def book_callback(
    db: Database,
    registry: QuestionnaireRegistry,
    user: Any,
    interview_id: int,
    choice: str,
    now: datetime,
) -> datetime:
    """End the interview as a callback request and book the victim's chosen time; the
    appointment, inside a calling window. The case is released."""
    try:
        chosen = AppointmentChoice(choice)
    except ValueError:
        raise ConsoleError(
            f"'{choice}' is not a callback time (one of "
            f"{', '.join(c.value for c in AppointmentChoice)})"
        ) from None
    with db.begin() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, holding=True)
        if row.status not in (Status.IN_PROGRESS.value, Status.CALLBACK_REQUESTED.value):
            raise ConsoleError(f"this interview has already ended ({row.status})")
        _end_interview(conn, row, Status.CALLBACK_REQUESTED, now, callback=chosen.value)
        survey = turns.case_survey_and_district(conn, row.case_id)[0]
        campaign = _campaign(registry, survey)
        _count_attempt(conn, row, Outcome.CALLBACK_REQUESTED, "completed", now)
        replan_after(
            conn,
            campaign,
            row.case_id,
            None,
            Outcome.CALLBACK_REQUESTED,
            now,
            appointment_choice=chosen.value,
        )
        appointment = interviewers.appointment_of(conn, row.case_id)
        interviewers.release_held_case(conn, user.id, row.case_id, now)
    if appointment is None:
        return campaign.policy.appointment(chosen, now)
    return appointment or now


def end_call(
    db: Database,
    registry: QuestionnaireRegistry,
    user: Any,
    interview_id: int,
    outcome: str,
    now: datetime,
    *,
    queue: JobQueue | None = None,
    due_days: int = DEFAULT_WORKING_DAYS,
) -> None:
    """Finish the call: end the interview with ``outcome`` if it has not ended, count the
    attempt, replan the case as the dialler would, and release it."""
    if outcome not in END_OUTCOMES:
        raise ConsoleError(f"'{outcome}' is not a call outcome (one of {', '.join(END_OUTCOMES)})")
    status, call_outcome, call_status = END_OUTCOMES[outcome]
    referrals: list[NewReferral] = []
    with db.begin() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, holding=True)
        if row.status == Status.IN_PROGRESS.value:
            if status is Status.COMPLETED:
                raise ConsoleError("the interview has not been completed")
            if status is Status.PARTIAL:
                # A dropped call is a hang-up, as on the phone: referrals due then fire.
                questionnaire, step = interviews.next_step(conn, row, HangUp())
                kept = interviews.keep_step(
                    conn, row, questionnaire, step, due_days=due_days, now=now
                )
                if kept is None:
                    raise ConsoleError("this interview was moved on elsewhere; reload it")
                referrals = kept.referrals
            else:
                _end_interview(conn, row, status, now)
        elif row.status != status.value:
            raise ConsoleError(f"the interview ended as {row.status}, not {outcome}")
        survey = turns.case_survey_and_district(conn, row.case_id)[0]
        campaign = _campaign(registry, survey)
        _count_attempt(conn, row, call_outcome, call_status, now)
        replan_after(conn, campaign, row.case_id, None, call_outcome, now)
        if call_outcome is Outcome.REFUSED:
            phone = interviewers.case_phone(conn, row.case_id)
            opt_out(conn, phone, reason="declined the survey", source="interviewer", now=now)
        interviewers.release_held_case(conn, user.id, row.case_id, now)
    _announce(queue, referrals)


def _end_interview(
    conn: Connection,
    row: InterviewRow,
    status: Status,
    now: datetime,
    *,
    callback: str | None = None,
) -> None:
    state = State.from_json(row.state)
    ended = state.but(
        status=status, node=None, confirming=None, tries=0, callback=callback or state.callback
    )
    if not turns.save_interview(
        conn,
        row.id,
        read_step_no=row.step_no,
        step_no=row.step_no + 1,
        status=status.value,
        state=ended.to_json(),
        ended_at=now,
    ):
        raise ConsoleError("this interview was moved on elsewhere; reload it")


def _count_attempt(
    conn: Connection, row: InterviewRow, outcome: Outcome, call_status: str, now: datetime
) -> None:
    """Keep the interviewer's call as one attempt at the case, with its outcome."""
    interviewers.add_interviewer_attempt(
        conn,
        case_id=row.case_id,
        interview_id=row.id,
        direction=CHANNEL,
        call_status=call_status,
        outcome=outcome.value,
        now=now,
    )


def _campaign(registry: QuestionnaireRegistry, survey: str) -> Campaign:
    try:
        return campaign_for(registry, survey)
    except CampaignError as exc:
        raise ConsoleError(str(exc)) from None


def _announce(queue: JobQueue | None, referrals: list[NewReferral]) -> None:
    """Queue referral notifications once the transaction that made them has committed."""
    if queue is None:
        return
    for referral in referrals:
        queue.enqueue(
            "workers.notifications.notify_new_referral",
            referral.id,
            referral.kind,
            referral.district,
        )


# --- reading ------------------------------------------------------------------------------


def _check_user(user: Any) -> None:
    if not getattr(user, "active", False) or user.role not in CONSOLE_ROLES:
        raise ConsoleError("only interviewers may run interviews from the console")


def _interview(conn: Connection, interview_id: int) -> InterviewRow:
    row = interviewers.interview_row(conn, interview_id)
    if row is None:
        raise ConsoleError("no such interview")
    return row


def _check_owner(conn: Connection, user: Any, row: InterviewRow, *, holding: bool) -> None:
    """The interview must be the user's, and (to change it) its case held by them."""
    _check_user(user)
    interviewer, held_by = interviewers.interviewer_and_holder(conn, row.id)
    if holding:
        if interviewer != user.id or held_by != user.id:
            raise ConsoleError("this interview is not yours: open the case first")
    elif interviewer != user.id and user.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise ConsoleError("this interview is not yours")


# --- supervision --------------------------------------------------------------------------


def supervision(db: Database, now: datetime) -> list[dict[str, Any]]:
    """A row per active interviewer: what they are doing, completes, the cases they hold."""
    zone = ZoneInfo(DEFAULT_TZ)
    midnight = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone).astimezone(UTC)
    hour_ago = now - timedelta(hours=1)
    with db.reading() as conn:
        users = interviewers.active_staff(conn, Role.INTERVIEWER.value)
        ids = [user.id for user in users]
        holding = interviewers.held_cases_by_user(conn, ids)
        completes: dict[int, list[datetime]] = {}
        for interviewer_id, ended_at in interviewers.completes_since(
            conn, ids, min(midnight, hour_ago)
        ):
            completes.setdefault(interviewer_id, []).append(ended_at or now)
    result = []
    for user in users:
        cases = holding.get(user.id, [])
        if not cases:
            state = "idle"
        elif any(c["interview_status"] == Status.IN_PROGRESS.value for c in cases):
            state = "on a call"
        elif any(c["interview_id"] is not None for c in cases):
            state = "wrapping up"
        else:
            state = "on a call"  # holds a case, dialling it before the interview opens
        ended = completes.get(user.id, [])
        result.append(
            {
                "user_id": user.id,
                "name": user.name or user.email,
                "email": user.email,
                "state": state,
                "completes_last_hour": sum(t >= hour_ago for t in ended),
                "completes_today": sum(t >= midnight for t in ended),
                "cases": cases,
            }
        )
    return result
