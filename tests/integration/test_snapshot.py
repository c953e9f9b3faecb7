"""A report's reads: one moment of the database, read-only, never in a writer's way."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from ivr.store.db import Database
from ivr.store.models import Case

CASES = Case.__table__


def add_case(db: Database, ref: str) -> None:
    with db.begin() as conn:
        conn.execute(
            insert(CASES).values(
                survey="uss",
                case_ref=ref,
                phone="+447700900001",
                crime_type="burglary",
                district="Stockton",
                reported_on=date(2026, 7, 1),
                fields={},
                imported_at=datetime(2026, 7, 2, tzinfo=UTC),
            )
        )


def counted(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(CASES)).scalar_one())


def test_a_snapshot_sees_one_moment_while_a_writer_carries_on(any_db: str) -> None:
    db = Database(any_db)
    try:
        add_case(db, "CLE/26/1")
        with db.snapshot(work_mem="64MB", jit=False) as conn:
            assert counted(conn) == 1
            # Another connection writes meanwhile, unhindered (SQLite's write lock is free)...
            add_case(db, "CLE/26/2")
            # ...and the snapshot's figures still count what was there when it began.
            assert counted(conn) == 1
        with db.reading() as conn:
            assert counted(conn) == 2
    finally:
        db.dispose()


def test_a_snapshot_only_reads_and_its_settings_end_with_it(empty_postgres_url: str) -> None:
    db = Database(empty_postgres_url)
    try:
        with db.snapshot(work_mem="64MB", jit=False) as conn:
            assert conn.execute(text("SHOW work_mem")).scalar_one() == "64MB"
            assert conn.execute(text("SHOW jit")).scalar_one() == "off"
            with pytest.raises(DBAPIError, match="read-only transaction"):
                conn.execute(text("CREATE TEMPORARY TABLE scratch (n int)"))
        # The pooled connection goes back to the server's own settings.
        with db.reading() as conn:
            assert conn.execute(text("SHOW work_mem")).scalar_one() != "64MB"
            assert conn.execute(text("SHOW transaction_read_only")).scalar_one() == "off"
    finally:
        db.dispose()


def test_a_connection_alongside_sees_the_same_moment_with_the_same_settings(
    empty_postgres_url: str,
) -> None:
    db = Database(empty_postgres_url)
    try:
        add_case(db, "CLE/26/1")
        with db.snapshot(work_mem="64MB", jit=False) as conn:
            assert counted(conn) == 1
            add_case(db, "CLE/26/2")  # after the snapshot began: neither connection sees it
            with db.alongside(conn) as other:
                assert other is not None and other is not conn
                assert counted(other) == 1
                assert other.execute(text("SHOW work_mem")).scalar_one() == "64MB"
                assert other.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
        with db.reading() as conn:
            assert counted(conn) == 2
    finally:
        db.dispose()


def test_sqlite_reads_alongside_on_the_one_connection(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        with db.snapshot() as conn, db.alongside(conn) as other:
            assert other is None
    finally:
        db.dispose()
