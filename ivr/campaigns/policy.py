"""When a survey may ring a victim: calling windows, retries, dayparts and appointments.

Pure rules: every function takes ``now``; nothing reads the clock, a database or Flask.
Instants must be timezone-aware and come back in UTC; windows and dayparts are reasoned in
the force's local time (``Europe/London`` unless configured).

Clock changes: a local time that never happens (the hour skipped in spring) is read as the
instant the clocks jump, and one that happens twice (the hour repeated in autumn) as its
first occurrence. So a 10:00 window opens at 09:00 UTC in summer and 10:00 UTC in winter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.calendar import uk_bank_holidays
from ivr.questionnaire.calling import (
    DAY_KEYS,
    DEFAULT_TZ,
    MAX_RING_SECONDS,
    MIN_RING_SECONDS,
    CallingSettings,
    Outcome,
    Window,
    calling_settings,
    check_windows,
)

_WEEKDAY: tuple[Window, ...] = ((time(10), time(20, 30)),)
_WEEKEND: tuple[Window, ...] = ((time(10), time(18)),)
DEFAULT_WEEK: tuple[tuple[Window, ...], ...] = (_WEEKDAY,) * 5 + (_WEEKEND,) * 2
#: Years the default bank holidays cover; ``bank_holidays.years`` in config names others.
DEFAULT_HOLIDAY_YEARS = range(2024, 2041)
#: An appointment is kept if the call starts no later than this after the agreed time.
APPOINTMENT_TOLERANCE = timedelta(minutes=15)
#: "Call me this evening" never means in the next few minutes.
APPOINTMENT_LEAD = timedelta(minutes=30)
_SEARCH_DAYS = 400


DEFAULT_RETRY_AFTER: Mapping[Outcome, timedelta] = MappingProxyType(
    {
        Outcome.NO_ANSWER: timedelta(hours=3),
        Outcome.BUSY: timedelta(minutes=20),
        Outcome.FAILED: timedelta(hours=1),
        Outcome.MACHINE: timedelta(hours=4),
        Outcome.PARTIAL: timedelta(days=1),
        Outcome.NO_SCREENER: timedelta(hours=4),
        Outcome.CALLBACK_REQUESTED: timedelta(hours=4),
        Outcome.UNSAFE: timedelta(days=1),
        Outcome.CANCELLED: timedelta(hours=1),
        Outcome.NOT_PLACED: timedelta(minutes=15),
        Outcome.INFO_MESSAGE: timedelta(hours=72),
    }
)


class Daypart(StrEnum):
    """A part of the local day; attempts are spread across them."""

    MORNING = "morning"  # before 12:00
    AFTERNOON = "afternoon"  # 12:00 to 17:00
    EVENING = "evening"  # from 17:00


_DAYPART_STARTS = (
    (time(17), Daypart.EVENING),
    (time(12), Daypart.AFTERNOON),
    (time(0), Daypart.MORNING),
)


class AppointmentChoice(StrEnum):
    """When a victim asked to be called back."""

    THIS_EVENING = "this_evening"
    TOMORROW_DAYTIME = "tomorrow_daytime"
    TOMORROW_EVENING = "tomorrow_evening"


def daypart_of(at: datetime, tz: str = DEFAULT_TZ) -> Daypart:
    """The daypart ``at`` falls in, on the clock in ``tz``."""
    return _daypart(_utc(at, "at").astimezone(ZoneInfo(tz)).time())


def _default_holidays() -> frozenset[date]:
    return uk_bank_holidays(DEFAULT_HOLIDAY_YEARS)


class _Piece(NamedTuple):
    """The part of one window that lies in one daypart, as UTC instants."""

    start: datetime
    end: datetime
    part: Daypart
    window_end: datetime
    day: date


@dataclass(frozen=True)
class CallingWindows:
    """Local calling hours per weekday (0 = Monday), bank holidays and the force's zone."""

    week: tuple[tuple[Window, ...], ...] = DEFAULT_WEEK
    bank_holidays: frozenset[date] = field(default_factory=_default_holidays)
    #: Windows on a bank holiday: None means Sunday's; an empty tuple means no calls.
    bank_holiday_windows: tuple[Window, ...] | None = None
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError(f"windows: needs 7 days, Monday first, not {len(self.week)}")
        for key, windows in zip(DAY_KEYS, self.week, strict=True):
            try:
                check_windows(windows)
            except ValueError as exc:
                raise ValueError(f"windows.{key}: {exc}") from None
        if self.bank_holiday_windows is not None:
            try:
                check_windows(self.bank_holiday_windows)
            except ValueError as exc:
                raise ValueError(f"windows.bank_holiday: {exc}") from None
        if not any(self.week):
            raise ValueError("windows: no day of the week has a calling window")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"tz: '{self.tz}' is not a time zone") from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """The local windows of a calendar day."""
        if day in self.bank_holidays:
            return self.week[6] if self.bank_holiday_windows is None else self.bank_holiday_windows
        return self.week[day.weekday()]

    def local_date(self, at: datetime) -> date:
        """The force's calendar date at instant ``at``."""
        return _utc(at, "at").astimezone(self.zone).date()

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` lies inside a calling window."""
        return self._piece_at(at) is not None

    def next_open(self, at: datetime) -> datetime:
        """``at`` if a window is open then, else the start of the next window (UTC)."""
        at = _utc(at, "at")
        for piece in self._pieces_from(at):
            return max(piece.start, at)
        raise ValueError(f"windows: none open in the {_SEARCH_DAYS} days after {at.isoformat()}")

    def close_of(self, at: datetime) -> datetime:
        """The end (UTC) of the window containing ``at``."""
        piece = self._piece_at(at)
        if piece is None:
            raise ValueError(f"at: {at.isoformat()} is outside every calling window")
        return piece.window_end

    def _pieces_from(self, at: datetime) -> Iterator[_Piece]:
        """Window pieces, one per daypart, still open at or after ``at``, in time order."""
        first = self.local_date(at)
        for offset in range(_SEARCH_DAYS):
            for piece in _day_pieces(self, first + timedelta(days=offset)):
                if piece.end > at:
                    yield piece

    def _piece_at(self, at: datetime) -> _Piece | None:
        at = _utc(at, "at")
        for piece in _day_pieces(self, self.local_date(at)):
            if piece.start <= at < piece.end:
                return piece
        return None


@lru_cache(maxsize=4096)
def _day_pieces(windows: CallingWindows, day: date) -> tuple[_Piece, ...]:
    zone = windows.zone
    pieces = []
    for start, end in windows.windows_on(day):
        cuts = [start, *(t for t, _ in reversed(_DAYPART_STARTS) if start < t < end), end]
        window_end = _utc_of(day, end, zone)
        for lo, hi in zip(cuts, cuts[1:], strict=False):
            piece = _Piece(
                _utc_of(day, lo, zone), _utc_of(day, hi, zone), _daypart(lo), window_end, day
            )
            if piece.start < piece.end:  # a piece inside the skipped spring hour is empty
                pieces.append(piece)
    return tuple(pieces)


@dataclass(frozen=True)
class CallingPolicy:
    """When to ring a case first, again, or by appointment; and whether a call may start."""

    windows: CallingWindows = field(default_factory=CallingWindows)
    max_attempts: int = 6
    #: Attempts started on one local day, so a victim is not rung all day long.
    max_attempts_per_day: int = 3
    #: Merged over ``DEFAULT_RETRY_AFTER``, so config names only the delays it changes.
    retry_after: Mapping[Outcome, timedelta] = field(default_factory=lambda: DEFAULT_RETRY_AFTER)
    min_ring_seconds: int = MIN_RING_SECONDS
    ring_timeout_seconds: int = 25
    quiet_after_info_message: timedelta = timedelta(hours=72)
    #: How far past the earliest retry time to look for a less-used daypart.
    spread_horizon: timedelta = timedelta(days=2)
    #: Calls made to carry on an interview that stopped part way (0: it closes at once).
    resume_calls: int = 1

    def __post_init__(self) -> None:
        for name in ("max_attempts", "max_attempts_per_day"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, not {getattr(self, name)}")
        if self.resume_calls < 0:
            raise ValueError(f"resume_calls: must not be negative, not {self.resume_calls}")
        if self.min_ring_seconds < MIN_RING_SECONDS:
            raise ValueError(
                f"min_ring_seconds: {self.min_ring_seconds} is under the UK "
                f"minimum of {MIN_RING_SECONDS} seconds"
            )
        if not self.min_ring_seconds <= self.ring_timeout_seconds <= MAX_RING_SECONDS:
            raise ValueError(
                f"ring_timeout_seconds: {self.ring_timeout_seconds} is not between "
                f"min_ring_seconds ({self.min_ring_seconds}) and 600"
            )
        merged = dict(DEFAULT_RETRY_AFTER)
        for key, delay in self.retry_after.items():
            try:
                outcome = Outcome(key)
            except ValueError:
                raise ValueError(f"retry_after.{key}: not an outcome") from None
            if delay < timedelta(0):
                raise ValueError(f"retry_after.{key}: must not be negative")
            merged[outcome] = delay
        object.__setattr__(self, "retry_after", MappingProxyType(merged))
        for name in ("quiet_after_info_message", "spread_horizon"):
            if getattr(self, name) < timedelta(0):
                raise ValueError(f"{name}: must not be negative")

    @property
    def ring(self) -> timedelta:
        return timedelta(seconds=self.ring_timeout_seconds)

    def may_start(self, at: datetime) -> bool:
        """Whether a call may start at ``at``: inside a window, and it rings out before close."""
        return self.windows.is_open(at) and at + self.ring <= self.windows.close_of(at)

    def first_attempt(self, *, eligible_from: datetime, now: datetime) -> datetime:
        """The first time a new case may be rung."""
        earliest = max(_utc(eligible_from, "eligible_from"), _utc(now, "now"))
        for slot, _ in self._slots(earliest, self.ring):
            return slot
        raise ValueError(f"windows: none open in the {_SEARCH_DAYS} days after {earliest}")

    def next_attempt(
        self,
        *,
        outcome: Outcome | str,
        attempts_made: int,
        previous_starts: Sequence[datetime],
        now: datetime,
    ) -> datetime | None:
        """When to ring again after ``outcome``, or None when the case is done.

        The earliest slot at or after ``now + retry_after[outcome]`` (and never within
        ``quiet_after_info_message`` of an information message) that lies in the daypart
        ``previous_starts`` used least, looking no further than ``spread_horizon`` past that
        time; days that already had ``max_attempts_per_day`` starts are skipped. If nothing
        fits within the horizon, the first open slot after it. ``attempts_made`` counts
        attempts that reached the network: a ``not_placed`` attempt should not add to it.
        """
        outcome = Outcome(outcome)
        if attempts_made < 0:
            raise ValueError(f"attempts_made: must not be negative, not {attempts_made}")
        if outcome.final or attempts_made >= self.max_attempts:
            return None
        now = _utc(now, "now")
        earliest = now + self.retry_after[outcome]
        if outcome is Outcome.INFO_MESSAGE:
            earliest = max(earliest, now + self.quiet_after_info_message)
        zone = self.windows.zone
        local = [_utc(s, "previous_starts").astimezone(zone) for s in previous_starts]
        used = Counter(_daypart(s.time()) for s in local)
        per_day = Counter(s.date() for s in local)
        least = min(used[part] for part in Daypart)
        horizon = earliest + self.spread_horizon
        best: tuple[int, datetime] | None = None
        for slot, piece in self._slots(earliest, self.ring):
            if per_day[piece.day] >= self.max_attempts_per_day:
                continue
            if slot >= horizon:
                return slot if best is None else best[1]
            if used[piece.part] == least:
                return slot
            if best is None or used[piece.part] < best[0]:
                best = (used[piece.part], slot)
        if best is not None:
            return best[1]
        raise ValueError(f"windows: none open in the {_SEARCH_DAYS} days after {earliest}")

    def appointment(self, choice: AppointmentChoice | str, now: datetime) -> datetime:
        """The time to ring back for a victim's choice, inside a window.

        ``this_evening`` is today's evening if enough of it is left, else the next open
        evening; ``tomorrow_daytime`` and ``tomorrow_evening`` start from tomorrow and move on
        to the next day that has such a window (e.g. past a bank holiday with no calls).
        The slot leaves room for a call that starts ``APPOINTMENT_TOLERANCE`` late.
        """
        choice = AppointmentChoice(choice)
        now = _utc(now, "now")
        earliest = now + APPOINTMENT_LEAD
        if choice is not AppointmentChoice.THIS_EVENING:
            tomorrow = self.windows.local_date(now) + timedelta(days=1)
            earliest = max(earliest, _utc_of(tomorrow, time(0), self.windows.zone))
        parts = (
            {Daypart.MORNING, Daypart.AFTERNOON}
            if choice is AppointmentChoice.TOMORROW_DAYTIME
            else {Daypart.EVENING}
        )
        for slot, piece in self._slots(earliest, self.ring + APPOINTMENT_TOLERANCE):
            if piece.part in parts:
                return slot
        raise ValueError(f"windows: no {choice} window in the {_SEARCH_DAYS} days after {now}")

    def appointment_due(self, appointment_at: datetime, now: datetime) -> bool:
        """Whether to ring an appointment now: from its time to 15 minutes late, in a window."""
        appointment_at, now = _utc(appointment_at, "appointment_at"), _utc(now, "now")
        return appointment_at <= now <= appointment_at + APPOINTMENT_TOLERANCE and self.may_start(
            now
        )

    def _slots(self, earliest: datetime, margin: timedelta) -> Iterator[tuple[datetime, _Piece]]:
        for piece in self.windows._pieces_from(earliest):
            slot = max(piece.start, earliest)
            if slot < piece.end and slot + margin <= piece.window_end:
                yield slot, piece

    @classmethod
    def from_settings(cls, settings: CallingSettings) -> CallingPolicy:
        """The policy a questionnaire's checked ``campaign.calling`` settings describe."""
        days = settings.windows
        week = tuple(
            getattr(days, key) if getattr(days, key) is not None else DEFAULT_WEEK[i]
            for i, key in enumerate(DAY_KEYS)
        )
        holidays = settings.bank_holidays
        bank_holidays = uk_bank_holidays(
            holidays.years or DEFAULT_HOLIDAY_YEARS,
            holidays.subdiv,
            add=holidays.add,
            remove=holidays.remove,
        )
        return cls(
            windows=CallingWindows(week, bank_holidays, days.bank_holiday, settings.tz),
            retry_after={Outcome(key): delay for key, delay in settings.retry_after.items()},
            max_attempts=settings.max_attempts,
            max_attempts_per_day=settings.max_attempts_per_day,
            min_ring_seconds=settings.min_ring_seconds,
            ring_timeout_seconds=settings.ring_timeout_seconds,
            quiet_after_info_message=settings.quiet_after_info_message,
            spread_horizon=settings.spread_horizon,
            resume_calls=settings.resume_calls,
        )

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any]) -> CallingPolicy:
        """A policy from settings such as a force's YAML; ``ValueError`` names a bad key."""
        return cls.from_settings(calling_settings(config))


def _utc(at: datetime, name: str) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name}: {at.isoformat()} has no time zone")
    return at.astimezone(UTC)


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def _utc_of(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time; see the module docstring for clock changes."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first of a repeat
    if _wall(first, zone) == naive:
        return first
    # Skipped by the clocks: the first whole second whose wall time reaches ``naive``.
    lo, hi = sorted((first, naive.replace(tzinfo=zone, fold=1).astimezone(UTC)))
    low, high = 0, int((hi - lo).total_seconds())
    while high - low > 1:
        mid = (low + high) // 2
        if _wall(lo + timedelta(seconds=mid), zone) >= naive:
            high = mid
        else:
            low = mid
    return lo + timedelta(seconds=high)


def _daypart(at: time) -> Daypart:
    return next(part for start, part in _DAYPART_STARTS if at >= start)
