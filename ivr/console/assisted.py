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
from ivr.questionnaire.schema import Questionnaire, QuestionType
from ivr.referrals import notifications
from ivr.referrals.deadlines import DEFAULT_WORKING_DAYS, first_contact_due
from ivr.store import campaigns as store
from ivr.store import interviewers, turns
from ivr.store.interviews import case_by_id, pinned_questionnaire
from ivr.store.turns import InterviewRow, NewReferral
from ivr.telephony.numbers import PhoneError, to_e164

if TYPE_CHECKING:
    from ivr.jobs import JobQueue
    from ivr.questionnaire.registry import QuestionnaireRegistry
    from ivr.store.db import Database

log = logging.getLogger(__name__)

CHANNEL = "interviewer"
#: Roles that may run interviews from the console.
CONSOLE_ROLES = frozenset({Role.INTERVIEWER, Role.SUPERVISOR, Role.ADMIN})
#: Roles that may see every interview and give cases to interviewers.
SUPERVISION_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
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


class NotDealt(ConsoleError, LookupError):
    """The case or interview asked for is not this user's to open: to them, it is not there."""


class OnAutomatedCall(ConsoleError):
    """The victim is on an automated call about the case now: the console leaves it be."""


#: Why a supervisor may not give a case, by the eligibility rule it fails.
NOT_TO_BE_RUNG = {
    Reason.NOT_YET: "it is too soon after the date the survey counts from to ring it",
    Reason.PAST_PERIOD: "its calling period is over",
    Reason.NO_DATE: "it has no date for the survey to count from",
    Reason.NOT_COVERED: "the survey does not cover it",
    Reason.REQUIREMENT_NOT_MET: "it does not meet the survey's requirements",
    Reason.UNDER_AGE: "the victim is under the survey's minimum age",
    Reason.NO_SAFETY_CHECK: "it is sensitive and the questionnaire cannot ask the safety check",
    Reason.DO_NOT_CALL: "its number is on the do-not-call list",
    Reason.ALREADY_INTERVIEWED: "it has already been interviewed",
    Reason.NO_CAMPAIGN: "the survey has no outbound calling",
}
#: A campaign's status while its calling is paused (``ivr campaign pause``).
PAUSED = "paused"
#: The longest case reference a sample may hold (the column's width).
MAX_CASE_REF = 64
ON_AUTOMATED_CALL = (
    "the victim is on an automated call about this case now; try again when it has ended"
)


# --- cases --------------------------------------------------------------------------------


