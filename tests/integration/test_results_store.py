"""The quarterly figures the store counts in SQL, on SQLite and PostgreSQL: one interview per
case, the partial threshold of each questionnaire version, non-substantive answers outside
the base, periods by London date, district scope, every breakdown, cases by when their
calling closed, referrals and their reasons, and the streamed export."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from ivr.campaigns.scheduler import campaign_for, plan, replan_after
from ivr.questionnaire.calling import Outcome
from ivr.questionnaire.loader import LoadedQuestionnaire, parse_questionnaire
from ivr.questionnaire.options import declared_not_counted, positive_keys, substantive_options
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.results.reports import export_interviews
from ivr.store import campaigns as campaign_store
from ivr.store import results as store
from ivr.store.db import Database
from ivr.store.interviews import pin_version, pinned_questionnaire
from ivr.store.models import (
    Answer,
    Case,
    Interview,
    Referral,
    Schedule,
    Transcription,
)

ROOT = Path(__file__).resolve().parents[2]
USS = (ROOT / "questionnaires" / "uss.yaml").read_text()
CORE = ("ease_of_contact", "actions_taken", "kept_informed", "treatment", "whole_experience")
#: A Tuesday in September 2026 (British Summer Time), 10:00 London.
DAY = datetime(2026, 9, 15, 9, 0, tzinfo=UTC)
Q3 = store.london_window("2026 Q3", date(2026, 7, 1), date(2026, 9, 30))
Q4 = store.london_window("2026 Q4", date(2026, 10, 1), date(2026, 12, 31))
EVERYTHING = store.Window("all", datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))


def older_uss() -> LoadedQuestionnaire:
    """The USS questionnaire as an older version said it: 4 core answers for a partial."""
    source = USS.replace('version: "2026.2"', 'version: "2025.1"', 1).replace(
        "partial_core_answers: 3", "partial_core_answers: 4", 1
    )
    assert source != USS and "partial_core_answers: 4" in source
    return parse_questionnaire(source, "older uss.yaml")


@dataclass
class World:
    """A database with the current and an older USS version, and helpers to fill it."""

    db: Database
    current: int = 0
    older: int = 0
    cases: int = 0
    started: Counter[str] = field(default_factory=Counter)

    def case(
        self,
        *,
        district: str = "Hartlepool",
        crime_type: str = "burglary",
        fields: dict[str, Any] | None = None,
        survey: str = "uss",
    ) -> int:
        self.cases += 1
        with self.db.transaction() as session:
            case = Case(
                survey=survey,
                case_ref=f"CR/{self.cases:04d}/26",
                phone=f"+44113496{self.cases:04d}",
                first_name="Alex",
                crime_type=crime_type,
                district=district,
                reported_on=date(2026, 7, 20),
                fields=fields or {},
            )
            session.add(case)
            session.flush()
            return case.id

    def interview(
        self,
        case_id: int,
        answers: dict[str, str | None],
        *,
        status: str = "completed",
        started: datetime = DAY,
        version: int | None = None,
        channel: str = "phone_outbound",
        recordings: dict[str, tuple[str, str | None]] | None = None,
        notes: list[dict[str, str]] | None = None,
    ) -> int:
        """An interview with these answer codes (None: asked, never answered) and
        recordings (question -> (url, transcription text or None for none))."""
        with self.db.transaction() as session:
            interview = Interview(
                case_id=case_id,
                questionnaire_version_id=version or self.current,
                channel=channel,
                status=status,
                started_at=started,
                ended_at=started + timedelta(minutes=4),
                notes=notes,
            )
            session.add(interview)
            session.flush()
            for question_id, code in answers.items():
                session.add(
                    Answer(
                        interview_id=interview.id,
                        question_id=question_id,
                        code=code,
                        label=None if code is None else f"label {code}",
                        via=None if code is None else "keypad",
                    )
                )
            for question_id, (url, words) in (recordings or {}).items():
                session.add(
                    Answer(
                        interview_id=interview.id,
                        question_id=question_id,
                        code=None,
                        via="speech",
                        recording_url=url,
                    )
                )
                if words is not None:
                    session.add(
                        Transcription(
                            interview_id=interview.id,
                            question_id=question_id,
                            status="completed",
                            text=words,
                        )
                    )
            return interview.id

    def schedule(
        self, case_id: int, disposition: str | None, closed_at: datetime | None, attempts: int = 2
    ) -> None:
        with self.db.transaction() as session:
            session.add(
                Schedule(
                    case_id=case_id,
                    survey="uss",
                    attempts=attempts,
                    outcomes=[],
                    disposition=disposition,
                    closed_at=closed_at,
                )
            )

    def referral(
        self,
        interview_id: int,
        case_id: int,
        *,
        kind: str = "service_recovery",
        district: str = "Hartlepool",
        created_at: datetime = DAY,
        reasons: list[dict[str, str]] | None = None,
        consented: bool = True,
    ) -> None:
        with self.db.transaction() as session:
            session.add(
                Referral(
                    interview_id=interview_id,
                    case_id=case_id,
                    survey="uss",
                    kind=kind,
                    district=district,
                    reasons=reasons
                    if reasons is not None
                    else [{"question": "treatment", "answer": "very dissatisfied", "code": "6"}],
                    status="new",
                    created_at=created_at,
                    due_at=created_at + timedelta(days=2) if consented else None,
                    consented=consented,
                )
            )

    def rules(self) -> tuple[list[store.Coding], list[store.CountingRule]]:
        """Each version's coding and counting rule, as the report derives them."""
        coding: list[store.Coding] = []
        rules: list[store.CountingRule] = []
        with self.db.begin() as conn:
            versions = store.versions_of_survey(conn, "uss")
            questionnaires = {v: pinned_questionnaire(conn, v) for v in versions}
        for vid, q in questionnaires.items():
            rules.append(store.CountingRule(vid, tuple(q.core_ids), q.partial_threshold))
            for qid in q.core_ids:
                question = q.question(qid)
                for option in substantive_options(question):
                    klass = "positive" if option.key in positive_keys(question) else "negative"
                    coding.append(store.Coding(vid, qid, option.key, klass))
                for declared in declared_not_counted(question):
                    coding.append(store.Coding(vid, qid, declared.key, declared.answer.value))
        return coding, rules

    def answers(
        self,
        windows: Iterable[store.Window] = (EVERYTHING,),
        groupings: Iterable[tuple[str, ...]] = ((),),
        districts: tuple[str, ...] | None = None,
    ) -> dict[tuple[str, tuple[str, ...], tuple[str | None, ...], str], dict[str, int]]:
        """The answer counts by (window, grouping, groups, question): {class: n}."""
        coding, rules = self.rules()
        with self.db.begin() as conn:
            rows = store.answer_counts(
                conn,
                "uss",
                coding=coding,
                rules=rules,
                windows=list(windows),
                groupings=list(groupings),
                districts=districts,
            )
        found: dict[tuple[str, tuple[str, ...], tuple[str | None, ...], str], dict[str, int]] = {}
        for row in rows:
            key = (row.window, row.grouping, row.groups, row.question_id)
            assert row.klass not in found.setdefault(key, {}), row
            found[key][row.klass] = row.n
        return found

    def interviews(
        self,
        windows: Iterable[store.Window] = (EVERYTHING,),
        groupings: Iterable[tuple[str, ...]] = ((),),
        districts: tuple[str, ...] | None = None,
    ) -> dict[tuple[str, tuple[str, ...], tuple[str | None, ...]], tuple[int, int]]:
        _coding, rules = self.rules()
        with self.db.begin() as conn:
            rows = store.interview_counts(
                conn,
                "uss",
                rules=rules,
                windows=list(windows),
                groupings=list(groupings),
                districts=districts,
            )
        return {(r.window, r.grouping, r.groups): (r.complete, r.partial) for r in rows}


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    db = Database(any_db)
    w = World(db)
    with db.transaction() as session:
        w.current = pin_version(session, parse_questionnaire(USS, "uss.yaml"))
        w.older = pin_version(session, older_uss())
    yield w
    db.dispose()


