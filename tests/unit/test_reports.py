"""Tests for the read-side reports over hand-built rows on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from ivr.results.reports import (
    QuestionFigure,
    export_interviews,
    iso,
    list_referrals,
    survey_summary,
    wilson_interval,
)
from ivr.store.interviews import pin_version
from ivr.store.models import Answer, Case, Interview, Referral
from tests.conftest import add_case

START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
USS_QUESTIONS = [
    "ease_of_contact",
    "actions_taken",
    "kept_informed",
    "treatment",
    "whole_experience",
    "dissatisfaction_reason",
    "recovery_consent",
    "police_contact",
]
SATISFIED_WORDS = "satisfied: completely, very or fairly"


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        (50, 100, (0.40383, 0.59617)),
        (0, 10, (0.0, 0.27754)),
        (10, 10, (0.72246, 1.0)),
        (1, 2, (0.09453, 0.90547)),
        # Newcombe (1998), Statistics in Medicine 17:857, example (a): 0.2553 to 0.3662.
        (81, 263, (0.2553, 0.3662)),
    ],
)
def test_wilson_interval_matches_known_values(
    successes: int, n: int, expected: tuple[float, float]
) -> None:
    low, high = wilson_interval(successes, n)
    assert low == pytest.approx(expected[0], abs=1e-4)
    assert high == pytest.approx(expected[1], abs=1e-4)


def test_wilson_interval_of_nothing_is_zero() -> None:
    assert wilson_interval(0, 0) == (0.0, 0.0)


def test_wilson_interval_narrows_with_z() -> None:
    wide = wilson_interval(30, 60, z=2.576)
    narrow = wilson_interval(30, 60, z=1.645)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]


def test_wilson_interval_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


def test_iso_treats_naive_times_as_utc() -> None:
    assert iso(datetime(2026, 10, 1, 9, 30)) == "2026-10-01T09:30:00+00:00"
    assert iso(None) is None


@contextmanager
def session_for(app: Flask) -> Iterator[Session]:
    with app.extensions["ivr"].db.transaction() as session:
        yield session


def add_interview(
    app: Flask,
    case_ref: str,
    *,
    status: str,
    minutes: int,
    answers: dict[str, str | None],
    survey: str = "uss",
    ended: bool = True,
    case: Case | None = None,
) -> None:
    """Store a case (unless given) and one interview on the current questionnaire with these
    answer codes."""
    case = case or add_case(
        app, case_ref=case_ref, survey=survey, phone=f"+4411349600{minutes % 100:02d}"
    )
    svc = app.extensions["ivr"]
    with session_for(app) as session:
        version_id = pin_version(session, svc.questionnaires.current(survey))
        started = START + timedelta(minutes=minutes)
        interview = Interview(
            case_id=case.id,
            questionnaire_version_id=version_id,
            channel="phone_inbound",
            status=status,
            started_at=started,
            ended_at=started + timedelta(minutes=3) if ended else None,
        )
        session.add(interview)
        session.flush()
        for qid, code in answers.items():
            session.add(
                Answer(
                    interview_id=interview.id,
                    question_id=qid,
                    code=code,
                    label=None if code is None else f"label {code}",
                    via=None if code is None else "keypad",
                )
            )


def test_export_lists_the_asked_questions_of_the_pinned_version(app: Flask) -> None:
    add_interview(
        app,
        "CR/2",
        status="in_progress",
        minutes=5,
        ended=False,
        answers={"ease_of_contact": "2", "legacy_question": "9"},
    )
    add_interview(
        app,
        "CR/1",
        status="completed",
        minutes=1,
        answers={"ease_of_contact": "1", "treatment": None},
    )
    with session_for(app) as session:
        rows = export_interviews(session, "uss")

    assert [r["case_ref"] for r in rows] == ["CR/1", "CR/2"]
    first, running = rows
    assert first["started_at"] == "2026-10-01T09:01:00+00:00"
    assert first["ended_at"] == "2026-10-01T09:04:00+00:00"
    assert first["questionnaire_version"] == "2026.2"
    assert list(first["answers"]) == ["ease_of_contact", "treatment"]
    assert first["answers"]["ease_of_contact"] == {
        "code": "1",
        "label": "label 1",
        "via": "keypad",
        "substantive": True,
    }
    assert first["answers"]["treatment"] == {
        "code": None,
        "label": None,
        "via": None,
        "substantive": True,
    }
    assert "police_contact" not in first["answers"]
    assert running["status"] == "in_progress"
    assert running["ended_at"] is None
    assert "legacy_question" not in running["answers"]


def test_export_only_holds_the_survey_asked_for(app: Flask) -> None:
    add_interview(app, "CR/1", status="completed", minutes=1, answers={})
    with session_for(app) as session:
        assert export_interviews(session, "vcas_exit") == []


def test_export_query_count_does_not_grow_with_interviews(app: Flask) -> None:
    engine = app.extensions["ivr"].db.engine
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    def queries_for_export() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            with session_for(app) as session:
                export_interviews(session, "uss")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")])

    add_interview(app, "CR/1", status="completed", minutes=1, answers={"treatment": "1"})
    one = queries_for_export()
    for i in range(2, 7):
        add_interview(app, f"CR/{i}", status="completed", minutes=i, answers={"treatment": "2"})
    assert queries_for_export() == one <= 3


def test_summary_counts_one_base_of_substantive_answers(app: Flask) -> None:
    add_interview(
        app,
        "CR/1",
        status="completed",
        minutes=1,
        answers={"ease_of_contact": "1", "treatment": "4", "police_contact": "1"},
    )
    add_interview(
        app,
        "CR/2",
        status="completed",
        minutes=2,
        answers={"ease_of_contact": "3", "treatment": "5"},
    )
    # Past the threshold (3 of 5 core answered, don't know included): a partial that counts.
    add_interview(
        app,
        "CR/3",
        status="partial",
        minutes=3,
        answers={
            "ease_of_contact": "7",
            "actions_taken": "8",
            "treatment": None,
            "kept_informed": "2",
        },
    )
    # Short of it: not in any figure.
    add_interview(
        app,
        "CR/4",
        status="partial",
        minutes=4,
        answers={"ease_of_contact": "1", "actions_taken": "1"},
    )
    with session_for(app) as session:
        summary = survey_summary(session, "uss")

    assert summary.interviews_by_status == {"completed": 2, "partial": 2}
    assert summary.counted == {"complete": 2, "partial": 1}
    assert [c.question_id for c in summary.core] == USS_QUESTIONS[:5]
    by_id = {c.question_id: c for c in summary.core}
    ease = by_id["ease_of_contact"]
    low, high = wilson_interval(2, 3)
    assert ease == QuestionFigure(
        "ease_of_contact",
        SATISFIED_WORDS,
        3,
        2,
        pytest.approx(200 / 3),
        pytest.approx(100 * low),
        pytest.approx(100 * high),
        {},
        0,
    )
    actions = by_id["actions_taken"]
    assert (actions.base, actions.not_counted, actions.percent) == (0, {"dont_know": 1}, 0.0)
    treatment = by_id["treatment"]
    assert (treatment.base, treatment.positive, treatment.no_answer) == (2, 0, 1)
    assert by_id["whole_experience"] == QuestionFigure(
        "whole_experience", SATISFIED_WORDS, 0, 0, 0.0, 0.0, 0.0, {}, 0
    )


def test_a_case_counts_once_whatever_interviews_it_has(app: Flask) -> None:
    case = add_case(app, case_ref="CR/1", phone="+441134960011")
    add_interview(
        app,
        "CR/1",
        status="partial",
        minutes=1,
        case=case,
        answers={"ease_of_contact": "7", "actions_taken": "7", "kept_informed": "7"},
    )
    add_interview(
        app,
        "CR/1",
        status="completed",
        minutes=9,
        case=case,
        answers={
            "ease_of_contact": "1",
            "actions_taken": "1",
            "kept_informed": "1",
            "treatment": "1",
            "whole_experience": "1",
        },
    )
    with session_for(app) as session:
        summary = survey_summary(session, "uss")
        rows = export_interviews(session, "uss")
    assert summary.counted == {"complete": 1, "partial": 0}
    assert [(c.base, c.positive) for c in summary.core] == [(1, 1)] * 5
    assert [(r["case_ref"], r["status"]) for r in rows] == [("CR/1", "completed")]


def test_summary_and_list_of_referrals(app: Flask) -> None:
    add_interview(app, "CR/1", status="completed", minutes=1, answers={})
    add_interview(app, "CR/2", status="completed", minutes=2, answers={})
    with session_for(app) as session:
        cases = {c.case_ref: c for c in session.query(Case)}
        interviews = {i.case_id: i for i in session.query(Interview)}
        reason = {"question": "treatment", "answer": "very dissatisfied", "code": "6"}
        for n, (ref, kind, district, status) in enumerate(
            [
                ("CR/1", "service_recovery", "Hartlepool", "new"),
                ("CR/1", "action_alert", "Hartlepool", "done"),
                ("CR/2", "action_alert", "Stockton", "new"),
            ]
        ):
            case = cases[ref]
            session.add(
                Referral(
                    interview_id=interviews[case.id].id,
                    case_id=case.id,
                    survey="uss",
                    kind=kind,
                    district=district,
                    reasons=[reason],
                    status=status,
                    created_at=START + timedelta(hours=n),
                )
            )

    with session_for(app) as session:
        summary = survey_summary(session, "uss")
        newest_first = list_referrals(session)
        new_only = list_referrals(session, status="new")
        other_survey = list_referrals(session, survey="vcas_exit")

    assert summary.referrals_by_district == {
        "Hartlepool": {"action_alert": 1, "service_recovery": 1},
        "Stockton": {"action_alert": 1},
    }
    assert [(r["case_ref"], r["kind"]) for r in newest_first] == [
        ("CR/2", "action_alert"),
        ("CR/1", "action_alert"),
        ("CR/1", "service_recovery"),
    ]
    assert newest_first[0] == {
        "id": newest_first[0]["id"],
        "case_ref": "CR/2",
        "survey": "uss",
        "kind": "action_alert",
        "district": "Stockton",
        "reasons": [reason],
        "status": "new",
        "consented": True,
        "created_at": "2026-10-01T11:00:00+00:00",
    }
    assert [r["kind"] for r in new_only] == ["action_alert", "service_recovery"]
    assert other_survey == []


def test_summary_of_a_survey_without_interviews(app: Flask) -> None:
    with session_for(app) as session:
        summary = survey_summary(session, "uss")
    assert (summary.interviews_by_status, summary.core, summary.referrals_by_district) == (
        {},
        [],
        {},
    )
    assert summary.counted == {"complete": 0, "partial": 0}
