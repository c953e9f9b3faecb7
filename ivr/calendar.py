"""The force's calendar: its time zone and the UK's bank holidays, which calling windows
and working-day deadlines both follow."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo

#: The force's clock: calling windows, deadlines and the dates people read are in it.
ZONE = ZoneInfo("Europe/London")


def uk_bank_holidays(
    years: Iterable[int],
    subdiv: str | None = "ENG",
    *,
    add: Iterable[date] = (),
    remove: Iterable[date] = (),
) -> frozenset[date]:
    """UK bank holidays of ``subdiv`` (ENG, NIR, SCT, WLS; None for none) in ``years``.

    ``add`` and ``remove`` adjust the list by hand, e.g. a one-off day or a force's closure.
    """
    base = _uk_holidays(tuple(sorted(set(years))), subdiv) if subdiv is not None else frozenset()
    return (base | frozenset(add)) - frozenset(remove)


@lru_cache(maxsize=32)
def _uk_holidays(years: tuple[int, ...], subdiv: str) -> frozenset[date]:
    # The holidays package builds its tables for every country as it is imported (about
    # half a second): only what works out a calendar pays for it, not every process start.
    import holidays
    from holidays.countries.united_kingdom import UnitedKingdom

    if subdiv not in UnitedKingdom.subdivisions:
        choices = ", ".join(UnitedKingdom.subdivisions)
        raise ValueError(f"bank_holidays.subdiv: '{subdiv}' is not one of {choices}")
    return frozenset(holidays.country_holidays("GB", subdiv=subdiv, years=years))
