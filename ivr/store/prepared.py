"""Core statements compiled once per dialect and run on the driver's cursor.

A webhook turn runs four short statements. Through ``Connection.execute`` each one pays for
an execution context, parameter processing set-up and a result wrapper, which together cost
more than SQLite takes to run it. A :class:`Prepared` statement keeps SQLAlchemy as the one
source of the SQL and of the type conversions (the dialect's own bind and result
processors), and only skips that per-call machinery. Driver errors come back as
SQLAlchemy's exceptions, so callers catch ``sqlalchemy.exc.IntegrityError`` as usual.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable
from sqlalchemy.sql.selectable import SelectBase

Processor = Callable[[Any], Any]

#: Key in a pooled connection's info meaning "each statement commits on its own" (sqlite3
#: in autocommit mode, psycopg with autocommit on), so there is no transaction to begin.
AUTOCOMMIT = "ivr_autocommit"


class _Compiled:
    """One statement's SQL, parameter order and type processors for one dialect."""

    def __init__(self, statement: Any, dialect: Dialect, column_keys: Sequence[str] | None):
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        # Python-side column defaults are computed by Connection.execute, which this skips:
        # every column an INSERT or UPDATE writes must come from the caller.
        prefetched = [
            c.key
            for c in (*compiled.insert_prefetch, *compiled.update_prefetch)
            if c.key not in (column_keys or ())
        ]
        if prefetched:
            raise ValueError(
                f"pass {', '.join(prefetched)} explicitly: a prepared statement "
                "does not compute Python-side defaults"
            )
        self.sql: str = compiled.string
        if "POSTCOMPILE" in self.sql:
            raise ValueError(
                "an IN over a list is rendered per call; a prepared statement "
                "needs one comparison per value instead"
            )
        binds = compiled.binds
        # Positional drivers (sqlite3's "?") take a tuple in this order; named ones
        # (psycopg's "%(name)s") take the dict.
        self.order: Sequence[str] | None = compiled.positiontup
        # Values written into the statement itself, such as the 0 in ``step_no == 0``.
        self.fixed = {
            name: bind.effective_value for name, bind in binds.items() if not bind.required
        }
        self.binders: list[tuple[str, Processor]] = []
        for name, bind in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.binders.append((name, processor))
        self.readers: list[Processor | None] = []
        if isinstance(statement, SelectBase):
            self.readers = [
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            ]
        self.reads_anything = any(r is not None for r in self.readers)

    def parameters(self, values: Mapping[str, Any]) -> Any:
        if self.fixed:
            values = {**self.fixed, **values}
        if self.binders:
            values = dict(values)
            for name, processor in self.binders:
                if name in values:
                    values[name] = processor(values[name])
        if self.order is not None:
            return tuple(values[name] for name in self.order)
        return values

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.reads_anything:
            return tuple(raw)
        return tuple(
            value if reader is None or value is None else reader(value)
            for reader, value in zip(self.readers, raw, strict=True)
        )


class Prepared:
    """A Core statement run straight on the DBAPI cursor of a SQLAlchemy connection.

    ``column_keys`` names the columns an INSERT or UPDATE without explicit ``values`` sets,
    as ``Connection.execute`` would infer them from the parameters.
    """

    def __init__(self, statement: Executable, column_keys: Iterable[str] | None = None):
        self.statement = statement
        self.column_keys = list(column_keys) if column_keys is not None else None
        self._by_dialect: dict[int, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(id(dialect))
        if compiled is None:
            compiled = _Compiled(self.statement, dialect, self.column_keys)
            self._by_dialect[id(dialect)] = compiled
        return compiled

    def _run(self, conn: Connection, compiled: _Compiled, values: Any, many: bool) -> Any:
        # The connection's transaction begins as Connection.execute would begin it, so that
        # commit, rollback and the SQLite BEGIN IMMEDIATE hook work exactly as usual; in
        # autocommit there is nothing to begin, and SQLAlchemy's bookkeeping is skipped.
        if not conn.in_transaction() and not conn.info.get(AUTOCOMMIT):
            conn.begin()
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if many:
                cursor.executemany(compiled.sql, [compiled.parameters(v) for v in values])
            else:
                cursor.execute(compiled.sql, compiled.parameters(values))
        except conn.dialect.loaded_dbapi.Error as exc:
            cursor.close()
            if conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor):
                conn.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql, values, exc, conn.dialect.loaded_dbapi.Error
            ) from exc
        return cursor

    def first(self, conn: Connection, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row of a SELECT (or of an INSERT's RETURNING), converted as SQLAlchemy
        would, or None."""
        compiled = self._compiled(conn.dialect)
        cursor = self._run(conn, compiled, values, many=False)
        try:
            raw = cursor.fetchone()
        finally:
            cursor.close()
        return None if raw is None else compiled.row(raw)

    def all(self, conn: Connection, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of a SELECT, converted as SQLAlchemy would."""
        compiled = self._compiled(conn.dialect)
        cursor = self._run(conn, compiled, values, many=False)
        try:
            return [compiled.row(raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> int:
        """Run an INSERT, UPDATE or DELETE; return how many rows it matched."""
        cursor = self._run(conn, self._compiled(conn.dialect), values, many=False)
        count: int = cursor.rowcount
        cursor.close()
        return count

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row, in one executemany."""
        cursor = self._run(conn, self._compiled(conn.dialect), rows, many=True)
        cursor.close()
