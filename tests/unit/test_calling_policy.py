"""When outbound survey calls may start, with explicit ``now`` values as the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.calendar import uk_bank_holidays
from ivr.campaigns.policy import (
    APPOINTMENT_TOLERANCE,
    AppointmentChoice,
    CallingPolicy,
    CallingWindows,
    Daypart,
    Outcome,
    daypart_of,
)

LONDON = ZoneInfo("Europe/London")
POLICY = CallingPolicy()
WINDOWS = POLICY.windows


def local(text: str) -> datetime:
    """A London wall time such as '2026-06-01 10:00' as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- windows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        ("2026-06-01 09:59", False),  # Monday
        ("2026-06-01 10:00", True),
        ("2026-06-01 20:29", True),
        ("2026-06-01 20:30", False),  # a window's end is not inside it
        ("2026-06-06 17:59", True),  # Saturday
        ("2026-06-06 18:00", False),
        ("2026-06-07 19:00", False),  # Sunday
    ],
)
def test_weekday_and_weekend_windows(when: str, is_open: bool) -> None:
    assert WINDOWS.is_open(local(when)) is is_open


@pytest.mark.parametrize(
    ("when", "is_open"),
    [
        ("2026-12-25 10:00", True),  # Christmas Day, a Friday, keeps Sunday's hours
        ("2026-12-25 19:00", False),
        ("2026-12-28 19:00", False),  # Monday, Boxing Day's substitute
        ("2026-12-29 19:00", True),  # an ordinary Tuesday
    ],
)
def test_bank_holidays_keep_sunday_hours(when: str, is_open: bool) -> None:
    assert WINDOWS.is_open(local(when)) is is_open


def test_bank_holidays_may_have_no_calls_at_all() -> None:
    closed = CallingWindows(bank_holiday_windows=())
    assert not closed.is_open(local("2026-12-25 11:00"))
    # 25th and 26th (Saturday, Boxing Day) are closed; Sunday the 27th is not a holiday.
    assert closed.next_open(local("2026-12-24 21:00")) == local("2026-12-27 10:00")


def test_uk_bank_holidays_come_from_the_holidays_package_and_config() -> None:
    days = uk_bank_holidays([2026], "ENG", add=[date(2026, 12, 29)], remove=[date(2026, 5, 4)])
    assert {date(2026, 12, 25), date(2026, 12, 28), date(2026, 12, 29)} <= days
    assert date(2026, 5, 4) not in days
    assert date(2026, 1, 2) in uk_bank_holidays([2026], "SCT")
    assert date(2026, 1, 2) not in uk_bank_holidays([2026], "ENG")


def test_spring_forward_moves_the_utc_start_an_hour_earlier() -> None:
    assert WINDOWS.next_open(utc("2026-03-28 08:00")) == utc("2026-03-28 10:00")  # GMT
    after_saturday = WINDOWS.next_open(utc("2026-03-28 18:30"))
    assert after_saturday == utc("2026-03-29 09:00")  # BST
    assert WINDOWS.close_of(after_saturday) == utc("2026-03-29 17:00")


def test_fall_back_moves_the_utc_start_an_hour_later() -> None:
    assert WINDOWS.next_open(utc("2026-10-24 08:00")) == utc("2026-10-24 09:00")  # BST
    assert WINDOWS.next_open(utc("2026-10-24 17:30")) == utc("2026-10-25 10:00")  # GMT
    assert WINDOWS.close_of(utc("2026-10-25 10:00")) == utc("2026-10-25 18:00")


def test_skipped_and_repeated_local_times_follow_the_documented_rule() -> None:
    night = CallingWindows(week=(((time(1, 30), time(3)),),) * 7, bank_holidays=frozenset())
    # 01:30 never happens on 29 March: the window opens when the clocks jump (01:00 UTC).
    assert night.next_open(utc("2026-03-29 00:00")) == utc("2026-03-29 01:00")
    # 01:30 happens twice on 25 October: the window opens at the first (BST, 00:30 UTC).
    assert night.next_open(utc("2026-10-25 00:00")) == utc("2026-10-25 00:30")
    assert night.close_of(utc("2026-10-25 00:30")) == utc("2026-10-25 03:00")


