"""Running interviews: start one for a case, apply an input, keep what happened."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ivr import engine
from ivr.calendar import ZONE
from ivr.campaigns import quota_status
from ivr.engine import InputEvent, State, Status, Step
from ivr.questionnaire.options import options_in
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.referrals.deadlines import DEFAULT_WORKING_DAYS, first_contact_due
from ivr.store import turns
from ivr.store.db import Database
from ivr.store.interviews import (
    CaseFacts,
    pin_version,
    pinned_questionnaire,
    set_interview_language,
)
from ivr.store.models import public_id, utcnow
from ivr.store.statuses import CLOSED_INTERVIEW
from ivr.store.turns import InterviewRow, NewReferral

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one turn did: the engine's step and any referrals it created."""

    step: Step
    referrals: list[NewReferral] = field(default_factory=list)


@dataclass(frozen=True)
class Started:
    """An interview a call begins or carries on: its row id, the id in its URLs, its first
    step on this call, and the turn number that step's response is kept under."""

    id: int
    public_id: str
    outcome: Outcome
    opening_step_no: int = 0


#: Interview statuses after which no call carries the interview on.
FINISHED = frozenset(CLOSED_INTERVIEW)


class Overtaken(Exception):
    """Another request took the interview on first (a duplicate of the same webhook, say):
    the caller rolls back and reads what that request did."""


def open_for_call(
    conn: Connection,
    registry: QuestionnaireRegistry,
    case: CaseFacts,
    *,
    channel: str,
    call_sid: str | None = None,
    due_days: int = DEFAULT_WORKING_DAYS,
    now: datetime | None = None,
) -> Started | None:
    """The case's one interview for a new call: started, or carried on from where an
    earlier call left it (identity and safety are asked again first). None when the case
    was already interviewed; :class:`Overtaken` when another request took the interview on
    between the read and the write."""
    found = turns.interview_of_case(conn, case.id)
    if found is None:
        return begin(
            conn, registry, case, channel=channel, call_sid=call_sid, due_days=due_days, now=now
        )
    interview, interview_public_id = found
    if interview.status in FINISHED:
        return None
    questionnaire = pinned_questionnaire(conn, interview.questionnaire_version_id)
    # The case's fields as they are now: a corrected sample (say, domestic abuse marked
    # since) is honoured on the next call.
    saved = State.from_json(interview.state).but(case=case.field_values())
    # A resumed interview goes on in the language it was in.
    step = engine.resume(in_language(questionnaire, saved.language), saved)
    opening = turns.carry_on(
        conn,
        interview,
        status=Status.IN_PROGRESS.value,
        state=step.state.to_json(),
        call_sid=call_sid,
        channel=channel,
    )
    if opening is None:
        raise Overtaken
    return Started(interview.id, interview_public_id, Outcome(step), opening)


@dataclass(frozen=True)
class CallPlan:
    """How a call's first webhook starts or carries on the case's interview, worked out
    without writing: the new interview's row (``new``), or the interview ``carried`` on
    with ``carried_values``; its public id, opening step and that step's turn number."""

    public_id: str
    step: Step
    opening_step_no: int
    new: dict[str, Any] | None = None
    carried: InterviewRow | None = None
    carried_values: dict[str, Any] | None = None
    records: bool = False


def plan_for_call(
    conn: Connection,
    registry: QuestionnaireRegistry,
    case: CaseFacts,
    found: tuple[InterviewRow, str] | None,
    *,
    channel: str,
    call_sid: str,
    now: datetime,
) -> CallPlan | None:
    """What :func:`open_for_call` would do for a case whose interview (``found``) was read
    with the call's other facts; None when the case was interviewed already. It writes
    nothing but a questionnaire version not stored before."""
    if found is None:
        _q, step, new = _first_step(conn, registry, case, channel, call_sid, now)
        records = any(
            isinstance(event, engine.AnswerRecorded | engine.ReferralRequested)
            for event in step.events
        )
        return CallPlan(new["public_id"], step, 0, new=new, records=records)
    interview, interview_public_id = found
    if interview.status in FINISHED:
        return None
    questionnaire = pinned_questionnaire(conn, interview.questionnaire_version_id)
    # As open_for_call: the case's fields as they are now, identity and safety asked again.
    saved = State.from_json(interview.state).but(case=case.field_values())
    step = engine.resume(in_language(questionnaire, saved.language), saved)
    values = {"status": Status.IN_PROGRESS.value, "state": step.state.to_json(), "channel": channel}
    return CallPlan(
        interview_public_id,
        step,
        interview.step_no + 1,
        carried=interview,
        carried_values=values,
    )


