"""Reading a calling policy's settings (from a questionnaire's ``campaign.calling``):
each bad value is a ValueError that names the setting."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time, timedelta
from typing import Any

Window = tuple[time, time]
_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def check_windows(key: str, windows: tuple[Window, ...]) -> None:
    previous_end: time | None = None
    for start, end in windows:
        if not start < end:
            raise ValueError(f"{key}: {start:%H:%M}-{end:%H:%M} does not end after it starts")
        if previous_end is not None and start < previous_end:
            raise ValueError(f"{key}: windows overlap or are out of order")
        previous_end = end


def windows(key: str, value: Any) -> tuple[Window, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{key}: {value!r} is not a list of HH:MM-HH:MM windows")
    windows = []
    for item in items:
        match = _WINDOW.fullmatch(item.replace(" ", "")) if isinstance(item, str) else None
        if match is None:
            raise ValueError(f"{key}: {item!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        windows.append((time(h1, m1), time(h2, m2)))
    result = tuple(windows)
    check_windows(key, result)
    return result


def duration(key: str, value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{key}: {value!r} is not a duration such as 3h, 20m or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def dates(key: str, values: Any) -> frozenset[date]:
    values = [] if values is None else values
    if not isinstance(values, list | tuple):
        raise ValueError(f"{key}: {values!r} is not a list of dates")
    result = set()
    for value in values:
        if isinstance(value, date):
            result.add(value)
            continue
        try:
            result.add(date.fromisoformat(str(value)))
        except ValueError:
            raise ValueError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from None
    return frozenset(result)


def mapping(key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}: expected a mapping, not {value!r}")
    return value


def no_unknown(prefix: str, config: Mapping[str, Any], known: set[str]) -> None:
    unknown = sorted(str(k) for k in set(config) - known)
    if unknown:
        raise ValueError(
            f"{prefix}{unknown[0]}: unknown setting (expected one of {', '.join(sorted(known))})"
        )


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
