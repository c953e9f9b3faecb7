"""Every moment the store keeps comes back as the same instant, in UTC, on both backends:
a London summer time is not read back an hour out, and a zone-less time is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import StatementError

from ivr.store.db import Database
from ivr.store.models import DoNotCall
from ivr.store.sealing import CLEAR

LONDON = ZoneInfo("Europe/London")


def test_a_london_summer_time_comes_back_as_the_same_instant_in_utc(any_db: str) -> None:
    db = Database(any_db)
    added = datetime(2026, 7, 1, 9, 30, tzinfo=LONDON)  # 08:30 UTC
    with db.transaction() as session:
        session.add(DoNotCall(phone="+447700900123", reason="asked", source="test", added_at=added))
    with db.transaction() as session:
        kept = session.get(DoNotCall, CLEAR.phone_hash("+447700900123"))
        assert kept is not None
        assert kept.added_at == added
        assert kept.added_at.tzinfo is not None and kept.added_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        assert kept.added_at == datetime(2026, 7, 1, 8, 30, tzinfo=UTC)
        assert (kept.added_at.hour, kept.added_at.minute) == (8, 30)
    db.dispose()


def test_a_zone_less_time_is_refused(any_db: str) -> None:
    db = Database(any_db)
    with pytest.raises(StatementError, match="naive datetime"), db.transaction() as session:
        session.add(
            DoNotCall(
                phone="+447700900124",
                reason="asked",
                source="test",
                added_at=datetime(2026, 7, 1, 9, 30),
            )
        )
    db.dispose()
