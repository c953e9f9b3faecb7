"""Least access in the interviewer's console: an interviewer opens only the cases dealt to
them by next case or given to them by a supervisor, never a case whose phone interview is
live, and every view of a victim's name or number is audited.

Cases come from samples imported on a simulated Monday 11:00; staff sign in through
``/login``. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from ivr.store.models import AuditEntry, Case, Interview, Schedule
from ivr.telephony.port import RecordingTelephony
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER
from tests.functional.campaign_world import MONDAY_11, World, campaign_world
from tests.functional.staff_web import sign_in
from tests.functional.test_console_pages import add_staff, interviewer, post, take_next_case

TODAY = MONDAY_11.date()
SEVEN_WEEKS_AGO = TODAY - timedelta(weeks=7)
DUE = "+441134960701"
UNDER_16 = "+441134960702"
TOO_RECENT = "+441134960703"
TOO_OLD = "+441134960704"
NO_CONSENT = "+441134960705"
CALLED_BACK = "+441134960706"
#: Every victim's first name here, to search the audit trail for.
NAME = "Morwenna"
#: Every console route that takes an interview id, with the form it posts.
INTERVIEW_ROUTES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "", {}),
    ("POST", "/answer", {"key": "1"}),
    ("POST", "/repeat", {}),
    ("POST", "/alert", {"reason": "wants a call"}),
    ("POST", "/note", {"note": "a note"}),
    ("POST", "/callback", {"choice": "tomorrow_evening"}),
    ("POST", "/end", {"outcome": "no_answer"}),
    ("POST", "/call", {}),
]


def uss_sample(*rows: tuple[str, str, str, str]) -> str:
    """A USS sample of (case_ref, phone, reported_on, age) rows, every victim named NAME."""
    lines = ["case_ref,phone,crime_type,district,reported_on,first_name,age"]
    lines += [
        f"{ref},{phone},burglary,Hartlepool,{day},{NAME},{age}" for ref, phone, day, age in rows
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        w.import_csv(
            uss_sample(
                ("CLE/1", DUE, SEVEN_WEEKS_AGO.isoformat(), "40"),
                ("CLE/2", UNDER_16, SEVEN_WEEKS_AGO.isoformat(), "15"),
                ("CLE/3", TOO_RECENT, (TODAY - timedelta(weeks=2)).isoformat(), "40"),
                ("CLE/4", TOO_OLD, (TODAY - timedelta(weeks=20)).isoformat(), "40"),
                ("CLE/6", CALLED_BACK, SEVEN_WEEKS_AGO.isoformat(), "40"),
            )
        )
        w.import_csv(
            "case_ref,phone,first_name,closed_on,consent\n"
            f"VC/5,{NO_CONSENT},{NAME},{(TODAY - timedelta(days=10)).isoformat()},no\n",
            survey="vcas_exit",
        )
        yield w


def case_id(world: World, phone: str) -> int:
    with world.db.transaction() as session:
        return int(session.scalars(select(Case.id).where(Case.phone == phone)).one())


def schedules(world: World) -> dict[int, tuple[Any, ...]]:
    with world.db.transaction() as session:
        return {
            s.case_id: (s.held_by_id, s.held_at, s.disposition, s.next_attempt_at)
            for s in session.scalars(select(Schedule))
        }


def interviews(world: World) -> list[tuple[Any, ...]]:
    with world.db.transaction() as session:
        return [
            (i.id, i.channel, i.interviewer_id, i.status, i.step_no, i.state)
            for i in session.scalars(select(Interview).order_by(Interview.id))
        ]


def audit(world: World, action: str | None = None) -> list[AuditEntry]:
    with world.db.transaction() as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def no_personal_data_in(entries: list[AuditEntry]) -> None:
    for entry in entries:
        said = json.dumps(entry.details)
        for secret in (NAME, DUE, UNDER_16, TOO_RECENT, TOO_OLD, NO_CONSENT, CALLED_BACK):
            assert secret not in said, (entry.action, said)


def user_id(world: World, email: str) -> int:
    from ivr.store.models import User

    with world.db.transaction() as session:
        return int(session.scalars(select(User.id).where(User.email == email)).one())


def give(
    supervisor: FlaskClient, case_ref: str, to: int, survey: str = "uss"
) -> tuple[int, str, str]:
    token = re.search(
        r'name="csrf_token" value="([^"]+)"',
        supervisor.get("/console/supervision").get_data(as_text=True),
    )
    assert token
    response = supervisor.post(
        "/console/supervision/give",
        data={
            "csrf_token": token.group(1),
            "case_ref": case_ref,
            "survey": survey,
            "interviewer": str(to),
        },
    )
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_data(as_text=True),
    )


# --- opening a case ------------------------------------------------------------------------


def test_an_interviewer_opens_no_case_that_was_not_dealt_to_them(world: World) -> None:
    ann = interviewer(world.app, "ann@cleveland.example")
    bob = interviewer(world.app, "bob@cleveland.example")
    # The dialler's passes plan every case: some closed, one not yet due.
    world.tick()
    world.tick("vcas_exit")
    bobs = take_next_case(bob)
    with world.db.transaction() as session:
        bobs_case = session.get(Interview, bobs).case_id  # type: ignore[union-attr]
    others = [case_id(world, p) for p in (UNDER_16, TOO_RECENT, TOO_OLD, NO_CONSENT)]
    before_schedules, before_interviews = schedules(world), interviews(world)
    tried = [bobs_case, *others, 999_999, 2**40]
    for tried_id in tried:
        status, _, _ = post(ann, f"/console/cases/{tried_id}/open")
        assert status == 404, tried_id
    assert schedules(world) == before_schedules
    assert interviews(world) == before_interviews
    refused = audit(world, "console_refused")
    ann_id = user_id(world, "ann@cleveland.example")
    assert [(e.actor_id, e.object_type) for e in refused] == [(ann_id, "case")] * len(tried)
    assert [e.object_id for e in refused[:-1]] == tried[:-1]
    assert refused[-1].details["id"] == str(2**40)
    assert {e.details["route"] for e in refused} == {"/console/cases/<int:case_id>/open"}
    no_personal_data_in(refused)


def test_a_case_dealt_by_next_case_opens_and_no_longer_once_given_back(world: World) -> None:
    ann = interviewer(world.app, "ann@cleveland.example")
    interview_id = take_next_case(ann)
    held = case_id(world, DUE)
    status, location, _ = post(ann, f"/console/cases/{held}/open")
    assert status == 302 and location.endswith(f"/console/interviews/{interview_id}")
    post(ann, f"/console/cases/{held}/release")
    status, _, _ = post(ann, f"/console/cases/{held}/open")
    assert status == 404
    assert [e.object_id for e in audit(world, "console_refused")] == [held]


def test_routes_of_an_interview_not_dealt_to_them_are_404_and_audited(world: World) -> None:
    world.app.extensions["ivr"].telephony = telephony = RecordingTelephony()
    ann = interviewer(world.app, "ann@cleveland.example", phone="+441134960800")
    bob = interviewer(world.app, "bob@cleveland.example")
    interview_id = take_next_case(ann)
    before_schedules, before_interviews = schedules(world), interviews(world)
    for tried in (interview_id, 999_999):
        for method, suffix, form in INTERVIEW_ROUTES:
            path = f"/console/interviews/{tried}{suffix}"
            status = bob.get(path).status_code if method == "GET" else post(bob, path, **form)[0]
            assert status == 404, (method, path)
    assert schedules(world) == before_schedules and interviews(world) == before_interviews
    assert telephony.requests == []
    refused = audit(world, "console_refused")
    assert len(refused) == 2 * len(INTERVIEW_ROUTES)
    assert {(e.actor_id, e.object_type) for e in refused} == {
        (user_id(world, "bob@cleveland.example"), "interview")
    }
    assert [e.object_id for e in refused] == [interview_id] * len(INTERVIEW_ROUTES) + [
        999_999
    ] * len(INTERVIEW_ROUTES)
    assert "/console/interviews/<int:interview_id>/answer" in {e.details["route"] for e in refused}
    no_personal_data_in(refused)


# --- given by a supervisor -----------------------------------------------------------------


def test_a_supervisor_gives_a_case_and_only_that_interviewer_opens_it(world: World) -> None:
    add_staff(world.app, "boss@cleveland.example", "supervisor")
    boss = sign_in(world.app, "boss@cleveland.example")
    ann = interviewer(world.app, "ann@cleveland.example")
    bob = interviewer(world.app, "bob@cleveland.example")
    ann_id = user_id(world, "ann@cleveland.example")
    given = case_id(world, CALLED_BACK)
    status, location, _ = give(boss, " CLE/6 ", ann_id)
    assert status == 302 and location.endswith("/console/supervision")
    assert schedules(world)[given][0] == ann_id
    assert "CLE/6" in boss.get("/console/supervision").get_data(as_text=True)
    assert "CLE/6" in ann.get("/console").get_data(as_text=True)
    assert post(bob, f"/console/cases/{given}/open")[0] == 404
    status, location, _ = post(ann, f"/console/cases/{given}/open")
    assert status == 302 and "/console/interviews/" in location
    [entry] = audit(world, "give_case")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (
        user_id(world, "boss@cleveland.example"),
        "case",
        given,
    )
    assert entry.details == {"to": ann_id}


@pytest.mark.parametrize(
    ("case_ref", "survey", "error"),
    [
        ("CLE/2", "uss", "under the survey's minimum age"),
        ("CLE/3", "uss", "too soon"),
        ("CLE/4", "uss", "calling period is over"),
        ("VC/5", "vcas_exit", "does not meet the survey's requirements"),
        ("CLE/99", "uss", "No uss case has the reference CLE/99"),
        ("", "uss", "Type the case reference"),
        ("CLE/1", "nonsense", "Choose a survey"),
    ],
)
def test_a_supervisor_cannot_give_a_case_nobody_may_ring(
    world: World, case_ref: str, survey: str, error: str
) -> None:
    add_staff(world.app, "boss@cleveland.example", "supervisor")
    boss = sign_in(world.app, "boss@cleveland.example")
    interviewer(world.app, "ann@cleveland.example")
    world.tick()
    before = schedules(world)
    status, _, page = give(boss, case_ref, user_id(world, "ann@cleveland.example"), survey)
    assert status == 400 and error in html.unescape(page)
    assert f'value="{case_ref}"' in page  # the input is kept
    assert schedules(world) == before
    assert audit(world, "give_case") == []


def test_a_case_is_given_only_to_an_interviewer_and_not_from_another(world: World) -> None:
    add_staff(world.app, "boss@cleveland.example", "supervisor")
    boss = sign_in(world.app, "boss@cleveland.example")
    ann = interviewer(world.app, "ann@cleveland.example")
    interviewer(world.app, "bob@cleveland.example")
    take_next_case(ann)
    before = schedules(world)
    bob_id = user_id(world, "bob@cleveland.example")
    status, _, page = give(boss, "CLE/1", bob_id)
    assert status == 400 and "Another interviewer holds this case" in page
    status, _, page = give(boss, "CLE/6", user_id(world, "boss@cleveland.example"))
    assert status == 400 and "Choose an interviewer" in page
    assert schedules(world) == before
    assert post(ann, "/console/supervision/give", case_ref="CLE/6", survey="uss")[0] == 403


# --- a live phone interview ----------------------------------------------------------------


def signed_post(world: World, url: str, params: dict[str, str]) -> tuple[int, str]:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, params)
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    response = world.app.test_client().post(
        path, data=params, headers={"X-Twilio-Signature": signature}
    )
    return response.status_code, response.get_data(as_text=True)


def ring_in(world: World, phone: str) -> str:
    """The victim rings the survey number; the URL their first keypress goes to."""
    status, body = signed_post(
        world,
        f"{PUBLIC_BASE_URL}/twilio/voice",
        {
            "CallSid": "CA" + "7" * 32,
            "From": phone,
            "To": SURVEY_NUMBER,
            "Direction": "inbound",
            "CallStatus": "in-progress",
        },
    )
    assert status == 200
    found = re.search(r'<Gather action="([^"]+)"', body)
    assert found, body
    return found.group(1).replace("&amp;", "&")


def test_a_live_phone_interview_is_not_taken_over_and_the_victim_carries_on(
    world: World,
) -> None:
    ann = interviewer(world.app, "ann@cleveland.example")
    interview_id = take_next_case(ann)
    held = case_id(world, DUE)
    turn_url = ring_in(world, DUE)  # while ann holds the case, the victim rings in
    before = interviews(world)
    assert before[0][1] == "phone_inbound"
    status, location, _ = post(ann, f"/console/cases/{held}/open")
    assert status == 302 and location.endswith("/console")
    page = ann.get("/console").get_data(as_text=True)
    assert "on an automated call" in page
    status, _, _ = post(ann, "/console/next")
    assert "on an automated call" in ann.get("/console").get_data(as_text=True)
    for _, suffix, form in INTERVIEW_ROUTES[1:]:
        status, _, page = post(ann, f"/console/interviews/{interview_id}{suffix}", **form)
        assert status == 400 and "on an automated call" in page, suffix
    assert interviews(world) == before
    # Nor does a call the interviewer placed earlier connect them to the victim now.
    with world.db.transaction() as session:
        public_id = session.get(Interview, interview_id).public_id  # type: ignore[union-attr]
    status, body = signed_post(
        world,
        f"{PUBLIC_BASE_URL}/twilio/bridge?interview={public_id}",
        {"CallSid": "CA" + "8" * 32, "From": SURVEY_NUMBER, "CallStatus": "in-progress"},
    )
    assert status == 200 and "<Hangup />" in body and DUE not in body
    status, body = signed_post(world, turn_url, {"CallSid": "CA" + "7" * 32, "Digits": "1"})
    assert status == 200 and body.startswith("<?xml") and "<Response>" in body
    (after,) = interviews(world)
    assert (after[1], after[4]) == ("phone_inbound", before[0][4] + 1)


def test_next_case_does_not_deal_a_case_whose_victim_is_on_a_call(world: World) -> None:
    ring_in(world, DUE)
    before = interviews(world)
    ann = interviewer(world.app, "ann@cleveland.example")
    world.clock.advance(minutes=1)
    dealt = take_next_case(ann)  # the other case due
    assert schedules(world)[case_id(world, DUE)][0] is None
    assert interviews(world)[: len(before)] == before
    other = case_id(world, CALLED_BACK)
    with world.db.transaction() as session:
        assert session.get(Interview, dealt).case_id == other  # type: ignore[union-attr]
    post(ann, f"/console/interviews/{dealt}/end", outcome="no_answer")
    status, location, _ = post(ann, "/console/next")
    assert status == 302 and location.endswith("/console")
    assert schedules(world)[case_id(world, DUE)][0] is None
    assert interviews(world)[: len(before)] == before


# --- views of names and numbers ------------------------------------------------------------


def test_every_view_of_a_name_or_number_is_audited_without_them(world: World) -> None:
    add_staff(world.app, "boss@cleveland.example", "supervisor")
    boss = sign_in(world.app, "boss@cleveland.example")
    ann = interviewer(world.app, "ann@cleveland.example")
    interview_id = take_next_case(ann)
    held = case_id(world, DUE)
    assert NAME in ann.get(f"/console/interviews/{interview_id}").get_data(as_text=True)
    assert NAME in ann.get("/console").get_data(as_text=True)
    status, _, page = post(ann, f"/console/interviews/{interview_id}/answer", key="9")
    assert status == 400 and DUE in page
    assert boss.get(f"/console/interviews/{interview_id}").status_code == 200
    views = audit(world, "view_personal_details")
    ann_id, boss_id = (user_id(world, f"{n}@cleveland.example") for n in ("ann", "boss"))
    seen = [(e.actor_id, e.object_type, e.object_id, e.details["shown"]) for e in views]
    page = ["first_name", "phone"]
    # take_next_case's redirect is not followed: the first view is the page asked for.
    # post() reads /console for its token, which shows the held case's first name.
    assert (ann_id, "case", held, page) in seen
    assert (ann_id, "case", held, ["first_name"]) in seen
    assert (boss_id, "case", held, page) in seen
    assert seen.count((ann_id, "case", held, page)) == 2  # the page, then its 400
    assert {e.details.get("interview_id") for e in views if e.details["shown"] == page} == {
        interview_id
    }
    no_personal_data_in(audit(world))


def test_no_name_or_number_is_flashed_into_the_session(world: World) -> None:
    svc = world.app.extensions["ivr"]
    svc.telephony = RecordingTelephony()
    ann = interviewer(world.app, "ann@cleveland.example", phone="+441134960800")
    interview_id = take_next_case(ann)
    bob = interviewer(world.app, "bob@cleveland.example")
    bobs = take_next_case(bob)
    for client, interview in ((ann, interview_id), (bob, bobs)):
        post(client, f"/console/interviews/{interview}/call")
        with client.session_transaction() as session:
            flashed = json.dumps(session.get("_flashes", []))
        assert "ringing" in flashed or "by hand" in flashed
        for secret in (NAME, DUE, CALLED_BACK, "+441134960800"):
            assert secret not in flashed
