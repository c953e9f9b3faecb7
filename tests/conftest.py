"""Shared fixtures: an app on a fresh database, the Twilio simulator, sample cases.

Functional tests run on SQLite and, through the ``any_db`` fixture, on PostgreSQL.
PostgreSQL and Redis tests skip locally when the service is down, but in CI
(``CI=true``) a missing service is a failure, never a skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

import ivr.questionnaire.registry
from ivr.app import create_app
from ivr.config import Settings
from ivr.jobs import InProcessQueue
from ivr.questionnaire.loader import LoadedQuestionnaire, parse_questionnaire
from ivr.store.db import Database
from ivr.store.models import Base, Case
from ivr.telephony.simulator import TwilioSimulator, WSGITransport

ROOT = Path(__file__).resolve().parent.parent

# A job that fails in-process fails the test that sent it, instead of hiding in a log.
InProcessQueue.raise_errors = True
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://ivr.example.test"
SURVEY_NUMBER = "+441134960999"
POSTGRES_URL = os.environ.get(
    "IVR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_SERVER = "redis://127.0.0.1:6379"
#: Redis databases a run may claim (0 is left alone: it is a server's usual default).
REDIS_DATABASES = range(1, 16)
#: How long a run's claim on a Redis database lasts if the run dies without releasing it.
REDIS_CLAIM_SECONDS = 3 * 3600


def _claimed_redis_url() -> str:
    """A Redis database of this run's own: the first of 1-15 no other run has claimed.

    The claim is a key in database 0, set only if absent and released at the end of the
    run, so two runs on one host never flush each other's data. Without Redis, the
    address is still returned; the tests that need it skip (or fail in CI) on it.
    """
    if os.environ.get("IVR_TEST_REDIS_URL"):
        return os.environ["IVR_TEST_REDIS_URL"]
    try:
        from redis import Redis

        server = Redis.from_url(f"{REDIS_SERVER}/0", socket_connect_timeout=1)
        for number in REDIS_DATABASES:
            if server.set(f"ivr-test-run:{number}", os.getpid(), nx=True, ex=REDIS_CLAIM_SECONDS):
                return f"{REDIS_SERVER}/{number}"
    except Exception:  # noqa: BLE001 - no Redis: the tests that need it say so
        pass
    return f"{REDIS_SERVER}/15"


REDIS_URL = _claimed_redis_url()
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_missing(what: str, error: Exception) -> None:
    """Skip locally, fail in CI, when a real service a test needs is not there."""
    message = f"{what} is not reachable: {error}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


_load_questionnaire_file = ivr.questionnaire.registry.load_file
_parsed_questionnaires: dict[tuple[str, str], LoadedQuestionnaire] = {}


def _load_questionnaire_file_once(path: str | Path) -> LoadedQuestionnaire:
    """The registry's ``load_file``, parsing each exact text of each file once per run."""
    try:
        source = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return _load_questionnaire_file(path)  # its error, worded as the product words it
    key = (str(path), source)
    if key not in _parsed_questionnaires:
        _parsed_questionnaires[key] = parse_questionnaire(source, str(path))
    return _parsed_questionnaires[key]


@pytest.fixture(scope="session", autouse=True)
def questionnaires_parsed_once() -> Iterator[None]:
    """Every app the suite builds (well over a thousand) shares the questionnaires parsed
    from the same file text: parsing and checking them is most of what building an app costs.

    Safe to share: a loaded questionnaire is immutable. Keyed by path and exact text, so a
    test that edits a file gets it parsed afresh, and a file with errors raises every time.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ivr.questionnaire.registry, "load_file", _load_questionnaire_file_once)
        yield


def make_settings(database_url: str, **changes: Any) -> Settings:
    """Settings for a test app: signed webhooks with the test token, bundled questionnaires."""
    return Settings(
        database_url=database_url,
        secret_key="test-secret",
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=AUTH_TOKEN,
        twilio_from_number=SURVEY_NUMBER,
        public_base_url=PUBLIC_BASE_URL,
        questionnaires_dir=ROOT / "questionnaires",
    ).but(**changes)


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL database of its own, dropped afterwards.

    Created beside the server's ``test`` database, so that two runs on one machine (or a
    run and a developer's tools) never share tables.
    """
    try:
        server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not there"
        service_missing("PostgreSQL", exc)
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with server.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        server.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this run's own, with the current schema, dropped at the end."""
    with throwaway_postgres("ivr_test") as url:
        Database(url).upgrade()
        yield url


