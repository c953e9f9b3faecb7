"""Start-up settings, and the terminal flow runner."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from ivr.config import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_production_names_every_missing_setting() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"IVR_ENV": "production", "DATABASE_URL": "postgresql://x/y"})
    message = str(caught.value)
    for name in (
        "SECRET_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "PUBLIC_BASE_URL",
    ):
        assert name in message
    assert "DATABASE_URL" not in message


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("PUBLIC_BASE_URL", "https://ivr.example.test/", "must not end with '/'"),
        ("PUBLIC_BASE_URL", "http://ivr.example.test", "must be https:// in production"),
        ("TWILIO_FROM_NUMBER", "0113 496 0999", "E.164"),
    ],
)
def test_malformed_settings_are_refused_by_name(name: str, value: str, complaint: str) -> None:
    env = {
        "IVR_ENV": "production",
        "DATABASE_URL": "postgresql://x/y",
        "SECRET_KEY": "k",
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "t",
        "TWILIO_FROM_NUMBER": "+441134960999",
        "PUBLIC_BASE_URL": "https://ivr.example.test",
    }
    Settings.from_env(env)  # the complete set is fine
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({**env, name: value})


def test_development_defaults_to_sqlite_and_in_process_jobs() -> None:
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and not settings.production


def test_flow_runner_plays_a_questionnaire_from_the_keyboard(monkeypatch, capsys) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import flow_runner
    finally:
        sys.path.pop(0)
    monkeypatch.setattr("sys.stdin", io.StringIO("1\n1\n1\n2\n3\n2\n1\n2\n"))
    code = flow_runner.main(
        [
            str(ROOT / "questionnaires" / "uss.yaml"),
            "--case",
            "first_name=Alex",
            "--case",
            "crime_type=burglary",
            "--case",
            "reported_on=2026-09-14",
            "--case",
            "district=Stockton",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "(call ends: completed)" in out
    assert out.count("[AnswerRecorded]") == 6


def test_command_line_names_missing_production_settings(monkeypatch) -> None:
    from click.testing import CliRunner

    from ivr.cli import main

    for name in ("DATABASE_URL", "SECRET_KEY", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVR_ENV", "production")
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert "missing required setting(s) for production: DATABASE_URL, SECRET_KEY" in result.output
    assert "Traceback" not in result.output
