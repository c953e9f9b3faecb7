"""What a caller says, and the answer the engine takes from it.

One row per utterance, for every question type and control step, run through the engine
(``engine.start`` / ``engine.step``) on the shipped questionnaires. A negated, unclear or
two-sided utterance must match nothing and be asked again - never be coded as the answer
whose words it happens to contain ("not very satisfied" is neither 2 nor 6). At the safety
check, anything but a clear yes ends the call at once, saying nothing about the case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivr import engine
from ivr.engine import (
    AnswerRecorded,
    Digits,
    InputEvent,
    InterviewEnded,
    Silence,
    Speech,
    Status,
    Step,
    Via,
)
from ivr.engine.script import node_named
from ivr.engine.speech import match_option
from ivr.questionnaire.loader import load_file, parse_questionnaire
from ivr.questionnaire.options import (
    IDENTITY,
    SAFETY,
    YES_NO,
    options_for,
)
from ivr.questionnaire.schema import Questionnaire

ROOT = Path(__file__).resolve().parents[2]
USS = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire
VCAS = load_file(ROOT / "questionnaires" / "vcas_exit.yaml").questionnaire

CASE = {
    "first_name": "Alex",
    "crime_type": "burglary",
    "district": "Hartlepool",
    "reported_on": "2026-09-14",
}
#: Marked domestic abuse by the sample: a burglary, but sensitive all the same.
SENSITIVE_CASE = {**CASE, "domestic_abuse": "yes"}
VCAS_CASE = {"first_name": "Sam", "closed_on": "2026-10-01", "consent": "yes"}

SCALE = options_for(USS.question("ease_of_contact"))
HELPED = options_for(VCAS.question("cope_everyday"))
RECOMMEND = options_for(VCAS.question("recommend"))

#: Words and case details nobody may hear before identity and safety are confirmed.
REVEALING = re.compile(
    r"police|crime|burglary|incident|victim|survey|abuse|offence|september|14th|2026|"
    r"hartlepool",
    re.IGNORECASE,
)


def reach(q: Questionnaire, case: dict, *keys: str) -> Step:
    """The step after the call opens and these keys are pressed, one turn each."""
    current = engine.start(q, case)
    for key in keys:
        current = engine.step(q, current.state, Digits(key))
        assert current.state.status is Status.IN_PROGRESS, f"ended at key {key!r}"
    return current


def recorded(step: Step) -> list[AnswerRecorded]:
    return [e for e in step.events if isinstance(e, AnswerRecorded)]


def assert_answered(
    step: Step,
    question_id: str,
    code: str | None,
    *,
    substantive: bool = True,
    via: Via = Via.SPEECH,
) -> None:
    [answer] = recorded(step)
    assert (answer.question_id, answer.code, answer.substantive, answer.via) == (
        question_id,
        code,
        substantive,
        via,
    )
    assert step.state.answers[question_id]["code"] == code


def assert_asked_again(q: Questionnaire, before: Step, after: Step) -> None:
    """The utterance matched nothing: the same step is asked again, one try used, with the
    questionnaire's 'not one of the choices' first, and nothing recorded."""
    node = before.state.node
    assert node is not None
    assert after.state.status is Status.IN_PROGRESS
    assert after.state.node == node
    assert after.state.tries == before.state.tries + 1
    assert after.state.confirming is None
    assert after.prompts[0] == q.messages.invalid
    assert engine.prompt_of(q, node_named(q, node), after.state) in after.prompts
    assert after.wait is not None
    assert not recorded(after)
    assert node not in after.state.answers


# --- the satisfaction scale (USS ease_of_contact) ----------------------------------------


def at_ease_of_contact() -> Step:
    step = reach(USS, CASE, "1", "1")  # identity, consent
    assert step.state.node == "ease_of_contact"
    return step