def begin(
    conn: Connection,
    registry: QuestionnaireRegistry,
    case: CaseFacts,
    *,
    channel: str,
    call_sid: str | None = None,
    due_days: int = DEFAULT_WORKING_DAYS,
    now: datetime | None = None,
) -> Started:
    """Start an interview for a case on the current version of its questionnaire; ``now``
    (default: the real time) is when it started."""
    now = now or utcnow()
    q, step, row = _first_step(conn, registry, case, channel, call_sid, now)
    interview_id = turns.add_interview(conn, row)
    referrals = _record(
        conn,
        interview_id,
        case.id,
        q,
        step,
        now,
        case_values=(case.survey, case.district),
        due_days=due_days,
    )
    return Started(interview_id, row["public_id"], Outcome(step, referrals))


def _first_step(
    conn: Connection,
    registry: QuestionnaireRegistry,
    case: CaseFacts,
    channel: str,
    call_sid: str | None,
    now: datetime,
) -> tuple[Questionnaire, Step, dict[str, Any]]:
    """A new interview's questionnaire (in the language it begins in), its first step and
    its row, on the current version of the case's questionnaire (stored if new)."""
    loaded = registry.current(case.survey)
    version_id = pin_version(conn, loaded)
    values = case.field_values()
    # A case the sample says speaks another language the questionnaire offers hears it
    # from the first word.
    q = loaded.questionnaire
    step = engine.start(in_language(q, values.get("language")), values)
    status, ended_at = _ending(step, Status.IN_PROGRESS.value, now)
    row = {
        "public_id": public_id(),
        "case_id": case.id,
        "questionnaire_version_id": version_id,
        "channel": channel,
        "call_sid": call_sid,
        "status": status,
        "step_no": 0,
        "opening_step_no": 0,
        "state": step.state.to_json(),
        "started_at": now,
        "ended_at": ended_at,
        "language": step.state.language,
    }
    return q, step, row


def next_step(
    conn: Connection,
    interview: InterviewRow,
    event: InputEvent,
    *,
    registry: QuestionnaireRegistry | None = None,
    now: datetime | None = None,
) -> tuple[Questionnaire, Step]:
    """What one input does to an interview, worked out without writing anything. A survey
    of the public's interview about to pass its quota gate is told which cells are full
    (``registry`` gives the population figures)."""
    questionnaire = pinned_questionnaire(conn, interview.questionnaire_version_id)
    state = State.from_json(interview.state)
    if engine.quota_check_due(questionnaire, state):
        if registry is None:
            raise ValueError("a survey with quotas needs the questionnaire registry")
        today = (now or utcnow()).astimezone(ZONE).date()
        population = registry.population(questionnaire.id)
        state = state.but(
            quota_full=quota_status.full_cells(conn, questionnaire, population, today)
        )
    return questionnaire, engine.step(in_language(questionnaire, state.language), state, event)


def in_language(q: Questionnaire, tag: str | None) -> Questionnaire:
    """The questionnaire in a case's or interview's language; its own language for one it
    does not offer (a sample's language the current version no longer has)."""
    return q.in_language(tag) if tag in q.languages else q


def _switched_language(interview: InterviewRow, step: Step) -> bool:
    """Whether the step changed the language the interview is held in."""
    return step.state.language != interview.state.get("language")


