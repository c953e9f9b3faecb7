"""``ivr users`` and ``ivr audit export`` against the test app's database."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

import ivr.cli
from ivr.accounts import audit
from ivr.accounts.staff import authenticate
from ivr.commands.audit import to_csv
from ivr.store.models import AuditEntry, User

PASSWORD = "correct horse battery staple"


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    return app.test_cli_runner().invoke(
        ivr.cli.main, list(args), input=input, env={"COLUMNS": "200"}
    )


def add(app: Flask, email: str, *options: str, password: str = PASSWORD) -> Result:
    return run(app, "users", "add", email, *options, "--password-stdin", input=password + "\n")


def account(app: Flask, email: str) -> User | None:
    with app.extensions["ivr"].db.transaction() as session:
        return session.scalars(select(User).where(User.email == email)).first()


def actions(app: Flask) -> list[tuple[str, dict[str, Any]]]:
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (e.action, e.details)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_add_reads_the_password_from_stdin(app: Flask) -> None:
    result = add(
        app,
        "Dee.Officer@Force.example",
        "--role",
        "district_officer",
        "--district",
        "Hartlepool",
        "--district",
        "Stockton",
        "--name",
        "Dee Officer",
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "added dee.officer@force.example (District research officer for Hartlepool, Stockton)\n"
    )
    user = account(app, "dee.officer@force.example")
    assert user is not None
    assert (user.role, user.districts, user.name, user.active) == (
        "district_officer",
        ["Hartlepool", "Stockton"],
        "Dee Officer",
        True,
    )
    assert PASSWORD not in user.password_hash
    with app.extensions["ivr"].db.transaction() as session:
        assert authenticate(session, "dee.officer@force.example", PASSWORD) is not None
    assert actions(app) == [
        (
            "add_user",
            {"email": "dee.officer@force.example", "role": "district_officer", "via": "cli"},
        )
    ]


def test_add_an_analyst_for_the_commissioners_office(app: Flask) -> None:
    result = add(app, "Ana.Analyst@PCC.example", "--role", "analyst")
    assert result.exit_code == 0, result.output
    assert result.output == "added ana.analyst@pcc.example (Analyst (Commissioner's office))\n"
    user = account(app, "ana.analyst@pcc.example")
    assert user is not None
    assert (user.role, user.districts, user.active) == ("analyst", [], True)
    assert actions(app) == [
        ("add_user", {"email": "ana.analyst@pcc.example", "role": "analyst", "via": "cli"})
    ]
    listed = run(app, "users", "list")
    assert "Analyst (Commissioner's office)" in listed.output


def test_add_prompts_for_the_password_twice_without_echoing_it(app: Flask) -> None:
    result = run(
        app,
        "users",
        "add",
        "sam@force.example",
        "--role",
        "supervisor",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Password" in result.output
    assert PASSWORD not in result.output
    assert account(app, "sam@force.example") is not None


def test_add_refuses_a_password_typed_differently_the_second_time(app: Flask) -> None:
    result = run(
        app,
        "users",
        "add",
        "sam@force.example",
        "--role",
        "supervisor",
        input=f"{PASSWORD}\nsomething else entirely\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("sam@force.example", "--role", "supervisor"), "short", "at least 12 characters"),
        (("sam@force.example", "--role", "supervisor"), "", "at least 12 characters"),
        (("not-an-email", "--role", "supervisor"), PASSWORD, "'not-an-email' is not an email"),
        (("dee@force.example", "--role", "district_officer"), PASSWORD, "needs --district"),
        (
            ("sam@force.example", "--role", "supervisor", "--district", "Hartlepool"),
            PASSWORD,
            "only district research officers have districts",
        ),
        (
            ("ana@pcc.example", "--role", "analyst", "--district", "Hartlepool"),
            PASSWORD,
            "only district research officers have districts",
        ),
    ],
)
def test_add_explains_what_is_wrong(
    app: Flask, args: tuple[str, ...], password: str, message: str
) -> None:
    result = add(app, *args, password=password)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert message in result.output
    assert "Traceback" not in result.output
    assert actions(app) == []


def test_add_refuses_an_email_that_already_has_an_account(app: Flask) -> None:
    assert add(app, "sam@force.example", "--role", "supervisor").exit_code == 0
    again = add(app, "SAM@force.example", "--role", "admin")
    assert again.exit_code == 1
    assert "sam@force.example already has an account" in again.output


def test_add_refuses_an_unknown_role(app: Flask) -> None:
    result = add(app, "sam@force.example", "--role", "chief")
    assert result.exit_code == 2
    assert "'chief' is not one of" in result.output
    assert account(app, "sam@force.example") is None


def test_disable_stops_the_account_signing_in(app: Flask) -> None:
    add(app, "sam@force.example", "--role", "supervisor")
    result = run(app, "users", "disable", "Sam@Force.example")
    assert result.exit_code == 0, result.output
    assert result.output == "disabled sam@force.example\n"
    user = account(app, "sam@force.example")
    assert user is not None and not user.active
    with app.extensions["ivr"].db.transaction() as session:
        assert authenticate(session, "sam@force.example", PASSWORD) is None
    assert actions(app)[-1] == ("disable_user", {"email": "sam@force.example", "via": "cli"})
    again = run(app, "users", "disable", "sam@force.example")
    assert again.exit_code == 0
    assert again.output == "sam@force.example was already disabled\n"


def test_disable_of_an_unknown_account_fails(app: Flask) -> None:
    result = run(app, "users", "disable", "nobody@force.example")
    assert result.exit_code == 1
    assert result.output == "Error: no account for nobody@force.example\n"
    assert run(app, "users", "disable", "nobody").exit_code == 1


def test_list_shows_accounts_but_never_password_hashes(app: Flask) -> None:
    add(app, "sam@force.example", "--role", "supervisor", "--name", "Sam [Supervisor]")
    add(app, "dee@force.example", "--role", "district_officer", "--district", "Hartlepool")
    run(app, "users", "disable", "dee@force.example")
    listed = run(app, "users", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [(r["email"], r["role"], r["districts"], r["active"]) for r in rows] == [
        ("dee@force.example", "district_officer", ["Hartlepool"], False),
        ("sam@force.example", "supervisor", [], True),
    ]
    assert all("password_hash" not in r and r["last_login_at"] is None for r in rows)
    table = run(app, "users", "list")
    assert table.exit_code == 0
    for text in (
        "Accounts (2)",
        "sam@force.example",
        "Sam [Supervisor]",
        "District research officer",
        "Hartlepool",
        "never",
    ):
        assert text in table.output
    for result in (listed, table):
        assert "argon2" not in result.output


def test_list_says_when_there_are_no_accounts(app: Flask) -> None:
    assert run(app, "users", "list").output == "no accounts\n"
    assert json.loads(run(app, "users", "list", "--json").stdout) == []


@pytest.fixture
def audited(app: Flask) -> Flask:
    """A sign-in and failures either side of midnight, 1 July 2026, UK time (BST)."""
    add(app, "sam@force.example", "--role", "supervisor")
    with app.extensions["ivr"].db.transaction() as session:
        sam = session.scalars(select(User).where(User.email == "sam@force.example")).one()
        session.execute(AuditEntry.__table__.delete())
        audit.record(
            session,
            None,
            "sign_in_failed",
            email="early@force.example",
            now=datetime(2026, 6, 30, 22, 30, tzinfo=UTC),
        )
        audit.record(session, sam, "sign_in", now=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
        audit.record(
            session,
            None,
            "sign_in_failed",
            email='=HYPERLINK("x")@force.example',
            now=datetime(2026, 7, 2, 9, 0, tzinfo=UTC),
        )
    return app


def test_audit_export_json_from_midnight_uk_time(audited: Flask) -> None:
    result = run(audited, "audit", "export", "--since", "2026-07-01")
    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    assert [(e["actor"], e["action"], e["details"]) for e in entries] == [
        ("sam@force.example", "sign_in", {}),
        (None, "sign_in_failed", {"email": '=HYPERLINK("x")@force.example'}),
    ]
    assert json.loads(run(audited, "audit", "export", "--since", "2026-07-03").stdout) == []


def test_audit_export_csv(audited: Flask) -> None:
    result = run(audited, "audit", "export", "--since", "2026-06-30", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "at",
        "actor",
        "address",
        "action",
        "object_type",
        "object_id",
        "details",
    ]
    assert [(r["actor"], r["action"]) for r in rows] == [
        ("", "sign_in_failed"),
        ("sam@force.example", "sign_in"),
        ("", "sign_in_failed"),
    ]
    assert json.loads(rows[0]["details"]) == {"email": "early@force.example"}


def test_audit_csv_keeps_spreadsheets_from_running_formulas() -> None:
    text = to_csv(
        [
            {
                "at": "2026-07-01T00:00:00",
                "actor": "=cmd@force.example",
                "action": "sign_in",
                "object_type": None,
                "object_id": 7,
                "details": {"email": "@SUM(A1)"},
            }
        ]
    )
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["actor"] == "'=cmd@force.example"
    assert row["object_type"] == "" and row["object_id"] == "7"
    assert json.loads(row["details"]) == {"email": "@SUM(A1)"}


@pytest.mark.parametrize("since", ["01/07/2026", "yesterday", ""])
def test_audit_export_needs_a_date(app: Flask, since: str) -> None:
    result = run(app, "audit", "export", "--since", since)
    assert result.exit_code == 2
    assert "--since" in result.output


def test_audit_export_needs_since(app: Flask) -> None:
    result = run(app, "audit", "export")
    assert result.exit_code == 2
    assert "Missing option '--since'" in result.output


def test_add_with_a_phone_stores_it_in_e164_and_audits_only_that_it_has_one(app: Flask) -> None:
    result = add(app, "ian@force.example", "--role", "interviewer", "--phone", "0044 113 496 0001")
    assert result.exit_code == 0, result.output
    user = account(app, "ian@force.example")
    assert user is not None and user.phone == "+441134960001"
    [(action, details)] = [a for a in actions(app) if a[0] == "add_user"]
    assert details["phone"] is True and "496" not in json.dumps(details)


def test_add_with_a_bad_phone_adds_nothing(app: Flask) -> None:
    result = add(app, "ian@force.example", "--role", "interviewer", "--phone", "07700 900123")
    assert result.exit_code != 0
    assert "valid UK phone number" in result.output
    assert account(app, "ian@force.example") is None


def test_phone_records_changes_and_clears_an_accounts_own_phone(app: Flask) -> None:
    assert add(app, "ian@force.example", "--role", "interviewer").exit_code == 0
    recorded = run(app, "users", "phone", "ian@force.example", "+44 (0)114 496 0002")
    assert recorded.exit_code == 0, recorded.output
    assert account(app, "ian@force.example").phone == "+441144960002"  # type: ignore[union-attr]
    bad = run(app, "users", "phone", "ian@force.example", "not a number")
    assert bad.exit_code != 0
    assert account(app, "ian@force.example").phone == "+441144960002"  # type: ignore[union-attr]
    assert run(app, "users", "phone", "ian@force.example").exit_code != 0
    cleared = run(app, "users", "phone", "ian@force.example", "--clear")
    assert cleared.exit_code == 0, cleared.output
    assert account(app, "ian@force.example").phone is None  # type: ignore[union-attr]
    changes = [d for a, d in actions(app) if a == "set_phone"]
    assert [d["change"] for d in changes] == ["recorded", "removed"]
    assert all(d["via"] == "cli" and "496" not in json.dumps(d) for d in changes)
    assert run(app, "users", "phone", "nobody@force.example", "--clear").exit_code != 0
