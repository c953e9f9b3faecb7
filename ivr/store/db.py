"""Database engine, sessions and schema upgrades (the only place that makes engines)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    RootTransaction,
    create_engine,
    event,
    func,
    literal,
    select,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ivr.store.sealing import CLEAR, DIALECT_ATTRIBUTE, Keyring

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)

#: Seconds a pooled PostgreSQL connection is reused before being replaced. Pre-ping would
#: cost a round trip on every checkout, i.e. on every webhook; recycling bounds how stale
#: a connection can get, and a dead one is invalidated by the error it raises.
POOL_RECYCLE_SECONDS = 1800


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; NORMAL sync is durable across app
    # crashes (not power loss), which is the embedded default's trade-off.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # Take the write lock when a transaction begins: a turn reads then writes, and a
    # deferred transaction that read an older snapshot could not upgrade to a writer.
    dbapi_connection.isolation_level = None


#: Execution option of a connection from Database.reading: its statements run alone.
READING = "ivr_reading"


#: Execution option of a connection from Database.snapshot: one transaction that only reads.
SNAPSHOT = "ivr_snapshot"
#: What PostgreSQL's pg_export_snapshot() returns, e.g. 00000003-0000001B-1.
SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")


def _sqlite_begin(conn: Connection) -> None:
    # SQLAlchemy's documented recipe for SQLite transactions, with IMMEDIATE: the write lock
    # is taken at BEGIN. A connection that only reads (Database.reading) begins nothing,
    # so each of its statements runs alone and takes no lock; a snapshot begins DEFERRED,
    # which reads one state of the database (WAL) and never takes the write lock.
    options = conn.get_execution_options()
    if options.get(SNAPSHOT):
        conn.exec_driver_sql("BEGIN DEFERRED")
    elif not options.get(READING):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _json_text(value: Any) -> str:
    # orjson writes the same JSON as json.dumps several times faster, and every webhook
    # turn saves the interview's state; non-str keys are kept as json.dumps keeps them.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


JSON_OPTIONS: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def make_engine(url: str, keyring: Keyring = CLEAR) -> Engine:
    """An engine for ``url`` with the settings each backend needs, sealing personal data
    with ``keyring`` (in clear without a key)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **JSON_OPTIONS)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = create_engine(
            url, pool_recycle=POOL_RECYCLE_SECONDS, pool_size=10, max_overflow=10, **JSON_OPTIONS
        )
    # Each engine has its own dialect: the sealed column types find this database's keys
    # there, so databases with different keys (or none) can share one process.
    setattr(engine.dialect, DIALECT_ATTRIBUTE, keyring)
    return engine