def keep_step(
    conn: Connection,
    interview: InterviewRow,
    questionnaire: Questionnaire,
    step: Step,
    *,
    due_days: int = DEFAULT_WORKING_DAYS,
    now: datetime | None = None,
) -> Outcome | None:
    """Store a step's answers, referrals and status, in the caller's transaction; None
    (and nothing stored) when another request already moved the interview on. ``now``
    (default: the real time) stamps the answers, referrals and any end."""
    now = now or utcnow()
    status, ended_at = _ending(step, interview.status, now)
    # The guarded update goes first: it is what decides whether this request may write.
    if not turns.save_interview(
        conn,
        interview.id,
        read_step_no=interview.step_no,
        step_no=interview.step_no + 1,
        status=status,
        state=step.state.to_json(),
        ended_at=ended_at,
    ):
        return None
    if _switched_language(interview, step):
        set_interview_language(conn, interview.id, step.state.language)
    referrals = _record(
        conn, interview.id, interview.case_id, questionnaire, step, now, due_days=due_days
    )
    return Outcome(step, referrals)


def keep_turn(
    db: Database,
    conn: Connection,
    interview: InterviewRow,
    questionnaire: Questionnaire,
    step: Step,
    response: str,
    *,
    due_days: int = DEFAULT_WORKING_DAYS,
    now: datetime | None = None,
) -> Outcome | None:
    """Keep a webhook turn: what the step did (see :func:`keep_step`) and the TwiML sent for
    it, on ``conn`` from :meth:`Database.reading`. Where the database allows and no referral
    is raised, in one statement (one round trip); otherwise in one transaction. None when
    another request moved the interview on first."""
    now = now or utcnow()
    step_no = interview.step_no + 1
    kept = (
        kept_in_one_statement(interview, questionnaire, step, due_days=due_days, now=now)
        if turns.turns_in_one_statement(conn)
        else None
    )
    if kept is not None:
        referrals = turns.keep_turn_in_one_statement(
            conn,
            interview.id,
            read_step_no=interview.step_no,
            status=kept.status,
            state=kept.state,
            ended_at=kept.ended_at,
            answers=kept.answers,
            response=response,
            now=now,
            referrals=kept.referrals,
        )
        return None if referrals is None else Outcome(step, referrals)
    with db.writing(conn):
        outcome = keep_step(conn, interview, questionnaire, step, due_days=due_days, now=now)
        if outcome is not None:
            turns.add_turn(conn, interview.id, step_no, response, now)
    return outcome


@dataclass(frozen=True)
class KeptStep:
    """What keeping a step writes: the interview's status, state and end, the answers'
    rows and the new referrals' rows."""

    status: str
    state: dict[str, Any]
    ended_at: datetime | None
    answers: list[dict[str, Any]]
    referrals: list[dict[str, Any]]


def kept_in_one_statement(
    interview: InterviewRow,
    questionnaire: Questionnaire,
    step: Step,
    *,
    due_days: int,
    now: datetime,
) -> KeptStep | None:
    """What keeping a step writes, where one statement can write it all (as
    :func:`keep_step` would); None where it cannot: the step switches language or revises
    a referral (each an update of its own), or raises one whose case's survey and district
    were not read with the interview."""
    for event in step.events:
        if isinstance(event, engine.ReferralRequested) and (
            event.revised or interview.case_survey is None
        ):
            return None
    if _switched_language(interview, step):
        return None
    status, ended_at = _ending(step, interview.status, now)
    return KeptStep(
        status,
        step.state.to_json(),
        ended_at,
        _answers(interview.id, questionnaire, step, now),
        _new_referrals(
            interview.case_id,
            questionnaire,
            step,
            now,
            (interview.case_survey or "", interview.case_district),
            due_days,
        ),
    )


def advance(
    conn: Connection,
    interview: InterviewRow,
    event: InputEvent,
    *,
    due_days: int = DEFAULT_WORKING_DAYS,
    now: datetime | None = None,
) -> Outcome | None:
    """Apply one input to an interview and keep what it did (see :func:`keep_step`)."""
    questionnaire, step = next_step(conn, interview, event)
    return keep_step(conn, interview, questionnaire, step, due_days=due_days, now=now)


