"""Every AAPOR final disposition a case can reach, each reached through real calls.

The campaign world's dialler places real REST requests to a fake Twilio API on loopback,
which rings the victim and plays the call back through the signed webhooks, following the
TwiML. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from ivr.store import campaigns as store
from ivr.store.models import Answer, Case, DoNotCall, Interview, Schedule
from ivr.store.sealing import CLEAR
from ivr.telephony.fake_api import Fate, busy, human, machine, no_answer
from ivr.telephony.respondents import Action, Scripted, hang_up, press, silence
from tests.functional.campaign_world import (
    MONDAY_11,
    SATISFIED,
    World,
    campaign_world,
    uss_csv,
)

LONDON = ZoneInfo("Europe/London")
SEVEN_WEEKS_AGO = MONDAY_11.date() - timedelta(weeks=7)
VICTIM, OTHER = "+441134960201", "+441134960202"
MAX_ATTEMPTS = 6


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        w.start()
        yield w


def one_case(
    world: World, phone: str = VICTIM, crime: str = "burglary", reported: date = SEVEN_WEEKS_AGO
) -> None:
    world.import_csv(uss_csv([(f"CR/{phone[-4:]}/26", phone, crime, reported)]))


def ring_now(world: World) -> None:
    """Run one scheduler pass and play the calls it placed."""
    world.tick()
    world.play()


def ring_when_due(world: World, phone: str = VICTIM) -> None:
    """Move the clock to the case's next planned call, then let the dialler ring it."""
    schedule = world.schedule(phone)
    assert schedule.disposition is None, "the case is closed already"
    due = schedule.next_attempt_at
    assert due is not None, "an open case has its next call planned"
    world.clock.set(max(world.clock(), due))
    ring_now(world)


def ring_until_closed(world: World, phone: str = VICTIM, most: int = 12) -> Schedule:
    """Ring the case each time it falls due until it gets a final disposition."""
    for _ in range(most):
        schedule = world.schedule(phone)
        if schedule.disposition is not None:
            return schedule
        if schedule.planned_at is None:
            ring_now(world)  # a new case: the scheduler plans it and rings it now
        else:
            ring_when_due(world, phone)
    raise AssertionError(
        f"still open after {most} scheduler passes: {world.schedule(phone).outcomes}"
    )


def assert_never_rung_again(world: World, phone: str = VICTIM, days: int = 10) -> None:
    """On each of the next ``days`` days, inside a calling window, nothing rings the case."""
    calls = len(world.calls_to(phone))
    windows = world.campaign().policy.windows
    for _ in range(days):
        tomorrow = world.clock().astimezone(LONDON).date() + timedelta(days=1)
        noon = datetime.combine(tomorrow, time(12), tzinfo=LONDON).astimezone(UTC)
        world.clock.set(windows.next_open(noon))
        report = world.tick()
        assert report.window_open and report.queued == [], world.clock()
    world.play()
    assert len(world.calls_to(phone)) == calls


def interviews_of(world: World, phone: str = VICTIM) -> list[Interview]:
    with world.db.transaction() as session:
        return list(
            session.scalars(
                select(Interview)
                .join(Case, Case.id == Interview.case_id)
                .where(Case.phone == phone)
                .order_by(Interview.id)
            )
        )


def answer_codes(world: World, phone: str = VICTIM) -> dict[str, str | None]:
    with world.db.transaction() as session:
        return {
            a.question_id: a.code
            for a in session.scalars(
                select(Answer)
                .join(Interview, Interview.id == Answer.interview_id)
                .join(Case, Case.id == Interview.case_id)
                .where(Case.phone == phone)
                .order_by(Answer.id)
            )
        }


def keys(*digits: str) -> list[Action]:
    return [press(d) for d in digits]


# --- 1. interviews ------------------------------------------------------------------------


def test_a_victim_who_answers_every_question_is_a_complete_interview(world: World) -> None:
    one_case(world)
    ring_now(world)
    schedule = world.schedule(VICTIM)
    assert (schedule.disposition, schedule.reason) == ("1.1", "completed_interview")
    assert [i.status for i in interviews_of(world)] == ["completed"]
    assert_never_rung_again(world)


