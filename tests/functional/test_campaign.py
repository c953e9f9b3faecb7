"""Outbound campaigns end to end: eligibility, windows, attempts, outcomes, do-not-call.

Each test runs on SQLite and PostgreSQL. The dialler places real REST requests (Twilio's
client) to a fake Twilio API on loopback, which plays the calls back through the webhooks.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ivr.campaigns import dialler, scheduler
from ivr.store import campaigns as store
from ivr.store.models import CallAttempt, Interview
from ivr.telephony.fake_api import busy, human, machine, no_answer
from ivr.telephony.respondents import Scripted, hang_up, press
from tests.conftest import PUBLIC_BASE_URL, SURVEY_NUMBER, simulator
from tests.functional.campaign_world import (
    MONDAY_11,
    SATISFIED,
    World,
    campaign_world,
    uss_csv,
)

LONDON = ZoneInfo("Europe/London")
SEVEN_WEEKS_AGO = MONDAY_11.date() - timedelta(weeks=7)
A, B, C, D = "+441134960101", "+441134960102", "+441134960103", "+441134960104"


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        yield w


def one_case(
    world: World, phone: str = A, crime: str = "burglary", reported: date = SEVEN_WEEKS_AGO
) -> None:
    world.import_csv(uss_csv([(f"CR/{phone[-4:]}/26", phone, crime, reported)]))


def test_an_eligible_victim_is_rung_from_the_survey_number_and_completes(world: World) -> None:
    one_case(world)
    world.start()
    report = world.tick()
    assert report.planned == 1 and len(report.queued) == 1
    (call,) = world.play()
    params = call.params
    assert params["To"] == A and params["From"] == SURVEY_NUMBER
    assert params["Url"].startswith(f"{PUBLIC_BASE_URL}/twilio/voice?attempt=")
    assert params["StatusCallback"].startswith(f"{PUBLIC_BASE_URL}/twilio/status?attempt=")
    assert int(params["Timeout"]) >= 15
    assert params["MachineDetection"] == "Enable"
    assert set(call.status_events) >= {"initiated", "ringing", "answered", "completed"}
    assert call.record is not None and call.record.ended_by == "app"
    schedule = world.schedule(A)
    assert schedule.disposition == "1.1" and schedule.active_attempt_id is None
    (attempt,) = world.attempts(A)
    assert (attempt.status, attempt.outcome, attempt.call_sid) == (
        "completed",
        "completed_interview",
        call.sid,
    )
    # A completed case is never rung again.
    world.clock.advance(days=1)
    assert world.tick().queued == []


def test_cases_outside_the_period_or_not_covered_are_not_rung(world: World) -> None:
    today = MONDAY_11.date()
    world.import_csv(
        uss_csv(
            [
                ("CR/1/26", A, "burglary", today - timedelta(weeks=7)),  # eligible
                ("CR/2/26", B, "burglary", today - timedelta(weeks=3)),  # too soon
                ("CR/3/26", C, "vehicle", today - timedelta(weeks=13)),  # too late
            ]
        )
    )
    world.start()
    report = world.tick()
    assert [c.params["To"] for c in world.play()] == [A]
    assert report.planned == 3
    # Never rung because its calling period ran out: still in the sample, not attempted.
    assert world.schedule(C).disposition == "3.11"
    too_soon = world.schedule(B)
    assert too_soon.disposition is None
    # Planned for the first window of the day six weeks after the report.
    due = too_soon.next_attempt_at
    assert due is not None
    assert due.replace(tzinfo=UTC).astimezone(LONDON).date() == today + timedelta(weeks=3)
    preview = scheduler.preview(world.db, world.campaign(), world.clock())
    assert preview["cases"] == 3
    assert preview["not_eligible"] == {
        "already_interviewed": 1,
        "not_yet": 1,
        "past_calling_period": 1,
    }


def test_no_call_starts_outside_the_calling_window(world: World) -> None:
    one_case(world)
    world.start()
    for when in (
        datetime(2026, 11, 23, 20, 45, tzinfo=UTC),  # Monday 20:45
        datetime(2026, 11, 29, 18, 30, tzinfo=UTC),  # Sunday 18:30
        datetime(2026, 12, 25, 12, 0, tzinfo=UTC),  # Christmas Day, Friday
        datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
    ):  # Tuesday 9:30
        world.clock.set(when)
        report = world.tick()
        assert not report.window_open and report.queued == [], when
    assert world.fake.calls == []
    world.clock.set(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert len(world.tick().queued) == 1


def test_a_paused_campaign_rings_nobody(world: World) -> None:
    one_case(world)
    assert not world.tick().running
    world.start()
    with world.db.engine.begin() as conn:
        store.set_campaign_status(conn, "uss", "paused", world.clock())
    assert world.tick().queued == [] and world.fake.calls == []


def test_no_answers_are_retried_at_other_times_up_to_the_maximum(world: World) -> None:
    one_case(world)
    world.start()
    world.default_fate = no_answer
    starts: list[datetime] = []
    for _ in range(200):
        if world.tick().queued:
            starts.append(world.clock())
            world.play()
        world.clock.advance(minutes=15)
        if world.schedule(A).disposition:
            break
    schedule = world.schedule(A)
    assert len(world.calls_to(A)) == 6 == len(starts) == schedule.attempts
    assert schedule.disposition == "3.13" and schedule.reason == "attempts_exhausted"
    dayparts = {
        (
            "morning"
            if t.astimezone(LONDON).hour < 12
            else "afternoon"
            if t.astimezone(LONDON).hour < 17
            else "evening"
        )
        for t in starts
    }
    assert len(dayparts) >= 3
    assert len({t.astimezone(LONDON).date() for t in starts}) >= 2
    assert all(world.campaign().policy.may_start(t) for t in starts)


def test_a_victim_who_hangs_up_midway_is_rung_once_more_and_then_left(world: World) -> None:
    one_case(world)
    world.start()
    world.fates[A].append(human(Scripted(press("1"), press("1"), press("2"), hang_up())))
    world.fates[A].append(human(Scripted(press("1"), press("1"), press("3"), hang_up())))
    world.tick()
    world.play()
    assert world.schedule(A).disposition is None  # rung again to carry on
    world.clock.set(world.schedule(A).next_attempt_at.replace(tzinfo=UTC))  # type: ignore[union-attr]
    world.tick()
    world.play()
    schedule = world.schedule(A)
    # Two of five core questions answered, short of the threshold of three: a break-off.
    assert (schedule.disposition, schedule.reason) == ("2.12", "stopped_part_way")
    world.clock.advance(days=2)
    assert world.tick().queued == []


def test_busy_machine_and_failures_each_count_and_retry(world: World) -> None:
    one_case(world)
    world.start()
    world.fates[A].extend([busy(), machine()])
    world.tick()
    (first,) = world.play()
    assert world.attempts(A)[0].outcome == "busy"
    world.clock.set(world.schedule(A).next_attempt_at.replace(tzinfo=UTC))  # type: ignore[union-attr]
    world.tick()
    (second,) = world.play()
    # An answering machine hears nothing about the police or a crime: only a hang-up.
    assert second.record is not None
    assert all("<Say" not in body for body in second.record.responses)
    attempts = world.attempts(A)
    assert [a.outcome for a in attempts] == ["busy", "machine"]
    assert world.schedule(A).attempts == 2 and world.schedule(A).disposition is None


def test_call_me_back_this_evening_is_kept_within_fifteen_minutes(world: World) -> None:
    one_case(world)
    world.start()
    world.fates[A].append(human(Scripted(press("1"), press("2"), press("1"))))
    world.tick()
    world.play()
    schedule = world.schedule(A)
    appointment = schedule.appointment_at
    assert appointment is not None and schedule.disposition is None
    appointment = appointment.replace(tzinfo=UTC)
    assert appointment.astimezone(LONDON).hour >= 17
    assert appointment.astimezone(LONDON).date() == MONDAY_11.date()
    world.clock.set(appointment - timedelta(minutes=1))
    assert world.tick().queued == []
    world.clock.set(appointment + timedelta(minutes=5))
    assert len(world.tick().queued) == 1
    (call,) = world.play()
    assert call.record is not None and call.record.ended_by == "app"
    assert world.schedule(A).disposition == "1.1"


def test_a_victim_who_will_not_take_part_is_never_rung_by_any_survey(world: World) -> None:
    one_case(world)
    world.import_csv(
        "case_ref,phone,first_name,closed_on,consent\n"
        f"VC/1,{A},Alex,{(MONDAY_11.date() - timedelta(days=10)).isoformat()},yes\n",
        survey="vcas_exit",
    )
    world.start()
    world.start("vcas_exit")
    world.fates[A].append(human(Scripted(press("1"), press("3"))))
    world.tick()
    world.play()
    assert world.schedule(A).disposition == "2.11"
    with world.db.engine.connect() as conn:
        assert store.on_do_not_call(conn, [A]) == {A}
    assert world.schedule(A, "vcas_exit").disposition == "2.11"
    world.clock.advance(days=1)
    assert world.tick("vcas_exit").queued == [] and len(world.fake.calls) == 1


def test_status_callbacks_twice_and_out_of_order_end_an_attempt_once(any_db: str) -> None:
    with campaign_world(any_db, duplicate_callbacks=True, out_of_order_callbacks=True) as world:
        one_case(world)
        world.start()
        world.default_fate = no_answer
        world.tick()
        (call,) = world.play()
        assert call.callback_statuses.count("no-answer") == 2
        (attempt,) = world.attempts(A)
        assert (attempt.status, attempt.outcome) == ("no-answer", "no_answer")
        schedule = world.schedule(A)
        assert schedule.outcomes == ["no_answer"] and schedule.active_attempt_id is None


def test_dialling_an_attempt_twice_places_one_call(world: World) -> None:
    one_case(world)
    world.start()
    world.queue.enqueue = lambda *args: world.queue.jobs.append(args)  # type: ignore[method-assign]
    (public_id,) = world.tick().queued
    for _ in range(3):
        with world.app.app_context():
            from workers.dialer import place_call

            place_call(public_id)
    assert len(world.fake.calls) == 1
    (attempt,) = world.attempts(A)
    assert attempt.status == "initiated" and attempt.call_sid == world.fake.calls[0].sid


def test_a_victim_calling_back_cancels_the_calls_queued_for_them(world: World) -> None:
    one_case(world)
    world.start()
    world.queue.enqueue = lambda *args: world.queue.jobs.append(args)  # type: ignore[method-assign]
    world.tick()
    (attempt,) = world.attempts(A)
    assert attempt.status == "queued"
    record = simulator(world.app).call(
        from_=A, to=SURVEY_NUMBER, respondent=Scripted(*(press(k) for k in SATISFIED))
    )
    assert record.ended_by == "app"
    (cancelled, inbound) = world.attempts(A)
    assert cancelled.status == "cancelled" and inbound.direction == "inbound"
    schedule = world.schedule(A)
    # The cancelled attempt never rang, so it does not count; the interview closes the case.
    assert schedule.attempts == 0 and schedule.active_attempt_id is None
    assert schedule.disposition == "1.1"
    with world.app.app_context():
        from workers.dialer import place_call

        assert place_call(attempt.public_id).startswith("skipped")
    assert world.fake.calls == []


def dial_one(world: World) -> str:
    """Queue the one due call, then dial it by hand (not played back yet)."""
    world.queue.enqueue = lambda *args: world.queue.jobs.append(args)  # type: ignore[method-assign]
    (public_id,) = world.tick().queued
    with world.app.app_context():
        from workers.dialer import place_call

        place_call(public_id)
    return public_id


def test_an_answered_call_that_cannot_go_on_plays_the_information_message(
    world: World,
) -> None:
    one_case(world)
    world.start()
    dial_one(world)
    # The survey is withdrawn between the call being placed and answered.
    world.app.extensions["ivr"].questionnaires.surveys = lambda: []  # type: ignore[method-assign]
    world.fates[A].append(human(Scripted(press("9"))))
    (call,) = world.play()
    assert call.record is not None
    first = call.record.responses[0]
    assert "press 9" in first and "burglary" not in first and "Alex" not in first
    with world.db.engine.connect() as conn:
        assert store.on_do_not_call(conn, [A]) == {A}
    with world.db.transaction() as session:
        attempt = session.scalars(select(CallAttempt)).one()
        assert attempt.outcome == "info_message"
        assert session.scalars(select(Interview)).all() == []


def test_the_information_message_for_a_domestic_abuse_case_does_not_say_who_is_calling(
    world: World,
) -> None:
    world.import_csv(
        uss_csv([("CR/1/26", A, "domestic_abuse", MONDAY_11.date() - timedelta(weeks=7))])
    )
    world.start()
    dial_one(world)
    world.app.extensions["ivr"].questionnaires.surveys = lambda: []  # type: ignore[method-assign]
    world.fates[A].append(human(Scripted(press("2"))))
    (call,) = world.play()
    assert call.record is not None
    said = call.record.heard_text
    assert "This is an automated call. We are sorry" in said and "press 9" in said
    assert "police" not in said.lower() and "victim" not in said.lower()


def test_after_the_information_message_the_number_rests_for_72_hours(world: World) -> None:
    one_case(world)
    world.start()
    dial_one(world)
    registry = world.app.extensions["ivr"].questionnaires
    loaded = registry.surveys
    registry.surveys = lambda: []  # type: ignore[method-assign]
    world.fates[A].append(human(Scripted(press("1"))))  # any key but 9
    world.play()
    registry.surveys = loaded  # type: ignore[method-assign]
    following = world.schedule(A).next_attempt_at
    assert following is not None
    assert following.replace(tzinfo=UTC) >= MONDAY_11 + timedelta(hours=72)
    world.queue.enqueue = lambda *args: world.queue.jobs.append(args)  # type: ignore[method-assign]
    for hours in (1, 24, 71):
        world.clock.set(MONDAY_11 + timedelta(hours=hours))
        assert world.tick().queued == [], hours
    with world.db.engine.connect() as conn:
        assert store.on_do_not_call(conn, [A]) == set()


def test_the_concurrent_call_limit_holds_back_calls(world: World) -> None:
    world.import_csv(
        uss_csv([(f"CR/{p[-4:]}/26", p, "burglary", SEVEN_WEEKS_AGO) for p in (A, B, C, D)])
    )
    world.start()
    assert len(world.tick(max_concurrent_calls=3).queued) == 3
    assert world.tick(max_concurrent_calls=3).queued == []
    world.play()
    assert len(world.tick(max_concurrent_calls=3).queued) == 1


def test_opting_out_by_the_command_closes_open_cases(world: World) -> None:
    one_case(world)
    with world.db.engine.begin() as conn:
        dialler.opt_out(conn, A, reason="asked by letter", source="command line", now=world.clock())
    world.start()
    world.tick()
    assert world.fake.calls == []
    assert world.schedule(A).disposition == "2.11"


def test_an_imported_case_gets_an_empty_schedule(world: World) -> None:
    one_case(world)
    schedule = world.schedule(A)
    assert (schedule.outcomes, schedule.attempts, schedule.planned_at) == ([], 0, None)
    with world.db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT outcomes FROM schedules").scalar()
    # Stored as JSON text (or a JSON value), never as a number.
    assert raw in ("[]", [])


def test_no_phone_number_reaches_the_logs_when_calls_fail(
    world: World,
    caplog: pytest.LogCaptureFixture,
) -> None:
    one_case(world)
    world.start()
    caplog.set_level("DEBUG")
    # Twilio's messages quote the number; none of it may be logged.
    world.fake.fail_next(400, 21211, f"The 'To' number {A} is not a valid phone number.")
    world.tick()
    world.clock.advance(hours=4)
    world.default_fate = no_answer
    world.tick()
    world.play()
    assert [a.outcome for a in world.attempts(A)][:1] == ["not_placed"]
    assert A not in caplog.text and A[3:] not in caplog.text
