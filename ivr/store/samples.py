"""The sample importer's SQL: the case columns a sample fills, the case_refs a survey has,
and adding a sample's cases with their schedules."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ARRAY,
    JSON,
    Column,
    ColumnElement,
    Connection,
    Dialect,
    Table,
    any_,
    bindparam,
    func,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ivr.store.campaigns import add_missing_schedules
from ivr.store.models import Base
from ivr.store.sealing import SealedJSON, SealedText, keyring_of

_CASES: Table = Base.metadata.tables["cases"]

#: SQLite's page cache while a sample is inserted (KiB): 100,000 cases take about 40 MB.
INSERT_CACHE_KIB = 256 * 1024


class CaseColumn(NamedTuple):
    """What a case column holds: its Python type, and its longest text (0: no limit)."""

    python_type: type
    length: int


def _case_column(column: Column[Any]) -> CaseColumn:
    return CaseColumn(column.type.python_type, getattr(column.type, "length", None) or 0)


#: Case columns that hold a case field of the same name; other fields go in ``fields``.
FIXED_CASE_COLUMNS: dict[str, CaseColumn] = {
    column.name: _case_column(column)
    for column in _CASES.columns
    if column.name
    not in {"id", "survey", "case_ref", "phone", "phone_hash", "fields", "imported_at"}
}
#: The longest case_ref a case can have (0: no limit).
CASE_REF_LENGTH: int = getattr(_CASES.c.case_ref.type, "length", None) or 0


def imported_case_refs(session: Session, survey: str, refs: Collection[str]) -> set[str]:
    """Which of ``refs`` the survey already has, in one query however many there are."""
    c = _CASES.c
    # Flushing the caller's pending objects here would touch its transaction.
    with session.no_autoflush:
        wanted = _one_of(c.case_ref, refs, session.get_bind().dialect)
        return set(session.scalars(select(c.case_ref).where(c.survey == survey, wanted)))


def _one_of(column: Column[str], values: Collection[str], dialect: Dialect) -> ColumnElement[bool]:
    """``column`` is one of ``values``, all sent as one parameter (an array, or a JSON list
    on SQLite): one statement for a whole sample, where an IN list would need one per
    few hundred values and PostgreSQL would plan each of them."""
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    listed = func.json_each(bindparam(None, list(values), type_=JSON)).table_valued("value")
    return column.in_(select(listed.c.value))


def add_cases(
    session: Session, survey: str, records: list[dict[str, Any]], imported_at: datetime
) -> None:
    """Add a sample's cases in bulk (every record has the same keys), then give each a
    schedule, which the campaign's scheduler plans.

    A record without ``phone_hash`` gets its number's hash, as the column default would.
    """
    conn = session.connection()
    if records:
        names, rows = _stored_rows(conn.dialect, records)
        if conn.dialect.name == "postgresql":
            _copy_cases(conn, names, rows)
        else:
            _insert_cases(conn, names, rows)
    add_missing_schedules(conn, survey, imported_at)


def _stored_rows(
    dialect: Dialect, records: list[dict[str, Any]]
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The case columns and each record's values as the driver takes them: sealed,
    hashed and serialised by the columns' own types, exactly as an ORM or Core insert
    would store them. Column by column: a large sample's rows are handed to the driver
    without SQLAlchemy's per-row bookkeeping, which took longer than the database."""
    names = list(records[0])
    columns: list[list[Any]] = []
    for name in names:
        values = [record[name] for record in records]
        column_type = _CASES.c[name].type
        process = column_type.dialect_impl(dialect).bind_processor(dialect)
        if process is None:
            columns.append(values)
        elif isinstance(column_type, SealedText | SealedJSON | JSON):
            # Sealed anew each time (a fresh nonce: equal numbers must not look equal at
            # rest), or a dict, which cannot be a key below.
            columns.append([process(v) for v in values])
        else:
            # Dates and times: the same value is stored the same way, converted once.
            stored: dict[Any, Any] = {}
            columns.append(
                [stored[v] if v in stored else stored.setdefault(v, process(v)) for v in values]
            )
    if "phone_hash" not in names:
        keyring = keyring_of(dialect)
        hashes: dict[str, str] = {}
        names.append("phone_hash")
        columns.append(
            [
                hashes.get(phone) or hashes.setdefault(phone, keyring.phone_hash(phone))
                for phone in (record["phone"] for record in records)
            ]
        )
    return names, list(zip(*columns, strict=True))


def _insert_cases(conn: Connection, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    """SQLite: one executemany on the driver, with a page cache that holds the new rows.

    With the default cache (2 MB) a large sample's pages, spread across the case_ref and
    phone_hash indexes, spill to the write-ahead log before the commit: more than half
    the time of the insert. The cache is per connection, so it is put back afterwards.
    """
    preparer = conn.dialect.identifier_preparer
    statement = (
        f"INSERT INTO {preparer.format_table(_CASES)} "
        f"({', '.join(preparer.quote(name) for name in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})"
    )
    cache = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = {-INSERT_CACHE_KIB}")
    try:
        conn.exec_driver_sql(statement, rows)
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(cache)}")


def _copy_cases(conn: Connection, names: list[str], rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: COPY, which takes a large sample several times faster than an
    executemany of INSERTs, in the session's own transaction."""
    preparer = conn.dialect.identifier_preparer
    statement = (
        f"COPY {preparer.format_table(_CASES)} "
        f"({', '.join(preparer.quote(name) for name in names)}) FROM STDIN"
    )
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the session's connection is closed")
    dbapi = conn.dialect.loaded_dbapi
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as exc:
        # Raised as SQLAlchemy raises a driver's error for its own statements, so the
        # caller tells a duplicate (IntegrityError) from any other refusal as it would
        # for an INSERT.
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


def held_phones(session: Session, survey: str, phones: Sequence[str]) -> set[str]:
    """Which of ``phones`` (E.164) a case of ``survey`` already has, found by their keyed
    hashes (the numbers themselves are sealed)."""
    dialect = session.get_bind().dialect
    keyring = keyring_of(dialect)
    phone_of_hash = {h: phone for phone in set(phones) for h in keyring.phone_hashes(phone)}
    c = _CASES.c
    with session.no_autoflush:
        found = session.scalars(
            select(c.phone_hash).where(
                c.survey == survey, _one_of(c.phone_hash, phone_of_hash, dialect)
            )
        )
        return {phone_of_hash[h] for h in found}


def case_refs_starting(session: Session, survey: str, prefix: str) -> list[str]:
    """The survey's case_refs that begin with ``prefix`` (for numbering new ones)."""
    c = _CASES.c
    # LIKE's wildcards in the prefix are escaped: an area's initials are letters, but
    # a survey id may hold an underscore.
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    with session.no_autoflush:
        return list(
            session.scalars(
                select(c.case_ref).where(
                    c.survey == survey, c.case_ref.like(escaped + "%", escape="\\")
                )
            )
        )