def test_three_core_answers_then_two_hang_ups_is_a_partial_interview(world: World) -> None:
    one_case(world)
    # Identity, consent, three of the five core questions; then the victim hangs up.
    world.fates[VICTIM].append(human(Scripted(*keys("1", "1", "2", "3", "2"), hang_up())))
    # Rung back to carry on: identity, "carry on", and a hang-up again.
    again = Scripted(press("1"), press("1"), hang_up())
    world.fates[VICTIM].append(human(again))
    ring_now(world)
    first = world.schedule(VICTIM)
    assert first.disposition is None and first.outcomes == ["partial"]
    ring_when_due(world)
    assert "Last time we spoke" in again.heard[1][0]
    schedule = world.schedule(VICTIM)
    assert (schedule.disposition, schedule.reason) == ("1.2", "stopped_part_way")
    assert schedule.outcomes == ["partial", "partial"]
    assert [i.status for i in interviews_of(world)] == ["partial"]
    assert answer_codes(world) == {
        "ease_of_contact": "2",
        "actions_taken": "3",
        "kept_informed": "2",
    }
    assert_never_rung_again(world)


def test_after_stopping_part_way_one_more_call_of_any_outcome_closes_the_case(
    world: World,
) -> None:
    one_case(world)
    world.fates[VICTIM].append(human(Scripted(*keys("1", "1", "2", "3", "2"), hang_up())))
    # The call back is answered, but nobody confirms who they are.
    world.fates[VICTIM].append(human(Scripted(hang_up())))
    ring_now(world)
    ring_when_due(world)
    schedule = world.schedule(VICTIM)
    assert schedule.outcomes == ["partial", "no_screener"]
    assert (schedule.disposition, schedule.reason) == ("1.2", "stopped_part_way")
    assert len(world.calls_to(VICTIM)) == 2
    assert_never_rung_again(world)


def test_three_core_answers_and_then_the_calling_period_ends_is_still_a_partial(
    world: World,
) -> None:
    # Reported twelve weeks ago today: today is the last day of the calling period.
    one_case(world, reported=MONDAY_11.date() - timedelta(weeks=12))
    world.fates[VICTIM].append(human(Scripted(*keys("1", "1", "1", "2", "8"), hang_up())))
    ring_now(world)
    assert world.schedule(VICTIM).disposition is None
    ring_when_due(world)
    schedule = world.schedule(VICTIM)
    # Not rung back after the period; the interview it had (don't know is an answer) stands.
    assert (schedule.disposition, schedule.reason) == ("1.2", "past_calling_period")
    assert len(world.calls_to(VICTIM)) == 1


# --- 2. eligible, no interview ------------------------------------------------------------


def test_fewer_than_three_core_answers_then_two_hang_ups_is_a_break_off(world: World) -> None:
    one_case(world)
    world.fates[VICTIM].append(human(Scripted(*keys("1", "1", "4"), hang_up())))
    world.fates[VICTIM].append(human(Scripted(*keys("1", "1", "5"), hang_up())))
    ring_now(world)
    assert world.schedule(VICTIM).disposition is None
    ring_when_due(world)
    schedule = world.schedule(VICTIM)
    # Identity was confirmed, and two of five core questions answered: short of three.
    assert (schedule.disposition, schedule.reason) == ("2.12", "stopped_part_way")
    assert answer_codes(world) == {"ease_of_contact": "4", "actions_taken": "5"}
    assert len(interviews_of(world)) == 1
    assert_never_rung_again(world)


def test_refusing_at_consent_is_a_refusal_and_the_number_is_never_rung_again(
    world: World,
) -> None:
    one_case(world)
    world.fates[VICTIM].append(human(Scripted(press("1"), press("3"))))
    ring_now(world)
    schedule = world.schedule(VICTIM)
    assert (schedule.disposition, schedule.reason) == ("2.11", "refused")
    assert [i.status for i in interviews_of(world)] == ["refused"]
    with world.db.transaction() as session:
        listed = session.get(DoNotCall, CLEAR.phone_hash(VICTIM))
        assert listed is not None and listed.source == "survey call"
    assert_never_rung_again(world)


def test_someone_saying_the_victim_is_out_books_a_call_back_then_never_reached_is_2_21(
    world: World,
) -> None:
    one_case(world)
    # Not available now (2), call back tomorrow during the day (2).
    world.fates[VICTIM].append(human(Scripted(press("2"), press("2"))))
    world.default_fate = no_answer
    ring_now(world)
    schedule = world.schedule(VICTIM)
    assert schedule.disposition is None and schedule.appointment_at is not None
    appointment = schedule.appointment_at.astimezone(LONDON)
    assert appointment.date() == MONDAY_11.date() + timedelta(days=1)
    assert 10 <= appointment.hour < 17
    assert [i.status for i in interviews_of(world)] == ["callback_requested"]
    closed = ring_until_closed(world)
    assert (closed.disposition, closed.reason) == ("2.21", "attempts_exhausted")
    assert closed.outcomes == ["callback_requested"] + ["no_answer"] * (MAX_ATTEMPTS - 1)
    assert len(world.calls_to(VICTIM)) == MAX_ATTEMPTS == closed.attempts
    assert_never_rung_again(world)


