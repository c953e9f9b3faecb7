"""The stored questionnaire versions of a survey, and how many interviews pinned each."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, case, func, select

from ivr.engine.model import Status
from ivr.store.models import Interview, QuestionnaireVersion


class VersionInUse(NamedTuple):
    """A stored version with the interviews pinned to it, still running and ended."""

    id: int
    version: str
    sha256: str
    first_seen: datetime
    in_progress: int
    ended: int


class StoredVersion(NamedTuple):
    """A stored version's exact text."""

    id: int
    survey: str
    version: str
    sha256: str
    source: str
    first_seen: datetime


def versions_in_use(conn: Connection, survey: str) -> list[VersionInUse]:
    """Every stored version of a survey, newest first, with its interviews counted."""
    running = Interview.status == Status.IN_PROGRESS.value
    query = (
        select(
            QuestionnaireVersion.id,
            QuestionnaireVersion.version,
            QuestionnaireVersion.sha256,
            QuestionnaireVersion.loaded_at,
            func.count(case((running, Interview.id))),
            func.count(case((~running, Interview.id))),
        )
        .outerjoin(Interview, Interview.questionnaire_version_id == QuestionnaireVersion.id)
        .where(QuestionnaireVersion.survey == survey)
        .group_by(
            QuestionnaireVersion.id,
            QuestionnaireVersion.version,
            QuestionnaireVersion.sha256,
            QuestionnaireVersion.loaded_at,
        )
        .order_by(QuestionnaireVersion.loaded_at.desc(), QuestionnaireVersion.id.desc())
    )
    return [VersionInUse(*row) for row in conn.execute(query)]


def stored_version(conn: Connection, survey: str, version_id: int) -> StoredVersion | None:
    """One stored version of a survey by id; None if the survey has no such version."""
    row = conn.execute(
        select(
            QuestionnaireVersion.id,
            QuestionnaireVersion.survey,
            QuestionnaireVersion.version,
            QuestionnaireVersion.sha256,
            QuestionnaireVersion.source,
            QuestionnaireVersion.loaded_at,
        ).where(QuestionnaireVersion.id == version_id, QuestionnaireVersion.survey == survey)
    ).first()
    return None if row is None else StoredVersion(*row)


def version_texts(conn: Connection, survey: str, version: str) -> list[str]:
    """The sha256 of each stored text of a survey that carries this version string."""
    return list(
        conn.scalars(
            select(QuestionnaireVersion.sha256).where(
                QuestionnaireVersion.survey == survey, QuestionnaireVersion.version == version
            )
        )
    )