@pytest.mark.parametrize(
    ("said", "code", "substantive"),
    [
        ("very satisfied", "2", True),
        ("I was very dissatisfied", "6", True),
        ("fairly", "3", True),
        ("neither satisfied nor dissatisfied", "4", True),
        ("completely dissatisfied", "7", True),
        ("seven", "7", True),
        ("two", "2", True),
        ("I don't know", "8", False),
        ("not sure", "8", False),
        ("no idea", "8", False),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.isdigit() else None,
)
def test_scale_answer_said_is_coded_on_the_seven_point_scale(
    said: str, code: str, substantive: bool
) -> None:
    after = engine.step(USS, at_ease_of_contact().state, Speech(said, 0.9))
    assert_answered(after, "ease_of_contact", code, substantive=substantive)
    assert after.state.node == "actions_taken"


@pytest.mark.parametrize(
    "said",
    [
        "not very satisfied",
        "not really satisfied",
        "not satisfied",
        "I wouldn't say I was satisfied",
        "never satisfied",
        "two or three",
        "I don't know, very satisfied",
    ],
)
def test_negated_or_two_sided_scale_answer_is_asked_again(said: str) -> None:
    before = at_ease_of_contact()
    after = engine.step(USS, before.state, Speech(said, 0.9))
    assert_asked_again(USS, before, after)


def test_not_very_satisfied_is_never_coded_very_satisfied_or_very_dissatisfied() -> None:
    current = at_ease_of_contact()
    codes = []
    for _ in range(engine.MAX_TRIES):
        current = engine.step(USS, current.state, Speech("not very satisfied", 0.95))
        codes += [e.code for e in recorded(current)]
    # Three unclear answers: given up as unanswered, never taken as 2 or 6.
    assert codes == [None]
    assert current.state.answers["ease_of_contact"]["code"] is None
    assert current.state.node == "actions_taken"
    assert match_option("not very satisfied", SCALE) is None


def test_low_confidence_scale_answer_is_confirmed_before_it_is_recorded() -> None:
    before = at_ease_of_contact()
    asked = engine.step(USS, before.state, Speech("very satisfied", 0.3))
    assert asked.prompts == (USS.messages.confirm.format(label="very satisfied"),)
    assert asked.state.node == "ease_of_contact"
    assert asked.state.confirming == "2"
    assert not recorded(asked)
    confirmed = engine.step(USS, asked.state, Speech("yes", 0.9))
    assert_answered(confirmed, "ease_of_contact", "2")


# --- yes / no (USS police_contact) -------------------------------------------------------


def at_police_contact() -> Step:
    step = reach(USS, CASE, "1", "1", "1", "1", "1", "1", "1")
    assert step.state.node == "police_contact"
    return step


@pytest.mark.parametrize(
    ("said", "code"),
    [
        ("yes", "1"),
        ("yeah", "1"),
        ("no thanks", "2"),
        ("no it isn't", "2"),
        ("not really", "2"),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.isdigit() else None,
)
def test_yes_no_answer_said_is_coded_yes_or_no(said: str, code: str) -> None:
    after = engine.step(USS, at_police_contact().state, Speech(said, 0.9))
    assert_answered(after, "police_contact", code)
    assert after.state.status is Status.COMPLETED


@pytest.mark.parametrize("said", ["I don't know", "yes and no"])
def test_yes_no_answer_that_is_neither_is_asked_again(said: str) -> None:
    before = at_police_contact()
    after = engine.step(USS, before.state, Speech(said, 0.9))
    assert_asked_again(USS, before, after)


# --- choice (VCAS cope_everyday) ---------------------------------------------------------


def at_cope_everyday() -> Step:
    # identity, safety, good time, consent (VCAS asks everyone), then overall_support.
    step = reach(VCAS, VCAS_CASE, "1", "1", "1", "1", "1")
    assert step.state.node == "cope_everyday"
    return step


@pytest.mark.parametrize(
    ("said", "code", "substantive"),
    [
        ("a lot", "1", True),
        ("yes a little", "2", True),
        ("not very much", "3", True),
        ("not much", "3", True),
        # "not a lot" is one of option 3's own synonyms in vcas_exit.yaml: the whole phrase
        # covers "a lot", and its "not" is part of the phrase, so it is 3, never 1.
        ("not a lot", "3", True),
        ("not at all", "4", True),
        ("it doesn't apply", "9", False),
        ("I don't know", "8", False),
    ],
    ids=lambda v: v if isinstance(v, str) and not v.isdigit() else None,
)
def test_choice_answer_said_is_coded_as_that_option(
    said: str, code: str, substantive: bool
) -> None:
    after = engine.step(VCAS, at_cope_everyday().state, Speech(said, 0.9))
    assert_answered(after, "cope_everyday", code, substantive=substantive)
    assert after.state.node == "feel_safer"


@pytest.mark.parametrize("said", ["not a little", "never a lot", "a lot or a little"])
def test_negated_or_two_sided_choice_answer_is_asked_again(said: str) -> None:
    before = at_cope_everyday()
    after = engine.step(VCAS, before.state, Speech(said, 0.9))
    assert_asked_again(VCAS, before, after)


# --- identity ----------------------------------------------------------------------------


def at_identity(case: dict = CASE) -> Step:
    step = engine.start(USS, case)
    assert step.state.node == "_identity"
    return step


@pytest.mark.parametrize("said", ["yes speaking", "yes", "that's me"])
def test_identity_confirmed_by_voice_goes_on_to_consent(said: str) -> None:
    after = engine.step(USS, at_identity().state, Speech(said, 0.9))
    assert "_identity" in after.state.passed
    assert after.state.node == "_consent"


@pytest.mark.parametrize("said", ["he's not in", "not here at the moment", "no"])
def test_identity_answer_saying_they_are_out_asks_when_to_call_back(said: str) -> None:
    after = engine.step(USS, at_identity().state, Speech(said, 0.9))
    assert after.state.status is Status.IN_PROGRESS
    assert after.state.node == "_callback_time"
    assert USS.callback_time.prompt in after.prompts
    assert "_identity" not in after.state.passed


@pytest.mark.parametrize("said", ["wrong number", "nobody of that name"])
def test_identity_answer_saying_nobody_of_that_name_ends_as_a_wrong_number(said: str) -> None:
    after = engine.step(USS, at_identity().state, Speech(said, 0.9))
    assert after.state.status is Status.WRONG_NUMBER
    assert after.prompts == (USS.closing.wrong_person,)
    assert after.events[-1] == InterviewEnded(Status.WRONG_NUMBER)


@pytest.mark.parametrize("said", ["purple elephants", "banana"])
def test_identity_gibberish_is_asked_again(said: str) -> None:
    before = at_identity()
    after = engine.step(USS, before.state, Speech(said, 0.9))
    assert_asked_again(USS, before, after)


# --- safety: only a clear yes goes on -----------------------------------------------------


def at_safety(case: dict = SENSITIVE_CASE) -> tuple[Step, Step]:
    first = engine.start(USS, case)
    step = engine.step(USS, first.state, Digits("1"))
    assert step.state.node == "_safety"
    return first, step


@pytest.mark.parametrize(
    "case",
    [SENSITIVE_CASE, {**CASE, "crime_type": "domestic_abuse"}],
    ids=["domestic_abuse_yes", "crime_type_domestic_abuse"],
)
@pytest.mark.parametrize("said", ["yes", "yes it is"])
def test_clear_yes_at_the_safety_check_goes_on_to_is_now_a_good_time(said: str, case: dict) -> None:
    _, before = at_safety(case)
    after = engine.step(USS, before.state, Speech(said, 0.9))
    assert after.state.status is Status.IN_PROGRESS
    assert after.state.node == "_convenience"
    assert after.state.passed == ("_identity", "_safety")


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(Speech("it is not safe", 0.9), id="it is not safe"),
        pytest.param(Speech("it's not safe", 0.9), id="it's not safe"),
        pytest.param(Speech("no", 0.9), id="no"),
        pytest.param(Speech("not really", 0.9), id="not really"),
        pytest.param(Speech("yes but not now", 0.9), id="yes but not now"),
        pytest.param(Speech("I can't talk", 0.9), id="I can't talk"),
        pytest.param(Speech("it is", 0.3), id="it is (confidence 0.3)"),
        pytest.param(Speech("yes", 0.3), id="yes (confidence 0.3)"),
        pytest.param(Speech("purple", 0.9), id="purple"),
        pytest.param(Speech("", 0.9), id="empty speech"),
        pytest.param(Silence(), id="silence"),
        pytest.param(Digits("2"), id="key 2"),
        pytest.param(Digits("9"), id="key 9"),
        pytest.param(Digits("0"), id="key 0"),
    ],
)
def test_anything_but_a_clear_yes_at_the_safety_check_ends_the_call_as_unsafe_at_once(
    event: InputEvent,
) -> None:
    first, before = at_safety()
    after = engine.step(USS, before.state, event)
    assert after.state.status is Status.UNSAFE
    assert after.wait is None
    assert after.prompts == (USS.closing.unsafe,)
    assert after.events == (InterviewEnded(Status.UNSAFE),)
    assert "_safety" not in after.state.passed
    said = " ".join((*first.prompts, *before.prompts, *after.prompts))
    assert first.prompts[0] == USS.sensitive_opening
    assert REVEALING.search(said) is None, said


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(Speech("no", 0.9), id="no"),
        pytest.param(Speech("it's not safe", 0.9), id="it's not safe"),
        pytest.param(Silence(), id="silence"),
    ],
)
def test_unsafe_answer_for_a_domestic_abuse_crime_type_never_says_incident(
    event: InputEvent,
) -> None:
    first, before = at_safety({**CASE, "crime_type": "domestic_abuse"})
    after = engine.step(USS, before.state, event)
    assert after.state.status is Status.UNSAFE
    said = " ".join((*first.prompts, *before.prompts, *after.prompts))
    assert REVEALING.search(said) is None, said


