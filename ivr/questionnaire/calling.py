"""A questionnaire's calling settings (``campaign.calling``), typed and checked on load.

The vocabulary of calling lives here with them: the outcomes a call can end with (which
``retry_after`` names), windows written ``HH:MM-HH:MM``, durations such as ``3h`` or
``1d``. The campaign's calling policy is built from a checked ``CallingSettings``.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    field_validator,
    model_validator,
)

#: A local (start, end) calling window; a call may start at ``start`` but not at ``end``.
Window = tuple[time, time]
DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TZ = "Europe/London"
#: Ofcom's persistent misuse policy: an unanswered call rings for at least 15 seconds.
MIN_RING_SECONDS = 15
MAX_RING_SECONDS = 600
UK_SUBDIVISIONS = ("ENG", "NIR", "SCT", "WLS")

_WINDOW = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


class Outcome(StrEnum):
    """How one call attempt ended."""

    NO_ANSWER = "no_answer"
    BUSY = "busy"
    FAILED = "failed"
    MACHINE = "machine"
    COMPLETED_INTERVIEW = "completed_interview"
    PARTIAL = "partial"  # identity confirmed, then the interview stopped early
    REFUSED = "refused"
    CALLBACK_REQUESTED = "callback_requested"
    WRONG_NUMBER = "wrong_number"  # nobody of the victim's name at the number
    NO_SCREENER = "no_screener"  # answered, identity never confirmed (silence, hang-up)
    UNSAFE = "unsafe"  # not safe to talk: interviewers only from now on
    OPTED_OUT = "opted_out"
    CANCELLED = "cancelled"
    NOT_PLACED = "not_placed"  # never reached the network, e.g. a system fault
    INFO_MESSAGE = "info_message"  # answered, could not go on: heard the information message
    SCREENED_OUT = "screened_out"  # a survey of the public: nobody at the number is in it
    QUOTA_FULL = "quota_full"  # a survey of the public: the respondent's quota cell was full

    @classmethod
    def _missing_(cls, value: object) -> Outcome | None:
        # Recorded before "not me" was split into "not available" and "wrong number".
        return cls.WRONG_NUMBER if value == "wrong_person" else None

    @property
    def final(self) -> bool:
        """Whether the case must never be rung again after this outcome."""
        return self in FINAL_OUTCOMES


FINAL_OUTCOMES = frozenset(
    {
        Outcome.COMPLETED_INTERVIEW,
        Outcome.REFUSED,
        Outcome.OPTED_OUT,
        Outcome.WRONG_NUMBER,
        Outcome.SCREENED_OUT,
        Outcome.QUOTA_FULL,
    }
)


def check_windows(windows: tuple[Window, ...]) -> tuple[Window, ...]:
    """Windows in order, each ending after it starts and none overlapping."""
    previous_end: time | None = None
    for start, end in windows:
        if not start < end:
            raise ValueError(f"{start:%H:%M}-{end:%H:%M} does not end after it starts")
        if previous_end is not None and start < previous_end:
            raise ValueError("windows overlap or are out of order")
        previous_end = end
    return windows


def _windows(value: Any) -> tuple[Window, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{value!r} is not a list of HH:MM-HH:MM windows")
    windows = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2:
            windows.append(item)
            continue
        match = _WINDOW.fullmatch(item.replace(" ", "")) if isinstance(item, str) else None
        if match is None:
            raise ValueError(f"{item!r} is not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        windows.append((time(h1, m1), time(h2, m2)))
    return check_windows(tuple(windows))


def parse_duration(value: Any) -> timedelta:
    """'3h' -> 3 hours, '2h30m', '1d', '20m', '45s'; a timedelta passes as it is."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration such as 3h, 20m or 1d")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _whole(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} is not a whole number")
    return value


def _dates(values: Any) -> tuple[date, ...]:
    values = [] if values is None else values
    if not isinstance(values, list | tuple):
        raise ValueError(f"{values!r} is not a list of dates")
    result = []
    for value in values:
        if isinstance(value, date):
            result.append(value)
            continue
        try:
            result.append(date.fromisoformat(str(value)))
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    return tuple(result)


