"""A victim's rights over what is held about them: to see all of it, and to have it erased
from every table, leaving only pseudonymous answers for trend reporting."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import JSON, String, Text, cast, func, select

import ivr.cli
from ivr.app import create_app
from ivr.store.models import AuditEntry, Base
from ivr.store.sealing import SealedJSON, SealedText
from ivr.telephony.port import RecordingTelephony
from tests.conftest import add_case, make_settings
from tests.functional.campaign_world import MONDAY_11, Clock, RaisingQueue
from tests.functional.test_referral_queue import post
from tests.functional.test_referrals_without_consent import (
    NAMED,
    dissatisfied_call,
    officer,
    text_of,
)

#: What would name the victim anywhere: their reference, number (as stored and as
#: written) and first name.
TRACES = (NAMED["case_ref"], NAMED["phone"], "496 0002", NAMED["first_name"])


@pytest.fixture
def app(any_db: str) -> Iterator[Flask]:
    # Recordings are deleted where they are kept: here, a double of Twilio.
    app = create_app(
        make_settings(any_db),
        queue=RaisingQueue(),
        clock=Clock(MONDAY_11),
        telephony=RecordingTelephony(),
    )
    yield app
    app.extensions["ivr"].db.dispose()


def ivr_command(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(ivr.cli.main, list(args))


def worked_referral(app: Flask) -> int:
    """A consenting dissatisfied victim's call, and an officer's notes about them."""
    referral_id = dissatisfied_call(app, NAMED, consents=True)
    client = officer(app)
    text_of(client, f"/queue/referrals/{referral_id}")
    note = f"Rang {NAMED['first_name']} on 0113 496 0002, left a message"
    assert post(client, referral_id, "note", note_text=note).status_code == 302
    response = post(client, referral_id, "contact", contact_outcome="no_contact", contact_note=note)
    assert response.status_code == 302
    return referral_id


def recording_of(app: Flask) -> str:
    """The address of the victim's recorded words."""
    with app.extensions["ivr"].db.transaction() as session:
        answers = Base.metadata.tables["answers"]
        return str(
            session.scalars(
                select(answers.c.recording_url).where(answers.c.recording_url.is_not(None))
            ).one()
        )


def traces_left(app: Flask, *more: str) -> list[str]:
    """Every table and column that still holds a trace of the victim (staff accounts
    aside: they are not the victim's)."""
    found = []
    with app.extensions["ivr"].db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if table.name == "users":
                continue
            for column in table.columns:
                if not isinstance(column.type, String | Text | JSON | SealedText | SealedJSON):
                    continue
                # As stored: sealed values are searched as the text the database holds.
                text = column if isinstance(column.type, String | Text) else cast(column, Text())
                for trace in (*TRACES, *more):
                    hits = session.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(func.lower(text).contains(trace.lower()))
                    )
                    if hits:
                        found.append(f"{table.name}.{column.name}: {trace}")
    return found


def test_a_victim_sees_everything_held_about_them(app: Flask) -> None:
    referral_id = worked_referral(app)
    result = ivr_command(app, "subject", "export", "--case", NAMED["case_ref"])
    assert result.exit_code == 0, result.output
    held = json.loads(result.stdout)
    assert held["case_ref"] == NAMED["case_ref"] and held["survey"] == "uss"
    records = held["held"]
    assert records["case"]["phone"] == NAMED["phone"]
    assert records["case"]["first_name"] == NAMED["first_name"]
    assert [r["id"] for r in records["referrals"]] == [referral_id]
    assert any(a["recording_url"] == recording_of(app) for a in records["answers"])
    assert records["answers"] and records["interviews"] and records["call_attempts"]
    assert any("left a message" in json.dumps(e["details"]) for e in records["referral_events"])
    # The officer's view of the referral is part of what is held, and so is this export.
    with app.extensions["ivr"].db.transaction() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "subject_export" in actions


def test_erasure_leaves_no_trace_in_any_table_and_keeps_pseudonymous_answers(
    app: Flask,
) -> None:
    worked_referral(app)
    recording = recording_of(app)
    before = traces_left(app, recording)
    for where in ("cases.phone", "interviews.state", "turns.response", "referral_events.details"):
        assert any(t.startswith(where) for t in before), (where, before)
    assert f"answers.recording_url: {recording}" in before
    result = ivr_command(app, "subject", "erase", "--case", NAMED["case_ref"])
    assert result.exit_code == 0, result.output
    assert "erased case" in result.stderr
    for trace in TRACES[1:]:
        assert trace not in result.output
    assert traces_left(app, recording) == []
    assert app.extensions["ivr"].telephony.deleted == [recording]
    # The coded answers stay for trend reporting, with nothing that says whose they are.
    services = app.extensions["ivr"]
    services.settings = services.settings.but(results_suppress_below=1, results_low_base_below=1)
    summary = json.loads(ivr_command(app, "results", "summary", "--survey", "uss", "--json").stdout)
    assert summary["complete"] == 1
    # Audited by case id, naming nobody.
    with services.db.transaction() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "subject_erase")
        ).one()
    assert entry.object_type == "case" and entry.object_id is not None
    assert not any(trace in json.dumps(entry.details) for trace in TRACES)
    # And it cannot be found, or erased, again by the reference.
    again = ivr_command(app, "subject", "erase", "--case", NAMED["case_ref"])
    assert again.exit_code == 1 and "no case" in again.stderr


def test_erasing_the_answers_too_leaves_only_that_an_interview_took_place(app: Flask) -> None:
    worked_referral(app)
    result = ivr_command(app, "subject", "erase", "--case", NAMED["case_ref"], "--answers")
    assert result.exit_code == 0, result.output
    assert traces_left(app) == []
    with app.extensions["ivr"].db.transaction() as session:
        answers = session.scalar(select(func.count()).select_from(Base.metadata.tables["answers"]))
        reasons = session.scalars(select(Base.metadata.tables["referrals"].c.reasons)).all()
    assert answers == 0 and reasons == [[]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "NOPE/1"], "no case 'NOPE/1'"),
        (["--case", NAMED["case_ref"], "--survey", "vcas_exit"], "in survey 'vcas_exit'"),
    ],
)
def test_an_unknown_case_is_a_clear_error(app: Flask, args: list[str], message: str) -> None:
    worked_referral(app)
    for command in ("export", "erase"):
        result = ivr_command(app, "subject", command, *args)
        assert result.exit_code == 1
        assert message in result.stderr and result.stdout == ""


def test_an_erased_case_is_never_planned_or_rung(app: Flask) -> None:
    from ivr.store import campaigns as campaign_store

    add_case(app, case_ref="CR/0003/26", phone="+441134960003", first_name="Sam")
    result = ivr_command(app, "subject", "erase", "--case", "CR/0003/26")
    assert result.exit_code == 0, result.output
    services = app.extensions["ivr"]
    with services.db.begin() as conn:
        campaign_store.add_missing_schedules(conn, "uss", services.clock())
        assert campaign_store.unplanned(conn, "uss", 10) == []
        assert campaign_store.due(conn, "uss", services.clock(), 10) == []
        assert campaign_store.due(conn, "uss", services.clock(), 10, for_interviewers=True) == []
