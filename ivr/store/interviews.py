"""Reading and writing what starts an interview: questionnaire versions, cases, call attempts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple, cast
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Table,
    bindparam,
    exists,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from ivr.questionnaire.loader import LoadedQuestionnaire, parse_questionnaire
from ivr.questionnaire.schema import Questionnaire
from ivr.store.models import Base, CallAttempt, case_field_values, public_id, utcnow
from ivr.store.sealing import keyring_of
from ivr.store.statuses import CLOSED_INTERVIEW

_VERSIONS: Table = Base.metadata.tables["questionnaire_versions"]
_CASES: Table = Base.metadata.tables["cases"]
_INTERVIEWS: Table = Base.metadata.tables["interviews"]
_ATTEMPTS: Table = Base.metadata.tables["call_attempts"]

_VERSION_ID = select(_VERSIONS.c.id).where(
    _VERSIONS.c.survey == bindparam("survey"), _VERSIONS.c.sha256 == bindparam("sha256")
)
_ADD_VERSION = insert(_VERSIONS)
# Stored unless a row with the same text is there, and the id either way (PostgreSQL): a
# conflicting row is not returned by the INSERT, so the read of the table beside it
# finds it.
_STORED_VERSION = (
    pg_insert(_VERSIONS)
    .values(
        survey=bindparam("survey"),
        version=bindparam("version"),
        sha256=bindparam("sha256"),
        source=bindparam("source"),
        loaded_at=bindparam("loaded_at", type_=_VERSIONS.c.loaded_at.type),
    )
    .on_conflict_do_nothing(index_elements=[_VERSIONS.c.survey, _VERSIONS.c.sha256])
    .returning(_VERSIONS.c.id)
    .cte("stored")
)
_PIN_VERSION = union_all(select(_STORED_VERSION.c.id), _VERSION_ID).limit(1)
_VERSION_SOURCE = select(_VERSIONS.c.survey, _VERSIONS.c.version, _VERSIONS.c.source).where(
    _VERSIONS.c.id == bindparam("version_id")
)
CASE_FACTS = (
    _CASES.c.id,
    _CASES.c.survey,
    _CASES.c.district,
    _CASES.c.first_name,
    _CASES.c.crime_type,
    _CASES.c.reported_on,
    _CASES.c.fields,
)
_CLOSED = exists().where(
    _INTERVIEWS.c.case_id == _CASES.c.id,
    or_(*(_INTERVIEWS.c.status == status for status in CLOSED_INTERVIEW)),
)
# Every open case with the number, newest first; the caller keeps the first whose survey
# is loaded (one number rarely has more than a case or two, and a fixed statement can be
# prepared where a list of surveys could not).
_OPEN_CASES_FOR_PHONE = (
    select(*CASE_FACTS)
    .where(_CASES.c.phone_hash.in_(bindparam("hashes", expanding=True)), ~_CLOSED)
    .order_by(_CASES.c.imported_at.desc(), _CASES.c.id.desc())
)
_CASE = select(*CASE_FACTS).where(_CASES.c.id == bindparam("case_id"))
_ATTEMPT_BY_PUBLIC_ID = select(_ATTEMPTS.c.id, _ATTEMPTS.c.case_id).where(
    _ATTEMPTS.c.public_id == bindparam("public_id")
)
_ADD_ATTEMPT = insert(_ATTEMPTS)
_START_ATTEMPT = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    .values(
        interview_id=bindparam("new_interview_id", type_=_ATTEMPTS.c.interview_id.type),
        call_sid=bindparam("new_call_sid", type_=_ATTEMPTS.c.call_sid.type),
        status="in-progress",
        updated_at=bindparam("now", type_=_ATTEMPTS.c.updated_at.type),
    )
)

_SET_LANGUAGE = (
    update(_INTERVIEWS)
    .where(_INTERVIEWS.c.id == bindparam("interview_id"))
    .values(language=bindparam("new_language", type_=_INTERVIEWS.c.language.type))
)

# Caches per engine, so that two databases in one process (tests, tools) never mix up
# their row ids. A stored version's text never changes, so an entry stays right.
_PINNED: WeakKeyDictionary[Engine, dict[int, Questionnaire]] = WeakKeyDictionary()
_VERSION_IDS: WeakKeyDictionary[Engine, dict[tuple[str, str], int]] = WeakKeyDictionary()


class CaseFacts(NamedTuple):
    """What starting an interview needs of a case, read without the ORM's instance set-up."""

    id: int
    survey: str
    district: str | None
    first_name: str | None
    crime_type: str | None
    reported_on: date | None
    fields: dict[str, Any] | None

    def field_values(self) -> dict[str, Any]:
        """Every case field by name, as the questionnaire's prompts and conditions see them."""
        return case_field_values(self)


class AttemptRef(NamedTuple):
    """An outbound call attempt as the call's first webhook finds it."""

    id: int
    case_id: int | None


def _engine(bind: Session | Connection) -> Engine:
    if isinstance(bind, Connection):
        return bind.engine
    engine = bind.get_bind()
    return engine if isinstance(engine, Engine) else engine.engine