# --- convenience (VCAS asks everyone) ----------------------------------------------------


def at_convenience() -> Step:
    step = reach(VCAS, VCAS_CASE, "1", "1")
    assert step.state.node == "_convenience"
    return step


def test_yes_now_is_a_good_time_goes_on_to_consent() -> None:
    after = engine.step(VCAS, at_convenience().state, Speech("yes", 0.9))
    assert after.state.node == "_consent"


@pytest.mark.parametrize("said", ["not a good time", "no"])
def test_not_a_good_time_asks_when_to_call_back(said: str) -> None:
    after = engine.step(VCAS, at_convenience().state, Speech(said, 0.9))
    assert after.state.status is Status.IN_PROGRESS
    assert after.state.node == "_callback_time"
    assert VCAS.callback_time.prompt in after.prompts


# --- consent -----------------------------------------------------------------------------


def at_consent() -> Step:
    step = reach(USS, CASE, "1")
    assert step.state.node == "_consent"
    return step


def test_okay_at_consent_asks_the_first_question() -> None:
    after = engine.step(USS, at_consent().state, Speech("okay", 0.9))
    assert after.state.node == "ease_of_contact"
    assert after.prompts[0] == USS.question("ease_of_contact").prompt


def test_call_me_later_at_consent_asks_when_to_call_back() -> None:
    after = engine.step(USS, at_consent().state, Speech("call me later", 0.9))
    assert after.state.status is Status.IN_PROGRESS
    assert after.state.node == "_callback_time"


