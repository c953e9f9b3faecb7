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