def test_a_victim_asking_at_consent_to_be_rung_back_and_never_reached_is_2_21(
    world: World,
) -> None:
    one_case(world)
    # Speaking (1), call me back later (2), tomorrow evening (3).
    world.fates[VICTIM].append(human(Scripted(press("1"), press("2"), press("3"))))
    world.default_fate = no_answer
    ring_now(world)
    schedule = world.schedule(VICTIM)
    assert schedule.disposition is None and schedule.appointment_at is not None
    appointment = schedule.appointment_at.astimezone(LONDON)
    assert appointment.date() == MONDAY_11.date() + timedelta(days=1)
    assert appointment.hour >= 17
    closed = ring_until_closed(world)
    assert (closed.disposition, closed.reason) == ("2.21", "attempts_exhausted")
    assert len(world.calls_to(VICTIM)) == MAX_ATTEMPTS
    assert_never_rung_again(world)


def test_a_spouse_answering_keeps_the_case_open_and_the_victim_completes_later(
    world: World,
) -> None:
    one_case(world)
    # The spouse: not available now (2), tomorrow during the day (2).
    world.fates[VICTIM].append(human(Scripted(press("2"), press("2"))))
    victim = Scripted(*keys(*SATISFIED))
    world.fates[VICTIM].append(human(victim))
    ring_now(world)
    schedule = world.schedule(VICTIM)
    assert schedule.disposition is None and schedule.appointment_at is not None
    world.clock.set(schedule.appointment_at + timedelta(minutes=2))
    ring_now(world)
    assert len(world.calls_to(VICTIM)) == 2
    # The victim hears the survey introduced afresh: nothing was answered on the first call.
    assert "You reported a burglary" in victim.heard[1][0]
    schedule = world.schedule(VICTIM)
    assert (schedule.disposition, schedule.reason) == ("1.1", "completed_interview")
    assert schedule.outcomes == ["callback_requested", "completed_interview"]
    (interview,) = interviews_of(world)
    assert interview.status == "completed"
    assert answer_codes(world)["whole_experience"] == "1"


def test_not_safe_to_talk_and_then_the_calling_period_ends_is_respondent_never_available(
    world: World,
) -> None:
    # Domestic abuse, two days left of the calling period.
    one_case(
        world,
        crime="domestic_abuse",
        reported=MONDAY_11.date() - timedelta(weeks=12) + timedelta(days=2),
    )
    # Speaking (1), not safe to talk (2).
    world.fates[VICTIM].append(human(Scripted(press("1"), press("2"))))
    ring_now(world)
    schedule = world.schedule(VICTIM)
    assert schedule.disposition is None and schedule.interviewer_only_since is not None
    assert [i.status for i in interviews_of(world)] == ["unsafe"]
    windows = world.campaign().policy.windows
    for days_on in (1, 2, 3):
        day = MONDAY_11.astimezone(LONDON).date() + timedelta(days=days_on)
        world.clock.set(
            windows.next_open(datetime.combine(day, time(12), tzinfo=LONDON).astimezone(UTC))
        )
        report = world.tick()
        assert report.window_open and report.queued == []
        # Left to interviewers while the period lasts; closed the day after it ends.
        assert (world.schedule(VICTIM).disposition is None) == (days_on < 3), days_on
    schedule = world.schedule(VICTIM)
    assert (schedule.disposition, schedule.reason) == ("2.21", "past_calling_period")
    assert len(world.calls_to(VICTIM)) == 1


# --- 3. unknown eligibility ---------------------------------------------------------------


def test_silence_at_the_identity_check_every_time_is_no_screener_completed(
    world: World,
) -> None:
    one_case(world)
    world.default_fate = lambda: human(Scripted(silence(), silence(), silence()))
    ring_now(world)
    first = world.schedule(VICTIM)
    # Retried within the policy, not closed after the first call.
    assert first.disposition is None and first.next_attempt_at is not None
    assert first.outcomes == ["no_screener"] and first.attempts == 1
    assert [i.status for i in interviews_of(world)] == ["no_response"]
    closed = ring_until_closed(world)
    assert (closed.disposition, closed.reason) == ("3.21", "attempts_exhausted")
    assert closed.outcomes == ["no_screener"] * MAX_ATTEMPTS
    assert len(world.calls_to(VICTIM)) == MAX_ATTEMPTS
    assert len(interviews_of(world)) == 1
    assert_never_rung_again(world)


