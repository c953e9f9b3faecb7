"""Read-side reports: interview exports, referral lists and survey summaries.

Every figure is counted the same way:

- one interview per case (a resumed interview is one interview; cases from before
  interviews were carried on keep their best one: completed, then most core answers);
- the interviews that count are the completed ones, and those that stopped early after
  answering at least the questionnaire's partial threshold of core questions (AAPOR 1.2);
- a question's base is its substantive answers among those interviews: don't know, does
  not apply and prefer not to say are counted and shown beside it, never in it;
- "positive" is what the question declares (``positive:``), said in words with the figure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from ivr.questionnaire.options import (
    counted_as,
    is_substantive,
    not_counted_kind,
    positive_keys,
)
from ivr.questionnaire.schema import NotCounted, Questionnaire
from ivr.results.statistics import wilson_interval
from ivr.store.interviews import pinned_questionnaire
from ivr.store.results import (
    AnswerOfSurvey,
    InterviewOfSurvey,
    answers_of_survey,
    interviews_of_survey,
    referral_counts,
    referrals_with_case_refs,
    transcriptions_of_survey,
)

__all__ = [
    "COMPLETE",
    "PARTIAL",
    "QuestionFigure",
    "SurveySummary",
    "counted",
    "export_interviews",
    "iso",
    "list_referrals",
    "survey_summary",
    "wilson_interval",
]

COMPLETE, PARTIAL = "complete", "partial"


def iso(moment: datetime | None) -> str | None:
    """An ISO 8601 timestamp in UTC, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat()


def core_answered(questionnaire: Questionnaire, codes: dict[str, str | None]) -> int:
    """How many core questions have an answer (don't know included: it was answered)."""
    return sum(1 for qid in questionnaire.core_ids if codes.get(qid) is not None)


def counted(questionnaire: Questionnaire, status: str, codes: dict[str, str | None]) -> str | None:
    """Whether an interview counts in results: ``complete``, ``partial`` (stopped early
    past the partial threshold), or None."""
    if status == "completed":
        return COMPLETE
    if core_answered(questionnaire, codes) >= questionnaire.partial_threshold:
        return PARTIAL
    return None


def _one_per_case(
    rows: Iterable[InterviewOfSurvey], core: dict[int, int]
) -> list[InterviewOfSurvey]:
    """The interview each case is reported by: completed first, then the most core
    answers, then the latest; in the order the cases' interviews started."""
    best: dict[int, InterviewOfSurvey] = {}
    for row in rows:
        held = best.get(row.case_id)
        if held is None or _rank(row, core) > _rank(held, core):
            best[row.case_id] = row
    return sorted(best.values(), key=lambda r: (r.started_at, r.id))


def _rank(row: InterviewOfSurvey, core: dict[int, int]) -> tuple[bool, int, int]:
    return (row.status == "completed", core.get(row.id, 0), row.id)


def _versions(session: Session, rows: Iterable[InterviewOfSurvey]) -> dict[int, Questionnaire]:
    return {
        vid: pinned_questionnaire(session, vid)
        for vid in sorted({r.questionnaire_version_id for r in rows})
    }


def _core_counts(
    rows: Sequence[InterviewOfSurvey],
    answers: dict[int, list[AnswerOfSurvey]],
    versions: dict[int, Questionnaire],
) -> dict[int, int]:
    return {
        row.id: core_answered(
            versions[row.questionnaire_version_id],
            {a.question_id: a.code for a in answers.get(row.id, ())},
        )
        for row in rows
    }


def _mode(channel: str) -> str:
    return "interviewer" if channel == "interviewer" else "phone"


def export_interviews(session: Session, survey: str) -> list[dict[str, Any]]:
    """Every case of a survey that has an interview, with its answers, one object each.

    Ordered by start time then id. ``answers`` holds the questions that were asked, in
    the pinned questionnaire's order: a question skipped by its ``when:`` or never
    reached is absent, and one asked but never answered has null code, label and via. A
    don't know (or does not apply, prefer not to say) says ``"substantive": false``.
    ``counted`` says whether the interview counts in results (``complete`` or
    ``partial``) or not (null).
    """
    rows = interviews_of_survey(session, survey)
    answers = answers_of_survey(session, survey)
    versions = _versions(session, rows)
    chosen = _one_per_case(rows, _core_counts(rows, answers, versions))
    texts = transcriptions_of_survey(session, survey)
    exported: list[dict[str, Any]] = []
    for row in chosen:
        q = versions[row.questionnaire_version_id]
        given = {a.question_id: a for a in answers.get(row.id, ())}
        entries: dict[str, Any] = {}
        for question in q.questions:
            answer = given.get(question.id)
            if answer is None:
                continue
            entry: dict[str, Any] = {
                "code": answer.code,
                "label": answer.label,
                "via": answer.via,
                "substantive": answer.code is None or is_substantive(question, answer.code),
            }
            if answer.recording_url:
                entry["recording_url"] = answer.recording_url
                entry["transcription"] = texts.get((row.id, question.id))
            entries[question.id] = entry
        exported.append(
            {
                "case_ref": row.case_ref,
                "survey": survey,
                "status": row.status,
                "started_at": iso(row.started_at),
                "ended_at": iso(row.ended_at),
                "channel": row.channel,
                "mode": _mode(row.channel),
                "questionnaire_version": row.version,
                "district": row.district,
                "crime_type": row.crime_type,
                "reported_on": row.reported_on.isoformat() if row.reported_on else None,
                "disposition": row.disposition,
                "attempts": row.attempts or 0,
                "counted": counted(q, row.status, {k: a.code for k, a in given.items()}),
                "answers": entries,
            }
        )
    return exported


