"""Twilio's webhook parameters, read so that no value can break a webhook or the database.

A signed request still carries whatever its sender put in it: text is cut to the column it
is kept in and loses its NUL bytes, numbers are ASCII digits within the column's range, and
the enumerated fields hold one of Twilio's values. Anything else is a :class:`BadParameter`,
which the webhooks answer with 400.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from ivr.telephony.media import on_media_host

#: The largest value an INTEGER column holds on PostgreSQL (and so on every database).
MAX_INTEGER = 2**31 - 1
#: Twilio's ``CallStatus`` values.
CALL_STATUSES = frozenset(
    {
        "queued",
        "initiated",
        "ringing",
        "in-progress",
        "completed",
        "busy",
        "no-answer",
        "canceled",
        "failed",
    }
)
#: Twilio's ``AnsweredBy`` values (answering machine detection).
ANSWERED_BY = frozenset(
    {
        "human",
        "machine_start",
        "machine_end_beep",
        "machine_end_silence",
        "machine_end_other",
        "fax",
        "unknown",
    }
)
#: How much of what a caller said or keyed is kept: far more than any answer needs.
SPEECH_LIMIT = 1000
DIGITS_LIMIT = 64
TRANSCRIPTION_LIMIT = 10_000
URL_LIMIT = 2000
#: Ids Twilio sends (CallSid, RecordingSid) and the app puts in its URLs (public ids).
_SID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_PUBLIC_ID = re.compile(r"[0-9a-f]{32}")
_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


class BadParameter(ValueError):
    """A webhook parameter that is not what Twilio sends."""


def single_values(form: Any) -> dict[str, str]:
    """Each parameter's one value; a parameter repeated with different values is refused,
    since the signature does not say which of them comes first."""
    values: dict[str, str] = {}
    for key, value in form.items(multi=True):
        if key in values and values[key] != value:
            raise BadParameter(f"{key} is given more than once")
        values[key] = value
    return values


def text(form: Mapping[str, str], name: str, limit: int) -> str:
    """A text parameter without NUL bytes, cut to ``limit`` characters ('' when absent)."""
    return (form.get(name) or "").replace("\x00", "")[:limit]


def sid(form: Mapping[str, str], name: str) -> str:
    """A Twilio id such as ``CallSid`` ('' when absent)."""
    value = form.get(name) or ""
    if value and not _SID.fullmatch(value):
        raise BadParameter(f"{name} is not a Twilio id")
    return value


def public_id(value: str | None) -> bool:
    """Whether ``value`` has the form of an id the app puts in its URLs."""
    return bool(value) and _PUBLIC_ID.fullmatch(value or "") is not None


def whole_number(form: Mapping[str, str], name: str, maximum: int = MAX_INTEGER) -> int | None:
    """A count such as a duration in seconds: ASCII digits, at most ``maximum`` (None when
    absent)."""
    value = (form.get(name) or "").strip()
    if not value:
        return None
    # str.isdigit() passes '²', which int() refuses: only ASCII digits are numbers here.
    if not (value.isascii() and value.isdigit()):
        raise BadParameter(f"{name} is not a whole number")
    number = int(value)
    if number > maximum:
        raise BadParameter(f"{name} is more than {maximum}")
    return number


def enumerated(form: Mapping[str, str], name: str, allowed: frozenset[str]) -> str:
    """One of ``allowed`` ('' when absent)."""
    value = form.get(name) or ""
    if value and value not in allowed:
        raise BadParameter(f"{name} is not one of Twilio's values")
    return value


def confidence(form: Mapping[str, str]) -> float:
    """The speech recogniser's confidence, held to 0..1 (NaN counts as no confidence)."""
    value = (form.get("Confidence") or "").strip()
    if not value:
        return 0.0
    # float() also reads 'nan', 'inf' and non-ASCII digits: only plain decimals are read.
    if not _DECIMAL.fullmatch(value):
        if value.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            return 1.0 if value.lower() in ("inf", "+inf", "infinity", "+infinity") else 0.0
        raise BadParameter("Confidence is not a number")
    number = float(value)
    if math.isnan(number):
        return 0.0
    return min(max(number, 0.0), 1.0)


def recording_url(form: Mapping[str, str], hosts: frozenset[str]) -> str:
    """The address of a recorded answer, on Twilio's media host ('' when absent)."""
    value = form.get("RecordingUrl") or ""
    if not value:
        return ""
    if len(value) > URL_LIMIT or "\x00" in value or not on_media_host(value, hosts):
        raise BadParameter("RecordingUrl is not on Twilio's media host")
    return value
