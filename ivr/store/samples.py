"""The sample importer's SQL: the case columns a sample fills, the case_refs a survey has,
and adding a sample's cases with their schedules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Column, Table, insert, select
from sqlalchemy.orm import Session

from ivr.store.campaigns import add_missing_schedules
from ivr.store.models import Base
from ivr.store.sealing import keyring_of

_CASES: Table = Base.metadata.tables["cases"]

#: Existing case_refs are looked up this many at a time: few round trips for a large
#: file, and well under SQLite's limit on bound parameters.
LOOKUP_CHUNK = 500


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


def imported_case_refs(session: Session, survey: str, refs: Sequence[str]) -> set[str]:
    """Which of ``refs`` the survey already has, asked a chunk at a time."""
    found: set[str] = set()
    c = _CASES.c
    # Flushing the caller's pending objects here would touch its transaction.
    with session.no_autoflush:
        for start in range(0, len(refs), LOOKUP_CHUNK):
            chunk = refs[start : start + LOOKUP_CHUNK]
            found.update(
                session.scalars(select(c.case_ref).where(c.survey == survey, c.case_ref.in_(chunk)))
            )
    return found


def add_cases(
    session: Session, survey: str, records: list[dict[str, Any]], imported_at: datetime
) -> None:
    """Add a sample's cases in one executemany (every record has the same keys), then give
    each a schedule, which the campaign's scheduler plans."""
    session.execute(insert(_CASES), records)
    add_missing_schedules(session.connection(), survey, imported_at)


def held_phones(session: Session, survey: str, phones: Sequence[str]) -> set[str]:
    """Which of ``phones`` (E.164) a case of ``survey`` already has, found by their keyed
    hashes (the numbers themselves are sealed), a chunk at a time."""
    keyring = keyring_of(session.get_bind().dialect)
    phone_of_hash = {h: phone for phone in set(phones) for h in keyring.phone_hashes(phone)}
    wanted = list(phone_of_hash)
    c = _CASES.c
    found: set[str] = set()
    with session.no_autoflush:
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            found.update(
                session.scalars(
                    select(c.phone_hash).where(c.survey == survey, c.phone_hash.in_(chunk))
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
