"""``ivr keys rotate``'s SQL: every sealed value resealed under the primary key, every
phone hash recomputed under it, a batch of rows per transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    Table,
    TableClause,
    column,
    delete,
    select,
    table,
    tuple_,
    update,
)

from ivr.store.db import Database
from ivr.store.models import Base
from ivr.store.sealing import Keyring, SealedJSON, SealedText

#: Rows read and rewritten per transaction: short enough not to hold locks for long.
BATCH = 500


@dataclass
class Rotated:
    """What rotation changed in one table."""

    rows: int = 0
    resealed: int = 0
    rehashed: int = 0


def _sealed_columns(source: Table) -> list[str]:
    return [c.name for c in source.columns if isinstance(c.type, SealedText | SealedJSON)]


def sealed_tables() -> list[Table]:
    """The tables with a sealed column, in a fixed order."""
    return [t for t in Base.metadata.sorted_tables if _sealed_columns(t)]


def rotate(db: Database, batch: int = BATCH) -> dict[str, Rotated]:
    """Reseal every value not sealed under ``db``'s primary key (or, without one, open it
    into clear) and recompute every phone hash, table by table; running it again changes
    nothing. SealingError if a value was sealed under a key that is not configured."""
    return {
        source.name: _TableRotation(db.keyring, source).run(db, batch) for source in sealed_tables()
    }


class _TableRotation:
    def __init__(self, keyring: Keyring, source: Table):
        self.keyring = keyring
        self.names = _sealed_columns(source)
        self.hashed = "phone_hash" in source.columns
        self.keys = [k.name for k in source.primary_key.columns]
        # Untyped columns: the values as stored, not opened by the sealed types.
        self.raw: TableClause = table(
            source.name,
            *(column(k.name, k.type) for k in source.primary_key.columns),
            *(column(n) for n in self.names),
            *([column("phone_hash")] if self.hashed else []),
        )
        self.done = Rotated()

    def run(self, db: Database, batch: int) -> Rotated:
        key = tuple_(*(self.raw.c[k] for k in self.keys))
        last = None
        while True:
            with db.begin() as conn:
                query = select(*self.raw.c).order_by(*(self.raw.c[k] for k in self.keys))
                if last is not None:
                    query = query.where(key > tuple_(*last))
                rows = conn.execute(query.limit(batch)).mappings().all()
                for row in rows:
                    self._row(conn, row)
            if not rows:
                return self.done
            last = [rows[-1][k] for k in self.keys]

    def _row(self, conn: Connection, row: RowMapping) -> None:
        self.done.rows += 1
        changes: dict[str, Any] = {}
        for name in self.names:
            stored = row[name]
            if stored is not None and not self.keyring.is_current(stored):
                changes[name] = self.keyring.seal(self.keyring.open(stored))
                self.done.resealed += 1
        if self.hashed:
            phone = self.keyring.open(row["phone"] or "")
            # An erased case has no number and no hash: it stays found by none.
            wanted = self.keyring.phone_hash(phone) if phone else ""
            if wanted != row["phone_hash"]:
                changes["phone_hash"] = wanted
                self.done.rehashed += 1
        if not changes:
            return
        this = [self.raw.c[k] == row[k] for k in self.keys]
        hashes = self.raw.c.get("phone_hash")
        if (
            self.keys == ["phone_hash"]
            and hashes is not None
            and conn.scalar(select(hashes).where(hashes == changes.get("phone_hash")))
        ):
            # The number is listed twice (added again under a newer key): keep one entry.
            conn.execute(delete(self.raw).where(*this))
            return
        conn.execute(update(self.raw).where(*this).values(**changes))
