"""When first contact with a victim is due: working days after the referral was raised."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from ivr.calendar import ZONE, uk_bank_holidays

#: First contact is due within this many working days of the referral (configurable).
DEFAULT_WORKING_DAYS = 2


@lru_cache(maxsize=4)
def _holidays(first_year: int, last_year: int) -> frozenset[date]:
    return uk_bank_holidays(range(first_year, last_year + 1))


def is_working_day(day: date) -> bool:
    """Monday to Friday, and not a bank holiday in England."""
    return day.weekday() < 5 and day not in _holidays(day.year - 1, day.year + 1)


def first_contact_due(raised_at: datetime, working_days: int = DEFAULT_WORKING_DAYS) -> datetime:
    """The end (23:59:59 London) of the ``working_days``-th working day after ``raised_at``.

    A referral raised on a Friday evening with two working days is due by the end of the
    following Tuesday; one raised on Christmas Eve waits for the bank holidays to pass.
    """
    if working_days < 1:
        raise ValueError("working_days must be at least 1")
    day = raised_at.astimezone(ZONE).date()
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    end = datetime.combine(day, time(23, 59, 59), tzinfo=ZONE)
    return end.astimezone(UTC)