def test_next_open_crosses_the_weekend() -> None:
    assert WINDOWS.next_open(local("2026-06-05 20:45")) == local("2026-06-06 10:00")
    weekdays_only = CallingWindows(week=((((time(10), time(20, 30)),),) * 5) + ((), ()))
    assert weekdays_only.next_open(local("2026-06-05 20:45")) == local("2026-06-08 10:00")


def test_next_open_is_now_when_open_and_in_utc() -> None:
    now = local("2026-06-01 11:15")
    assert WINDOWS.next_open(now) == now
    assert WINDOWS.next_open(now).tzinfo is UTC


def test_close_of_needs_an_open_window_and_times_need_zones() -> None:
    with pytest.raises(ValueError, match="outside every calling window"):
        WINDOWS.close_of(local("2026-06-01 21:00"))
    with pytest.raises(ValueError, match="no time zone"):
        WINDOWS.is_open(datetime(2026, 6, 1, 11))


def test_a_call_must_ring_out_before_the_window_closes() -> None:
    assert POLICY.may_start(local("2026-06-01 20:29:35"))  # 25 s ring ends at 20:30
    assert not POLICY.may_start(local("2026-06-01 20:29:36"))
    assert not POLICY.may_start(local("2026-06-01 09:59:59"))


# --- retries -----------------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["completed_interview", "refused", "opted_out", "wrong_person"])
def test_final_outcomes_end_the_case(outcome: str) -> None:
    now = local("2026-06-01 10:01")
    assert (
        POLICY.next_attempt(
            outcome=outcome, attempts_made=1, previous_starts=[local("2026-06-01 10:00")], now=now
        )
        is None
    )


def test_no_attempt_after_the_maximum() -> None:
    now = local("2026-06-01 10:01")
    assert (
        POLICY.next_attempt(outcome=Outcome.NO_ANSWER, attempts_made=6, previous_starts=[], now=now)
        is None
    )
    assert (
        POLICY.next_attempt(outcome=Outcome.NO_ANSWER, attempts_made=5, previous_starts=[], now=now)
        is not None
    )


def test_a_no_answer_is_retried_after_three_hours_in_an_unused_daypart() -> None:
    first = local("2026-06-01 10:00")
    again = POLICY.next_attempt(
        outcome=Outcome.NO_ANSWER,
        attempts_made=1,
        previous_starts=[first],
        now=first + timedelta(seconds=40),
    )
    assert again == local("2026-06-01 13:00:40")
    assert daypart_of(again) is Daypart.AFTERNOON


def test_a_retry_waits_for_a_less_used_daypart() -> None:
    starts = [local("2026-06-01 13:00"), local("2026-06-01 17:00")]
    # The earliest retry (20:00) is an evening, already used: the next morning is not.
    again = POLICY.next_attempt(
        outcome=Outcome.NO_ANSWER,
        attempts_made=2,
        previous_starts=starts,
        now=local("2026-06-01 17:00:30"),
    )
    assert again == local("2026-06-02 10:00")


def test_six_no_answers_spread_over_dayparts_and_days() -> None:
    now = local("2026-06-01 10:00")
    starts = [POLICY.first_attempt(eligible_from=now, now=now)]
    while (
        again := POLICY.next_attempt(
            outcome=Outcome.NO_ANSWER,
            attempts_made=len(starts),
            previous_starts=starts,
            now=starts[-1] + timedelta(seconds=40),
        )
    ) is not None:
        starts.append(again)
    assert len(starts) == 6
    assert len({daypart_of(s) for s in starts}) >= 3
    days = [s.astimezone(LONDON).date() for s in starts]
    assert len(set(days)) >= 2
    assert max(days.count(d) for d in days) <= POLICY.max_attempts_per_day


