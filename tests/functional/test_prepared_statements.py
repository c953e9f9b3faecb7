"""Prepared statements on the driver's cursor store and read exactly what SQLAlchemy would,
on SQLite and PostgreSQL, and fail the way SQLAlchemy fails."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from ivr.store.db import Database
from ivr.store.models import Base
from ivr.store.prepared import Prepared

CASES = Base.metadata.tables["cases"]
TURNS = Base.metadata.tables["turns"]
INTERVIEWS = Base.metadata.tables["interviews"]
VERSIONS = Base.metadata.tables["questionnaire_versions"]

CASE = {
    "survey": "uss",
    "case_ref": "CR/1/26",
    "phone": "+441134960001",
    "first_name": "Zoë",
    "crime_type": "burglary",
    "district": "Hartlepool",
    "reported_on": date(2026, 9, 14),
    "fields": {"note": 'a "quoted" value', "n": 3},
    "imported_at": datetime(2026, 11, 1, 9, 30, 0, 12, tzinfo=UTC),
}
ADD_CASE = Prepared(insert(CASES).returning(CASES.c.id), column_keys=list(CASE))
CASE_BY_REF = Prepared(
    select(CASES.c.id, CASES.c.fields, CASES.c.reported_on, CASES.c.imported_at).where(
        CASES.c.case_ref == bindparam("ref")
    )
)


@pytest.fixture
def db(any_db: str) -> Any:
    database = Database(any_db)
    yield database
    database.dispose()


def test_values_round_trip_as_sqlalchemy_stores_them(db: Database) -> None:
    with db.engine.begin() as conn:
        row = ADD_CASE.first(conn, CASE)
        assert row is not None
        case_id = row[0]
    with db.engine.connect() as conn:
        # Read back through SQLAlchemy proper: what the prepared INSERT wrote is what
        # Connection.execute would have written.
        stored = conn.execute(select(CASES).where(CASES.c.id == case_id)).one()._mapping
        prepared = CASE_BY_REF.first(conn, {"ref": "CR/1/26"})
    for key, value in CASE.items():
        if key == "imported_at":
            assert stored[key].replace(tzinfo=UTC) == value
        else:
            assert stored[key] == value
    assert prepared is not None
    assert prepared[0] == case_id
    assert prepared[1] == CASE["fields"]
    assert prepared[2] == CASE["reported_on"]
    assert prepared[3].replace(tzinfo=UTC) == CASE["imported_at"]


def test_no_row_gives_none_and_all_gives_every_row(db: Database) -> None:
    by_survey = Prepared(
        select(CASES.c.case_ref)
        .where(CASES.c.survey == bindparam("survey"))
        .order_by(CASES.c.case_ref)
    )
    with db.engine.begin() as conn:
        ADD_CASE.many(conn, [{**CASE, "case_ref": ref} for ref in ("B", "A", "C")])
    with db.engine.connect() as conn:
        assert CASE_BY_REF.first(conn, {"ref": "nobody"}) is None
        assert by_survey.all(conn, {"survey": "uss"}) == [("A",), ("B",), ("C",)]
        assert by_survey.all(conn, {"survey": "vcas_exit"}) == []


def test_a_unique_violation_is_sqlalchemys_integrity_error_and_rolls_back(db: Database) -> None:
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        ADD_CASE.first(conn, CASE)
        ADD_CASE.first(conn, CASE)  # same survey and case_ref
    with db.engine.connect() as conn:
        assert conn.execute(select(CASES.c.id)).all() == []


def test_rowcount_and_values_written_into_the_statement(db: Database) -> None:
    rename = Prepared(
        update(CASES)
        .where(CASES.c.survey == "uss", CASES.c.case_ref == bindparam("ref"))
        .values(first_name=bindparam("name", type_=CASES.c.first_name.type))
    )
    with db.engine.begin() as conn:
        ADD_CASE.first(conn, CASE)
        assert rename.execute(conn, {"ref": "CR/1/26", "name": "Sam"}) == 1
        assert rename.execute(conn, {"ref": "CR/9/26", "name": "Sam"}) == 0
        assert conn.execute(select(CASES.c.first_name)).scalar() == "Sam"


def test_statements_it_cannot_run_as_written_are_refused_when_first_used(db: Database) -> None:
    in_list = Prepared(select(CASES.c.id).where(CASES.c.survey.in_(["uss", "vcas_exit"])))
    # Interview.public_id has a Python-side default that only Connection.execute computes.
    no_default = Prepared(insert(INTERVIEWS), column_keys=["case_id"])
    with db.engine.connect() as conn:
        with pytest.raises(ValueError, match="one comparison per value"):
            in_list.all(conn, {})
        with pytest.raises(ValueError, match="public_id"):
            no_default.execute(conn, {"case_id": 1})
