"""Every page and command that shows a victim's name, number, words or recording writes an
audit entry: who (the signed-in account, or the operating system's user for a command),
from which address, and when (a time with its zone); never the personal data itself."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import ivr.cli
import ivr.results.web as results_web
from ivr.store.models import AuditEntry, User
from tests.functional.campaign_world import World, campaign_world, uss_csv
from tests.functional.staff_web import sign_in
from tests.functional.test_console_pages import add_staff, take_next_case
from tests.functional.test_referral_queue import RECORDING, add_referral
from tests.results_reports import make_report

VICTIM_PHONE = "+441134960501"
CASE_REF = "CLE/26/300001"
#: What must never be in an audit entry's details.
PERSONAL = (VICTIM_PHONE, "496 0501", "496 0002", "Sam", "Nobody rang back")


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        # Reported seven weeks before Monday 23 November 2026: due for the survey.
        w.import_csv(uss_csv([(CASE_REF, VICTIM_PHONE, "burglary", date(2026, 10, 5))]))
        yield w


def staff(world: World, email: str, role: str, *districts: str) -> FlaskClient:
    add_staff(world.app, email, role, *districts)
    return sign_in(world.app, email)


def latest(world: World, action: str) -> AuditEntry:
    with world.db.transaction() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None, f"no {action} entry"
        session.expunge(entry)
    return entry


def assert_by_account(world: World, action: str, email: str, client: FlaskClient) -> AuditEntry:
    """The latest ``action`` entry is by ``email``, from the client's address, at an aware
    time, and names nothing personal."""
    entry = latest(world, action)
    with world.db.transaction() as session:
        actor = session.scalars(select(User.email).where(User.id == entry.actor_id)).one()
    assert actor == email
    assert entry.address == client.environ_base["REMOTE_ADDR"]
    assert entry.at.tzinfo is not None and entry.at.utcoffset() is not None
    said = json.dumps(entry.details)
    assert not any(p in said for p in PERSONAL), (action, said)
    return entry


def assert_by_command(world: World, action: str) -> AuditEntry:
    """The latest ``action`` entry is by no account but the OS user, from no address."""
    entry = latest(world, action)
    assert entry.actor_id is None and entry.address is None
    assert entry.details["via"] == "cli" and entry.details["os_user"] == getpass.getuser()
    assert entry.at.tzinfo is not None and entry.at.utcoffset() is not None
    said = json.dumps(entry.details)
    assert not any(p in said for p in PERSONAL), (action, said)
    return entry


def run(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(ivr.cli.main, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_the_interviewers_console_pages(world: World) -> None:
    ann = staff(world, "ann@cleveland.example", "interviewer")
    interview_id = take_next_case(ann)
    page = ann.get(f"/console/interviews/{interview_id}").get_data(as_text=True)
    assert VICTIM_PHONE in page
    entry = assert_by_account(world, "view_personal_details", "ann@cleveland.example", ann)
    assert entry.details["shown"] == ["first_name", "phone"]
    listing = ann.get("/console").get_data(as_text=True)
    assert CASE_REF in listing
    entry = assert_by_account(world, "view_personal_details", "ann@cleveland.example", ann)
    assert entry.details["shown"] == ["first_name"]


def test_the_referral_page_and_its_recording(world: World) -> None:
    referral_id = add_referral(world.app, case_ref="CR/0002/26", recording=RECORDING)
    hart = staff(world, "hart@cleveland.example", "district_officer", "Hartlepool")
    page = hart.get(f"/queue/referrals/{referral_id}").get_data(as_text=True)
    assert "+441134960002" in page
    assert_by_account(world, "view_referral", "hart@cleveland.example", hart)
    assert hart.get(f"/queue/referrals/{referral_id}/recording").status_code == 302
    assert_by_account(world, "play_recording", "hart@cleveland.example", hart)


def test_the_results_page_with_victims_reasons(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def builder(db: Any, registry: Any, survey: str, period: Any, **options: Any) -> Any:
        return make_report(scope=options["scope"], period=period, survey=survey)

    monkeypatch.setattr(results_web, "build_report", builder)
    boss = staff(world, "boss@cleveland.example", "supervisor")
    response = boss.get("/results/uss?period=quarter&quarter=2026Q3")
    assert response.status_code == 200
    assert_by_account(world, "view_results_reasons", "boss@cleveland.example", boss)


def test_the_admins_pages(world: World) -> None:
    ada = staff(world, "ada@cleveland.example", "admin")
    found = ada.get("/admin/subjects", query_string={"survey": "uss", "case_ref": CASE_REF})
    assert VICTIM_PHONE in found.get_data(as_text=True)
    assert_by_account(world, "subject_export", "ada@cleveland.example", ada)
    assert (
        ada.get(
            "/admin/subjects/download", query_string={"survey": "uss", "case_ref": CASE_REF}
        ).status_code
        == 200
    )
    entry = assert_by_account(world, "subject_export", "ada@cleveland.example", ada)
    assert entry.details["via"] == "admin page, download"
    assert ada.get("/admin/audit").status_code == 200
    assert_by_account(world, "view_audit_log", "ada@cleveland.example", ada)
    assert ada.get("/admin/audit.csv").status_code == 200
    assert_by_account(world, "download_audit_log", "ada@cleveland.example", ada)


def test_the_commands_that_print_personal_data(world: World) -> None:
    exported = run(world.app, "subject", "export", "--case", CASE_REF)
    assert VICTIM_PHONE in exported.stdout
    assert_by_command(world, "subject_export")
    run(world.app, "dnc", "list")
    assert_by_command(world, "view_do_not_call")
    add_referral(world.app, case_ref="CR/0002/26")
    listed = run(world.app, "referrals", "list", "--json")
    assert "CR/0002/26" in listed.stdout
    entry = assert_by_command(world, "list_referrals")
    assert entry.details["referrals"] == 1
