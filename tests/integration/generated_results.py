"""A database of the benchmark generator's interviews, on SQLite or on a PostgreSQL
database of its own that is dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from tests.conftest import POSTGRES_URL, service_missing
from tests.scripts import load_script


@contextmanager
def generated_results(kind: str, folder: Path, interviews: int, *, seed: int) -> Iterator[str]:
    """The URL of a ``kind`` ("sqlite" or "postgresql") database holding ``interviews``
    generated interviews; a SQLite file goes in ``folder``."""
    generator = load_script("gen_results_data")
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'results.db'}"
        generator.generate(url, interviews, seed=seed)
        yield url
        return
    try:
        server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means PostgreSQL is not there
        service_missing("PostgreSQL", exc)
    name = f"ivr_results_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        generator.generate(url, interviews, seed=seed)
        yield url
    finally:
        with server.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        server.dispose()
