"""TwiML for engine steps, pinned by golden files (UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ivr import engine
from ivr.engine import Digits, Silence
from ivr.questionnaire.loader import load_file
from ivr.telephony.simulator import parse_twiml
from ivr.telephony.twiml import step_twiml

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
USS = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire
CASE = {
    "first_name": "Alex",
    "crime_type": "burglary",
    "district": "Hartlepool",
    "reported_on": "2026-09-14",
}
NEXT = "https://ivr.example.test/twilio/interviews/abc/turns/1"
ENGLISH_AND_WELSH = (
    {"voice": "Polly.Amy", "language": "en-GB"},
    {"voice": "Polly.Gwyneth", "language": "cy-GB"},
)


def _steps() -> dict[str, engine.Step]:
    start = engine.start(USS, CASE)
    consent = engine.step(USS, start.state, Digits("1"))
    first_question = engine.step(USS, consent.state, Digits("1"))
    reprompt = engine.step(USS, first_question.state, Silence())
    state = first_question.state
    for key in ("7", "7", "7", "7", "7"):
        state = engine.step(USS, state, Digits(key)).state
    recording = engine.step(USS, engine.step(USS, state, Silence()).state, Silence())
    unsafe = engine.step(
        USS, engine.start(USS, {**CASE, "domestic_abuse": "yes"}).state, Digits("1")
    )
    refused = engine.step(USS, consent.state, Digits("3"))
    # Welsh: a case the sample says speaks it, and a call switched to it with key 9.
    welsh = USS.in_language("cy-GB")
    welsh_opening = engine.start(welsh, {**CASE, "language": "cy-GB"})
    switched = engine.step(USS, start.state, Digits("9"))
    welsh_question = engine.step(
        welsh, engine.step(welsh, switched.state, Digits("1")).state, Digits("1")
    )
    return {
        "opening": start,
        "consent": consent,
        "first_question": first_question,
        "reprompt": reprompt,
        "recording": recording,
        "refused": refused,
        "safety_check": unsafe,
        "welsh_opening": welsh_opening,
        "switched_to_welsh": switched,
        "welsh_question": welsh_question,
    }


STEPS = _steps()


@pytest.mark.parametrize("name", sorted(STEPS))
def test_twiml_matches_golden_file(name: str) -> None:
    body = step_twiml(STEPS[name], NEXT)
    golden = GOLDEN / f"{name}.xml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(body + "\n")
    assert body + "\n" == golden.read_text()


@pytest.mark.parametrize("name", sorted(STEPS))
def test_twiml_follows_the_rules_for_twilio(name: str) -> None:
    step = STEPS[name]
    verbs = parse_twiml(step_twiml(step, NEXT))  # raises on undocumented verbs/attributes
    tags = [v.tag for v in verbs]
    welsh = step.state.language == "cy-GB"
    for say in (el for v in verbs for el in v.iter("Say")):
        # Every word in the call's language, but the other language's offer in its own.
        assert say.attrib in ENGLISH_AND_WELSH
    first_say = next(el for v in verbs for el in v.iter("Say"))
    assert first_say.attrib == ENGLISH_AND_WELSH[welsh]
    if step.wait is None:
        assert tags[-1] == "Hangup"
        return
    wait_verb = "Record" if step.wait.kind == "recording" else "Gather"
    assert tags[-1] == "Redirect" and tags[-2] == wait_verb  # the no-input fallback
    assert verbs[-1].text == NEXT
    if wait_verb == "Gather":
        gather = verbs[-2]
        assert {el.tag for el in gather} <= {"Say", "Play", "Pause"}
        if welsh:
            # Twilio's speech recognition is not documented for Welsh: keys only.
            assert gather.attrib["input"] == "dtmf" and "language" not in gather.attrib
        else:
            assert gather.attrib["input"] == "dtmf speech"
            assert gather.attrib["hints"] and gather.attrib["language"] == "en-GB"
        assert gather.attrib["action"] == NEXT
