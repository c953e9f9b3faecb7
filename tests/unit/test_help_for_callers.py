"""Help in the engine and its TwiML: 0 (or "operator") asks for a person, star repeats
without using up an attempt, two repeats or "slower" slow the reading; access needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import engine
from ivr.engine import Digits, InterviewEnded, PersonAsked, Silence, Speech, State, Status, Step
from ivr.engine.speech import asks_for_person, asks_to_slow_down
from ivr.questionnaire import access_needs
from ivr.questionnaire.loader import load_file
from ivr.telephony.simulator import parse_twiml
from ivr.telephony.twiml import handover_twiml, step_twiml

ROOT = Path(__file__).resolve().parents[2]
USS = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire
CASE = {
    "first_name": "Alex",
    "crime_type": "burglary",
    "district": "Hartlepool",
    "reported_on": "2026-09-14",
}
NEXT = "https://ivr.example.test/twilio/interviews/abc/turns/4"
SLOW = '<prosody rate="85%">'


def at_first_question(case: dict[str, str] | None = None) -> Step:
    step = engine.start(USS, case or CASE)
    for key in ("1", "1"):
        step = engine.step(USS, step.state, Digits(key))
    assert step.state.node == "ease_of_contact"
    return step


def test_zero_at_a_question_asks_for_a_person_and_keeps_the_place() -> None:
    asked = engine.step(USS, at_first_question().state, Digits("0"))
    assert asked.prompts == (USS.messages.putting_through,)
    assert asked.wait is not None and asked.wait.kind == "person"
    assert asked.events == (PersonAsked("ease_of_contact"),)
    assert asked.state.node == "ease_of_contact" and asked.state.status is Status.IN_PROGRESS
    assert asked.state.tries == 0


def test_zero_at_the_identity_check_asks_for_a_person_too() -> None:
    opening = engine.start(USS, CASE)
    asked = engine.step(USS, opening.state, Digits("0"))
    assert asked.wait is not None and asked.wait.kind == "person"


def test_zero_at_the_safety_check_is_not_a_yes_and_ends_the_call() -> None:
    step = engine.start(USS, {**CASE, "domestic_abuse": "yes"})
    step = engine.step(USS, step.state, Digits("1"))
    assert step.state.node == "_safety"
    assert engine.step(USS, step.state, Digits("0")).state.status is Status.UNSAFE


@pytest.mark.parametrize(
    "said", ["operator", "can I speak to a person", "I want a real person", "talk to someone"]
)
def test_asking_aloud_for_a_person(said: str) -> None:
    assert asks_for_person(said)
    asked = engine.step(USS, at_first_question().state, Speech(said, 0.9))
    assert asked.events == (PersonAsked("ease_of_contact"),)


@pytest.mark.parametrize("said", ["I don't want to speak to a person", "very satisfied"])
def test_not_a_request_for_a_person(said: str) -> None:
    assert not asks_for_person(said)


def test_a_call_back_instead_ends_as_call_back_keeping_the_answers() -> None:
    step = engine.step(USS, at_first_question().state, Digits("2"))
    back = engine.call_back_instead(USS, step.state)
    assert back.prompts == (USS.messages.nobody_free,)
    assert back.wait is None
    assert back.state.status is Status.CALLBACK_REQUESTED
    assert back.state.answers["ease_of_contact"]["code"] == "2"
    assert back.events[0] == PersonAsked("actions_taken")
    assert back.events[-1] == InterviewEnded(Status.CALLBACK_REQUESTED)


def test_star_repeats_without_using_up_an_attempt() -> None:
    state = engine.step(USS, at_first_question().state, Silence()).state
    assert state.tries == 1
    again = engine.step(USS, state, Digits("*"))
    assert again.state.tries == 1 and again.state.node == "ease_of_contact"
    # The second no-input still asks again; the third gives the question up.
    second = engine.step(USS, again.state, Silence())
    assert second.state.node == "ease_of_contact"
    assert engine.step(USS, second.state, Silence()).state.node == "actions_taken"


def test_the_second_repeat_of_one_question_slows_the_reading_once() -> None:
    first = engine.step(USS, at_first_question().state, Digits("*"))
    assert not first.state.slow and USS.messages.slower not in first.prompts
    second = engine.step(USS, first.state, Digits("*"))
    assert second.state.slow
    assert second.prompts[0] == USS.messages.slower
    third = engine.step(USS, second.state, Digits("*"))
    assert third.state.slow and USS.messages.slower not in third.prompts
    # Slow for the rest of the call; the count starts again at the next question.
    following = engine.step(USS, third.state, Digits("1"))
    assert following.state.slow and following.state.repeats == 0


def test_one_repeat_at_each_of_two_questions_does_not_slow() -> None:
    step = engine.step(USS, at_first_question().state, Digits("*"))
    step = engine.step(USS, step.state, Digits("1"))
    step = engine.step(USS, step.state, Digits("*"))
    assert not step.state.slow


def test_asking_for_slower_speech_slows_at_once() -> None:
    assert asks_to_slow_down("could you speak more slowly")
    slowed = engine.step(USS, at_first_question().state, Speech("slower please", 0.9))
    assert slowed.state.slow and slowed.prompts[0] == USS.messages.slower
    assert slowed.state.node == "ease_of_contact" and slowed.state.tries == 0


def test_a_slow_speech_case_starts_slow_and_a_resumed_call_stays_slow() -> None:
    assert engine.start(USS, {**CASE, "access_needs": "slow_speech"}).state.slow
    assert not engine.start(USS, CASE).state.slow
    slowed = engine.step(USS, at_first_question().state, Speech("slower", 0.9)).state
    assert engine.resume(USS, slowed.but(status=Status.PARTIAL)).state.slow


def test_the_new_state_round_trips_and_old_states_read_at_normal_speed() -> None:
    state = at_first_question().state.but(slow=True, repeats=1)
    assert State.from_json(state.to_json()) == state
    old = state.to_json()
    del old["slow"], old["repeats"]
    assert not State.from_json(old).slow and State.from_json(old).repeats == 0


def test_slow_reading_is_prosody_in_valid_twiml() -> None:
    slowed = engine.step(USS, at_first_question().state, Speech("slower", 0.9))
    body = step_twiml(slowed, NEXT)
    parse_twiml(body)  # raises on anything Twilio would refuse
    assert SLOW in body
    assert SLOW not in step_twiml(at_first_question(), NEXT)


def test_the_put_through_is_a_valid_dial_with_an_action() -> None:
    asked = engine.step(USS, at_first_question().state, Digits("0"))
    body = handover_twiml(
        asked, number="+441134960777", caller_id="+441134960999", action_url=NEXT + "/dial"
    )
    (said, dial) = parse_twiml(body)
    assert said.tag == "Say" and dial.tag == "Dial"
    assert dial.get("action") == NEXT + "/dial" and dial.get("callerId") == "+441134960999"
    assert int(dial.get("timeout", "0")) > 0
    assert [n.text for n in dial] == ["+441134960777"]


def test_a_step_that_puts_through_is_not_rendered_as_a_question() -> None:
    asked = engine.step(USS, at_first_question().state, Digits("0"))
    with pytest.raises(ValueError):
        step_twiml(asked, NEXT)


@pytest.mark.parametrize(
    ("cell", "needs"),
    [
        ("relay_uk", ("relay_uk",)),
        (" Relay UK ; hearing ", ("relay_uk", "hearing")),
        ("other: large print letters", ("other:large print letters",)),
        ("", ()),
    ],
)
def test_access_needs_are_read_in_one_spelling(cell: str, needs: tuple[str, ...]) -> None:
    assert access_needs.parse(cell) == needs


@pytest.mark.parametrize("cell", ["telepathy", "other:", "hearing:yes", "relay"])
def test_an_unknown_access_need_is_refused(cell: str) -> None:
    with pytest.raises(access_needs.AccessNeedError):
        access_needs.parse(cell)


def test_which_needs_keep_a_case_from_the_dialler() -> None:
    assert access_needs.interviewer_only({"access_needs": "textphone"})
    assert not access_needs.interviewer_only({"access_needs": "slow_speech"})
    assert access_needs.reads_slowly({"access_needs": "slow_speech"})
    assert access_needs.described({"access_needs": "hearing;other:no calls after 6pm"}) == [
        access_needs.NEEDS["hearing"],
        "Other need: no calls after 6pm",
    ]