def satisfied(*codes: str) -> dict[str, str | None]:
    """Core answers with these codes, in the questions' order."""
    return dict(zip(CORE, codes, strict=False))


def overall(world: World, question: str = "whole_experience", **kwargs: Any) -> dict[str, int]:
    return world.answers(**kwargs).get(("all", (), (), question), {})


# --- one interview per case ----------------------------------------------------------------


def test_a_case_with_a_partial_and_a_later_completed_interview_counts_once_completed(
    world: World,
) -> None:
    case = world.case()
    world.interview(case, satisfied("1", "1", "1"), status="partial", started=DAY)
    world.interview(case, satisfied("6", "6", "6", "6", "6"), started=DAY + timedelta(days=2))

    assert overall(world) == {"negative": 1}
    assert overall(world, "ease_of_contact") == {"negative": 1}
    assert world.interviews() == {("all", (), ()): (1, 0)}


def test_without_a_completed_interview_the_one_with_most_core_answers_counts(
    world: World,
) -> None:
    fuller, later = world.case(), world.case()
    # Fuller: the second call got further; the third got less far.
    world.interview(fuller, satisfied("1", "1", "1"), status="partial")
    world.interview(
        fuller, satisfied("6", "6", "6", "6"), status="partial", started=DAY + timedelta(days=1)
    )
    world.interview(fuller, satisfied("2"), status="partial", started=DAY + timedelta(days=2))
    # Later: as many answers each time, so the latest interview counts.
    world.interview(later, satisfied("1", "1", "1"), status="partial")
    world.interview(
        later, satisfied("5", "5", "5"), status="partial", started=DAY + timedelta(days=1)
    )

    assert overall(world, "treatment") == {"negative": 1}
    assert overall(world, "ease_of_contact") == {"negative": 2}
    assert world.interviews() == {("all", (), ()): (0, 2)}


