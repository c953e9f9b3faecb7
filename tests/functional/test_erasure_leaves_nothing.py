"""After a victim's data is erased, by the command or from the administrator's page, their
phone number and first name are nowhere: in no column of any table (read back with raw
SQL, as a dump would), in nothing the product logged, in no file it writes afterwards."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from ivr.app import create_app
from ivr.store.models import Base
from ivr.telephony.port import RecordingTelephony
from tests.conftest import make_settings
from tests.functional.campaign_world import MONDAY_11, Clock, RaisingQueue
from tests.functional.staff_web import csrf, sign_in
from tests.functional.test_referral_queue import add_staff
from tests.functional.test_referrals_without_consent import NAMED
from tests.functional.test_subject_rights import ivr_command, worked_referral

#: The victim's number as stored, in its national digits and as written in a note, and
#: their first name.
TRACES = (NAMED["phone"], NAMED["phone"][3:], "496 0002", NAMED["first_name"])


@pytest.fixture
def app(any_db: str) -> Iterator[Flask]:
    app = create_app(
        make_settings(any_db),
        queue=RaisingQueue(),
        clock=Clock(MONDAY_11),
        telephony=RecordingTelephony(),
    )
    yield app
    app.extensions["ivr"].db.dispose()


def dump(app: Flask) -> list[tuple[str, str]]:
    """Every value of every table but the staff accounts', as text, with its table."""
    values = []
    with app.extensions["ivr"].db.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name == "users":
                continue
            for row in conn.execute(text(f"select * from {table.name}")):
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    values.append((table.name, str(value)))
    return values


def traces_in(where: str, content: str) -> list[str]:
    return [f"{where}: {t}" for t in TRACES if t.lower() in content.lower()]


def erase_from_the_admin_page(app: Flask) -> None:
    add_staff(app, "ada@cleveland.example", "admin")
    ada = sign_in(app, "ada@cleveland.example")
    token = csrf(ada.get("/admin/subjects").get_data(as_text=True))
    response = ada.post(
        "/admin/subjects/erase",
        data={
            "csrf_token": token,
            "survey": "uss",
            "case_ref": NAMED["case_ref"],
            "confirm_ref": NAMED["case_ref"],
            "answers": "keep",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    # The page the administrator goes back to says nothing of whom.
    after = ada.get(response.headers["Location"]).get_data(as_text=True)
    assert "personal data was erased" in after and traces_in("page", after) == []


def erase_with_the_command(app: Flask) -> None:
    result = ivr_command(app, "subject", "erase", "--case", NAMED["case_ref"])
    assert result.exit_code == 0, result.output
    assert traces_in("command output", result.output) == []


@pytest.mark.parametrize("erase", [erase_with_the_command, erase_from_the_admin_page])
def test_an_erased_victim_is_in_no_table_log_or_file(
    app: Flask, erase: Callable[[Flask], None], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy's own echo prints bound values by design; no deployment runs with it.
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    worked_referral(app)
    held = [(table, value) for table, value in dump(app) if traces_in(table, value)]
    assert {table for table, _ in held} >= {"cases", "referral_events"}, held
    erase(app)
    found = [hit for table, value in dump(app) for hit in traces_in(table, value)]
    assert found == []
    # The files the product writes about the survey afterwards.
    for fmt in ("json", "csv"):
        out = tmp_path / f"results.{fmt}"
        result = ivr_command(
            app, "results", "export", "--survey", "uss", "--format", fmt, "--output", str(out)
        )
        assert result.exit_code == 0, result.output
    audit_csv = ivr_command(app, "audit", "export", "--since", "2026-01-01", "--format", "csv")
    (tmp_path / "audit.csv").write_text(audit_csv.stdout)
    written = list(tmp_path.rglob("*.csv")) + list(tmp_path.rglob("*.json"))
    assert len(written) == 3
    for path in written:
        assert traces_in(path.name, path.read_text(errors="replace")) == []
    # Nothing logged along the way named the victim, from the call to the erasure.
    assert traces_in("log", caplog.text) == []
