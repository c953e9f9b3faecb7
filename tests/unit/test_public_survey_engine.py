"""The engine on a survey of the public: selecting a resident, screening out, and the quota
gate that ends an interview only after every quota question."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr import engine
from ivr.engine import AnswerRecorded, Digits, InterviewEnded, State, Status, Step
from ivr.questionnaire.loader import QuestionnaireError, load_file, parse_questionnaire

ROOT = Path(__file__).resolve().parents[2]
LPCS = load_file(ROOT / "questionnaires" / "lpcs.yaml").questionnaire
CASE = {"district": "Hartlepool", "released_on": "2026-10-01"}
QUOTA_QUESTIONS = ("age_band", "sex", "ethnicity")
#: Selection, consent, lives in the area, aged 16 or over.
TO_THE_QUOTA_QUESTIONS = ("1", "1", "1", "1")


def play(*keys: str, full: frozenset = frozenset()) -> list[Step]:
    """A call by keypad; the caller's part of telling the engine which cells are full."""
    steps = [engine.start(LPCS, CASE)]
    for key in keys:
        state = steps[-1].state
        if engine.quota_check_due(LPCS, state):
            state = state.but(quota_full=full)
        steps.append(engine.step(LPCS, state, Digits(key)))
        if steps[-1].state.ended:
            break
    return steps


def answered(steps: list[Step]) -> list[str]:
    return [e.question_id for s in steps for e in s.events if isinstance(e, AnswerRecorded)]


def ended(steps: list[Step]) -> Status:
    [end] = [e for s in steps for e in s.events if isinstance(e, InterviewEnded)]
    return end.status


def test_the_opening_asks_for_the_resident_with_the_next_birthday_in_the_area():
    first = engine.start(LPCS, CASE)
    said = " ".join(first.prompts)
    assert "people in Hartlepool" in said and "next birthday" in said
    assert "If nobody aged 16 or over lives here, press 3" in said


def test_nobody_aged_16_or_over_at_the_number_is_screened_out():
    steps = play("3")
    assert ended(steps) is Status.SCREENED_OUT
    assert "This survey is for people aged 16 or over" in steps[-1].prompts[-1]


@pytest.mark.parametrize("keys", [("1", "1", "2"), ("1", "1", "1", "2")])
def test_not_living_in_the_area_or_under_16_ends_politely_with_the_answer_kept(keys):
    steps = play(*keys)
    assert ended(steps) is Status.SCREENED_OUT
    assert answered(steps)[-1] == ("lives_in_area" if len(keys) == 3 else "aged_16_or_over")
    assert steps[-1].wait is None


def test_a_respondent_whose_cell_is_open_goes_on_to_the_questions():
    # 35-44 female, Black: none of their cells is full.
    steps = play(*TO_THE_QUOTA_QUESTIONS, "3", "1", "4")
    assert not steps[-1].state.ended
    assert steps[-1].state.node == "police_job"
    assert "quota" in steps[-1].state.passed


def test_a_full_cell_ends_the_interview_after_every_quota_question_as_quota_full():
    full = frozenset({("Hartlepool", "ethnicity", "black")})
    steps = play(*TO_THE_QUOTA_QUESTIONS, "3", "1", "4", full=full)
    assert ended(steps) is Status.QUOTA_FULL
    assert answered(steps)[-3:] == list(QUOTA_QUESTIONS)
    assert "already heard from enough people like you" in steps[-1].prompts[-1]
    # Another area's full cell, or a full cell of another group, closes nothing.
    other = frozenset(
        {("Middlesbrough", "ethnicity", "black"), ("Hartlepool", "ethnicity", "white")}
    )
    assert not play(*TO_THE_QUOTA_QUESTIONS, "3", "1", "4", full=other)[-1].state.ended


def test_prefer_not_to_say_counts_in_no_cell_of_that_kind():
    full = frozenset({("Hartlepool", "age_sex", "35-44 female")})
    # Sex not stated: the age-by-sex cell cannot be told, so it cannot be full.
    assert not play(*TO_THE_QUOTA_QUESTIONS, "3", "9", "1", full=full)[-1].state.ended
    assert ended(play(*TO_THE_QUOTA_QUESTIONS, "3", "1", "1", full=full)) is Status.QUOTA_FULL