class Database:
    """An engine plus its session factory, and the ways to work with them.

    One unit of work is one transaction: :meth:`transaction` (an ORM session) or
    :meth:`begin` (a Core connection); a webhook reads with :meth:`reading` and, when it
    must, writes with :meth:`writing` on the same connection. Nothing outside the store
    touches the engine.
    """

    def __init__(self, url: str, keyring: Keyring = CLEAR):
        self.url = url
        self.keyring = keyring
        self.engine = make_engine(url, keyring)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._sqlite = self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A Core connection inside one transaction: committed on success, rolled back on
        error (the store's functions take it)."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A Core connection outside any transaction: each statement commits on its own.

        A read there takes no lock, and on PostgreSQL costs no BEGIN and COMMIT round
        trips; :meth:`writing` then makes the same connection one transaction.
        """
        with self.engine.connect() as conn:
            if self._sqlite:
                # Changing SQLite's isolation level costs a PRAGMA each way: the begin
                # recipe skips BEGIN for these connections instead.
                conn.execution_options(**{READING: True})
            else:
                conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    @contextmanager
    def snapshot(self, *, work_mem: str | None = None, jit: bool = True) -> Iterator[Connection]:
        """A Core connection inside one transaction that only reads and sees the database
        as it was at its first statement: a report's figures all from one moment, an
        export's rows streamed from a cursor, without holding SQLite's write lock.

        On PostgreSQL it is READ ONLY, REPEATABLE READ; ``work_mem`` (e.g. ``"64MB"``)
        gives each of its sorts and hashes that much memory, and ``jit=False`` turns JIT
        compilation off, for this transaction only.
        """
        settings = {
            **({} if work_mem is None else {"work_mem": work_mem}),
            **({} if jit else {"jit": "off"}),
        }
        with self.engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(**{SNAPSHOT: True})
                with conn.begin():
                    yield conn
                return
            with self._read_only(conn, settings):
                conn.info[SNAPSHOT] = settings
                try:
                    yield conn
                finally:
                    conn.info.pop(SNAPSHOT, None)

    @contextmanager
    def alongside(self, conn: Connection) -> Iterator[Connection | None]:
        """A second connection that sees exactly what ``conn`` (a :meth:`snapshot`) sees,
        with its settings, so that a report's statements can run two at a time on two
        server processes; None on SQLite, where a second reader of the one file would
        gain nothing."""
        if self._sqlite:
            yield None
            return
        exported = conn.execute(select(func.pg_export_snapshot())).scalar_one()
        if not SNAPSHOT_ID.fullmatch(exported):
            raise RuntimeError(f"unexpected snapshot id from the server: {exported!r}")
        # SET TRANSACTION SNAPSHOT must be the transaction's first statement and takes no
        # bound parameter; the id is the server's own, checked above.
        with (
            self.engine.connect() as other,
            self._read_only(other, conn.info.get(SNAPSHOT, {}), f"'{exported}'"),
        ):
            yield other

    @contextmanager
    def _read_only(
        self, conn: Connection, settings: dict[str, str], snapshot: str | None = None
    ) -> Iterator[None]:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            if snapshot is not None:
                conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT {snapshot}")
            if settings:
                # set_config(..., true) is SET LOCAL: it ends with the transaction.
                conn.execute(select(*(func.set_config(k, v, True) for k, v in settings.items())))
            yield

    def answers(self) -> bool:
        """Whether the database takes a connection and answers a trivial query (a health
        check); False when it does not, whatever the reason."""
        try:
            with self.reading() as conn:
                conn.execute(select(literal(1)))
        except SQLAlchemyError as exc:
            log.warning("the database does not answer (%s)", type(exc).__name__)
            return False
        return True

    def writing(self, conn: Connection) -> RootTransaction:
        """Start one transaction on a connection from :meth:`reading`, to use in ``with``.

        On SQLite it begins IMMEDIATE, so it holds the write lock from its first read.
        """
        if conn.in_transaction():
            # Ends the no-op transaction SQLAlchemy opened around lone reads made through
            # Connection.execute: changing the isolation level is refused while one is open.
            conn.rollback()
        if self._sqlite:
            conn.execution_options(**{READING: False})
        else:
            conn.execution_options(isolation_level=self.engine.dialect.default_isolation_level)
        return conn.begin()

    def schema_problem(self) -> str | None:
        """What is wrong with the database's schema for this version of the code, or None:
        no tables yet, some missing, or migrations not yet applied."""
        from sqlalchemy import inspect, text

        from ivr.store.models import Base

        with self.engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            current = None
            if "alembic_version" in present:
                current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current is not None:
            head = schema_head()
            if current != head:
                return f"the database schema is at revision {current}, not {head}"
        missing = sorted(set(Base.metadata.tables) - present)
        if len(missing) == len(Base.metadata.tables):
            return "the database has no tables yet"
        if missing:
            return f"the database has no table {', '.join(missing)}"
        return None

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` with Alembic."""
        from alembic import command

        config = alembic_config(self.url)
        # Migrations that hash numbers hash them as this database's keyring does.
        config.attributes["keyring"] = self.keyring
        command.upgrade(config, revision)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


_REVISION = re.compile(r'^revision = "(\w+)"$', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision = (?:"(\w+)"|None)$', re.MULTILINE)


@lru_cache(maxsize=1)
def schema_head() -> str:
    """The newest migration's revision, read from the migration files as written.

    Every command checks the database is at this revision before it runs; asking Alembic
    would import it and every migration (about half a second) each time. Anything but one
    straight line of revisions is left to Alembic itself.
    """
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return _alembic_head()
        revisions.add(revision[1])
        if down[1] is not None:
            parents.add(down[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "the migrations have no head"
    return head


def alembic_config(url: str) -> Any:
    """An Alembic config pointing at our migrations and ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config
