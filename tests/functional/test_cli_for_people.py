"""The ``ivr`` command as a person meets it: our commands only, ``-h`` for help, a plain
message (not a traceback) before the schema exists, whole tables when piped."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from ivr.cli import main
from tests.conftest import ROOT

OUR_COMMANDS = {
    "audit",
    "retention",
    "subject",
    "keys",
    "campaign",
    "db",
    "demo",
    "dnc",
    "questionnaires",
    "referrals",
    "report",
    "results",
    "run",
    "sample",
    "users",
}
SAMPLE = ROOT / "tests" / "unit" / "golden"  # any folder will do for a missing-schema run


@pytest.fixture
def fresh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty SQLite database, named by DATABASE_URL, with no Twilio settings."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("IVR_QUESTIONNAIRES", str(ROOT / "questionnaires"))
    for name in ("TWILIO_AUTH_TOKEN", "REDIS_URL", "IVR_ENV"):
        monkeypatch.delenv(name, raising=False)
    return url


def run_ivr(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def listed_commands(help_text: str) -> set[str]:
    section = help_text.split("Commands:", 1)[1]
    return {line.split()[0] for line in section.splitlines() if line.startswith("  ")}


def test_help_lists_only_our_commands_and_h_is_help_everywhere(fresh: str) -> None:
    shown = run_ivr("--help")
    assert shown.exit_code == 0
    assert listed_commands(shown.output) == OUR_COMMANDS
    for flask_internal in ("--env-file", "--app", "routes", "shell", "limiter"):
        assert flask_internal not in shown.output
    assert run_ivr("-h").output == shown.output
    for command in (["run"], ["sample", "import"], ["results", "summary"], ["db", "upgrade"]):
        result = run_ivr(*command, "-h")
        assert result.exit_code == 0 and result.output.startswith("Usage: ivr"), command
    assert "--host" in run_ivr("run", "-h").output


@pytest.mark.parametrize(
    "command",
    [
        ["sample", "import", "cases.csv", "--survey", "uss"],
        ["results", "summary", "--survey", "uss"],
        ["referrals", "list"],
        ["users", "list"],
        ["campaign", "status", "--survey", "uss"],
        ["run", "--port", "1"],
    ],
)
def test_commands_that_need_the_schema_say_to_upgrade_first(
    fresh: str,
    tmp_path: Path,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases.csv").write_text("case_ref,phone\n")
    result = run_ivr(*command)
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        "the database has no tables yet: run `ivr db upgrade` first"
    )
    assert "Traceback" not in result.output


def test_a_schema_behind_the_code_is_named_with_its_revision(fresh: str) -> None:
    assert run_ivr("db", "upgrade", "--revision", "0004").exit_code == 0
    result = run_ivr("referrals", "list")
    assert result.exit_code == 1
    assert "the database schema is at revision 0004, not 00" in result.stderr
    assert run_ivr("db", "upgrade").exit_code == 0
    assert run_ivr("referrals", "list").exit_code == 0


def test_the_webhook_warning_comes_only_where_webhooks_are_served(
    fresh: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert run_ivr("db", "upgrade").exit_code == 0
        assert run_ivr("users", "list").exit_code == 0
    assert "TWILIO_AUTH_TOKEN" not in caplog.text
    with caplog.at_level(logging.WARNING):
        import ivr.wsgi

        importlib.reload(ivr.wsgi)
    assert "TWILIO_AUTH_TOKEN is not set: every /twilio request will be refused" in caplog.text


def test_tables_are_whole_when_piped_and_counts_read_as_words(
    fresh: str,
    tmp_path: Path,
) -> None:
    assert run_ivr("db", "upgrade").exit_code == 0
    csv = tmp_path / "one.csv"
    csv.write_text(
        "case_ref,phone,crime_type,district,reported_on,first_name\n"
        "CR/1,0113 496 0001,burglary,Redcar and Cleveland (a long district name),"
        "2026-09-14,Alex\n"
    )
    imported = run_ivr("sample", "import", str(csv), "--survey", "uss")
    assert imported.exit_code == 0, imported.output
    assert "imported 1 case for survey uss" in imported.stderr
    district = "Redcar and Cleveland, East Cleveland and the Coast (a long name)"
    added = run_ivr(
        "users",
        "add",
        "officer.with.a.long.address@redcar.police.example",
        "--role",
        "district_officer",
        "--district",
        district,
        "--name",
        "An Officer Whose Name Is Rather Long Indeed",
        "--password-stdin",
        input="correct horse battery staple\n",
    )
    assert added.exit_code == 0, added.output
    listed = run_ivr("users", "list")
    assert listed.exit_code == 0
    # The runner's output is not a terminal: nothing is cut to fit 80 columns.
    assert "officer.with.a.long.address@redcar.police.example" in listed.output
    assert district in listed.output and "…" not in listed.output
    engine = create_engine(fresh)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from cases")).scalar() == 1
    engine.dispose()


def test_lists_print_csv_that_a_spreadsheet_cannot_run(fresh: str) -> None:
    import csv
    import io

    assert run_ivr("db", "upgrade").exit_code == 0
    for email, name, districts in (
        ("a.officer@police.example", '=HYPERLINK("http://x")', ["Hartlepool", "Stockton"]),
        ("b.officer@police.example", "Bea Officer", ["Middlesbrough"]),
    ):
        added = run_ivr(
            "users",
            "add",
            email,
            "--role",
            "district_officer",
            *(a for d in districts for a in ("--district", d)),
            "--name",
            name,
            "--password-stdin",
            input="correct horse battery staple\n",
        )
        assert added.exit_code == 0, added.output
    listed = run_ivr("users", "list", "--csv")
    assert listed.exit_code == 0, listed.output
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [r["email"] for r in rows] == ["a.officer@police.example", "b.officer@police.example"]
    assert rows[0]["name"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["districts"] == "Hartlepool; Stockton"
    assert (rows[1]["active"], rows[1]["last_login_at"]) == ("yes", "")

    none = run_ivr("referrals", "list", "--csv")
    assert none.exit_code == 0
    assert none.stdout == "case_ref,survey,kind,district,status,created_at,reasons\n"