def test_the_gate_is_only_checked_once_then_the_state_says_it_passed():
    steps = play(*TO_THE_QUOTA_QUESTIONS, "3", "1", "4")
    state = steps[-1].state
    assert not engine.quota_check_due(LPCS, state)
    # Saved and read back, the state forgets the full cells it was given for one turn.
    again = State.from_json(state.to_json())
    assert again.quota_full is None and "quota" in again.passed


def test_the_gate_reached_without_the_full_cells_is_a_programming_error():
    steps = play(*TO_THE_QUOTA_QUESTIONS, "3", "1")
    with pytest.raises(RuntimeError, match="quota_full"):
        engine.step(LPCS, steps[-1].state, Digits("4"))


@settings(max_examples=80, deadline=None)
@given(
    age=st.sampled_from(["1", "2", "3", "4", "5", "6", "7", "9"]),
    sex=st.sampled_from(["1", "2", "9"]),
    ethnicity=st.sampled_from(["1", "2", "3", "4", "5", "9"]),
    full=st.frozensets(
        st.sampled_from(
            [
                ("Hartlepool", "area", "Hartlepool"),
                ("Hartlepool", "age_sex", "16-24 male"),
                ("Hartlepool", "age_sex", "75+ female"),
                ("Hartlepool", "ethnicity", "white"),
                ("Hartlepool", "ethnicity", "asian"),
            ]
        )
    ),
)
def test_every_quota_question_is_asked_before_a_quota_full_end(age, sex, ethnicity, full):
    steps = play(*TO_THE_QUOTA_QUESTIONS, age, sex, ethnicity, full=full)
    asked = answered(steps)
    assert all(q in asked for q in QUOTA_QUESTIONS)
    groups = engine.respondent_groups(LPCS, steps[-1].state.answers)
    age_sex = (
        f"{groups['age_band']} {groups['sex']}" if groups["age_band"] and groups["sex"] else None
    )
    mine = {
        ("Hartlepool", "area", "Hartlepool"),
        ("Hartlepool", "age_sex", age_sex),
        ("Hartlepool", "ethnicity", groups["ethnicity"]),
    }
    assert steps[-1].state.ended == bool(mine & full)
    if steps[-1].state.ended:
        assert ended(steps) is Status.QUOTA_FULL


def test_a_resumed_interview_does_not_pass_the_gate_again():
    steps = play(*TO_THE_QUOTA_QUESTIONS, "3", "1", "4", "2")
    state = State.from_json(steps[-1].state.to_json())
    again = engine.resume(LPCS, state)
    assert not engine.quota_check_due(LPCS, again.state)
    # Selection and consent again, then on from the first question not answered.
    state = again.state
    for key in ("1", "1"):
        state = engine.step(LPCS, state, Digits(key)).state
    assert state.node == "relied_on"
    assert not engine.step(LPCS, state, Digits("1")).state.ended


def test_an_interviewer_codes_a_finer_ethnic_group_under_its_high_level_one():
    steps = play(*TO_THE_QUOTA_QUESTIONS, "3", "1")
    state = steps[-1].state.but(quota_full=frozenset())
    fine = engine.step(LPCS, state, engine.InterviewerAnswer(key="4", text="Caribbean"))
    [recorded] = [e for e in fine.events if isinstance(e, AnswerRecorded)]
    assert (recorded.code, recorded.label, recorded.raw) == (
        "4",
        "Black, Black British, Caribbean or African",
        "Caribbean",
    )
    assert engine.respondent_groups(LPCS, fine.state.answers)["ethnicity"] == "black"
    # Words that are not under the chosen group are not kept as if they were.
    odd = engine.step(LPCS, state, engine.InterviewerAnswer(key="4", text="Indian"))
    [recorded] = [e for e in odd.events if isinstance(e, AnswerRecorded)]
    assert recorded.raw == "4"


def test_the_screening_question_reads_the_areas_places():
    steps = play("1", "1")
    assert steps[-1].state.node == "lives_in_area"
    assert steps[-1].prompts[0] == (
        "First, do you live in Hartlepool, that is in Hartlepool, Seaton Carew, Greatham, "
        "Elwick or Hart, postcodes TS24 to TS27?"
    )


def test_places_and_number_ranges_name_only_quota_areas():
    source = (ROOT / "questionnaires" / "lpcs.yaml").read_text()
    edited = source.replace(
        '    Hartlepool: "Hartlepool, Seaton', '    Hartlepol: "Hartlepool, Seaton'
    )
    with pytest.raises(QuestionnaireError, match="'Hartlepol' is not one of the quota areas"):
        parse_questionnaire(edited, "lpcs.yaml")