def test_the_partial_threshold_is_the_pinned_versions(world: World) -> None:
    on_current, on_older, too_few = world.case(), world.case(), world.case()
    # Three core answers: a partial by the current version (3), not by the older one (4).
    world.interview(on_current, satisfied("1", "2", "3"), status="partial")
    world.interview(on_older, satisfied("1", "2", "3"), status="partial", version=world.older)
    world.interview(too_few, satisfied("1", "2"), status="partial")
    older_four = world.case()
    world.interview(
        older_four, satisfied("1", "2", "3", "4"), status="partial", version=world.older
    )
    # An unanswered question is not an answer; don't know is.
    dont_know = world.case()
    world.interview(dont_know, {**satisfied("8", "8"), "kept_informed": None}, status="partial")

    assert world.interviews() == {("all", (), ()): (0, 2)}
    assert overall(world, "ease_of_contact") == {"positive": 2}
    assert overall(world, "kept_informed") == {"positive": 2}


def test_a_completed_interview_counts_whatever_its_answers(world: World) -> None:
    world.interview(world.case(), satisfied("1"), status="completed")
    world.interview(world.case(), {}, status="completed")

    assert world.interviews() == {("all", (), ()): (2, 0)}
    assert overall(world, "ease_of_contact") == {"positive": 1}
    assert overall(world, "actions_taken") == {}


def test_each_version_counts_its_own_core_questions_and_positive_answers(world: World) -> None:
    variant = USS.replace('version: "2026.2"', 'version: "2026.3-trial"', 1)
    variant = variant.replace(
        "  - id: ease_of_contact\n    type: scale7\n    core: true\n",
        "  - id: ease_of_contact\n    type: scale7\n    core: true\n    positive: [1, 2]\n",
        1,
    ).replace(
        "  - id: whole_experience\n    type: scale7\n    core: true\n",
        "  - id: whole_experience\n    type: scale7\n",
        1,
    )
    assert variant.count("positive: [1, 2]") == 1 and variant.count("core: true") == 4
    with world.db.transaction() as session:
        trial = pin_version(session, parse_questionnaire(variant, "trial uss.yaml", checked=False))
    world.interview(world.case(), satisfied("3", "3", "3", "3", "3"))
    world.interview(world.case(), satisfied("3", "3", "3", "3", "3"), version=trial)
    # Two answers to the trial's core questions (don't know is one, an unanswered question
    # is not) and one to a question it does not count: short of its threshold of 3.
    world.interview(
        world.case(), satisfied("8", "1", None, None, "1"), status="partial", version=trial
    )

    assert overall(world, "ease_of_contact") == {"positive": 1, "negative": 1}
    assert overall(world, "actions_taken") == {"positive": 2}
    assert overall(world, "treatment") == {"positive": 2}
    assert overall(world, "whole_experience") == {"positive": 1}
    assert world.interviews() == {("all", (), ()): (2, 0)}