def test_no_thanks_at_consent_is_a_refusal() -> None:
    after = engine.step(USS, at_consent().state, Speech("no thanks", 0.9))
    assert after.state.status is Status.REFUSED
    assert after.prompts == (USS.closing.refused,)


# --- when to call back -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "choice"),
    [
        ("tonight", "this_evening"),
        ("tomorrow evening", "tomorrow_evening"),
        ("tomorrow", "tomorrow_daytime"),
    ],
    ids=lambda v: v if " " in v or v in ("tonight", "tomorrow") else None,
)
def test_call_back_time_said_books_that_time(said: str, choice: str) -> None:
    asked = reach(USS, CASE, "2")  # identity: not available now
    assert asked.state.node == "_callback_time"
    after = engine.step(USS, asked.state, Speech(said, 0.9))
    assert after.state.status is Status.CALLBACK_REQUESTED
    assert after.state.callback == choice
    assert after.prompts == (USS.closing.callback,)


# --- a number question (no shipped questionnaire has one) ---------------------------------

NUMBER_QUESTIONNAIRE = """\
id: age_check
version: "1"
title: Age check
case_fields:
  first_name: {type: text, label: First name}
opening: Hello, this is an automated call from the customer contact team.
identity:
  prompt: Am I speaking to {first_name}?
  keypad: If you are, press 1 or say yes.
safety:
  prompt: Is it safe for you to talk now?
  keypad: If it is safe, press 1 or say yes. If it is not, press 2.
consent:
  prompt: We would like to ask you one question.
  keypad: To take part now, press 1 or say yes.
questions:
  - id: age
    type: number
    minimum: 16
    maximum: 110
    prompt: How old are you?
closing:
  completed: Thank you. Goodbye.
  refused: Thank you for your time. Goodbye.
  callback: Thank you. We will call back at another time. Goodbye.
  wrong_person: Sorry to have troubled you. Goodbye.
  no_response: Sorry we could not hear you. Goodbye.
"""
AGE = parse_questionnaire(NUMBER_QUESTIONNAIRE, "age_check.yaml").questionnaire


