"""Read-side reports: interview exports, referral lists and survey summaries."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from ivr.questionnaire.options import is_satisfied
from ivr.questionnaire.schema import Questionnaire
from ivr.store.interviews import pinned_questionnaire
from ivr.store.models import Answer, Case, Interview, Referral

__all__ = [
    "CoreResult",
    "SurveySummary",
    "export_interviews",
    "iso",
    "list_referrals",
    "survey_summary",
    "wilson_interval",
]



def iso(moment: datetime | None) -> str | None:
    """An ISO 8601 timestamp in UTC, or None."""
    if moment is None:
        return None
    # SQLite hands back naive datetimes even for timezone-aware columns; they were stored in UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _answer_entry(answer: Answer) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": answer.code, "label": answer.label, "via": answer.via}
    if answer.recording_url:
        entry["recording_url"] = answer.recording_url
    return entry


def export_interviews(session: Session, survey: str) -> list[dict[str, Any]]:
    """Every interview of a survey with its answers to the questionnaire it pinned.

    Ordered by start time then id. ``answers`` holds the questions that were asked, in
    the pinned questionnaire's order: a question skipped by its ``when:`` or never
    reached is absent, and one asked but never answered has null code, label and via.
    """
    interviews = session.scalars(
        select(Interview)
        .join(Interview.case)
        .where(Case.survey == survey)
        .options(
            contains_eager(Interview.case),
            selectinload(Interview.answers),
            selectinload(Interview.questionnaire_version),
        )
        .order_by(Interview.started_at, Interview.id)
    ).all()
    rows: list[dict[str, Any]] = []
    for interview in interviews:
        questionnaire = pinned_questionnaire(session, interview.questionnaire_version_id)
        by_question = {a.question_id: a for a in interview.answers}
        rows.append({
            "case_ref": interview.case.case_ref,
            "survey": interview.case.survey,
            "status": interview.status,
            "started_at": iso(interview.started_at),
            "ended_at": iso(interview.ended_at),
            "channel": interview.channel,
            "questionnaire_version": interview.questionnaire_version.version,
            "answers": {q.id: _answer_entry(by_question[q.id])
                        for q in questionnaire.questions if q.id in by_question},
        })
    return rows


def list_referrals(session: Session, survey: str | None = None,
                   status: str | None = None) -> list[dict[str, Any]]:
    """Referrals, newest first, optionally only one survey's or one status's."""
    query = (
        select(Referral, Case.case_ref)
        .join(Referral.case)
        .order_by(Referral.created_at.desc(), Referral.id.desc())
    )
    if survey is not None:
        query = query.where(Referral.survey == survey)
    if status is not None:
        query = query.where(Referral.status == status)
    return [
        {
            "id": referral.id,
            "case_ref": case_ref,
            "survey": referral.survey,
            "kind": referral.kind,
            "district": referral.district,
            "reasons": [
                {"question": r.get("question"), "answer": r.get("answer"), "code": r.get("code")}
                for r in referral.reasons or ()
            ],
            "status": referral.status,
            "created_at": iso(referral.created_at),
        }
        for referral, case_ref in session.execute(query)
    ]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a proportion, as (low, high) in 0..1."""
    if n <= 0:
        return (0.0, 0.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes ({successes}) must be between 0 and n ({n})")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    # Rounding can push an end a hair past the unit interval when p is 0 or 1.
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class CoreResult:
    """Satisfaction with one core question: counts, percent satisfied and its 95% interval."""

    question_id: str
    answered: int
    satisfied: int
    percent: float
    ci_low: float
    ci_high: float


@dataclass
class SurveySummary:
    """Interviews by status, core satisfaction results and referrals by district."""

    survey: str
    interviews_by_status: dict[str, int] = field(default_factory=dict)
    core: list[CoreResult] = field(default_factory=list)
    referrals_by_district: dict[str, dict[str, int]] = field(default_factory=dict)


def _core_result(question_id: str, answered: int, satisfied: int) -> CoreResult:
    low, high = wilson_interval(satisfied, answered)
    percent = 100.0 * satisfied / answered if answered else 0.0
    return CoreResult(question_id, answered, satisfied, percent, 100.0 * low, 100.0 * high)


def survey_summary(session: Session, survey: str) -> SurveySummary:
    """Counts for one survey, aggregated in the database.

    Core results cover every interview of the survey, whatever its status, counting
    each answer with a code; "satisfied" is what the pinned question calls satisfied
    (keys 1-3 of the 7-point scale).
    """
    of_survey = Interview.case_id.in_(select(Case.id).where(Case.survey == survey))
    by_status = session.execute(
        select(Interview.status, func.count()).where(of_survey).group_by(Interview.status)
    ).all()
    version_ids = session.scalars(
        select(Interview.questionnaire_version_id).where(of_survey).distinct()
        .order_by(Interview.questionnaire_version_id)
    ).all()
    versions: dict[int, Questionnaire] = {
        vid: pinned_questionnaire(session, vid) for vid in version_ids
    }
    core_ids: list[str] = []
    for questionnaire in versions.values():
        core_ids.extend(qid for qid in questionnaire.core_ids if qid not in core_ids)

    answered = dict.fromkeys(core_ids, 0)
    satisfied = dict.fromkeys(core_ids, 0)
    if core_ids:
        # Grouped by version too, because one question id may differ between versions.
        counts = session.execute(
            select(Interview.questionnaire_version_id, Answer.question_id, Answer.code,
                   func.count())
            .join(Answer.interview)
            .where(of_survey, Answer.code.is_not(None), Answer.question_id.in_(core_ids))
            .group_by(Interview.questionnaire_version_id, Answer.question_id, Answer.code)
        ).all()
        for version_id, question_id, code, count in counts:
            questionnaire = versions[version_id]
            if question_id not in questionnaire.core_ids:
                continue
            answered[question_id] += count
            if is_satisfied(questionnaire.question(question_id), code):
                satisfied[question_id] += count

    referrals: dict[str, dict[str, int]] = {}
    for district, kind, count in session.execute(
        select(Referral.district, Referral.kind, func.count())
        .where(Referral.survey == survey)
        .group_by(Referral.district, Referral.kind)
        .order_by(Referral.district, Referral.kind)
    ):
        referrals.setdefault(district, {})[kind] = count

    return SurveySummary(
        survey=survey,
        interviews_by_status={status: count for status, count in sorted(by_status)},
        core=[_core_result(qid, answered[qid], satisfied[qid]) for qid in core_ids],
        referrals_by_district=referrals,
    )