# --- what is in the base -------------------------------------------------------------------


def test_dont_know_and_unanswered_are_counted_beside_the_base_and_unasked_not_at_all(
    world: World,
) -> None:
    world.interview(world.case(), {**satisfied("1", "8", None, "7"), "police_contact": "1"})
    world.interview(world.case(), satisfied("3", "2", "4", "8", "9"))
    world.interview(world.case(), satisfied("5"))

    found = world.answers()
    assert found[("all", (), (), "ease_of_contact")] == {"positive": 2, "negative": 1}
    assert found[("all", (), (), "actions_taken")] == {"dont_know": 1, "positive": 1}
    assert found[("all", (), (), "kept_informed")] == {"no_answer": 1, "negative": 1}
    assert found[("all", (), (), "treatment")] == {"negative": 1, "dont_know": 1}
    # A code no option sets aside is an opinion, as the questionnaire reads it.
    assert found[("all", (), (), "whole_experience")] == {"negative": 1}
    # Only core questions are counted.
    assert {key[3] for key in found} == set(CORE)


# --- periods and scope ---------------------------------------------------------------------


def test_an_interview_belongs_to_the_london_date_it_started(world: World) -> None:
    # 23:30 UTC on 30 September is 00:30 on 1 October in London (BST): the fourth quarter.
    world.interview(world.case(), satisfied("1"), started=datetime(2026, 9, 30, 23, 30, tzinfo=UTC))
    # 22:30 UTC is still 30 September in London.
    world.interview(world.case(), satisfied("6"), started=datetime(2026, 9, 30, 22, 30, tzinfo=UTC))
    # 31 December 23:30 UTC is 31 December in London (GMT): still the fourth quarter.
    world.interview(
        world.case(), satisfied("2"), started=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    )
    # And an interview outside both.
    world.interview(world.case(), satisfied("2"), started=datetime(2027, 1, 1, 0, 30, tzinfo=UTC))

    found = world.answers(windows=[Q3, Q4])
    assert found[("2026 Q3", (), (), "ease_of_contact")] == {"negative": 1}
    assert found[("2026 Q4", (), (), "ease_of_contact")] == {"positive": 2}
    assert world.interviews(windows=[Q3, Q4]) == {
        ("2026 Q3", (), ()): (1, 0),
        ("2026 Q4", (), ()): (2, 0),
    }


def test_a_case_is_reported_in_the_period_its_reported_interview_started(world: World) -> None:
    case = world.case()
    world.interview(case, satisfied("1", "1"), status="partial", started=DAY)
    world.interview(case, satisfied("6"), started=datetime(2026, 10, 5, 10, tzinfo=UTC))

    found = world.answers(windows=[Q3])
    assert found == {}
    assert world.answers(windows=[Q4])[("2026 Q4", (), (), "ease_of_contact")] == {"negative": 1}


def test_a_districts_scope_counts_only_its_cases(world: World) -> None:
    world.interview(world.case(district="Stockton"), satisfied("1"))
    world.interview(world.case(district="Stockton"), satisfied("7"))
    world.interview(world.case(district="Hartlepool"), satisfied("2"))

    assert overall(world, "ease_of_contact", districts=("Stockton",)) == {
        "positive": 1,
        "negative": 1,
    }
    assert overall(world, "ease_of_contact", districts=("Redcar",)) == {}
    assert world.interviews(districts=("Hartlepool",)) == {("all", (), ()): (1, 0)}


# --- breakdowns ----------------------------------------------------------------------------


