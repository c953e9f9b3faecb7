"""The audit log as people read it: searched by the forces' local dates, shown with the
zone, and written as CSV that no spreadsheet runs (also for ``ivr audit export``)."""

from __future__ import annotations

import csv
import getpass
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ivr.spreadsheet import text_cell
from ivr.store.audit import AuditLine, AuditSearch

#: Dates are the forces' local days: a day starts at midnight here.
LOCAL_TIME = ZoneInfo("Europe/London")
COLUMNS = ("at", "actor", "address", "action", "object_type", "object_id", "details")
#: Entries on one page of the log.
PAGE_SIZE = 50
#: The years a search may name.
FIRST_YEAR, LAST_YEAR = 1970, 2999
#: The longest text accepted in a search field (longer cannot match anything stored).
MAX_FIELD = 254


class SearchError(ValueError):
    """A search field cannot be read; ``field`` names it and the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def local_midnight(day: date) -> datetime:
    """The start of a local day, as an aware UTC time."""
    return datetime.combine(day, time(), tzinfo=LOCAL_TIME).astimezone(UTC)


def local_time(moment: datetime) -> str:
    """A moment as the forces read it: local date and time with the zone, e.g. BST."""
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M:%S %Z")


def _day(args: Mapping[str, str], field: str, label: str) -> date | None:
    text = args.get(field, "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    # Bounded, so that the day after the last one is still a date any database stores.
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise SearchError(field, f"{label} must be a date such as 2026-11-23")
    return day


def _text(args: Mapping[str, str], field: str) -> str | None:
    # No NUL byte is stored anywhere (PostgreSQL refuses one in any text it is sent).
    text = args.get(field, "").replace("\x00", "").strip()
    return text[:MAX_FIELD] or None


def search_from(args: Mapping[str, str]) -> AuditSearch:
    """The search a form's fields ask for: an email, a case reference, an action and a
    range of local days (both days included)."""
    first = _day(args, "from", "The first day")
    last = _day(args, "to", "The last day")
    if first and last and last < first:
        raise SearchError("to", "The last day must not be before the first day")
    email = _text(args, "user")
    return AuditSearch(
        actor_email=email.lower() if email else None,
        case_ref=_text(args, "case_ref"),
        action=_text(args, "action"),
        start=local_midnight(first) if first else None,
        end=local_midnight(last + timedelta(days=1)) if last else None,
    )


def described(search: AuditSearch) -> dict[str, Any]:
    """What a search asked for, for its own audit entry: never the case reference (it
    would outlive the case's erasure), only that one was given."""
    return {
        "user": search.actor_email,
        "case": search.case_ref is not None,
        "action": search.action,
        "from": search.start.isoformat() if search.start else None,
        "to": search.end.isoformat() if search.end else None,
    }


def entry_row(line: AuditLine) -> dict[str, Any]:
    """One entry as a plain row (the columns of :data:`COLUMNS`)."""
    return {
        "at": line.at.isoformat(),
        "actor": line.actor_email,
        "address": line.address,
        "action": line.action,
        "object_type": line.object_type,
        "object_id": line.object_id,
        "details": line.details,
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = (
        json.dumps(value, ensure_ascii=False, sort_keys=True)
        if isinstance(value, dict)
        else str(value)
    )
    return text_cell(text)


def to_csv(entries: Iterable[Mapping[str, Any]]) -> str:
    """Audit entries as CSV, with the details as a JSON object in one column; no cell is
    one a spreadsheet would run as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for entry in entries:
        writer.writerow([_cell(entry.get(column)) for column in COLUMNS])
    return buffer.getvalue()


def by_command() -> dict[str, Any]:
    """Who ran a command, for its audit entry (which has no signed-in account): the
    operating system's user name."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        # No login name in the environment and none in the password database (a bare
        # container): the entry still says it came from the command line.
        user = "unknown"
    return {"via": "cli", "os_user": user[:64]}