def test_an_information_message_keeps_the_case_quiet_for_72_hours() -> None:
    quick = CallingPolicy(retry_after={Outcome.INFO_MESSAGE: timedelta(hours=1)})
    now = local("2026-06-01 11:00")
    again = quick.next_attempt(
        outcome=Outcome.INFO_MESSAGE,
        attempts_made=1,
        previous_starts=[local("2026-06-01 10:59")],
        now=now,
    )
    assert again is not None
    assert again >= now + timedelta(hours=72)
    assert quick.may_start(again)


def test_retries_look_no_further_than_the_spread_horizon() -> None:
    starts = [local("2026-06-01 10:00")] * 2
    now = local("2026-06-01 10:01")
    # Mornings are used most, but the horizon of 2 days still holds afternoons.
    again = POLICY.next_attempt(
        outcome=Outcome.UNSAFE, attempts_made=2, previous_starts=starts, now=now
    )
    assert again == local("2026-06-02 12:00")
    narrow = CallingPolicy(spread_horizon=timedelta(0))
    assert narrow.next_attempt(
        outcome=Outcome.UNSAFE, attempts_made=2, previous_starts=starts, now=now
    ) == local("2026-06-02 10:01")


def test_a_new_case_waits_for_eligibility_and_a_window() -> None:
    now = local("2026-06-01 12:00")
    assert POLICY.first_attempt(eligible_from=local("2026-06-03 03:00"), now=now) == local(
        "2026-06-03 10:00"
    )
    assert POLICY.first_attempt(eligible_from=local("2026-05-01 00:00"), now=now) == now


instants = st.datetimes(
    min_value=datetime(2026, 1, 1),
    max_value=datetime(2027, 12, 31),
    timezones=st.sampled_from([UTC, LONDON]),
)


@settings(max_examples=1500, deadline=None)
@given(
    start=instants,
    outcomes=st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=10),
    gaps=st.lists(st.integers(min_value=0, max_value=4 * 3600), min_size=10, max_size=10),
)
def test_calls_only_start_in_windows_and_never_exceed_the_maximum(
    start: datetime,
    outcomes: list[Outcome],
    gaps: list[int],
) -> None:
    starts = [POLICY.first_attempt(eligible_from=start, now=start)]
    assert POLICY.may_start(starts[0])
    for outcome, gap in zip(outcomes, gaps, strict=False):
        now = starts[-1] + timedelta(seconds=gap)
        again = POLICY.next_attempt(
            outcome=outcome, attempts_made=len(starts), previous_starts=starts, now=now
        )
        if again is None:
            assert outcome.final or len(starts) == POLICY.max_attempts
            break
        assert POLICY.may_start(again)
        assert again >= now + POLICY.retry_after[outcome]
        starts.append(again)
    assert len(starts) <= POLICY.max_attempts


# --- appointments ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "now", "expected"),
    [
        ("this_evening", "2026-06-01 11:00", "2026-06-01 17:00"),
        ("this_evening", "2026-06-01 18:00", "2026-06-01 18:30"),
        ("this_evening", "2026-06-01 20:15", "2026-06-02 17:00"),  # too late: next evening
        ("tomorrow_daytime", "2026-06-05 19:00", "2026-06-06 10:00"),
        ("tomorrow_evening", "2026-06-05 19:00", "2026-06-06 17:00"),  # Saturday closes at 18:00
        ("tomorrow_evening", "2026-12-24 12:00", "2026-12-25 17:00"),  # Christmas: Sunday hours
    ],
)
def test_appointments_land_in_a_window(choice: str, now: str, expected: str) -> None:
    assert POLICY.appointment(choice, local(now)) == local(expected)


def test_an_appointment_skips_days_without_calls() -> None:
    closed = CallingPolicy(windows=CallingWindows(bank_holiday_windows=()))
    assert closed.appointment(
        AppointmentChoice.TOMORROW_EVENING, local("2026-12-24 12:00")
    ) == local("2026-12-27 17:00")


