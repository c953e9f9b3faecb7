"""The results' reads: a survey's interviews, answers, transcriptions and referrals."""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ivr.store.models import (
    Answer,
    Case,
    Interview,
    QuestionnaireVersion,
    Referral,
    Schedule,
    Transcription,
)


class InterviewOfSurvey(NamedTuple):
    """An interview with what the reports say of its case, version and calls."""

    id: int
    case_id: int
    status: str
    started_at: datetime
    ended_at: datetime | None
    channel: str
    questionnaire_version_id: int
    case_ref: str
    district: str | None
    crime_type: str | None
    reported_on: date | None
    version: str
    disposition: str | None
    attempts: int | None


class AnswerOfSurvey(NamedTuple):
    """One answer an interview recorded."""

    interview_id: int
    question_id: str
    code: str | None
    label: str | None
    via: str | None
    recording_url: str | None


def interviews_of_survey(session: Session, survey: str) -> list[InterviewOfSurvey]:
    """Every interview of the survey's cases (a case may have several), with its case's
    facts, its questionnaire version and the case's schedule, if any."""
    return [
        InterviewOfSurvey._make(row)
        for row in session.execute(
            select(
                Interview.id,
                Interview.case_id,
                Interview.status,
                Interview.started_at,
                Interview.ended_at,
                Interview.channel,
                Interview.questionnaire_version_id,
                Case.case_ref,
                Case.district,
                Case.crime_type,
                Case.reported_on,
                QuestionnaireVersion.version,
                Schedule.disposition,
                Schedule.attempts,
            )
            .join(Case, Case.id == Interview.case_id)
            .join(
                QuestionnaireVersion, QuestionnaireVersion.id == Interview.questionnaire_version_id
            )
            .outerjoin(Schedule, Schedule.case_id == Case.id)
            .where(Case.survey == survey)
        )
    ]


def answers_of_survey(session: Session, survey: str) -> dict[int, list[AnswerOfSurvey]]:
    """The answers of the survey's interviews by interview id, each in the order given."""
    by_interview: dict[int, list[AnswerOfSurvey]] = {}
    for row in session.execute(
        select(
            Answer.interview_id,
            Answer.question_id,
            Answer.code,
            Answer.label,
            Answer.via,
            Answer.recording_url,
        )
        .join(Interview, Interview.id == Answer.interview_id)
        .join(Case, Case.id == Interview.case_id)
        .where(Case.survey == survey)
        .order_by(Answer.id)
    ):
        by_interview.setdefault(row.interview_id, []).append(AnswerOfSurvey(*row))
    return by_interview


def transcriptions_of_survey(session: Session, survey: str) -> dict[tuple[int, str], str | None]:
    """The text of the survey's transcribed answers, by (interview id, question id)."""
    return {
        (t.interview_id, t.question_id): t.text
        for t in session.execute(
            select(Transcription.interview_id, Transcription.question_id, Transcription.text)
            .join(Interview, Interview.id == Transcription.interview_id)
            .join(Case, Case.id == Interview.case_id)
            .where(Case.survey == survey)
        )
    }


def referrals_with_case_refs(
    session: Session, survey: str | None = None, status: str | None = None
) -> list[tuple[Referral, str]]:
    """Referrals with their case's reference, newest first, optionally only one survey's or
    one status's."""
    query = (
        select(Referral, Case.case_ref)
        .join(Referral.case)
        .order_by(Referral.created_at.desc(), Referral.id.desc())
    )
    if survey is not None:
        query = query.where(Referral.survey == survey)
    if status is not None:
        query = query.where(Referral.status == status)
    return [(referral, case_ref) for referral, case_ref in session.execute(query)]


def referral_counts(session: Session, survey: str) -> list[tuple[str, str, int]]:
    """How many referrals the survey has, as (district, kind, count), by district and kind."""
    return [
        (district, kind, count)
        for district, kind, count in session.execute(
            select(Referral.district, Referral.kind, func.count())
            .where(Referral.survey == survey)
            .group_by(Referral.district, Referral.kind)
            .order_by(Referral.district, Referral.kind)
        )
    ]
