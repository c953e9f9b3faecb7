"""How pages and messages write codes and times for people in the UK."""

from __future__ import annotations

from datetime import date, datetime

from ivr.calendar import ZONE


def words(code: str | None) -> str:
    """A stored code in words: 'service_recovery' -> 'Service recovery'."""
    return (code or "").replace("_", " ").capitalize()


def sentence(text: str) -> str:
    """Text with its first letter in capitals, as a message on a page starts."""
    return text[:1].upper() + text[1:]


#: Languages by the name staff know them by; any other is shown by its tag.
LANGUAGE_NAMES = {"en-GB": "English", "cy-GB": "Welsh"}


def language_name(tag: str) -> str:
    """A language tag as staff name it: 'cy-GB' -> 'Welsh'."""
    return LANGUAGE_NAMES.get(tag, tag)


def local_time(moment: datetime | date | None) -> str:
    """A time as people in the UK read it: 'Tue 14 Oct 2026, 13:05' (London time)."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return f"{moment:%a} {moment.day} {moment:%b %Y}"
    local = moment.astimezone(ZONE)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