def test_every_breakdown_groups_by_its_dimension(world: World) -> None:
    people = [
        (
            "Stockton",
            "burglary",
            {"ethnicity": "white", "sex": "female", "disability": "no", "age": 16},
        ),
        (
            "Stockton",
            "vehicle",
            {"ethnicity": "asian", "sex": "male", "disability": "yes", "age": 24},
        ),
        ("Hartlepool", "burglary", {"ethnicity": "black", "age": 25}),
        ("Hartlepool", "burglary", {"ethnicity": "white", "age": 75}),
        ("Hartlepool", "violent", {"age": 15}),
        ("Hartlepool", "violent", {}),
    ]
    for n, (district, crime_type, fields) in enumerate(people):
        world.interview(
            world.case(district=district, crime_type=crime_type, fields=fields),
            satisfied("1" if n % 2 == 0 else "6"),
            channel="interviewer" if n < 2 else "phone_outbound",
            version=world.older if n == 5 else None,
        )
    dimensions = [(d,) for d in store.INTERVIEW_DIMENSIONS] + [("crime_type", "district")]
    found = world.answers(groupings=dimensions)

    def groups(grouping: tuple[str, ...]) -> dict[tuple[str | None, ...], dict[str, int]]:
        return {
            key[2]: value
            for key, value in found.items()
            if key[1] == grouping and key[3] == "ease_of_contact"
        }

    assert groups(("district",)) == {
        ("Stockton",): {"positive": 1, "negative": 1},
        ("Hartlepool",): {"positive": 2, "negative": 2},
    }
    assert groups(("crime_type",)) == {
        ("burglary",): {"positive": 2, "negative": 1},
        ("vehicle",): {"negative": 1},
        ("violent",): {"positive": 1, "negative": 1},
    }
    assert groups(("mode",)) == {
        ("interviewer",): {"positive": 1, "negative": 1},
        ("phone",): {"positive": 2, "negative": 2},
    }
    assert groups(("questionnaire_version",)) == {
        ("2026.2",): {"positive": 3, "negative": 2},
        ("2025.1",): {"negative": 1},
    }
    assert groups(("ethnicity",)) == {
        ("white",): {"positive": 1, "negative": 1},
        ("asian",): {"negative": 1},
        ("black",): {"positive": 1},
        (None,): {"positive": 1, "negative": 1},
    }
    assert groups(("age_band",)) == {
        ("16-24",): {"positive": 1, "negative": 1},
        ("25-34",): {"positive": 1},
        ("75+",): {"negative": 1},
        # Under 16, and no age: no band.
        (None,): {"positive": 1, "negative": 1},
    }
    assert groups(("sex",)) == {
        ("female",): {"positive": 1},
        ("male",): {"negative": 1},
        (None,): {"positive": 2, "negative": 2},
    }
    assert groups(("disability",)) == {
        ("no",): {"positive": 1},
        ("yes",): {"negative": 1},
        (None,): {"positive": 2, "negative": 2},
    }
    assert groups(("crime_type", "district")) == {
        ("burglary", "Stockton"): {"positive": 1},
        ("vehicle", "Stockton"): {"negative": 1},
        ("burglary", "Hartlepool"): {"positive": 1, "negative": 1},
        ("violent", "Hartlepool"): {"positive": 1, "negative": 1},
    }
    counted = world.interviews(groupings=[("mode",), ("age_band",)])
    assert counted[("all", ("mode",), ("interviewer",))] == (2, 0)
    assert counted[("all", ("age_band",), ("16-24",))] == (2, 0)
    assert counted[("all", ("age_band",), (None,))] == (2, 0)


def test_an_unknown_breakdown_is_refused(world: World) -> None:
    with pytest.raises(ValueError, match="no breakdown"):
        world.answers(groupings=[("shoe_size",)])
    with world.db.begin() as conn, pytest.raises(ValueError, match="no breakdown by 'mode'"):
        store.case_counts(conn, "uss", windows=[Q3], groupings=[("mode",)], districts=None)


