"""Reading and writing interviews, their turns, answers and referrals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ivr.questionnaire.loader import LoadedQuestionnaire, parse_questionnaire
from ivr.questionnaire.schema import Questionnaire
from ivr.store.models import (
    Answer,
    CallAttempt,
    Case,
    Interview,
    QuestionnaireVersion,
    Referral,
    Turn,
)

#: Statuses after which a case needs no more calls for its survey.
CLOSED_STATUSES = ("completed", "refused")

# Parsed pinned questionnaires by version row id; a version's text never changes.
_PINNED: dict[int, Questionnaire] = {}


def pin_version(session: Session, loaded: LoadedQuestionnaire) -> int:
    """The id of the stored copy of this exact questionnaire text, storing it if new."""
    q = loaded.questionnaire
    version_id = session.scalar(
        select(QuestionnaireVersion.id).where(
            QuestionnaireVersion.survey == q.id, QuestionnaireVersion.sha256 == loaded.sha256
        )
    )
    if version_id is None:
        row = QuestionnaireVersion(survey=q.id, version=q.version, sha256=loaded.sha256,
                                   source=loaded.source)
        session.add(row)
        session.flush()
        version_id = row.id
    _PINNED.setdefault(version_id, q)
    return version_id


def pinned_questionnaire(session: Session, version_id: int) -> Questionnaire:
    """The questionnaire an interview pinned, parsed once per process from the stored text."""
    q = _PINNED.get(version_id)
    if q is None:
        row = session.get(QuestionnaireVersion, version_id)
        if row is None:
            raise LookupError(f"questionnaire version {version_id} is not stored")
        q = parse_questionnaire(row.source, f"<stored {row.survey} {row.version}>").questionnaire
        _PINNED[version_id] = q
    return q


def open_case_for_phone(session: Session, phone: str, surveys: list[str]) -> Case | None:
    """The newest case with this number whose survey is still to be done."""
    closed = exists().where(
        Interview.case_id == Case.id, Interview.status.in_(CLOSED_STATUSES)
    )
    return session.scalars(
        select(Case)
        .where(Case.phone == phone, Case.survey.in_(surveys), ~closed)
        .order_by(Case.imported_at.desc(), Case.id.desc())
        .limit(1)
    ).first()


def interview_by_public_id(session: Session, public_id: str, *, lock: bool) -> Interview | None:
    """An interview by the id in its URLs, row-locked for the turn when ``lock``."""
    query = select(Interview).where(Interview.public_id == public_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def interview_by_call_sid(session: Session, call_sid: str, *, lock: bool) -> Interview | None:
    """The interview a call is carrying, if any."""
    query = select(Interview).where(Interview.call_sid == call_sid)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def stored_turn(session: Session, interview_id: int, step_no: int) -> str | None:
    """The TwiML already sent for a turn, if it was processed before."""
    return session.scalar(
        select(Turn.response).where(Turn.interview_id == interview_id, Turn.step_no == step_no)
    )


def attempt_by_public_id(session: Session, public_id: str) -> CallAttempt | None:
    """An outbound call attempt by the id carried in its Voice URL."""
    return session.scalars(select(CallAttempt).where(CallAttempt.public_id == public_id)).first()


def attempts_by_call_sid(session: Session, call_sid: str) -> list[CallAttempt]:
    """Attempts (normally one) recorded for a call."""
    return list(session.scalars(select(CallAttempt).where(CallAttempt.call_sid == call_sid)))


def add_answer(session: Session, interview: Interview, **values: Any) -> Answer:
    """Store one answer for the interview."""
    answer = Answer(interview_id=interview.id, **values)
    session.add(answer)
    return answer


def add_referral(session: Session, interview: Interview, case: Case, *, kind: str,
                 district: str, reasons: list[dict[str, Any]]) -> Referral:
    """Store a new referral for the interview's case."""
    referral = Referral(interview_id=interview.id, case_id=case.id, survey=case.survey,
                        kind=kind, district=district, reasons=reasons, status="new")
    session.add(referral)
    return referral