#: Every sequence of the schema back to its start, as TRUNCATE ... RESTART IDENTITY would.
_RESTART_SEQUENCES = text(
    "select setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
    "from pg_sequences where schemaname = current_schema()"
)


def _empty_postgres(url: str) -> None:
    """Empty every table and restart every id, in one transaction.

    DELETE, not TRUNCATE: a test leaves a handful of rows, and TRUNCATE makes new files for
    every table and index and syncs them, close to a second per test on a busy machine.
    """
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            # Children before parents, so that no foreign key is left pointing at nothing.
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(_RESTART_SEQUENCES)
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database URL: SQLite, then PostgreSQL (emptied before the test)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Give back this run's Redis database."""
    if os.environ.get("IVR_TEST_REDIS_URL"):
        return
    try:
        from redis import Redis

        server = Redis.from_url(f"{REDIS_SERVER}/0", socket_connect_timeout=1)
        number = REDIS_URL.rsplit("/", 1)[-1]
        if server.get(f"ivr-test-run:{number}") == str(os.getpid()).encode():
            server.delete(f"ivr-test-run:{number}")
    except Exception:  # noqa: BLE001 - nothing to give back without Redis
        pass


@pytest.fixture
def redis() -> Iterator[Any]:
    """The test Redis database, emptied before and after the test."""
    from redis import Redis

    try:
        connection = Redis.from_url(REDIS_URL)
        connection.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means Redis is not there
        service_missing("Redis", exc)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture
def all_day_questionnaires(tmp_path: Path) -> Path:
    """The bundled questionnaires with calling windows open all day, every day: for tests
    of processes that read the real clock, which may run at night."""
    folder = tmp_path / "questionnaires"
    folder.mkdir()
    all_day = "".join(
        f"      {day}: ['00:00-23:59']\n"
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "bank_holiday")
    )
    for source in (ROOT / "questionnaires").glob("*.yaml"):
        text = source.read_text()
        assert "    windows:\n      bank_holiday: []\n" in text, source
        text = text.replace("    windows:\n      bank_holiday: []\n", "    windows:\n" + all_day)
        (folder / source.name).write_text(text)
    shutil.copytree(ROOT / "questionnaires" / "populations", folder / "populations")
    return folder


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> str:
    """The PostgreSQL test database, emptied before the test."""
    _empty_postgres(postgres_url)
    return postgres_url


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file holding the empty schema, made once for the run and copied per test."""
    path = tmp_path_factory.mktemp("schema") / "ivr.db"
    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    Base.metadata.create_all(engine)
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(sqlite_schema: Path, tmp_path: Path) -> str:
    """A fresh SQLite database with the schema: a copy of the run's empty one, which is the
    same file that creating the tables again would write, in a fraction of the time."""
    path = tmp_path / "ivr.db"
    shutil.copyfile(sqlite_schema, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    """The app on a fresh SQLite database."""
    app = create_app(make_settings(sqlite_url), queue=InProcessQueue())
    yield app
    app.extensions["ivr"].db.dispose()


@pytest.fixture
def app_any_db(any_db: str) -> Iterator[Flask]:
    """The app on a fresh SQLite and then a fresh PostgreSQL database."""
    app = create_app(make_settings(any_db), queue=InProcessQueue())
    yield app
    app.extensions["ivr"].db.dispose()


def simulator(app: Flask, *, repeat: bool = False, token: str = AUTH_TOKEN) -> TwilioSimulator:
    """A Twilio simulator calling ``app`` in-process."""
    return TwilioSimulator(
        WSGITransport(app),
        auth_token=token,
        public_base_url=PUBLIC_BASE_URL,
        repeat_requests=repeat,
    )


def add_case(app: Flask, **fields: Any) -> Case:
    """Store one USS case (defaults fill what the test does not care about)."""
    values: dict[str, Any] = {
        "survey": "uss",
        "case_ref": "CR/0001/26",
        "phone": "+441134960001",
        "first_name": "Alex",
        "crime_type": "burglary",
        "district": "Hartlepool",
        "reported_on": date(2026, 9, 14),
    }
    values.update(fields)
    with app.extensions["ivr"].db.transaction() as session:
        case = Case(**values)
        session.add(case)
    return case