def test_the_versions_of_a_survey_are_those_its_interviews_use(world: World) -> None:
    with world.db.begin() as conn:
        assert store.versions_of_survey(conn, "uss") == []
    world.interview(world.case(), satisfied("1"), version=world.older)
    with world.db.begin() as conn:
        assert store.versions_of_survey(conn, "uss") == [world.older]
        assert store.versions_of_survey(conn, "vcas_exit") == []


# --- cases ---------------------------------------------------------------------------------


def test_cases_count_in_the_period_their_calling_closed(world: World) -> None:
    closed = [
        ("Stockton", "1.1", datetime(2026, 8, 1, 12, tzinfo=UTC)),
        ("Stockton", "3.13", datetime(2026, 9, 30, 22, 59, tzinfo=UTC)),  # 23:59 BST, Q3
        ("Hartlepool", "1.1", datetime(2026, 9, 30, 23, 0, tzinfo=UTC)),  # 00:00 BST, Q4
        ("Hartlepool", "2.11", datetime(2026, 7, 2, 9, tzinfo=UTC)),
        ("Hartlepool", None, None),  # still being rung
    ]
    for district, disposition, closed_at in closed:
        case = world.case(district=district, fields={"ethnicity": "white", "age": 40})
        world.schedule(case, disposition, closed_at)
    with world.db.begin() as conn:
        rows = store.case_counts(
            conn,
            "uss",
            windows=[Q3, Q4],
            groupings=[(), ("district",), ("ethnicity", "age_band")],
            districts=None,
        )
        scoped = store.case_counts(
            conn, "uss", windows=[Q3], groupings=[()], districts=("Stockton",)
        )
    found = {(r.window, r.grouping, r.groups, r.disposition): r.n for r in rows}
    assert found == {
        ("2026 Q3", (), (), "1.1"): 1,
        ("2026 Q3", (), (), "3.13"): 1,
        ("2026 Q3", (), (), "2.11"): 1,
        ("2026 Q4", (), (), "1.1"): 1,
        ("2026 Q3", ("district",), ("Stockton",), "1.1"): 1,
        ("2026 Q3", ("district",), ("Stockton",), "3.13"): 1,
        ("2026 Q3", ("district",), ("Hartlepool",), "2.11"): 1,
        ("2026 Q4", ("district",), ("Hartlepool",), "1.1"): 1,
        ("2026 Q3", ("ethnicity", "age_band"), ("white", "35-44"), "1.1"): 1,
        ("2026 Q3", ("ethnicity", "age_band"), ("white", "35-44"), "3.13"): 1,
        ("2026 Q3", ("ethnicity", "age_band"), ("white", "35-44"), "2.11"): 1,
        ("2026 Q4", ("ethnicity", "age_band"), ("white", "35-44"), "1.1"): 1,
    }
    assert sorted((r.disposition, r.n) for r in scoped) == [("1.1", 1), ("3.13", 1)]


def test_a_case_gets_its_closing_time_whenever_its_calling_closes(world: World) -> None:
    registry = QuestionnaireRegistry(ROOT / "questionnaires")
    campaign = campaign_for(registry, "uss")
    now = datetime(2026, 9, 1, 10, tzinfo=UTC)
    out_of_sample = world.case(crime_type="fraud")
    eligible = world.case()
    listed = world.case()
    with world.db.begin() as conn:
        campaign_store.add_missing_schedules(conn, "uss", now)
        plan(conn, campaign, now)
    with world.db.transaction() as session:
        schedules = {s.case_id: s for s in session.query(Schedule)}
    assert schedules[out_of_sample].disposition == "4.10"
    assert schedules[out_of_sample].closed_at == now
    assert schedules[eligible].disposition is None and schedules[eligible].closed_at is None

    later = now + timedelta(days=3)
    with world.db.begin() as conn:
        replan_after(conn, campaign, eligible, None, Outcome.COMPLETED_INTERVIEW, later)
        campaign_store.close_open_schedules(
            conn, [listed, out_of_sample], disposition="2.11", reason="do_not_call", now=later
        )
    with world.db.transaction() as session:
        schedules = {s.case_id: s for s in session.query(Schedule)}
    assert (schedules[eligible].disposition, schedules[eligible].closed_at) == ("1.1", later)
    assert (schedules[listed].disposition, schedules[listed].closed_at) == ("2.11", later)
    # A case closed before keeps its disposition and when it closed.
    assert (schedules[out_of_sample].disposition, schedules[out_of_sample].closed_at) == (
        "4.10",
        now,
    )


