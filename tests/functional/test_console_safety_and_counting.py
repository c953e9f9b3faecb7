"""The interviewer's console keeps calls safe and answers counted as on the phone: don't know
kept out of the figures, the phone's very words to say, the neutral opening and the safety
check for sensitive cases, cases an automated call found unsafe dealt to interviewers, and
optional questions that may be left empty.

Cases come from samples imported on a simulated Monday 11:00; interviewers sign in through
``/login`` and answer through the console's forms. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import ivr.cli
from ivr import engine
from ivr.engine import Digits, Recording
from ivr.engine.script import node_named
from ivr.questionnaire.loader import load_file
from ivr.store.models import Answer, Interview
from ivr.telephony.fake_api import human
from ivr.telephony.respondents import Scripted, press
from tests.functional.campaign_world import MONDAY_11, World, campaign_world
from tests.functional.test_console_pages import (
    heading,
    interviewer,
    keys_offered,
    page,
    post,
    take_next_case,
)

ROOT = Path(__file__).resolve().parents[2]
USS = load_file(ROOT / "questionnaires" / "uss.yaml").questionnaire
VCAS = load_file(ROOT / "questionnaires" / "vcas_exit.yaml").questionnaire
VICTIM = "+441134960601"
SEVEN_WEEKS_AGO = MONDAY_11.date() - timedelta(weeks=7)
#: Words that must not be said before the victim has confirmed who they are and that it is
#: safe to talk, on a sensitive case.
GIVE_AWAY = (
    "police",
    "crime",
    "incident",
    "offence",
    "abuse",
    "victim",
    "survey",
    "burglary",
    "september",
    "october",
)


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        yield w


def uss_case(
    world: World, *, crime_type: str = "burglary", domestic_abuse: str | None = None
) -> None:
    """One USS case for VICTIM, reported seven weeks ago: due for the survey."""
    header = "case_ref,phone,crime_type,district,reported_on,first_name"
    row = f"CLE/26/400001,{VICTIM},{crime_type},Hartlepool,{SEVEN_WEEKS_AGO.isoformat()},Alex"
    if domestic_abuse is not None:
        header += ",domestic_abuse"
        row += f",{domestic_abuse}"
    world.import_csv(f"{header}\n{row}\n")


def vcas_case(world: World) -> None:
    """One VCAS exit case for VICTIM, closed ten days ago with consent: due for the survey."""
    closed_on = (MONDAY_11.date() - timedelta(days=10)).isoformat()
    world.import_csv(
        f"case_ref,phone,first_name,closed_on,consent\nVC/26/0001,{VICTIM},Alex,{closed_on},yes\n",
        survey="vcas_exit",
    )


def answer(client: FlaskClient, interview_id: int, **form: str) -> tuple[int, str]:
    """Post one answer from the script page: the status (302 when taken, 400 when refused)
    and the page shown next."""
    status, _, body = post(client, f"/console/interviews/{interview_id}/answer", **form)
    if status == 302:
        body = page(client, interview_id)
    return status, body


def keys(client: FlaskClient, interview_id: int, *pressed: str) -> str:
    """Press each key in turn, each accepted; the page after the last."""
    body = page(client, interview_id)
    for key in pressed:
        status, body = answer(client, interview_id, key=key)
        assert status == 302, (key, body)
    return body


def one(pattern: str, body: str) -> str | None:
    """The text (tags dropped, entities decoded, spaces collapsed) of the first match."""
    found = re.search(pattern, body, re.S)
    if found is None:
        return None
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def wording(body: str) -> str | None:
    return one(r'<h2 class="wording" id="wording"[^>]*>(.*?)</h2>', body)


def lead(body: str) -> str | None:
    return one(r'<p class="wording" id="lead"[^>]*>(.*?)</p>', body)


def instructions(body: str) -> str | None:
    return one(r'<p class="instructions" id="instructions">(.*?)</p>', body)


def closing(body: str) -> str | None:
    return one(r'<h2>Say</h2>\s*<p class="wording"[^>]*>(.*?)</p>', body)


def interview_row(world: World, interview_id: int) -> Interview:
    with world.db.transaction() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None
        session.expunge(interview)
        return interview


def answers(world: World, interview_id: int) -> dict[str, tuple[Any, ...]]:
    with world.db.transaction() as session:
        return {
            a.question_id: (a.code, a.label, a.via)
            for a in session.scalars(
                select(Answer).where(Answer.interview_id == interview_id).order_by(Answer.id)
            )
        }


def answer_count(world: World) -> int:
    with world.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(Answer)) or 0)


def cli_json(app: Flask, *args: str) -> Any:
    result = app.test_cli_runner().invoke(ivr.cli.main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- don't know, apart and out of the figures ---------------------------------------------


def test_a_scale_question_offers_seven_opinions_and_dont_know_apart_out_of_the_figures(
    world: World,
) -> None:
    uss_case(world)
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    body = keys(client, interview_id, "1", "1")
    assert heading(body) == "Question 1 of 8"
    form = body[
        body.index('id="answer-form"') : body.index("</form>", body.index('id="answer-form"'))
    ]
    hint = form.index("kept out of the figures")
    opinions, apart = form[:hint], form[hint:]
    buttons = r'<button type="submit"[^>]*name="key" value="(\d)"[^>]*>(.*?)</button>'
    assert [(key, html.unescape(label)) for key, label in re.findall(buttons, opinions)] == [
        ("1", "1 · completely satisfied"),
        ("2", "2 · very satisfied"),
        ("3", "3 · fairly satisfied"),
        ("4", "4 · neither satisfied nor dissatisfied"),
        ("5", "5 · fairly dissatisfied"),
        ("6", "6 · very dissatisfied"),
        ("7", "7 · completely dissatisfied"),
    ]
    assert [(key, html.unescape(label)) for key, label in re.findall(buttons, apart)] == [
        ("8", "8 · don't know")
    ]
    assert keys_offered(body) == ["1", "2", "3", "4", "5", "6", "7", "8"]


def test_pressing_8_keeps_dont_know_out_of_the_question_base(world: World) -> None:
    uss_case(world)
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    keys(client, interview_id, "1", "1")
    status, body = answer(client, interview_id, key="8")
    assert status == 302 and heading(body) == "Question 2 of 8"
    assert answers(world, interview_id)["ease_of_contact"] == ("8", "don't know", "interviewer")
    body = keys(client, interview_id, "2", "1", "1", "2", "2")
    assert interview_row(world, interview_id).status == "completed"
    [row] = cli_json(world.app, "results", "export", "--survey", "uss", "--format", "json")
    assert row["counted"] == "complete" and row["mode"] == "interviewer"
    assert row["answers"]["ease_of_contact"] == {
        "code": "8",
        "label": "don't know",
        "via": "interviewer",
        "substantive": False,
    }
    assert row["answers"]["actions_taken"]["substantive"] is True
    # One interview: nothing would show at the real thresholds.
    services = world.app.extensions["ivr"]
    services.settings = services.settings.but(results_suppress_below=1, results_low_base_below=1)
    summary = cli_json(world.app, "results", "summary", "--survey", "uss", "--json")
    figures = {question["question_id"]: question for question in summary["questions"]}
    ease = figures["ease_of_contact"]
    assert (ease["overall"]["base"], ease["not_counted"]) == (0, {"dont_know": 1})
    assert figures["actions_taken"]["overall"]["base"] == 1


# --- the words to say ---------------------------------------------------------------------


def test_every_step_says_the_phones_words_with_the_instructions_apart(world: World) -> None:
    uss_case(world)
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    case = interview_row(world, interview_id).state["case"]
    reason = "Nobody rang me back after the first visit."
    inputs: list[tuple[dict[str, str], engine.InputEvent]] = [
        ({"key": key}, Digits(key)) for key in ("1", "1", "6", "2", "7", "3", "5")
    ]
    inputs += [
        ({"text": reason}, Recording("https://api.twilio.com/rec/RE1", 6)),
        ({"key": "2"}, Digits("2")),
        ({"key": "2"}, Digits("2")),
    ]
    phone = engine.start(USS, case)
    body = page(client, interview_id)
    seen = []
    for form, event in inputs:
        node = node_named(USS, phone.state.node or "")
        seen.append(node.id)
        said = wording(body)
        assert said, body
        # What the interviewer reads is what the phone says, word for word.
        assert said in phone.prompts, (node.id, said, phone.prompts)
        if lead(body):
            assert phone.prompts.index(lead(body)) < phone.prompts.index(said)
        assert "press" not in said.lower(), "the keypad help is the phone's alone"
        if node.question is not None:
            assert said == " ".join(node.prompt.replace("{crime_type}", "a burglary").split())
        shown = instructions(body) or ""
        assert shown.startswith("For you, not to read out:")
        if node.instructions:
            written = " ".join(node.instructions.split())
            assert written in shown, (node.id, shown)
            assert written not in said and not any(written in p for p in phone.prompts)
        status, body = answer(client, interview_id, **form)
        assert status == 302, (node.id, body)
        phone = engine.step(USS, phone.state, event)
    assert seen == [
        "_identity",
        "_consent",
        "ease_of_contact",
        "actions_taken",
        "kept_informed",
        "treatment",
        "whole_experience",
        "dissatisfaction_reason",
        "recovery_consent",
        "police_contact",
    ]
    assert phone.wait is None and phone.state.status.value == "completed"
    assert closing(body) == phone.prompts[-1]


def test_the_identity_step_gives_the_opening_to_say_before_asking_for_the_victim(
    world: World,
) -> None:
    uss_case(world)
    client = interviewer(world.app)
    body = page(client, take_next_case(client))
    assert heading(body) == "Identity check"
    assert lead(body) == " ".join(USS.opening.split())
    assert wording(body) == "Am I speaking to Alex?"
    assert body.index('id="say-title">Say:') < body.index('id="lead"') < body.index('id="wording"')
    assert 'id="sensitive-case"' not in body and 'id="interviewer-only"' not in body


@pytest.mark.parametrize(
    "marked",
    [
        {"crime_type": "burglary", "domestic_abuse": "yes"},
        {"crime_type": "domestic_abuse"},
    ],
)
def test_a_sensitive_case_opens_neutrally_and_asks_if_it_is_safe_before_any_detail(
    world: World, marked: dict[str, str]
) -> None:
    uss_case(world, **marked)
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    body = page(client, interview_id)
    assert heading(body) == "Identity check"
    assert (
        lead(body)
        == USS.sensitive_opening
        == ("Hello, this is an automated call from the customer contact team.")
    )
    assert wording(body) == "Am I speaking to Alex?"
    assert 'id="sensitive-case"' in body and "Sensitive case." in body
    said = f"{lead(body)} {wording(body)}".lower()
    assert not [word for word in GIVE_AWAY if word in said]
    # Instructions mention the police, but only to the interviewer, never in the words.
    assert "police" in (instructions(body) or "")
    body = keys(client, interview_id, "1")
    assert (heading(body), wording(body)) == ("Safety check", "Is it safe for you to talk now?")
    assert lead(body) is None
    assert not [word for word in GIVE_AWAY if word in (wording(body) or "").lower()]
    body = keys(client, interview_id, "1")
    assert (heading(body), lead(body)) == ("Is now a good time?", None)
    assert not [word for word in GIVE_AWAY if word in (wording(body) or "").lower()]
    # Safe to talk, and a good time: now the interviewer says who is calling and why.
    body = keys(client, interview_id, "1")
    assert heading(body) == "Consent"
    assert lead(body) == " ".join(USS.opening.split())
    assert "police" in (lead(body) or "")


# --- the safety check ---------------------------------------------------------------------


def test_no_at_the_safety_step_ends_the_interview_unsafe_saying_nothing_of_the_case(
    world: World,
) -> None:
    uss_case(world, crime_type="domestic_abuse")
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    body = keys(client, interview_id, "1")
    assert heading(body) == "Safety check"
    assert keys_offered(body)[:2] == ["1", "2"]
    body = keys(client, interview_id, "2")
    assert interview_row(world, interview_id).status == "unsafe"
    assert heading(body) == "Interview ended: unsafe"
    said = closing(body)
    assert said == "Thank you for your time. Goodbye."
    assert not [
        word for word in (*GIVE_AWAY, "alex", "hartlepool", "cle/26") if word in said.lower()
    ]
    assert answers(world, interview_id) == {}
    assert "answer-form" not in body
    # Ending the call as it ended: only interviewers ring the case from now on.
    status, _, _ = post(client, f"/console/interviews/{interview_id}/end", outcome="unsafe")
    assert status == 302
    schedule = world.schedule(VICTIM)
    assert (schedule.disposition, schedule.held_by_id) == (None, None)
    assert schedule.interviewer_only_since is not None


def test_a_case_an_automated_call_found_unsafe_is_dealt_to_an_interviewer_only(
    world: World,
) -> None:
    uss_case(world, crime_type="domestic_abuse")
    world.start()
    # The victim confirms who they are, then presses 2: it is not safe to talk.
    world.fates[VICTIM].append(human(Scripted(press("1"), press("2"))))
    assert len(world.tick().queued) == 1
    (call,) = world.play()
    assert call.record is not None and call.record.errors == []
    assert "police" not in call.record.heard_text.lower()
    schedule = world.schedule(VICTIM)
    assert schedule.interviewer_only_since is not None and schedule.disposition is None
    assert schedule.outcomes == ["unsafe"]
    # The dialler never rings it again, however long it waits.
    for _ in range(3):
        world.clock.advance(days=1)
        assert world.tick().queued == []
    assert len(world.fake.calls) == 1
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    body = page(client, interview_id)
    assert 'id="interviewer-only"' in body and "Interviewer only." in body
    assert "did not say it was safe to talk" in body
    assert 'id="sensitive-case"' in body
    assert heading(body) == "Identity check"
    assert lead(body) == USS.sensitive_opening
    # The same interview, carried on: safety is asked again before anything else.
    with world.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Interview)) == 1
    body = keys(client, interview_id, "1")
    assert heading(body) == "Safety check"
    assert 'id="interviewer-only"' in body


# --- optional and required free text ------------------------------------------------------


def test_an_optional_question_takes_nothing_to_add_and_the_interview_completes(
    world: World,
) -> None:
    vcas_case(world)
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    # Identity, safety, convenience, consent; then satisfied with everything.
    body = keys(client, interview_id, "1", "1", "1", "1", "1", "1", "1", "1", "1")
    assert heading(body) == "Question 8 of 8"
    assert wording(body) == " ".join(VCAS.question("anything_else").prompt.split())
    assert 'id="nothing-to-add"' in body and "Nothing to add" in body
    status, body = answer(client, interview_id, text="")
    assert status == 302, body
    assert interview_row(world, interview_id).status == "completed"
    assert heading(body) == "Interview ended: completed"
    assert answers(world, interview_id)["anything_else"] == (None, None, "interviewer")
    assert "Sorry" not in (closing(body) or "")


def test_a_required_recording_question_refuses_empty_text(world: World) -> None:
    vcas_case(world)
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    # Completely dissatisfied with the support overall: asked why.
    body = keys(client, interview_id, "1", "1", "1", "1", "7", "1", "1", "1", "1")
    assert heading(body) == "Question 6 of 8"
    assert 'id="nothing-to-add"' not in body
    written = answer_count(world)
    before = interview_row(world, interview_id).step_no
    for empty in ("", "   "):
        status, refused = answer(client, interview_id, text=empty)
        assert status == 400, empty
        assert 'class="field-error" id="answer-error"' in refused
        assert heading(refused) == "Question 6 of 8"
    assert answer_count(world) == written
    assert interview_row(world, interview_id).step_no == before
    status, body = answer(client, interview_id, text="Nobody called me back.")
    assert status == 302 and heading(body) == "Question 7 of 8"
    body = keys(client, interview_id, "2")
    assert heading(body) == "Question 8 of 8" and 'id="nothing-to-add"' in body
    status, body = answer(client, interview_id, text="")
    assert status == 302
    assert interview_row(world, interview_id).status == "completed"
    kept = answers(world, interview_id)
    assert kept["dissatisfaction_reason"] == ("Nobody called me back.", None, "interviewer")
    assert kept["anything_else"] == (None, None, "interviewer")
