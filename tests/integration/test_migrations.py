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


def test_the_supervisor_queue_migration_gives_old_referrals_their_deadline(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    Database(url).upgrade("0002")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "insert into questionnaire_versions (id, survey, version, sha256, source, "
            "loaded_at) values (1, 'uss', '1', 'x', 'id: uss', '2026-12-01 10:00:00')"
        )
        conn.exec_driver_sql(
            "insert into cases (id, survey, case_ref, phone, fields, imported_at) "
            "values (1, 'uss', 'CR/1', '+441134960001', '{}', '2026-12-01 10:00:00')"
        )
        conn.exec_driver_sql(
            "insert into interviews (id, public_id, case_id, questionnaire_version_id, "
            "channel, status, step_no, state, started_at) values (1, 'p1', 1, 1, "
            "'phone_inbound', 'completed', 9, '{}', '2026-12-24 17:50:00')"
        )
        conn.exec_driver_sql(
            "insert into referrals (id, interview_id, case_id, survey, kind, district, "
            "reasons, status, created_at) values (1, 1, 1, 'uss', 'service_recovery', "
            "'Hartlepool', '[]', 'new', '2026-12-24 18:00:00')"
        )
    Database(url).upgrade("0003")
    with engine.connect() as conn:
        due = conn.exec_driver_sql("select due_at from referrals where id = 1").scalar()
    engine.dispose()
    # Raised on Christmas Eve: Christmas and Boxing Day (Monday 28th in lieu) pass first.
    assert str(due).startswith("2026-12-30 23:59:59")


def test_the_head_every_command_checks_is_alembics(tmp_path: Path) -> None:
    """Commands compare the database with the newest migration read from the files, not
    through Alembic: it must be the revision Alembic upgrades to."""
    from alembic.script import ScriptDirectory

    from ivr.store.db import alembic_config, schema_head

    url = f"sqlite:///{tmp_path / 'head.db'}"
    assert schema_head() == ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    database = Database(url)
    database.upgrade()
    assert database.schema_problem() is None