def test_the_migration_gives_closed_cases_their_closing_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Database(url).upgrade("0005")
    engine = create_engine(url)
    with engine.begin() as conn:
        for case_id, disposition in ((1, "1.1"), (2, None)):
            conn.execute(
                text(
                    "insert into cases (id, survey, case_ref, phone, fields, imported_at) "
                    "values (:id, 'uss', :ref, '+441134960001', '{}', '2026-08-01 10:00:00')"
                ),
                {"id": case_id, "ref": f"CR/{case_id}"},
            )
            conn.execute(
                text(
                    "insert into schedules (case_id, survey, attempts, outcomes, disposition, "
                    "updated_at) values (:id, 'uss', 1, '[]', :disposition, "
                    "'2026-08-03 14:00:00.000000')"
                ),
                {"id": case_id, "disposition": disposition},
            )
    Database(url).upgrade("0006")
    with engine.connect() as conn:
        closed = dict(conn.execute(text("select case_id, closed_at from schedules")).all())
    engine.dispose()
    assert str(closed[1]).startswith("2026-08-03 14:00:00")
    assert closed[2] is None


# --- referrals -----------------------------------------------------------------------------


def test_referrals_raised_in_the_period_with_their_reasons_words(world: World) -> None:
    typed = world.case(district="Stockton")
    typed_interview = world.interview(
        typed,
        {**satisfied("6"), "dissatisfaction_reason": "Nobody rang me back"},
        channel="interviewer",
    )
    world.referral(
        typed_interview,
        typed,
        district="Stockton",
        reasons=[
            {"question": "ease_of_contact", "answer": "very dissatisfied", "code": "6"},
            {"question": "treatment", "answer": "fairly dissatisfied", "code": "5"},
        ],
    )
    recorded = world.case()
    recorded_interview = world.interview(
        recorded,
        satisfied("7"),
        recordings={"dissatisfaction_reason": ("https://rec.example/1", "They lost my bike")},
    )
    world.referral(recorded_interview, recorded, consented=False)
    world.referral(
        recorded_interview,
        recorded,
        kind="action_alert",
        reasons=[{"question": "police_contact", "answer": "yes", "code": "1"}],
    )
    noted = world.case()
    noted_interview = world.interview(
        noted, satisfied("5"), notes=[{"at": "2026-09-15T10:00:00+01:00", "text": "Upset"}]
    )
    world.referral(noted_interview, noted)
    untranscribed = world.case()
    untranscribed_interview = world.interview(
        untranscribed, satisfied("5"), recordings={"dissatisfaction_reason": ("https://r/2", None)}
    )
    world.referral(untranscribed_interview, untranscribed)
    earlier = world.case()
    world.referral(
        world.interview(earlier, satisfied("7")), earlier, created_at=DAY - timedelta(days=90)
    )

    with world.db.begin() as conn:
        raised = store.referrals_raised(conn, "uss", start=Q3.start, end=Q3.end, districts=None)
        stockton = store.referrals_raised(
            conn, "uss", start=Q3.start, end=Q3.end, districts=("Stockton",)
        )
        reasons = store.dissatisfied_reasons(
            conn, "uss", start=Q3.start, end=Q3.end, districts=None
        )
    assert Counter((r.district, r.kind) for r in raised) == {
        ("Stockton", "service_recovery"): 1,
        ("Hartlepool", "service_recovery"): 3,
        ("Hartlepool", "action_alert"): 1,
    }
    assert [r.kind for r in stockton] == ["service_recovery"]
    without_consent = [r for r in raised if r.consented is False]
    assert len(without_consent) == 1 and without_consent[0].due_at is None
    assert all(r.created_at >= Q3.start for r in raised)
    assert Counter(reasons) == Counter(
        [
            store.ReasonText(
                "Stockton", "ease_of_contact", "very dissatisfied", "Nobody rang me back"
            ),
            store.ReasonText("Stockton", "treatment", "fairly dissatisfied", "Nobody rang me back"),
            store.ReasonText("Hartlepool", "treatment", "very dissatisfied", "They lost my bike"),
            store.ReasonText("Hartlepool", "treatment", "very dissatisfied", "Upset"),
            store.ReasonText("Hartlepool", "treatment", "very dissatisfied", None),
        ]
    )