def next_case(
    db: Database, registry: QuestionnaireRegistry, user: Any, now: datetime
) -> int | None:
    """Hold and return the next due case over every campaigned survey; None if none is due.

    The dialler's rules apply: due, inside the calling window, eligible, attempts left;
    a survey whose campaign is paused deals none of its cases (see :func:`paused_titles`).
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
            if store.campaign_status(conn, survey) == PAUSED:
                continue  # paused for everyone: the dialler and the console alike
            plan(conn, campaign, now)
            cases = store.due(conn, survey, now, CANDIDATES, for_interviewers=True)
            listed = store.on_do_not_call(conn, (c.phone for c in cases))
            closed = store.closed_cases(conn, [c.case_id for c in cases])
            live = interviewers.on_a_live_call(conn, (c.case_id for c in cases), now)
            for case in cases:
                if case.case_id in live:
                    continue  # the victim rang in: the phone has them now
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


def paused_titles(db: Database, registry: QuestionnaireRegistry) -> list[str]:
    """The titles of the surveys whose campaign is paused, whose cases are not dealt.

    A campaign never started still deals to interviewers: "not started" means only that
    the automated dialler has not been set going, and a force may work a sample by hand.
    """
    titles = []
    with db.reading() as conn:
        for survey in registry.surveys():
            if store.campaign_status(conn, survey) == PAUSED:
                titles.append(registry.current(survey).questionnaire.title)
    return titles


def release(db: Database, user: Any, case_id: int, now: datetime) -> None:
    """Give up a held case, so the dialler or another interviewer may ring it."""
    with db.begin() as conn:
        if not interviewers.release_held_case(conn, user.id, case_id, now):
            raise NotDealt("you do not hold this case")


def held_cases(db: Database, user: Any) -> list[dict[str, Any]]:
    """The cases ``user`` holds, with their latest interview."""
    with db.reading() as conn:
        return interviewers.held_cases_by_user(conn, [user.id]).get(user.id, [])


# --- interviews ---------------------------------------------------------------------------


def open_interview(
    db: Database, registry: QuestionnaireRegistry, user: Any, case_id: int, now: datetime
) -> Screen:
    """The interview of a case dealt to ``user`` (by next case, or given by a supervisor):
    taken over where it stands if in progress at the console, else started or carried on
    from where an earlier call left it (identity and safety asked again).

    :class:`NotDealt` for any case ``user`` does not hold; :class:`OnAutomatedCall` while
    the victim is on an automated call about it, which is left as it is.
    """
    _check_user(user)
    with db.begin() as conn:
        holder = interviewers.case_holder(conn, case_id)
        case = case_by_id(conn, case_id) if holder is not None else None
        if case is None or holder is None or holder[0] != user.id:
            raise NotDealt("this case is not dealt to you")
        if interviewers.on_a_live_call(conn, [case_id], now):
            raise OnAutomatedCall(ON_AUTOMATED_CALL)
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


def give_case(
    db: Database,
    registry: QuestionnaireRegistry,
    supervisor: Any,
    survey: str,
    case_ref: str,
    interviewer_id: int,
    now: datetime,
) -> int:
    """Give a case to an interviewer, to open from their console; the case's id.

    Only a supervisor or administrator gives, only to an active interviewer, and only a
    case the dialler's rules would ring (its time to be due aside), that nobody holds and
    whose victim is not on an automated call.
    """
    if not getattr(supervisor, "active", False) or supervisor.role not in SUPERVISION_ROLES:
        raise ConsoleError("only supervisors may give cases to interviewers")
    ref = case_ref.strip()
    if not ref:
        raise ConsoleError("type the case reference")
    if survey not in registry.surveys():
        raise ConsoleError("choose a survey")
    campaign = _campaign(registry, survey)
    with db.begin() as conn:
        if not interviewers.is_active_staff(conn, interviewer_id, Role.INTERVIEWER.value):
            raise ConsoleError("choose an interviewer")
        found = None
        if len(ref) <= MAX_CASE_REF and "\x00" not in ref:
            found = interviewers.case_to_give(conn, survey, ref)
        if found is None:
            raise ConsoleError(f"no {survey} case has the reference {ref[:MAX_CASE_REF]}")
        case = found.case
        if found.held_by_id == interviewer_id:
            return case.case_id
        if found.held_by_id is not None:
            raise ConsoleError("another interviewer holds this case: they must release it first")
        verdict = judge_case(
            campaign,
            case,
            now,
            do_not_call=bool(store.on_do_not_call(conn, [case.phone])),
            interviewed=bool(store.closed_cases(conn, [case.case_id])),
        )
        keeps_appointment = case.appointment_at is not None and verdict.reason is Reason.PAST_PERIOD
        if not verdict.eligible and not keeps_appointment:
            raise ConsoleError(f"this case may not be rung: {NOT_TO_BE_RUNG[verdict.reason]}")
        if found.disposition is not None:
            raise ConsoleError(f"calling this case has ended (disposition {found.disposition})")
        if case.attempts >= campaign.policy.max_attempts:
            raise ConsoleError("this case has had all the calls the survey allows")
        if interviewers.on_a_live_call(conn, [case.case_id], now):
            raise OnAutomatedCall(ON_AUTOMATED_CALL)
        if not interviewers.hold_case(conn, interviewer_id, case.case_id, now, due_only=False):
            raise ConsoleError("this case was taken or rung a moment ago; try again")
    return case.case_id


def screen(db: Database, registry: QuestionnaireRegistry, user: Any, interview_id: int) -> Screen:
    """What the console shows for an interview now."""
    with db.reading() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, changing_at=None)
        return screen_of(conn, interview_id)


def repeat_question(
    db: Database, registry: QuestionnaireRegistry, user: Any, interview_id: int, now: datetime
) -> Screen:
    """The current question again, to read out once more; nothing is counted or stored."""
    with db.reading() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, changing_at=now)
        return screen_of(conn, interview_id)


def check_may_call(db: Database, user: Any, interview_id: int, now: datetime) -> None:
    """Raise unless ``user`` may ring the victim of this interview from the console now."""
    with db.reading() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, changing_at=now)


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
        _check_owner(conn, user, row, changing_at=now)
        if row.status != Status.IN_PROGRESS.value:
            raise ConsoleError("this interview has ended")
        questionnaire = pinned_questionnaire(conn, row.questionnaire_version_id)
        state = State.from_json(row.state)
        if state.node is None:
            raise ConsoleError("this interview has no question waiting")
        node = nodes_of(questionnaire)[index_of(questionnaire)[state.node]]
        event = _interviewer_answer(node, key, text)
        questionnaire, step = interviews.next_step(conn, row, event, registry=registry, now=now)
        if step.state.tries > state.tries or step.state.node == state.node:
            raise ConsoleError("that answer is not one this question accepts")
        kept = interviews.keep_step(conn, row, questionnaire, step, due_days=due_days, now=now)
        if kept is None:
            raise ConsoleError("this interview was moved on elsewhere; reload it")
        referrals = kept.referrals
        shown = screen_of(conn, interview_id)
    _announce(queue, db, referrals, now)
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
    option = node.option(chosen)
    if option is None:
        keys = ", ".join(o.key for o in node.options)
        raise ConsoleError(f"'{chosen}' is not an option here (press {keys})")
    if text and text not in option.details:
        raise ConsoleError(f"'{text}' is not one of the answers under '{option.label}'")
    return InterviewerAnswer(key=chosen, text=text or None)


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
        _check_owner(conn, user, row, changing_at=now)
        interviewers.add_interview_note(conn, row.id, {"at": now.isoformat(), "text": said})
        return screen_of(conn, row.id)


#: Why a member of the public's details go to the district research officer, in the
#: consultation strategy's words.
PUBLIC_CONCERNS = {
    "repeated_dissatisfaction": "A repeated issue of dissatisfaction",
    "significant_concern": "A matter of significant concern",
    "asked_for_contact": "Asked the police to contact them",
}


def _public_contact(
    q: Questionnaire, concern: str | None, name: str | None, number: str | None
) -> tuple[str, dict[str, str]]:
    """The kind of concern, and the answers that give the name and number to contact."""
    if concern not in PUBLIC_CONCERNS:
        raise ConsoleError("choose why the police should contact them")
    first_name = (name or "").strip()
    if not first_name:
        raise ConsoleError("type their first name: the sample has none")
    if len(first_name) > MAX_NAME:
        raise ConsoleError(f"keep the first name under {MAX_NAME} characters")
    rule = next((r for r in q.referrals if r.kind == "action_alert"), None)
    given: dict[str, str] = {}
    if rule is not None and rule.contact_name:
        given[rule.contact_name] = first_name
    typed = (number or "").strip()
    if typed:
        try:
            e164 = to_e164(typed)
        except PhoneError as error:
            raise ConsoleError(str(error)) from None
        if rule is not None and rule.contact_number:
            # Kept as the phone keys it, a national number.
            national = "0" + e164.removeprefix("+44") if e164.startswith("+44") else e164
            given[rule.contact_number] = national
    return str(concern), given


#: The longest first name kept (the cases' column).
MAX_NAME = 100


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
    concern: str | None = None,
    name: str | None = None,
    number: str | None = None,
) -> int:
    """Raise an action alert for the victim now, with the interviewer's reason; its id.

    One per interview, as for the phone: the engine is told, so a later "yes" to the
    police-contact question does not raise a second. A survey of the public also takes
    which of the three kinds of concern it is, and (the sample has no name) the first name
    and, if not the number rung, the number to call, kept as the answers the questionnaire's
    rule names for them, so the phone's questions for them are not asked again.
    """
    said = reason.strip()
    if not said:
        raise ConsoleError("say why the police should contact the victim")
    with db.begin() as conn:
        row = _interview(conn, interview_id)
        _check_owner(conn, user, row, changing_at=now)
        if "action_alert" in interviewers.referral_kinds(conn, row.id):
            raise ConsoleError("an action alert has already been raised in this interview")
        q = pinned_questionnaire(conn, row.questionnaire_version_id)
        code = None
        given: dict[str, str] = {}
        if q.sample == "public":
            code, given = _public_contact(q, concern, name, number)
            said = f"{PUBLIC_CONCERNS[code]}: {said}"
        survey, case_district = turns.case_survey_and_district(conn, row.case_id)
        district = (
            q.routing.service if q.routing.to == "service" else case_district
        ) or "unassigned"
        state = State.from_json(row.state)
        # Raised by hand: the questionnaire's own rule never raises or revises another.
        raised = state.but(
            raised=tuple(dict.fromkeys((*state.raised, "action_alert"))),
            referred={**state.referred, "action_alert": MANUAL},
            answers={
                **state.answers,
                **{
                    qid: {"code": text, "label": None, "via": "interviewer"}
                    for qid, text in given.items()
                },
            },
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
            reasons=[{"question": "interviewer", "answer": said, "code": code}],
            now=now,
            due_at=first_contact_due(now, due_days),
        )
        turns.add_answers(
            conn,
            [
                {
                    "interview_id": row.id,
                    "question_id": qid,
                    "code": text,
                    "label": None,
                    "via": "interviewer",
                    "raw": text,
                    "confidence": None,
                    "recording_url": None,
                    "answered_at": now,
                }
                for qid, text in given.items()
                if qid not in state.answers
            ],
        )
    _announce(queue, db, [referral], now)
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
        _check_owner(conn, user, row, changing_at=now)
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
        _check_owner(conn, user, row, changing_at=now)
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
    _announce(queue, db, referrals, now)


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


def _announce(
    queue: JobQueue | None, db: Database, referrals: list[NewReferral], now: datetime
) -> None:
    """Queue referral notices once the transaction that made them has committed (kept for
    later when the queue cannot take them: see :func:`notifications.announce`)."""
    notifications.announce(
        queue, db, [(r.id, r.kind, r.district) for r in referrals], now, marked=True
    )


# --- reading ------------------------------------------------------------------------------


def _check_user(user: Any) -> None:
    if not getattr(user, "active", False) or user.role not in CONSOLE_ROLES:
        raise ConsoleError("only interviewers may run interviews from the console")


def _interview(conn: Connection, interview_id: int) -> InterviewRow:
    row = interviewers.interview_row(conn, interview_id)
    if row is None:
        raise NotDealt("no such interview")
    return row


def _check_owner(
    conn: Connection, user: Any, row: InterviewRow, *, changing_at: datetime | None
) -> None:
    """The interview must be the user's (any, for a supervisor only looking); to change it
    (at ``changing_at``), its case held by them and its victim on no automated call."""
    _check_user(user)
    interviewer, held_by = interviewers.interviewer_and_holder(conn, row.id)
    if changing_at is not None:
        if interviewer != user.id or held_by != user.id:
            raise NotDealt("this interview is not yours: open the case first")
        if interviewers.on_a_live_call(conn, [row.case_id], changing_at):
            raise OnAutomatedCall(ON_AUTOMATED_CALL)
    elif interviewer != user.id and user.role not in SUPERVISION_ROLES:
        raise NotDealt("this interview is not yours")


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
