"""Access needs from the sample, on SQLite and PostgreSQL: cases an automated call cannot
serve go only to interviewers, with the need shown; slower speech reads more slowly."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.accounts.staff import add_user
from ivr.campaigns.samples import import_sample
from ivr.store.models import Case, Interview, Schedule
from ivr.telephony.respondents import Scripted, press
from tests.conftest import SURVEY_NUMBER, simulator
from tests.functional.campaign_world import World, campaign_world
from tests.functional.staff_web import PASSWORD, csrf, sign_in

REPORTED = date(2026, 10, 5).isoformat()
HEADER = "case_ref,phone,crime_type,district,reported_on,first_name,access_needs"
#: (case_ref, phone, access_needs) of a sample with every kind of need.
ROWS = [
    ("CR/RELAY", "+441134960601", "relay_uk"),
    ("CR/TEXT", "+441134960602", "Textphone"),
    ("CR/HEAR", "+441134960603", "hearing; other:prefers afternoons"),
    ("CR/SPEECH", "+441134960604", "speech"),
    ("CR/SLOW", "+441134960605", "slow_speech"),
    ("CR/NONE", "+441134960606", ""),
]
SLOW = '<prosody rate="85%">'


def sample(rows: list[tuple[str, str, str]]) -> str:
    lines = [HEADER]
    lines += [
        f"{ref},{phone},burglary,Hartlepool,{REPORTED},Alex,{needs}" for ref, phone, needs in rows
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        yield w


def interviewer(world: World) -> FlaskClient:
    with world.db.transaction() as session:
        add_user(session, "ann@cleveland.example", role="interviewer", password=PASSWORD)
    return sign_in(world.app, "ann@cleveland.example")


def schedules(world: World) -> dict[str, Schedule]:
    with world.db.transaction() as session:
        rows = session.execute(select(Case.case_ref, Schedule).join(Schedule))
        return {ref: found for ref, found in rows}


def test_cases_an_automated_call_cannot_serve_are_never_dialled(world: World) -> None:
    world.import_csv(sample(ROWS))
    kept = schedules(world)
    for ref in ("CR/RELAY", "CR/TEXT", "CR/HEAR", "CR/SPEECH"):
        assert kept[ref].interviewer_only_since is not None, ref
        assert kept[ref].interviewer_only_reason == "access_needs"
    for ref in ("CR/SLOW", "CR/NONE"):
        assert kept[ref].interviewer_only_since is None, ref

    world.start()
    world.tick()
    world.play()
    dialled = {call.params.get("To") for call in world.fake.calls}
    assert dialled == {"+441134960605", "+441134960606"}


def test_the_needs_are_kept_in_their_one_spelling(world: World) -> None:
    world.import_csv(sample(ROWS))
    with world.db.transaction() as session:
        needs = dict(session.execute(select(Case.case_ref, Case.fields)).all())
    assert needs["CR/TEXT"]["access_needs"] == "textphone"
    assert needs["CR/HEAR"]["access_needs"] == "hearing;other:prefers afternoons"
    assert "access_needs" not in needs["CR/NONE"]


def test_the_console_deals_them_with_the_need_in_words(world: World) -> None:
    world.import_csv(sample([ROWS[0]]))
    client = interviewer(world)
    token = csrf(client.get("/console").get_data(as_text=True))
    response = client.post("/console/next", data={"csrf_token": token})
    assert response.status_code == 302 and "/console/interviews/" in response.headers["Location"]
    script = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Uses Relay UK: call through Relay UK, 18001 + number" in script
    assert "Interviewer only: access needs." in script


def test_an_unknown_need_is_a_line_error_and_nothing_is_imported(world: World) -> None:
    q = world.app.extensions["ivr"].questionnaires.current("uss").questionnaire
    text = sample(
        [ROWS[0], ("CR/BAD", "+441134960607", "telepathy"), ("CR/EMPTY", "+441134960608", "other:")]
    )
    with world.db.transaction() as session:
        report = import_sample(
            session, q, io.StringIO(text, newline=""), today=world.clock().date()
        )
    assert report.imported == 0
    assert [str(problem) for problem in report.problems] == [
        "line 3: access_needs 'telepathy' is not one of: relay_uk, textphone, hearing, speech, "
        "slow_speech, other:<words>",
        "line 4: access_needs 'other:' needs words after the colon",
    ]
    assert schedules(world) == {}


def test_a_slow_speech_case_is_read_slowly_from_the_first_words(world: World) -> None:
    world.import_csv(sample([ROWS[4]]))
    world.start()
    world.tick()
    (played,) = world.play()
    assert played.record is not None and played.record.responses
    assert all(SLOW in body for body in played.record.responses[:-1])


def test_a_relay_uk_victim_who_rings_in_is_still_served(world: World) -> None:
    world.import_csv(sample([ROWS[0]]))
    record = simulator(world.app).call(
        from_="+441134960601", to=SURVEY_NUMBER, respondent=Scripted(press("1"), press("1"))
    )
    assert record.errors == []
    assert "Alex" in record.heard_text
    with world.db.transaction() as session:
        assert session.scalar(select(Interview.status)) == "partial"


def test_star_twice_at_one_question_slows_the_rest_of_the_call(world: World) -> None:
    world.import_csv(sample([ROWS[5]]))
    record = simulator(world.app).call(
        from_="+441134960606",
        to=SURVEY_NUMBER,
        respondent=Scripted(press("1"), press("1"), press("*"), press("*"), press("1")),
    )
    assert record.errors == []
    # Opening, identity, consent, first question, its repeat: the normal speed.
    assert not any(SLOW in body for body in record.responses[:4])
    assert all(SLOW in body for body in record.responses[4:])
    assert record.heard_text.count("I'll speak more slowly.") == 1
    with world.db.transaction() as session:
        assert session.scalar(select(Interview.status)) == "partial"
