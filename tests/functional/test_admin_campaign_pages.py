"""The campaign pages: administrators and supervisors see each survey's calling, its cases
by AAPOR disposition and what the next pass would do by reason, and start, pause and
resume it (audited, as ``ivr campaign`` is). While a campaign is paused the console deals
none of its cases and says why; a case already open stays workable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

import ivr.cli
from ivr.store import campaigns as store
from ivr.store.models import AuditEntry, Schedule, User
from tests.functional.campaign_world import World, campaign_world, uss_csv
from tests.functional.staff_web import csrf, sign_in
from tests.functional.test_referral_queue import add_staff

TITLE = "Victim satisfaction survey (Home Office core questions)"


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        # Reported seven weeks before Monday 23 November 2026: due for the survey.
        w.import_csv(
            uss_csv(
                [
                    ("CLE/26/300001", "+441134960501", "burglary", date(2026, 10, 5)),
                    ("CLE/26/300002", "+441134960502", "burglary", date(2026, 10, 5)),
                ]
            )
        )
        yield w


def staff(world: World, role: str) -> FlaskClient:
    email = f"{role}@cleveland.example"
    add_staff(world.app, email, role, *(["Hartlepool"] * (role == "district_officer")))
    return sign_in(world.app, email)


def post(client: FlaskClient, path: str, **data: str) -> tuple[int, str]:
    token = csrf(client.get("/account/password").get_data(as_text=True))
    response = client.post(path, data={"csrf_token": token, **data})
    return response.status_code, response.headers.get("Location", "")


def status_of(world: World) -> str:
    with world.db.begin() as conn:
        return store.campaign_status(conn, "uss")


def audited(world: World, action: str) -> list[AuditEntry]:
    with world.db.transaction() as session:
        found = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        session.expunge_all()
    return found


@pytest.mark.parametrize("role", ["admin", "supervisor"])
def test_admins_and_supervisors_see_status_dispositions_and_the_preview(
    world: World, role: str
) -> None:
    client = staff(world, role)
    listing = client.get("/admin/campaigns").get_data(as_text=True)
    assert TITLE in listing and "Not started" in listing
    page = client.get("/admin/campaigns/uss").get_data(as_text=True)
    assert "Calling is <strong>not started</strong>" in page
    rows = dict(re.findall(r'<tr id="reason-(\w+)"><th scope="row">[^<]*</th><td>(\d+)</td>', page))
    assert sum(int(n) for n in rows.values()) == 2
    assert "Start calling" in page and "Eligible to ring today: 2 of 2" in page
    assert client.get("/admin/campaigns/nonesuch").status_code == 404


def test_the_preview_says_why_by_reason_after_a_pass(world: World) -> None:
    client = staff(world, "admin")
    world.tick()  # plans the cases; not started: nothing rung
    page = client.get("/admin/campaigns/uss").get_data(as_text=True)
    assert 'id="reason-due"' in page and "calling is not started" in page
    assert post(client, "/admin/campaigns/uss/start")[0] == 302
    page = client.get("/admin/campaigns/uss").get_data(as_text=True)
    assert "Due now: the next pass rings them" in page
    post(client, "/admin/campaigns/uss/pause")
    page = client.get("/admin/campaigns/uss").get_data(as_text=True)
    assert "neither the dialler nor the console gives them out" in page
    with world.db.transaction() as session:
        schedule = session.scalars(select(Schedule)).first()
        assert schedule is not None
        schedule.disposition = "1.1"
    page = client.get("/admin/campaigns/uss").get_data(as_text=True)
    assert 'id="reason-closed"' in page
    assert '<th scope="row">1.1</th><td>Complete</td><td>1</td>' in page


@pytest.mark.parametrize("role", ["interviewer", "district_officer", "service_manager"])
def test_other_roles_are_refused(world: World, role: str) -> None:
    client = staff(world, role)
    assert client.get("/admin/campaigns").status_code == 403
    assert client.get("/admin/campaigns/uss").status_code == 403
    assert post(client, "/admin/campaigns/uss/start")[0] == 403
    assert status_of(world) == "not started"


def test_start_pause_and_resume_are_audited_and_need_the_token(world: World) -> None:
    client = staff(world, "supervisor")
    assert client.post("/admin/campaigns/uss/start").status_code == 400
    assert status_of(world) == "not started"
    assert post(client, "/admin/campaigns/uss/start")[0] == 302
    assert status_of(world) == "running"
    assert post(client, "/admin/campaigns/uss/pause")[0] == 302
    assert status_of(world) == "paused"
    assert "Resume calling" in client.get("/admin/campaigns/uss").get_data(as_text=True)
    post(client, "/admin/campaigns/uss/pause")
    assert "Nothing changed: calling for this survey is paused" in client.get(
        "/admin/campaigns/uss"
    ).get_data(as_text=True)
    assert post(client, "/admin/campaigns/uss/resume")[0] == 302
    assert status_of(world) == "running"
    for action, before in [
        ("start_campaign", "not started"),
        ("pause_campaign", "running"),
        ("resume_campaign", "paused"),
    ]:
        [entry] = audited(world, action)
        assert entry.details == {"survey": "uss", "status_before": before, "via": "campaign page"}


def test_the_command_line_audits_pause_and_resume(world: World) -> None:
    def run(*args: str) -> int:
        return world.app.test_cli_runner().invoke(ivr.cli.main, list(args)).exit_code

    assert run("campaign", "resume", "--survey", "uss") != 0  # not paused
    assert run("campaign", "start", "--survey", "uss") == 0
    assert run("campaign", "pause", "--survey", "uss") == 0
    assert run("campaign", "resume", "--survey", "uss") == 0
    assert status_of(world) == "running"
    assert [e.details["via"] for e in audited(world, "pause_campaign")] == ["cli"]
    assert [e.details["status_before"] for e in audited(world, "resume_campaign")] == ["paused"]


def _take_next(client: FlaskClient) -> tuple[int, str]:
    status, location = post(client, "/console/next")
    assert status == 302
    return status, location


def test_a_paused_campaign_deals_no_case_and_an_open_one_stays_workable(world: World) -> None:
    boss = staff(world, "supervisor")
    desk = staff(world, "interviewer")
    post(boss, "/admin/campaigns/uss/start")
    _, opened = _take_next(desk)
    interview = re.fullmatch(r".*/console/interviews/(\d+)", opened)
    assert interview, opened
    post(boss, "/admin/campaigns/uss/pause")
    # The case already open stays workable: its script answers as before.
    script = desk.get(f"/console/interviews/{interview.group(1)}")
    assert script.status_code == 200
    key = re.findall(r'name="key" value="([^"]+)"', script.get_data(as_text=True))[0]
    assert post(desk, f"/console/interviews/{interview.group(1)}/answer", key=key)[0] == 302
    # Released, it is not dealt again while calling is paused: not to anyone.
    release = re.search(
        r'action="(/console/cases/\d+/release)"', desk.get("/console").get_data(as_text=True)
    )
    assert release
    assert post(desk, release.group(1))[0] == 302
    other = staff(world, "admin")
    for client in (desk, other):
        _, location = _take_next(client)
        assert location.endswith("/console")
        said = client.get("/console").get_data(as_text=True)
        assert f"Calling for {TITLE} is paused" in said
    with world.db.begin() as conn:
        assert conn.scalar(select(Schedule.case_id).where(Schedule.held_by_id.is_not(None))) is None
    post(boss, "/admin/campaigns/uss/resume")
    _, location = _take_next(desk)
    assert "/console/interviews/" in location


def test_a_campaign_never_started_still_deals_to_interviewers(world: World) -> None:
    desk = staff(world, "interviewer")
    _, location = _take_next(desk)
    assert "/console/interviews/" in location


def test_the_console_says_the_own_phone_rings_only_when_there_is_one(world: World) -> None:
    desk = staff(world, "interviewer")
    _, location = _take_next(desk)
    page = desk.get(location).get_data(as_text=True)
    assert "Your own phone rings first" not in page and "dial the victim by hand" in page
    with world.db.transaction() as session:
        session.scalars(
            select(User).where(User.role == "interviewer")
        ).one().phone = "+441134960001"
    assert "Your own phone rings first" in desk.get(location).get_data(as_text=True)