def _an_outcome(name: str) -> str:
    if name not in {o.value for o in Outcome}:
        raise ValueError("not an outcome")
    return name


WindowList = Annotated[tuple[Window, ...], BeforeValidator(_windows)]
Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Whole = Annotated[int, BeforeValidator(_whole)]
Dates = Annotated[tuple[date, ...], BeforeValidator(_dates)]
OutcomeName = Annotated[str, AfterValidator(_an_outcome)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Windows(_Settings):
    """Calling windows per weekday and on bank holidays; a day not named keeps the
    default (Mon-Fri 10:00-20:30, Sat-Sun 10:00-18:00), and bank holidays Sunday's."""

    mon: WindowList | None = None
    tue: WindowList | None = None
    wed: WindowList | None = None
    thu: WindowList | None = None
    fri: WindowList | None = None
    sat: WindowList | None = None
    sun: WindowList | None = None
    bank_holiday: WindowList | None = None

    @model_validator(mode="after")
    def _some_day(self) -> Windows:
        if all(getattr(self, day) == () for day in DAY_KEYS):
            raise ValueError("no day of the week has a calling window")
        return self


class BankHolidays(_Settings):
    """Which UK bank holidays count: a nation's, for some years, adjusted by hand."""

    subdiv: str | None = "ENG"
    years: tuple[Whole, ...] | None = None
    add: Dates = ()
    remove: Dates = ()

    @field_validator("subdiv")
    @classmethod
    def _a_nation(cls, value: str | None) -> str | None:
        if value is not None and value not in UK_SUBDIVISIONS:
            raise ValueError(f"{value!r} is not one of {', '.join(UK_SUBDIVISIONS)}")
        return value


class CallingSettings(_Settings):
    """How a survey rings people: windows, attempts, retry intervals, ring time."""

    tz: str = DEFAULT_TZ
    windows: Windows = Windows()
    bank_holidays: BankHolidays = BankHolidays()
    #: Outcome -> how long to wait before ringing again; merged over the defaults.
    retry_after: dict[OutcomeName, Duration] = {}
    max_attempts: Whole = 6
    #: Attempts started on one local day, so a victim is not rung all day long.
    max_attempts_per_day: Whole = 3
    min_ring_seconds: Whole = MIN_RING_SECONDS
    ring_timeout_seconds: Whole = 25
    quiet_after_info_message: Duration = timedelta(hours=72)
    #: How far past the earliest retry time to look for a less-used daypart.
    spread_horizon: Duration = timedelta(days=2)
    #: Calls made to carry on an interview that stopped part way (0: it closes at once).
    resume_calls: Whole = 1

    @field_validator("tz")
    @classmethod
    def _a_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone") from None
        return value

    @field_validator("max_attempts", "max_attempts_per_day")
    @classmethod
    def _at_least_one(cls, value: int) -> int:
        if value < 1:
            raise ValueError(f"must be at least 1, not {value}")
        return value

    @field_validator("resume_calls")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError(f"must not be negative, not {value}")
        return value

    @field_validator("min_ring_seconds")
    @classmethod
    def _uk_minimum(cls, value: int) -> int:
        if value < MIN_RING_SECONDS:
            raise ValueError(f"{value} is under the UK minimum of {MIN_RING_SECONDS} seconds")
        return value

    @model_validator(mode="after")
    def _rings_long_enough(self) -> CallingSettings:
        if not self.min_ring_seconds <= self.ring_timeout_seconds <= MAX_RING_SECONDS:
            raise ValueError(
                f"ring_timeout_seconds: {self.ring_timeout_seconds} is not between "
                f"min_ring_seconds ({self.min_ring_seconds}) and {MAX_RING_SECONDS}"
            )
        return self


def calling_settings(config: Any) -> CallingSettings:
    """Checked calling settings from a mapping; ``ValueError`` naming the first bad key
    (``windows.mon: '25:00' is not HH:MM-HH:MM``)."""
    try:
        return CallingSettings.model_validate(config)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"] if part != "[key]")
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting"
        raise ValueError(f"{where}: {message}" if where else message) from None