def at_age() -> Step:
    step = reach(AGE, {"first_name": "Alex"}, "1", "1")
    assert step.state.node == "age"
    assert step.wait is not None and step.wait.kind == "number"
    return step


@pytest.mark.parametrize(
    ("event", "code", "via"),
    [
        pytest.param(Speech("I am 42", 0.9), "42", Via.SPEECH, id="I am 42"),
        pytest.param(Speech("16", 0.9), "16", Via.SPEECH, id="16 (the minimum)"),
        pytest.param(Digits("42"), "42", Via.KEYPAD, id="keys 42"),
        pytest.param(Digits("110"), "110", Via.KEYPAD, id="keys 110 (the maximum)"),
    ],
)
def test_number_said_or_keyed_is_recorded_as_that_number(
    event: InputEvent, code: str, via: Via
) -> None:
    after = engine.step(AGE, at_age().state, event)
    assert_answered(after, "age", code, via=via)
    assert after.state.status is Status.COMPLETED


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(Speech("I am 15", 0.9), id="I am 15 (below the minimum)"),
        pytest.param(Speech("I am 111", 0.9), id="I am 111 (above the maximum)"),
        pytest.param(Digits("15"), id="keys 15"),
        pytest.param(Digits("0"), id="keys 0"),
        pytest.param(Speech("I'd rather not say", 0.9), id="no number said"),
    ],
)
def test_number_out_of_range_or_missing_is_asked_again(event: InputEvent) -> None:
    before = at_age()
    after = engine.step(AGE, before.state, event)
    assert_asked_again(AGE, before, after)


# --- match_option itself -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "options", "key"),
    [
        # Contractions are spelt out, in the utterance and in the phrases alike.
        pytest.param("it's not safe", SAFETY, "2", id="it's not safe is no"),
        pytest.param("it\u2019s not safe", SAFETY, "2", id="curly apostrophe it's not safe is no"),
        pytest.param("I cannot talk", SAFETY, "2", id="I cannot talk matches I can't talk"),
        pytest.param("I can't talk", SAFETY, "2", id="I can't talk"),
        pytest.param("no I would not", RECOMMEND, "2", id="no I would not matches no I wouldn't"),
        pytest.param("that is me", IDENTITY, "1", id="that is me matches that's me"),
        pytest.param("she isn't here", IDENTITY, "2", id="she isn't here is not here"),
        # A phrase inside a longer phrase that was said counts only as the longer one.
        pytest.param("very dissatisfied", SCALE, "6", id="very dissatisfied is not also very"),
        pytest.param("fairly dissatisfied", SCALE, "5", id="fairly dissatisfied is not fairly"),
        pytest.param(
            "completely dissatisfied", SCALE, "7", id="completely dissatisfied is not completely"
        ),
        pytest.param(
            "neither satisfied nor dissatisfied", SCALE, "4", id="neither and nor inside the phrase"
        ),
        pytest.param("not very much", HELPED, "3", id="not very much is not very much (a lot)"),
        pytest.param("not a lot", HELPED, "3", id="not a lot is option 3's own phrase"),
        pytest.param("no it isn't", YES_NO, "2", id="no it isn't is not it is"),
        pytest.param("yes it is", IDENTITY, "1", id="yes it is"),
        pytest.param("I don't know", SCALE, "8", id="I don't know is don't know"),
    ],
)
def test_match_option_names_the_one_option_meant(said: str, options: tuple, key: str) -> None:
    matched = match_option(said, options)
    assert matched is not None
    assert matched.key == key


@pytest.mark.parametrize(
    ("said", "options"),
    [
        pytest.param("not very satisfied", SCALE, id="not very satisfied"),
        pytest.param("I wouldn't say very satisfied", SCALE, id="wouldn't outside the phrase"),
        pytest.param("hardly very satisfied", SCALE, id="hardly"),
        pytest.param("barely fairly satisfied", SCALE, id="barely"),
        pytest.param("it isn't very satisfied", SCALE, id="isn't outside the phrase"),
        pytest.param("two or three", SCALE, id="two options"),
        pytest.param("yes but not now", SAFETY, id="yes but not now"),
        pytest.param("not a little", HELPED, id="not a little"),
        pytest.param("I don't know", YES_NO, id="I don't know to a yes-no question"),
        pytest.param("", SCALE, id="nothing said"),
    ],
)
def test_match_option_matches_nothing_when_negated_or_unclear(said: str, options: tuple) -> None:
    assert match_option(said, options) is None