def _ending(step: Step, status: str, now: datetime) -> tuple[str, datetime | None]:
    """The interview's status after ``step``, and when it ended if the step ended it."""
    ended_at = None
    for event in step.events:
        if isinstance(event, engine.InterviewEnded):
            status, ended_at = event.status.value, now
    return status, ended_at


def _record(
    conn: Connection,
    interview_id: int,
    case_id: int,
    q: Questionnaire,
    step: Step,
    now: datetime,
    case_values: tuple[str, str | None] | None = None,
    due_days: int = DEFAULT_WORKING_DAYS,
) -> list[NewReferral]:
    """Store the step's answers and referrals (a revised referral updates the one it
    revises); ``case_values`` is the case's (survey, district), read from the database
    only when a new referral needs it."""
    for event in step.events:
        if isinstance(event, engine.ReferralRequested) and event.revised:
            reasons = _reasons(q, event)
            turns.revise_referral(
                conn,
                interview_id=interview_id,
                kind=event.kind,
                reasons=reasons,
                consented=event.consented,
                due_at=_due(event, now, due_days),
                now=now,
            )
    raises = any(
        isinstance(event, engine.ReferralRequested) and not event.revised for event in step.events
    )
    if raises and case_values is None:
        case_values = turns.case_survey_and_district(conn, case_id)
    referrals = [
        turns.add_referral(conn, interview_id=interview_id, **row, now=now)
        for row in _new_referrals(case_id, q, step, now, case_values or ("", None), due_days)
    ]
    turns.add_answers(conn, _answers(interview_id, q, step, now))
    return referrals


def _new_referrals(
    case_id: int,
    q: Questionnaire,
    step: Step,
    now: datetime,
    case_values: tuple[str, str | None],
    due_days: int,
) -> list[dict[str, Any]]:
    """The referrals a step raises anew (not those it revises), as rows to store, routed
    to the case's district (``case_values``: its survey and district) or to the service."""
    survey, case_district = case_values
    district = (q.routing.service if q.routing.to == "service" else case_district) or "unassigned"
    return [
        {
            "case_id": case_id,
            "survey": survey,
            "kind": event.kind,
            "district": district,
            "reasons": _reasons(q, event),
            "due_at": _due(event, now, due_days),
            "consented": event.consented,
        }
        for event in step.events
        if isinstance(event, engine.ReferralRequested) and not event.revised
    ]


def _reasons(q: Questionnaire, event: engine.ReferralRequested) -> list[dict[str, Any]]:
    """A referral's reasons: each dissatisfied answer, in the questionnaire's own words."""
    return [
        {
            "question": r.question,
            "answer": in_own_words(q, r.question, r.code, r.answer),
            "code": r.code,
        }
        for r in event.reasons
    ]


def _due(event: engine.ReferralRequested, now: datetime, due_days: int) -> datetime | None:
    """When first contact is due: only a victim who agreed to be contacted is called."""
    return first_contact_due(now, due_days) if event.consented else None


def in_own_words(
    q: Questionnaire, question_id: str, code: str | None, label: str | None
) -> str | None:
    """An answer's label in the questionnaire's own language, whatever language it was
    given in: results and referrals read one language (the interview records which)."""
    if code is None:
        return label
    try:
        question = q.question(question_id)
    except KeyError:
        return label
    return next((o.label for o in options_in(q, question) if o.key == code), label)


def _answers(
    interview_id: int, q: Questionnaire, step: Step, now: datetime
) -> list[dict[str, Any]]:
    """The rows of the answers a step recorded."""
    return [
        {
            "interview_id": interview_id,
            "question_id": event.question_id,
            "code": event.code,
            "label": in_own_words(q, event.question_id, event.code, event.label),
            "via": event.via.value if event.via else None,
            "raw": event.raw,
            "confidence": event.confidence,
            "recording_url": event.recording_url,
            "answered_at": now,
        }
        for event in step.events
        if isinstance(event, engine.AnswerRecorded)
    ]
