"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from ivr.store.db import Database, make_engine
from ivr.store.models import Base


def _differences(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    return diff


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    Database(url).upgrade()
    Database(url).upgrade()  # a second upgrade is a no-op
    assert _differences(url) == []


def test_postgres_migrations_match_the_models(postgres_url: str) -> None:
    assert _differences(postgres_url) == []


def test_db_upgrade_command_creates_the_schema(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from ivr.cli import main

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    tables = (
        create_engine(url)
        .connect()
        .exec_driver_sql("select name from sqlite_master where type='table'")
        .scalars()
        .all()
    )
    assert {
        "cases",
        "interviews",
        "answers",
        "referrals",
        "call_attempts",
        "turns",
        "questionnaire_versions",
        "alembic_version",
    } <= set(tables)