def _autocommit(bind: Session | Connection) -> bool:
    """Whether each statement on ``bind`` commits on its own (see Database.reading)."""
    return (
        isinstance(bind, Connection)
        and bind.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    )


def pin_version(bind: Session | Connection, loaded: LoadedQuestionnaire) -> int:
    """The id of the stored copy of this exact questionnaire text, storing it if new."""
    q = loaded.questionnaire
    engine = _engine(bind)
    ids = _VERSION_IDS.setdefault(engine, {})
    key = (q.id, loaded.sha256)
    version_id = ids.get(key)
    if version_id is not None:
        return version_id
    if isinstance(bind, Connection) and _autocommit(bind) and bind.dialect.name == "postgresql":
        # A call's first webhook runs outside any transaction: found or stored in one
        # statement, so the process's first call costs one round trip more, not two.
        found = bind.execute(_PIN_VERSION, _version_values(loaded)).first()
        if found is not None:
            ids[key] = version_id = int(found[0])
            _PINNED.setdefault(engine, {}).setdefault(version_id, q)
            return version_id
        # Another request stored it meanwhile: its row was committed after this
        # statement's snapshot was taken, so the read below finds it.
    version_id = bind.execute(_VERSION_ID, {"survey": q.id, "sha256": loaded.sha256}).scalar()
    if version_id is None:
        result = cast(
            CursorResult[Any],
            bind.execute(_ADD_VERSION, _version_values(loaded)),
        )
        assert result.inserted_primary_key is not None
        version_id = int(result.inserted_primary_key[0])
        if _autocommit(bind):
            ids[key] = version_id
    else:
        # Only a row found by a read (or written by a connection outside any transaction,
        # above) is sure to outlive this transaction; a new row's id is remembered once a
        # later interview finds it.
        ids[key] = version_id
    _PINNED.setdefault(engine, {}).setdefault(version_id, q)
    return int(version_id)


def _version_values(loaded: LoadedQuestionnaire) -> dict[str, Any]:
    q = loaded.questionnaire
    return {
        "survey": q.id,
        "version": q.version,
        "sha256": loaded.sha256,
        "source": loaded.source,
        "loaded_at": utcnow(),
    }


def pinned_questionnaire(bind: Session | Connection, version_id: int) -> Questionnaire:
    """The questionnaire an interview pinned, parsed once per process from the stored text."""
    pinned = _PINNED.setdefault(_engine(bind), {})
    q = pinned.get(version_id)
    if q is None:
        row = bind.execute(_VERSION_SOURCE, {"version_id": version_id}).first()
        if row is None:
            raise LookupError(f"questionnaire version {version_id} is not stored")
        q = parse_questionnaire(
            row.source, f"<stored {row.survey} {row.version}>", checked=False
        ).questionnaire
        pinned[version_id] = q
    return q


def open_case_for_phone(conn: Connection, phone: str, surveys: list[str]) -> CaseFacts | None:
    """The newest case with this number whose survey is still to be done."""
    hashes = keyring_of(conn.dialect).phone_hashes(phone)
    for row in conn.execute(_OPEN_CASES_FOR_PHONE, {"hashes": hashes}).all():
        case = CaseFacts(*row)
        if case.survey in surveys:
            return case
    return None


def case_by_id(conn: Connection, case_id: int) -> CaseFacts | None:
    """A case by row id."""
    row = conn.execute(_CASE, {"case_id": case_id}).first()
    return None if row is None else CaseFacts(*row)


def attempt_for_call(conn: Connection, attempt_public_id: str) -> AttemptRef | None:
    """An outbound call attempt by the id carried in its Voice URL."""
    row = conn.execute(_ATTEMPT_BY_PUBLIC_ID, {"public_id": attempt_public_id}).first()
    return None if row is None else AttemptRef(*row)


def add_inbound_attempt(
    conn: Connection, *, case_id: int, call_sid: str, interview_id: int, now: datetime
) -> None:
    """Record an inbound call that started an interview."""
    conn.execute(
        _ADD_ATTEMPT,
        {
            "public_id": public_id(),
            "case_id": case_id,
            "interview_id": interview_id,
            "call_sid": call_sid,
            "direction": "inbound",
            "status": "in-progress",
            "created_at": now,
            "updated_at": now,
        },
    )


def start_attempt(
    conn: Connection, attempt_id: int, *, call_sid: str, interview_id: int, now: datetime
) -> None:
    """Mark an outbound attempt answered, carrying this call and interview."""
    conn.execute(
        _START_ATTEMPT,
        {
            "attempt_id": attempt_id,
            "new_interview_id": interview_id,
            "new_call_sid": call_sid,
            "now": now,
        },
    )


def attempt_by_public_id(session: Session, attempt_public_id: str) -> CallAttempt | None:
    """An outbound call attempt by the id carried in its Voice URL, in a session."""
    return session.scalars(
        select(CallAttempt).where(CallAttempt.public_id == attempt_public_id)
    ).first()


def set_interview_language(conn: Connection, interview_id: int, language: str | None) -> None:
    """Record the language an interview is now held in (the victim switched)."""
    conn.execute(_SET_LANGUAGE, {"interview_id": interview_id, "new_language": language})