# --- the export ----------------------------------------------------------------------------


def _as_old_export(row: store.ExportRow) -> dict[str, Any]:
    """An export row in the shape the old export wrote, for comparing the two."""
    return {
        "case_ref": row.case_ref,
        "survey": row.survey,
        "status": row.status,
        "started_at": row.started_at.astimezone(UTC).isoformat(),
        "ended_at": row.ended_at.astimezone(UTC).isoformat() if row.ended_at else None,
        "channel": row.channel,
        "mode": row.mode,
        "questionnaire_version": row.version,
        "district": row.district,
        "crime_type": row.crime_type,
        "reported_on": row.reported_on.isoformat() if row.reported_on else None,
        "disposition": row.disposition,
        "attempts": row.attempts,
        "answers": {
            question_id: {
                "code": answer.code,
                "label": answer.label,
                "via": answer.via,
                **(
                    {
                        "recording_url": answer.recording_url,
                        "transcription": row.transcriptions.get(question_id),
                    }
                    if answer.recording_url
                    else {}
                ),
            }
            for question_id, answer in row.answers.items()
        },
    }


def test_the_export_streams_the_same_rows_as_the_old_export(world: World) -> None:
    twice = world.case(district="Stockton", fields={"ethnicity": "asian", "age": 30, "sex": "male"})
    world.interview(twice, satisfied("1", "1"), status="partial", started=DAY)
    world.interview(
        twice,
        {**satisfied("6", "6", "6", "6", "6"), "police_contact": "2"},
        started=DAY + timedelta(days=1),
        recordings={"dissatisfaction_reason": ("https://rec.example/9", "Too slow")},
    )
    world.schedule(twice, "1.1", DAY + timedelta(days=1), attempts=3)
    broke_off = world.case(crime_type="vehicle")
    world.interview(broke_off, satisfied("2", None), status="partial", version=world.older)
    world.schedule(broke_off, None, None)
    by_interviewer = world.case()
    world.interview(
        by_interviewer,
        satisfied("3", "8"),
        channel="interviewer",
        started=DAY - timedelta(days=1),
        recordings={"dissatisfaction_reason": ("https://rec.example/10", None)},
    )
    vcas = (ROOT / "questionnaires" / "vcas_exit.yaml").read_text()
    with world.db.transaction() as session:
        vcas_version = pin_version(session, parse_questionnaire(vcas, "vcas_exit.yaml"))
    world.interview(world.case(survey="vcas_exit"), {"overall_support": "1"}, version=vcas_version)

    with world.db.transaction() as session:
        old = export_interviews(session, "uss")
    with world.db.begin() as conn:
        streamed = list(store.export_rows(conn, "uss", start=None, end=None))
        second_day = list(
            store.export_rows(
                conn, "uss", start=DAY + timedelta(hours=12), end=DAY + timedelta(days=3)
            )
        )
    new = [_as_old_export(row) for row in streamed]
    for entry in old:
        entry.pop("counted")
        for answer in entry["answers"].values():
            answer.pop("substantive")
    assert new == old
    assert [row.case_ref for row in streamed] == [
        "CR/0003/26",
        "CR/0002/26",
        "CR/0001/26",
    ]
    first = streamed[-1]
    assert (first.ethnicity, first.age, first.age_band, first.sex, first.disability) == (
        "asian",
        30,
        "25-34",
        "male",
        None,
    )
    assert streamed[0].mode == "interviewer" and streamed[1].mode == "phone"
    # The case's reported interview started on the second day: the period holds the case.
    assert [row.case_ref for row in second_day] == ["CR/0001/26"]
    assert second_day[0].status == "completed"
