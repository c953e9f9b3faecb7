"""Running interviews: start one for a case, apply an input, keep what happened."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from ivr import engine
from ivr.engine import InputEvent, State, Status, Step
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.questionnaire.schema import Questionnaire
from ivr.store.interviews import (
    add_answer,
    add_referral,
    pin_version,
    pinned_questionnaire,
)
from ivr.store.models import Case, Interview, Referral, utcnow

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What one turn did: the engine's step and any referrals it created."""

    step: Step
    referrals: list[Referral] = field(default_factory=list)


def begin(
    session: Session, registry: QuestionnaireRegistry, case: Case, *, channel: str,
    call_sid: str | None = None,
) -> tuple[Interview, Outcome]:
    """Start an interview for a case on the current version of its questionnaire."""
    loaded = registry.current(case.survey)
    version_id = pin_version(session, loaded)
    step = engine.start(loaded.questionnaire, case.field_values())
    interview = Interview(case=case, questionnaire_version_id=version_id, channel=channel,
                          call_sid=call_sid, status=Status.IN_PROGRESS.value, step_no=0,
                          state=step.state.to_json())
    session.add(interview)
    session.flush()
    return interview, _keep(session, interview, loaded.questionnaire, step)


def advance(session: Session, interview: Interview, event: InputEvent) -> Outcome:
    """Apply one input to an interview and keep its answers, referrals and status."""
    questionnaire = pinned_questionnaire(session, interview.questionnaire_version_id)
    state = State.from_json(interview.state)
    step = engine.step(questionnaire, state, event)
    interview.step_no += 1
    return _keep(session, interview, questionnaire, step)


def _keep(session: Session, interview: Interview, q: Questionnaire, step: Step) -> Outcome:
    outcome = Outcome(step)
    for event in step.events:
        if isinstance(event, engine.AnswerRecorded):
            add_answer(
                session, interview, question_id=event.question_id, code=event.code,
                label=event.label, via=event.via.value if event.via else None, raw=event.raw,
                confidence=event.confidence, recording_url=event.recording_url,
            )
        elif isinstance(event, engine.ReferralRequested):
            case = interview.case
            district = (
                q.routing.service if q.routing.to == "service" else case.district
            ) or "unassigned"
            reasons = [{"question": r.question, "answer": r.answer, "code": r.code}
                       for r in event.reasons]
            outcome.referrals.append(
                add_referral(session, interview, case, kind=event.kind, district=district,
                             reasons=reasons)
            )
        elif isinstance(event, engine.InterviewEnded):
            interview.status = event.status.value
            interview.ended_at = utcnow()
    interview.state = step.state.to_json()
    return outcome