def list_referrals(
    session: Session, survey: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """Referrals, newest first, optionally only one survey's or one status's."""
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
            "consented": referral.consented,
            "created_at": iso(referral.created_at),
        }
        for referral, case_ref in referrals_with_case_refs(session, survey, status)
    ]


@dataclass(frozen=True)
class QuestionFigure:
    """One core question's figure: what counts as positive (in words), the base of
    substantive answers, the positive ones, the percentage with its 95% Wilson interval,
    and, outside the base, the non-substantive answers by kind and those never answered."""

    question_id: str
    counts_as: str
    base: int
    positive: int
    percent: float
    ci_low: float
    ci_high: float
    not_counted: dict[str, int] = field(default_factory=dict)
    no_answer: int = 0


@dataclass
class SurveySummary:
    """Interviews by status, the interviews counted, core figures and referrals by district."""

    survey: str
    interviews_by_status: dict[str, int] = field(default_factory=dict)
    #: Interviews in the figures: complete, and partial (past the threshold).
    counted: dict[str, int] = field(default_factory=dict)
    #: What makes an early-ending interview count, in words.
    partial_rule: str = ""
    core: list[QuestionFigure] = field(default_factory=list)
    referrals_by_district: dict[str, dict[str, int]] = field(default_factory=dict)


def _figure(
    question_id: str,
    words: str,
    base: int,
    positive: int,
    not_counted: Counter[str],
    no_answer: int,
) -> QuestionFigure:
    low, high = wilson_interval(positive, base)
    percent = 100.0 * positive / base if base else 0.0
    return QuestionFigure(
        question_id,
        words,
        base,
        positive,
        percent,
        100.0 * low,
        100.0 * high,
        {k.value: not_counted.get(k.value, 0) for k in NotCounted if not_counted.get(k.value)},
        no_answer,
    )


def survey_summary(session: Session, survey: str) -> SurveySummary:
    """The survey's figures, counted as the module says: one interview per case, completes
    and partials past the threshold, substantive answers in each question's base."""
    rows = interviews_of_survey(session, survey)
    answers = answers_of_survey(session, survey)
    versions = _versions(session, rows)
    chosen = _one_per_case(rows, _core_counts(rows, answers, versions))

    core_ids: list[str] = []
    words: dict[str, str] = {}
    for q in versions.values():
        for qid in q.core_ids:
            if qid not in core_ids:
                core_ids.append(qid)
            words.setdefault(qid, counted_as(q.question(qid)))
    base = Counter[str]()
    positive = Counter[str]()
    no_answer = Counter[str]()
    not_counted: dict[str, Counter[str]] = {qid: Counter() for qid in core_ids}
    in_figures = Counter[str]()
    for row in chosen:
        q = versions[row.questionnaire_version_id]
        codes = {a.question_id: a.code for a in answers.get(row.id, ())}
        kind = counted(q, row.status, codes)
        if kind is None:
            continue
        in_figures[kind] += 1
        for qid in q.core_ids:
            if qid not in codes:
                continue  # not asked (skipped, or the call ended before it)
            question, code = q.question(qid), codes[qid]
            if code is None:
                no_answer[qid] += 1
            elif is_substantive(question, code):
                base[qid] += 1
                positive[qid] += code in positive_keys(question)
            else:
                reason = not_counted_kind(question, code)
                not_counted[qid][reason.value if reason else "other"] += 1

    referrals: dict[str, dict[str, int]] = {}
    for district, kind_, count in referral_counts(session, survey):
        referrals.setdefault(district, {})[kind_] = count

    thresholds = sorted({(q.partial_threshold, len(q.core_ids)) for q in versions.values()})
    rule = "; ".join(
        f"stopped early with at least {t} of the {n} core questions answered" for t, n in thresholds
    )
    return SurveySummary(
        survey=survey,
        interviews_by_status=dict(sorted(Counter(r.status for r in chosen).items())),
        counted={COMPLETE: in_figures[COMPLETE], PARTIAL: in_figures[PARTIAL]},
        partial_rule=rule,
        core=[
            _figure(qid, words[qid], base[qid], positive[qid], not_counted[qid], no_answer[qid])
            for qid in core_ids
        ],
        referrals_by_district=referrals,
    )
