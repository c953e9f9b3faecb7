"""The interviewer's console through the web: who may use it, taking and scripting a case,
the forms available at any time, and bridging a call through Twilio.

Cases come from a USS sample imported on a simulated Monday 11:00; people sign in through
``/login`` like anyone else.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from ivr.accounts.staff import add_user
from ivr.store.models import Answer, Interview, Referral, User
from ivr.telephony.port import RecordingTelephony
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER
from tests.functional.campaign_world import World, campaign_world, uss_csv
from tests.functional.staff_web import PASSWORD, csrf, sign_in

VICTIM = "+441134960501"
OWN_PHONE = "+447700900123"


def add_staff(app: Flask, email: str, role: str, *districts: str, phone: str | None = None) -> int:
    with app.extensions["ivr"].db.transaction() as session:
        user = add_user(session, email, role=role, password=PASSWORD, districts=districts)
        user.phone = phone
        session.flush()
        return user.id


def interviewer(
    app: Flask, email: str = "interviewer@cleveland.example", phone: str | None = None
) -> FlaskClient:
    add_staff(app, email, "interviewer", phone=phone)
    return sign_in(app, email)


def post(client: FlaskClient, path: str, **data: str) -> tuple[int, str, str]:
    """Post a form with the CSRF token from the console; status, Location and body."""
    token = csrf(client.get("/console").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data})
    return (
        response.status_code,
        response.headers.get("Location", ""),
        response.get_data(as_text=True),
    )


def take_next_case(client: FlaskClient) -> int:
    status, location, _ = post(client, "/console/next")
    assert status == 302
    found = re.fullmatch(r".*/console/interviews/(\d+)", location)
    assert found, location
    return int(found.group(1))


def page(client: FlaskClient, interview_id: int) -> str:
    response = client.get(f"/console/interviews/{interview_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def heading(html: str) -> str:
    found = re.search(r'<h1 id="step-heading">(.*?)</h1>', html, re.S)
    assert found, html
    return found.group(1).strip()


def keys_offered(html: str) -> list[str]:
    return re.findall(r'name="key" value="([^"]+)"', html)


def answers_written(world: World, interview_id: int) -> int:
    with world.db.transaction() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Answer).where(Answer.interview_id == interview_id)
            )
            or 0
        )


@pytest.fixture
def world(sqlite_url: str) -> Iterator[World]:
    with campaign_world(sqlite_url) as w:
        # Reported seven weeks before Monday 23 November 2026: due for the survey.
        w.import_csv(uss_csv([("CLE/26/300001", VICTIM, "burglary", date(2026, 10, 5))]))
        yield w


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("interviewer", 200),
        ("supervisor", 200),
        ("admin", 200),
        ("district_officer", 403),
        ("service_manager", 403),
    ],
)
def test_the_console_is_for_interviewers_supervisors_and_admins(
    world: World, role: str, status: int
) -> None:
    add_staff(
        world.app,
        f"{role}@cleveland.example",
        role,
        *(("Hartlepool",) if role == "district_officer" else ()),
    )
    client = sign_in(world.app, f"{role}@cleveland.example")
    assert client.get("/console").status_code == status
    # Past the guard, an interview that is not theirs (here: none at all) is not found.
    assert client.get("/console/interviews/1").status_code == (404 if status == 200 else 403)


def test_supervision_is_for_supervisors_and_admins_only(world: World) -> None:
    add_staff(world.app, "supervisor@cleveland.example", "supervisor")
    supervisor = sign_in(world.app, "supervisor@cleveland.example")
    desk = interviewer(world.app)
    take_next_case(desk)
    assert desk.get("/console/supervision").status_code == 403
    response = supervisor.get("/console/supervision")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "interviewer@cleveland.example" in text and "Completes today" in text


def test_signed_out_visitors_are_sent_to_sign_in(world: World) -> None:
    response = world.app.test_client().get("/console")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_next_case_holds_a_due_case_and_shows_its_script(world: World) -> None:
    client = interviewer(world.app)
    assert "Next case" in client.get("/console").get_data(as_text=True)
    interview_id = take_next_case(client)
    html = page(client, interview_id)
    for shown in (
        "CLE/26/300001",
        VICTIM,
        "Alex",
        "Repeat the question",
        "Victim wants police contact",
        "Call back later",
        "End call",
    ):
        assert shown in html
    assert keys_offered(html), "the first step offers keys to press"
    # The survey by its title, never its id.
    assert "Victim satisfaction survey (Home Office core questions)" in html
    assert "· uss ·" not in html
    # The held case is on the console page, for going back to it.
    console = client.get("/console").get_data(as_text=True)
    assert "CLE/26/300001" in console
    assert "(Victim satisfaction survey (Home Office core questions))" in console


def test_outside_the_calling_hours_next_case_says_when_calling_opens(world: World) -> None:
    from datetime import UTC, datetime

    world.clock.set(datetime(2026, 11, 23, 21, 0, tzinfo=UTC))  # Monday 21:00
    client = interviewer(world.app)
    status, _, _ = post(client, "/console/next")
    assert status == 302
    html = client.get("/console").get_data(as_text=True)
    assert "outside the calling hours" in html and "Tue 24 Nov 2026, 10:00" in html


def test_a_held_case_can_be_reopened_or_released(world: World) -> None:
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    case_id = world.schedule(VICTIM).case_id
    status, location, _ = post(client, f"/console/cases/{case_id}/open")
    assert status == 302 and location.endswith(f"/console/interviews/{interview_id}")
    status, _, _ = post(client, f"/console/cases/{case_id}/release")
    assert status == 302 and world.schedule(VICTIM).held_by_id is None
    assert "You hold no case" in client.get("/console").get_data(as_text=True)


def test_next_case_with_nothing_due_says_so(sqlite_url: str) -> None:
    with campaign_world(sqlite_url) as empty:
        client = interviewer(empty.app)
        status, location, _ = post(client, "/console/next")
        assert status == 302 and location.endswith("/console")
        assert "No case is due" in client.get("/console").get_data(as_text=True)


def test_answering_by_key_moves_the_script_on(world: World) -> None:
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    before = page(client, interview_id)
    status, location, _ = post(
        client, f"/console/interviews/{interview_id}/answer", key=keys_offered(before)[0]
    )
    assert status == 302 and location.endswith(f"/console/interviews/{interview_id}")
    after = page(client, interview_id)
    assert heading(before) == "Identity check" and heading(after) == "Consent"


def test_a_bad_key_is_refused_with_400_and_nothing_written(world: World) -> None:
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    before = page(client, interview_id)
    written = answers_written(world, interview_id)
    status, _, html = post(client, f"/console/interviews/{interview_id}/answer", key="9")
    assert status == 400
    assert re.search(r'id="answer-form".*class="field-error" id="answer-error"', html, re.S)
    assert heading(html) == heading(before)
    assert answers_written(world, interview_id) == written
    assert heading(page(client, interview_id)) == heading(before)


def test_an_action_alert_is_raised_from_the_form(world: World) -> None:
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    status, _, html = post(client, f"/console/interviews/{interview_id}/alert", reason="  ")
    assert status == 400 and "Say why the victim wants police contact" in html
    status, location, _ = post(
        client,
        f"/console/interviews/{interview_id}/alert",
        reason="Their neighbour is threatening them again.",
    )
    assert status == 302 and location.endswith(f"/console/interviews/{interview_id}")
    assert "Action alert #" in page(client, interview_id)
    with world.db.transaction() as session:
        kinds = session.scalars(
            select(Referral.kind).where(Referral.interview_id == interview_id)
        ).all()
    assert "action_alert" in kinds


def test_notes_are_kept_verbatim_and_shown(world: World) -> None:
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    status, _, html = post(client, f"/console/interviews/{interview_id}/note", note="   ")
    assert status == 400 and "Type the note first" in html
    said = 'Said the officer "never rang back" & she had to chase twice.'
    status, _, _ = post(client, f"/console/interviews/{interview_id}/note", note=said)
    assert status == 302
    assert "never rang back" in page(client, interview_id)
    with world.db.transaction() as session:
        notes = session.scalars(select(Interview.notes).where(Interview.id == interview_id)).one()
    assert [n["text"] for n in notes] == [said]
    other = interviewer(world.app, "other@cleveland.example")
    status, _, _ = post(other, f"/console/interviews/{interview_id}/note", note="not mine")
    assert status in (400, 404)


def test_a_call_back_is_booked_from_the_form(world: World) -> None:
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    status, _, html = post(
        client, f"/console/interviews/{interview_id}/callback", choice="next_year"
    )
    assert status == 400 and 'class="field-error"' in html
    assert 'value="next_year"' not in html
    status, _, _ = post(
        client, f"/console/interviews/{interview_id}/callback", choice="tomorrow_evening"
    )
    assert status == 302
    assert "Call-back booked for Tue 24 Nov 2026" in page(client, interview_id)


def test_ending_a_call_shows_the_closing_words(world: World) -> None:
    client = interviewer(world.app)
    interview_id = take_next_case(client)
    status, _, html = post(client, f"/console/interviews/{interview_id}/end", outcome="lunch")
    assert status == 400 and 'class="field-error"' in html
    status, _, _ = post(client, f"/console/interviews/{interview_id}/end", outcome="refused")
    assert status == 302
    html = page(client, interview_id)
    assert "We will not call you again" in html and 'href="/console"' in html
    assert "answer-form" not in html


def _bridge(world: World, public_id: str, *, token: str = AUTH_TOKEN) -> tuple[int, str]:
    params = {
        "CallSid": "CA" + "1" * 32,
        "From": SURVEY_NUMBER,
        "To": OWN_PHONE,
        "CallStatus": "in-progress",
    }
    path = "/twilio/bridge?" + urlencode({"interview": public_id})
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, params)
    response = world.app.test_client().post(
        path, data=params, headers={"X-Twilio-Signature": signature}
    )
    return response.status_code, response.get_data(as_text=True)


def test_the_bridge_dials_the_victim_from_the_survey_number(world: World) -> None:
    interview_id = take_next_case(interviewer(world.app))
    with world.db.transaction() as session:
        public_id = session.get(Interview, interview_id).public_id  # type: ignore[union-attr]
    status, body = _bridge(world, public_id)
    assert status == 200
    assert f'<Dial callerId="{SURVEY_NUMBER}"><Number>{VICTIM}</Number></Dial>' in body
    status, body = _bridge(world, "0" * 32)
    assert status == 200 and "<Hangup />" in body and VICTIM not in body
    assert _bridge(world, public_id, token="not the token")[0] == 403


def test_dialling_rings_the_interviewers_own_phone_first(world: World) -> None:
    svc = world.app.extensions["ivr"]
    svc.telephony = telephony = RecordingTelephony()
    client = interviewer(world.app, phone=OWN_PHONE)
    interview_id = take_next_case(client)
    status, location, _ = post(client, f"/console/interviews/{interview_id}/call")
    assert status == 302 and location.endswith(f"/console/interviews/{interview_id}")
    (placed,) = telephony.requests
    with world.db.transaction() as session:
        public_id = session.get(Interview, interview_id).public_id  # type: ignore[union-attr]
    assert placed.to == OWN_PHONE and placed.from_ == SURVEY_NUMBER
    assert placed.url == f"{PUBLIC_BASE_URL}/twilio/bridge?interview={public_id}"
    assert placed.status_callback == f"{PUBLIC_BASE_URL}/twilio/status"
    assert placed.machine_detection is None
    assert "is ringing" in page(client, interview_id)


def test_without_twilio_or_a_phone_the_page_says_to_dial_by_hand(world: World) -> None:
    svc = world.app.extensions["ivr"]
    svc.telephony = telephony = RecordingTelephony()
    client = interviewer(world.app)  # no phone of their own
    interview_id = take_next_case(client)
    post(client, f"/console/interviews/{interview_id}/call")
    assert "Dial the number shown on this page by hand" in page(client, interview_id)
    with world.db.transaction() as session:
        session.scalars(select(User)).one().phone = OWN_PHONE
    svc.telephony = None
    svc.settings = dataclasses.replace(svc.settings, twilio_account_sid="")
    post(client, f"/console/interviews/{interview_id}/call")
    shown = page(client, interview_id)
    assert "Calls cannot be placed from here. Dial the number shown on this page by hand" in shown
    assert telephony.requests == []
