"""``ivr sample import`` on SQLite and PostgreSQL: every case stored as the rest of the app
reads it (numbers sealed, found by their hash, each case with a schedule), or none at all."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import create_engine, func, select, text

import ivr.cli
from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.store import campaigns as store
from ivr.store.models import Case, Schedule
from ivr.store.sealing import SEALED, new_data_key
from tests.conftest import make_settings

HEADER = "case_ref,phone,crime_type,district,reported_on,first_name,age,domestic_abuse"


@pytest.fixture
def sealed_app(any_db: str) -> Iterator[Flask]:
    """The app on a fresh database of each kind, sealing personal data under a key."""
    app = create_app(make_settings(any_db, data_key=new_data_key()), queue=InProcessQueue())
    yield app
    app.extensions["ivr"].db.dispose()


def sample(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "sample.csv"
    path.write_text("\r\n".join((HEADER, *rows)) + "\r\n", encoding="utf-8")
    return path


def row(ref: str, phone: str = "0113 496 0001", crime: str = "burglary", age: str = "") -> str:
    return f"{ref},{phone},{crime},Hartlepool,2026-09-14,Alex,{age},no"


def import_file(app: Flask, path: Path) -> Result:
    runner = app.test_cli_runner()
    return runner.invoke(ivr.cli.main, ["sample", "import", str(path), "--survey", "uss"])


def counts(app: Flask) -> tuple[int, int]:
    """How many cases and schedules the database holds."""
    with app.extensions["ivr"].db.transaction() as session:
        cases = session.scalar(select(func.count()).select_from(Case))
        schedules = session.scalar(select(func.count()).select_from(Schedule))
    return cases or 0, schedules or 0


def stored_as_is(url: str, sql: str) -> list[Any]:
    """What the tables hold, read without the keyring."""
    engine = create_engine(url)
    with engine.connect() as conn:
        values = list(conn.execute(text(sql)).scalars())
    engine.dispose()
    return values


def test_a_sample_is_stored_as_the_app_reads_it(sealed_app: Flask, tmp_path: Path) -> None:
    path = sample(
        tmp_path,
        row("CR/0001/26", "0113 496 0001", age="34"),
        row("CR/0002/26", "+44 (0)113 496 0001", crime="violent"),
        row("CR/0003/26", "(020) 7946 0006"),
    )
    result = import_file(sealed_app, path)
    assert result.exit_code == 0, result.output
    assert result.stderr == "imported 3 cases for survey uss\n"
    assert counts(sealed_app) == (3, 3)

    db = sealed_app.extensions["ivr"].db
    with db.transaction() as session:
        cases = {c.case_ref: c for c in session.scalars(select(Case))}
    first = cases["CR/0001/26"]
    assert (first.phone, first.first_name) == ("+441134960001", "Alex")
    assert first.district == "Hartlepool"
    assert first.reported_on == date(2026, 9, 14)
    assert first.fields == {"age": 34, "domestic_abuse": "no"}
    assert cases["CR/0002/26"].crime_type == "violent"
    assert cases["CR/0002/26"].fields == {"domestic_abuse": "no"}
    assert first.imported_at.tzinfo == UTC
    assert cases["CR/0003/26"].phone == "+442079460006"
    # A repeat victim's cases are both found by the number, though it is sealed anew in
    # each: equal numbers do not look equal at rest.
    with db.begin() as conn:
        assert sorted(store.cases_with_phone(conn, "+441134960001")) == sorted(
            [first.id, cases["CR/0002/26"].id]
        )
    phones = stored_as_is(db.url, "select phone from cases")
    names = stored_as_is(db.url, "select first_name from cases")
    assert all(SEALED.fullmatch(value) for value in phones + names)
    assert len(set(phones)) == 3


def test_one_bad_row_in_a_large_sample_imports_nothing(app_any_db: Flask, tmp_path: Path) -> None:
    rows = [row(f"CR/{n:05d}/26", f"0113 496 {n % 10000:04d}") for n in range(3000)]
    rows[2400] = row("CR/02400/26", "0113 496", crime="vehicle")
    result = import_file(app_any_db, sample(tmp_path, *rows))
    assert result.exit_code == 1
    assert result.stderr == "line 2402: phone: '0113 496' is not a valid phone number\n"
    assert counts(app_any_db) == (0, 0)

    rows[2400] = row("CR/02400/26")
    result = import_file(app_any_db, sample(tmp_path, *rows))
    assert result.exit_code == 0, result.output
    assert counts(app_any_db) == (3000, 3000)

    result = import_file(app_any_db, sample(tmp_path, *rows[:5], row("CR/09999/26")))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"line {n + 2}: case_ref 'CR/{n:05d}/26' is already imported" for n in range(5)
    ]
    assert counts(app_any_db) == (3000, 3000)


def test_a_case_imported_by_another_run_meanwhile_imports_nothing(
    app_any_db: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another import commits a case_ref after this one checked: the database refuses the
    batch, the command says why, and nothing of this file is stored."""
    assert import_file(app_any_db, sample(tmp_path, row("CR/0001/26"))).exit_code == 0
    import ivr.campaigns.samples

    monkeypatch.setattr(ivr.campaigns.samples, "imported_case_refs", lambda *_: set())
    result = import_file(app_any_db, sample(tmp_path, row("CR/0002/26"), row("CR/0001/26")))
    assert result.exit_code == 1
    assert result.stderr.startswith("some of these cases were imported by another run")
    assert "Alex" not in result.output and "0113" not in result.output
    assert counts(app_any_db) == (1, 1)