def test_a_hang_up_at_the_identity_check_is_retried_and_is_never_a_break_off(
    world: World,
) -> None:
    one_case(world)
    world.default_fate = lambda: human(Scripted(hang_up()))
    ring_now(world)
    first = world.schedule(VICTIM)
    assert first.disposition is None and first.next_attempt_at is not None
    assert first.outcomes == ["no_screener"]
    assert [i.status for i in interviews_of(world)] == ["no_response"]
    ring_when_due(world)
    # A second hang-up at the identity check is no second "partial": still worked.
    assert world.schedule(VICTIM).disposition is None
    closed = ring_until_closed(world)
    assert (closed.disposition, closed.reason) == ("3.21", "attempts_exhausted")
    assert len(world.calls_to(VICTIM)) == MAX_ATTEMPTS
    assert answer_codes(world) == {}


def test_nobody_of_that_name_is_a_wrong_number_closed_at_once(world: World) -> None:
    one_case(world)
    call = Scripted(press("3"), press("1"))
    world.fates[VICTIM].append(human(call))
    ring_now(world)
    schedule = world.schedule(VICTIM)
    assert (schedule.disposition, schedule.reason) == ("3.91", "wrong_number")
    assert [i.status for i in interviews_of(world)] == ["wrong_number"]
    # The stranger hears nothing about the survey, and the call ends there.
    assert len(call.heard) == 1
    assert_never_rung_again(world)


def test_a_case_whose_calling_period_ran_out_before_any_call_is_not_attempted(
    world: World,
) -> None:
    today = MONDAY_11.date()
    world.import_csv(
        uss_csv(
            [
                ("CR/1/26", VICTIM, "burglary", today - timedelta(weeks=13)),  # past it on arrival
                ("CR/2/26", OTHER, "burglary", today - timedelta(weeks=11, days=6)),  # one day left
            ]
        )
    )
    # The campaign is paused for a week: the second case's period runs out meanwhile.
    with world.db.engine.begin() as conn:
        store.set_campaign_status(conn, "uss", "paused", world.clock())
    report = world.tick()
    assert report.planned == 2 and report.queued == []
    assert world.schedule(VICTIM).disposition == "3.11"
    assert world.schedule(OTHER).disposition is None
    world.clock.advance(days=7)
    world.start()
    ring_now(world)
    for phone in (VICTIM, OTHER):
        schedule = world.schedule(phone)
        assert (schedule.disposition, schedule.reason, schedule.attempts) == (
            "3.11",
            "past_calling_period",
            0,
        ), phone
    assert world.fake.calls == []


@pytest.mark.parametrize(
    ("fate", "code", "outcome"),
    [
        (no_answer, "3.13", "no_answer"),
        (busy, "3.12", "busy"),
    ],
)
def test_a_line_that_never_answers_is_closed_when_the_attempts_run_out(
    world: World,
    fate: Callable[[], Fate],
    code: str,
    outcome: str,
) -> None:
    one_case(world)
    world.default_fate = fate
    closed = ring_until_closed(world)
    assert (closed.disposition, closed.reason) == (code, "attempts_exhausted")
    assert closed.outcomes == [outcome] * MAX_ATTEMPTS
    assert len(world.calls_to(VICTIM)) == MAX_ATTEMPTS
    assert interviews_of(world) == []
    assert_never_rung_again(world)


def test_a_machine_on_every_attempt_is_answering_machine_eligibility_unknown(
    world: World,
) -> None:
    one_case(world)
    world.default_fate = machine
    closed = ring_until_closed(world)
    assert (closed.disposition, closed.reason) == ("3.14", "attempts_exhausted")
    assert closed.outcomes == ["machine"] * MAX_ATTEMPTS
    assert len(world.calls_to(VICTIM)) == MAX_ATTEMPTS
    # A machine hears nothing at all: no interview was started for it.
    assert interviews_of(world) == []
    for call in world.calls_to(VICTIM):
        assert call.record is not None
        assert all("<Say" not in body for body in call.record.responses)
    assert_never_rung_again(world)


# --- 4. not eligible ----------------------------------------------------------------------


def test_a_victim_under_sixteen_is_out_of_sample_and_never_rung(world: World) -> None:
    reported = SEVEN_WEEKS_AGO.isoformat()
    world.import_csv(
        "case_ref,phone,crime_type,district,reported_on,first_name,age\n"
        f"CR/1/26,{VICTIM},burglary,Hartlepool,{reported},Alex,15\n"
        f"CR/2/26,{OTHER},burglary,Hartlepool,{reported},Sam,16\n"
    )
    world.tick()
    calls = world.play()
    young = world.schedule(VICTIM)
    assert (young.disposition, young.reason, young.attempts) == ("4.10", "under_age", 0)
    # Sixteen is old enough: that victim is rung.
    assert [c.params["To"] for c in calls] == [OTHER]
    assert world.schedule(OTHER).disposition == "1.1"
    assert_never_rung_again(world, VICTIM)
    with world.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Interview)) == 1