@settings(max_examples=1000, deadline=None)
@given(now=instants, choice=st.sampled_from(list(AppointmentChoice)))
def test_an_appointment_can_be_kept_up_to_15_minutes_late(
    now: datetime,
    choice: AppointmentChoice,
) -> None:
    at = POLICY.appointment(choice, now)
    assert at > now
    assert POLICY.may_start(at)
    assert POLICY.may_start(at + APPOINTMENT_TOLERANCE)
    assert POLICY.appointment_due(at, at + APPOINTMENT_TOLERANCE)


def test_an_appointment_is_due_from_its_time_for_15_minutes() -> None:
    at = local("2026-06-01 17:00")
    assert not POLICY.appointment_due(at, at - timedelta(seconds=1))
    assert POLICY.appointment_due(at, at)
    assert POLICY.appointment_due(at, at + timedelta(minutes=15))
    assert not POLICY.appointment_due(at, at + timedelta(minutes=15, seconds=1))
    late = local("2026-06-01 20:20")
    assert not POLICY.appointment_due(late, local("2026-06-01 20:31"))  # window closed


# --- configuration -----------------------------------------------------------------


def test_a_force_configures_its_policy() -> None:
    policy = CallingPolicy.from_mapping(
        {
            "max_attempts": 4,
            "windows": {"mon": ["09:00-12:00", "13:00-19:00"], "sun": [], "bank_holiday": []},
            "bank_holidays": {
                "subdiv": "ENG",
                "years": [2026],
                "add": ["2026-12-29"],
                "remove": [],
            },
            "retry_after": {"no_answer": "2h30m", "busy": "20m"},
            "ring_timeout_seconds": 30,
        }
    )
    assert policy.max_attempts == 4
    assert policy.ring_timeout_seconds == 30
    assert policy.retry_after[Outcome.NO_ANSWER] == timedelta(hours=2, minutes=30)
    assert policy.retry_after[Outcome.MACHINE] == timedelta(hours=4)  # a default kept
    assert policy.may_start(local("2026-06-01 09:00"))
    assert not policy.may_start(local("2026-06-01 12:30"))  # lunch
    assert policy.may_start(local("2026-06-02 20:00"))  # Tuesday: default
    assert not policy.may_start(local("2026-06-07 11:00"))  # Sunday: none
    assert not policy.may_start(local("2026-12-29 11:00"))  # added holiday


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"windows": {"mon": ["25:00-26:00"]}}, "windows.mon: '25:00-26:00' is not HH:MM-HH:MM"),
        ({"windows": {"tue": ["20:00-10:00"]}}, "windows.tue: 20:00-10:00 does not end after"),
        ({"windows": {"wed": ["10:00-14:00", "13:00-18:00"]}}, "windows.wed: windows overlap"),
        ({"windows": {"funday": ["10:00-12:00"]}}, "windows.funday: unknown setting"),
        (
            {"windows": {d: [] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}},
            "windows: no day of the week",
        ),
        ({"max_attempts": 0}, "max_attempts: must be at least 1"),
        ({"max_attempts": "six"}, "max_attempts: 'six' is not a whole number"),
        ({"ring_timeout_seconds": 10}, "ring_timeout_seconds: 10 is not between"),
        ({"min_ring_seconds": 5}, "min_ring_seconds: 5 is under the UK minimum"),
        ({"retry_after": {"no_answer": "3 hours"}}, "retry_after.no_answer: '3 hours' is not a"),
        ({"retry_after": {"voicemail": "3h"}}, "retry_after.voicemail: not an outcome"),
        ({"bank_holidays": {"add": ["2026-13-01"]}}, r"bank_holidays.add: '2026-13-01' is not a"),
        ({"bank_holidays": {"subdiv": "XX"}}, "bank_holidays.subdiv: 'XX' is not one of ENG"),
        ({"tz": "Mars/Olympus"}, "tz: 'Mars/Olympus' is not a time zone"),
        ({"quiet_after_info_message": "soon"}, "quiet_after_info_message: 'soon' is not a"),
        ({"max_tries": 3}, "max_tries: unknown setting"),
    ],
)
def test_bad_config_names_the_key(config: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CallingPolicy.from_mapping(config)
