"""Alembic environment: runs migrations on the engine the app would use."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ivr.store.db import make_engine
from ivr.store.models import Base
from ivr.store.sealing import CLEAR

config = context.config
target_metadata = Base.metadata


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def run_migrations_online() -> None:
    """Run migrations against a live connection."""
    # The keyring Database.upgrade passes on (none: the clear one), for migrations that
    # hash numbers.
    keyring = config.attributes.get("keyring", CLEAR)
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", keyring)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a column by copying its table and dropping the old one, which
            # rows referring to it would refuse. The pragma is ignored inside a
            # transaction: it goes straight to the driver, before the first one begins.
            _sqlite_foreign_keys(connection, on=False)
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        try:
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)
    engine.dispose()


run_migrations_online()
