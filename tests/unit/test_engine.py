"""The pure engine: questionnaire + state + input -> prompts, wait, state, events."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import engine
from ivr.engine import (
    AnswerRecorded,
    Digits,
    DissatisfactionDetected,
    HangUp,
    InterviewEnded,
    InterviewerAnswer,
    Recording,
    ReferralRequested,
    Silence,
    Speech,
    State,
    Status,
    Step,
)
from ivr.questionnaire.loader import load_file

ROOT = Path(__file__).resolve().parents[2]
USS = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire
VCAS = load_file(ROOT / "questionnaires" / "vcas_exit.yaml").questionnaire
CASE = {
    "first_name": "Alex",
    "crime_type": "burglary",
    "district": "Hartlepool",
    "reported_on": "2026-09-14",
}


def play(*events: engine.InputEvent, case: dict | None = None, q=USS) -> list[Step]:
    steps = [engine.start(q, case or CASE)]
    for event in events:
        steps.append(engine.step(q, steps[-1].state, event))
    return steps


def events_of(steps: list[Step]) -> list:
    return [e for s in steps for e in s.events]


def answers_of(steps: list[Step]) -> dict[str, str | None]:
    return {e.question_id: e.code for e in events_of(steps) if isinstance(e, AnswerRecorded)}


SATISFIED = (
    Digits("1"),
    Digits("1"),
    Digits("1"),
    Digits("2"),
    Digits("3"),
    Digits("2"),
    Digits("1"),
    Digits("2"),
)


def test_satisfied_victim_completes_without_referral() -> None:
    steps = play(*SATISFIED)
    assert answers_of(steps) == {
        "ease_of_contact": "1",
        "actions_taken": "2",
        "kept_informed": "3",
        "treatment": "2",
        "whole_experience": "1",
        "police_contact": "2",
    }
    assert steps[-1].state.status is Status.COMPLETED
    assert steps[-1].wait is None
    assert not any(isinstance(e, ReferralRequested) for e in events_of(steps))
    assert "Thank you for taking part" in steps[-1].prompts[-1]


def test_opening_and_identity_reveal_no_case_detail() -> None:
    first = engine.start(USS, CASE)
    said = " ".join(first.prompts).lower()
    assert "alex" in said
    assert "burglary" not in said and "september" not in said
    second = engine.step(USS, first.state, Digits("1"))
    assert "You reported a burglary to us on Monday the 14th of September 2026" in second.prompts[0]


def test_dissatisfied_with_consent_raises_one_referral_listing_every_dissatisfied_answer() -> None:
    steps = play(
        Digits("1"),
        Digits("1"),
        Digits("6"),
        Digits("2"),
        Digits("7"),
        Digits("4"),
        Digits("5"),
        Recording("https://rec/1", 9),
        Digits("1"),
        Digits("2"),
    )
    events = events_of(steps)
    dissatisfied = [e.question_id for e in events if isinstance(e, DissatisfactionDetected)]
    assert dissatisfied == ["ease_of_contact", "kept_informed", "whole_experience"]
    referrals = [e for e in events if isinstance(e, ReferralRequested)]
    assert len(referrals) == 1
    assert referrals[0].kind == "service_recovery"
    assert [(r.question, r.code, r.answer) for r in referrals[0].reasons] == [
        ("ease_of_contact", "6", "very dissatisfied"),
        ("kept_informed", "7", "completely dissatisfied"),
        ("whole_experience", "5", "fairly dissatisfied"),
    ]
    assert referrals[0].consented is True
    reason = next(
        e
        for e in events
        if isinstance(e, AnswerRecorded) and e.question_id == "dissatisfaction_reason"
    )
    assert reason.recording_url == "https://rec/1"
    assert steps[-1].state.status is Status.COMPLETED


def test_dissatisfied_without_consent_still_gives_a_reason_and_an_anonymous_referral() -> None:
    steps = play(
        Digits("1"),
        Digits("1"),
        Digits("7"),
        Digits("7"),
        Digits("7"),
        Digits("7"),
        Digits("7"),
        Recording("https://rec/9", 5),
        Digits("2"),
        Digits("2"),
    )
    assert answers_of(steps)["dissatisfaction_reason"] is None  # a recording has no code
    reason = next(
        e
        for e in events_of(steps)
        if isinstance(e, AnswerRecorded) and e.question_id == "dissatisfaction_reason"
    )
    assert reason.recording_url == "https://rec/9"
    referrals = [e for e in events_of(steps) if isinstance(e, ReferralRequested)]
    assert [(r.kind, r.consented) for r in referrals] == [("service_recovery", False)]
    assert steps[-1].state.status is Status.COMPLETED


def test_referrals_are_raised_when_the_interview_ends_not_at_the_first_dissatisfied_answer() -> (
    None
):
    steps = play(Digits("1"), Digits("1"), Digits("7"), Digits("7"))
    assert not any(isinstance(e, ReferralRequested) for e in events_of(steps))


def test_asking_for_police_contact_raises_an_action_alert() -> None:
    steps = play(*SATISFIED[:-1], Digits("1"))
    referrals = [e for e in events_of(steps) if isinstance(e, ReferralRequested)]
    assert [(r.kind, [x.question for x in r.reasons]) for r in referrals] == [
        ("action_alert", ["police_contact"])
    ]


def test_star_repeats_without_using_an_attempt() -> None:
    steps = play(Digits("1"), Digits("1"), Digits("9"), Digits("*"), Digits("*"), Silence())
    assert steps[-1].state.node == "ease_of_contact"
    assert steps[-1].state.tries == 2
    repeat = steps[4]
    assert repeat.prompts[0].startswith("Thinking about when you first contacted")
    assert "Press 1 for completely satisfied" in repeat.prompts[-1]


def test_third_failure_records_unanswered_and_moves_on() -> None:
    # 0 is not an invalid key: it asks for a person.
    steps = play(Digits("1"), Digits("1"), Digits("9"), Silence(), Digits("9"))
    last = steps[-1]
    assert last.state.node == "actions_taken"
    assert last.events == (AnswerRecorded("ease_of_contact", None, None, None),)
    assert last.prompts[0] == USS.messages.moving_on
    # The rest can still complete.
    rest = [engine.step(USS, last.state, Digits(k)) for k in ("1",)]
    assert rest[0].state.node == "kept_informed"


def test_reprompt_says_why() -> None:
    steps = play(Digits("1"), Digits("1"), Digits("9"), Silence())
    assert steps[3].prompts[0] == USS.messages.invalid
    assert steps[4].prompts[0] == USS.messages.no_input


def test_speech_matches_labels_and_synonyms_longest_first() -> None:
    steps = play(
        Speech("yes", 0.9),
        Speech("yeah okay", 0.9),
        Speech("I was very dissatisfied", 0.95),
        Speech("neither satisfied nor dissatisfied", 0.9),
        Speech("fairly satisfied thanks", 0.9),
    )
    assert answers_of(steps) == {"ease_of_contact": "6", "actions_taken": "4", "kept_informed": "3"}
    assert {e.via.value for e in events_of(steps) if isinstance(e, AnswerRecorded)} == {"speech"}


def test_low_confidence_speech_is_confirmed_first() -> None:
    steps = play(Digits("1"), Digits("1"), Speech("very satisfied", 0.2))
    assert steps[-1].prompts == (
        "I think you said very satisfied. If that is right, press 1 "
        "or say yes. If not, press 2 or say no.",
    )
    assert not steps[-1].events
    confirmed = engine.step(USS, steps[-1].state, Speech("yes", 0.9))
    assert confirmed.events[0].question_id == "ease_of_contact"
    assert confirmed.events[0].code == "2"
    rejected = engine.step(USS, steps[-1].state, Digits("2"))
    assert rejected.state.node == "ease_of_contact" and not rejected.events


def test_unmatched_speech_reprompts() -> None:
    steps = play(Digits("1"), Digits("1"), Speech("purple elephants", 0.9))
    assert steps[-1].prompts[0] == USS.messages.invalid


@pytest.mark.parametrize(
    ("keys", "status", "closing"),
    [
        (("3",), Status.WRONG_NUMBER, "wrong_person"),
        (("2", "2"), Status.CALLBACK_REQUESTED, "callback"),
        (("1", "2", "3"), Status.CALLBACK_REQUESTED, "callback"),
        (("1", "2", "", "9", ""), Status.CALLBACK_REQUESTED, "callback"),
        (("1", "3"), Status.REFUSED, "refused"),
        (("7", "", "8"), Status.NO_RESPONSE, "no_response"),
    ],
)
def test_control_steps_end_the_call(keys: tuple[str, ...], status: Status, closing: str) -> None:
    steps = play(*(Digits(k) if k else Silence() for k in keys))
    assert steps[-1].state.status is status
    assert steps[-1].wait is None
    assert steps[-1].prompts[-1] == getattr(USS.closing, closing)
    assert not answers_of(steps)
    assert "burglary" not in steps[-1].prompts[-1]


@pytest.mark.parametrize(
    ("key", "choice"),
    [
        ("1", "this_evening"),
        ("2", "tomorrow_daytime"),
        ("3", "tomorrow_evening"),
    ],
)
def test_call_me_back_later_asks_when(key: str, choice: str) -> None:
    asked = play(Digits("1"), Digits("2"))[-1]
    assert asked.state.node == "_callback_time" and asked.wait is not None
    assert "this evening, press 1" in " ".join(asked.prompts)
    booked = engine.step(USS, asked.state, Digits(key))
    assert booked.state.status is Status.CALLBACK_REQUESTED
    assert booked.state.callback == choice
    assert State.from_json(booked.state.to_json()).callback == choice
    by_voice = engine.step(USS, asked.state, Speech("tomorrow evening please", 0.9))
    assert by_voice.state.callback == "tomorrow_evening"


def test_no_callback_time_still_ends_as_a_callback_without_one() -> None:
    steps = play(Digits("1"), Digits("2"), Silence(), Silence(), Silence())
    assert steps[-1].state.status is Status.CALLBACK_REQUESTED
    assert steps[-1].state.callback is None


def test_domestic_abuse_asks_the_safety_check_before_any_detail() -> None:
    case = {**CASE, "crime_type": "domestic_abuse"}
    steps = play(Digits("1"), case=case)
    assert steps[-1].state.node == "_safety"
    assert "safe" in steps[-1].prompts[0]
    unsafe = engine.step(USS, steps[-1].state, Digits("2"))
    assert unsafe.state.status is Status.UNSAFE
    assert "incident" not in " ".join(unsafe.prompts)
    assert "safe" not in " ".join(play(Digits("1"))[-1].prompts)  # not asked for burglary


def test_hang_up_before_identity_is_no_response_and_after_it_partial() -> None:
    steps = play(Digits("1"), Digits("1"), Digits("2"), HangUp())
    assert steps[-1].state.status is Status.PARTIAL
    assert steps[-1].events == (InterviewEnded(Status.PARTIAL),)
    at_identity = play(HangUp())
    assert at_identity[-1].state.status is Status.NO_RESPONSE
    at_consent = play(Digits("1"), HangUp())
    assert at_consent[-1].state.status is Status.PARTIAL
    dissatisfied = play(Digits("1"), Digits("1"), *[Digits("7")] * 5, HangUp())
    referrals = [e for e in events_of(dissatisfied) if isinstance(e, ReferralRequested)]
    assert [(r.kind, r.consented) for r in referrals] == [("service_recovery", False)]


def test_ended_interview_ignores_further_input() -> None:
    steps = play(*SATISFIED)
    again = engine.step(USS, steps[-1].state, Digits("1"))
    assert again.events == () and again.prompts == () and again.wait is None


def test_state_round_trips_through_json() -> None:
    import json

    steps = play(Digits("1"), Digits("1"), Digits("6"))
    state = State.from_json(json.loads(json.dumps(steps[-1].state.to_json())))
    assert state == steps[-1].state


def test_engine_is_deterministic() -> None:
    assert play(*SATISFIED) == play(*SATISFIED)


def test_interviewer_answers_go_through_the_same_rules() -> None:
    steps = play(
        InterviewerAnswer("1"),
        InterviewerAnswer("1"),
        *[InterviewerAnswer("6")] * 5,
        InterviewerAnswer(text="They never called back."),
        InterviewerAnswer("1"),
        InterviewerAnswer("2"),
    )
    reason = next(
        e
        for e in events_of(steps)
        if isinstance(e, AnswerRecorded) and e.question_id == "dissatisfaction_reason"
    )
    assert reason.raw == "They never called back." and reason.via.value == "interviewer"
    assert [e.kind for e in events_of(steps) if isinstance(e, ReferralRequested)] == [
        "service_recovery"
    ]


VCAS_CASE = {"first_name": "Sam", "closed_on": "2026-10-01", "consent": "yes"}


def test_vcas_referral_uses_choice_sentiment() -> None:
    # identity, safety, good time, consent; then the five core questions.
    steps = play(
        Digits("1"),
        Digits("1"),
        Digits("1"),
        Digits("1"),
        Digits("2"),
        Digits("3"),
        Digits("1"),
        Digits("9"),
        Digits("1"),
        Recording("https://rec/2", 4),
        Digits("1"),
        Recording("https://rec/3", 6),
        q=VCAS,
        case=VCAS_CASE,
    )
    referrals = [e for e in events_of(steps) if isinstance(e, ReferralRequested)]
    assert [(r.question, r.code) for r in referrals[0].reasons] == [("cope_everyday", "3")]
    assert referrals[0].consented is True
    assert answers_of(steps)["understand_justice"] == "9"
    assert steps[-1].state.status is Status.COMPLETED


def test_vcas_hash_at_the_optional_question_means_nothing_more() -> None:
    steps = play(*[Digits("1")] * 4, *[Digits("1")] * 5, q=VCAS, case=VCAS_CASE)
    assert steps[-1].state.node == "anything_else"
    assert "just press the hash key" in " ".join(steps[-1].prompts)
    done = engine.step(VCAS, steps[-1].state, Silence())  # # ends a Record with no audio
    assert done.state.status is Status.COMPLETED
    assert "Sorry" not in " ".join(done.prompts)
    keyed = engine.step(VCAS, steps[-1].state, Digits("#"))
    assert keyed.state.status is Status.COMPLETED


def test_a_state_copy_changes_only_what_it_names() -> None:
    state = State(case={"first_name": "Alex"}, node="ease_of_contact", tries=1)
    moved = state.but(node="actions_taken", tries=0)
    assert (state.node, state.tries) == ("ease_of_contact", 1)
    assert (moved.node, moved.tries, moved.case) == ("actions_taken", 0, state.case)
    assert moved == State(case={"first_name": "Alex"}, node="actions_taken")
    with pytest.raises(TypeError, match="nodes"):
        state.but(nodes="x")
