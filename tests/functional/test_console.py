"""The interviewer console's domain: cases held, answers kept, calls ended, on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from ivr.console import assisted
from ivr.console.assisted import ConsoleError
from ivr.store import campaigns as store
from ivr.store.models import Answer, CallAttempt, Interview, Referral, User
from tests.functional.campaign_world import MONDAY_11, World, campaign_world, uss_csv

SEVEN_WEEKS_AGO = MONDAY_11.date() - timedelta(weeks=7)
A, B, C = "+441134960101", "+441134960102", "+441134960103"
#: Identity, consent, the five core questions satisfied, no further police contact.
SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")


@pytest.fixture
def world(any_db: str) -> Iterator[World]:
    with campaign_world(any_db) as w:
        yield w


def cases(world: World, *phones: str) -> None:
    world.import_csv(
        uss_csv([(f"CR/{i}", phone, "burglary", SEVEN_WEEKS_AGO) for i, phone in enumerate(phones)])
    )


def interviewer(world: World, name: str, role: str = "interviewer") -> User:
    with world.db.transaction() as session:
        user = User(
            email=f"{name}@police.example",
            name=name,
            role=role,
            password_hash="not used",
            active=True,
        )
        session.add(user)
    return user


def registry(world: World) -> Any:
    return world.app.extensions["ivr"].questionnaires


def open_next(world: World, user: User) -> assisted.Screen:
    case_id = assisted.next_case(world.db, registry(world), user, world.clock())
    assert case_id is not None
    return assisted.open_interview(world.db, registry(world), user, case_id, world.clock())


def press_all(world: World, user: User, interview_id: int, *keys: str) -> assisted.Screen:
    shown = assisted.screen(world.db, registry(world), user, interview_id)
    for key in keys:
        shown = assisted.answer(
            world.db, registry(world), user, interview_id, key=key, now=world.clock()
        )
    return shown


def count(world: World, model: Any) -> int:
    with world.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_two_interviewers_never_get_the_same_case(world: World) -> None:
    cases(world, A, B)
    ann, bob, cat = (interviewer(world, n) for n in ("ann", "bob", "cat"))
    first = assisted.next_case(world.db, registry(world), ann, world.clock())
    second = assisted.next_case(world.db, registry(world), bob, world.clock())
    assert first is not None and second is not None and first != second
    assert assisted.next_case(world.db, registry(world), cat, world.clock()) is None
    # Asking again gives the case already held.
    assert assisted.next_case(world.db, registry(world), ann, world.clock()) == first
    assert [c["case_id"] for c in assisted.held_cases(world.db, ann)] == [first]


def test_interviewers_asking_at_the_same_moment_never_share_a_case(world: World) -> None:
    cases(world, A)
    people = [interviewer(world, f"racer{n}") for n in range(4)]
    barrier = threading.Barrier(len(people))
    got: list[int | None] = []

    def ask(user: User) -> None:
        barrier.wait()
        got.append(assisted.next_case(world.db, registry(world), user, world.clock()))

    threads = [threading.Thread(target=ask, args=(user,)) for user in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == len(people)
    assert sum(case is not None for case in got) == 1


def test_no_case_is_given_outside_the_calling_window(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    world.clock.set(MONDAY_11.replace(hour=21))
    assert assisted.next_case(world.db, registry(world), ann, world.clock()) is None
    world.clock.set(MONDAY_11 + timedelta(days=1))
    assert assisted.next_case(world.db, registry(world), ann, world.clock()) is not None


def test_do_not_call_and_interviewed_cases_are_not_given(world: World) -> None:
    cases(world, A)
    with world.db.engine.begin() as conn:
        store.add_do_not_call(conn, A, reason="test", source="test", now=world.clock())
    assert (
        assisted.next_case(world.db, registry(world), interviewer(world, "ann"), world.clock())
        is None
    )


def test_release_gives_the_case_back(world: World) -> None:
    cases(world, A)
    ann, bob = interviewer(world, "ann"), interviewer(world, "bob")
    case_id = assisted.next_case(world.db, registry(world), ann, world.clock())
    assert case_id is not None
    with pytest.raises(ConsoleError):
        assisted.release(world.db, bob, case_id, world.clock())
    assisted.release(world.db, ann, case_id, world.clock())
    assert assisted.held_cases(world.db, ann) == []
    assert assisted.next_case(world.db, registry(world), bob, world.clock()) == case_id


def test_a_satisfied_interview_completes_like_the_phone(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    assert (shown.kind, shown.heading, shown.node) == ("control", "Identity check", "_identity")
    assert "Alex" in shown.wording and shown.phone == A
    shown = press_all(world, ann, shown.interview_id, "1", "1")
    assert (shown.kind, shown.heading) == ("question", "Question 1 of 8")
    # The very words the phone says; instructions to the interviewer come apart from them.
    assert shown.wording.endswith("someone who could help you?")
    assert shown.instructions == "Read the options. Press 1 to 7 or click."
    assert len(shown.options) == 7 and not shown.free_text
    assert shown.not_counted == (("8", "don't know"),)
    shown = press_all(world, ann, shown.interview_id, *SATISFIED[2:])
    assert (shown.kind, shown.status) == ("ended", "completed")
    assert shown.closing.startswith("Thank you for taking part")
    assert shown.answers[0] == ("ease_of_contact", "completely satisfied")
    with world.db.transaction() as session:
        interview = session.get(Interview, shown.interview_id)
        assert interview is not None
        assert (interview.channel, interview.interviewer_id) == ("interviewer", ann.id)
        vias = set(session.scalars(select(Answer.via)))
    assert vias == {"interviewer"}
    assisted.end_call(
        world.db, registry(world), ann, shown.interview_id, "completed", world.clock()
    )
    schedule = world.schedule(A)
    assert (schedule.disposition, schedule.held_by_id) == ("1.1", None)


def test_completed_is_refused_before_the_interview_completes(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    with pytest.raises(ConsoleError, match="not been completed"):
        assisted.end_call(
            world.db, registry(world), ann, shown.interview_id, "completed", world.clock()
        )


def test_bad_keys_are_refused_and_nothing_is_written(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    shown = press_all(world, ann, shown.interview_id, "1", "1")

    def stored() -> tuple[Any, ...]:
        with world.db.transaction() as session:
            interview = session.get(Interview, shown.interview_id)
            assert interview is not None
            step_no, state = interview.step_no, interview.state
        return step_no, state, count(world, Answer)

    before = stored()
    for bad in ({"key": "9"}, {"key": "0"}, {"key": None}, {"text": "fine"}, {"key": ""}):
        with pytest.raises(ConsoleError):
            assisted.answer(
                world.db, registry(world), ann, shown.interview_id, now=world.clock(), **bad
            )
    assert stored() == before
    # No try was counted: the question still takes its answer.
    after = assisted.answer(
        world.db, registry(world), ann, shown.interview_id, key="4", now=world.clock()
    )
    assert after.answers == (("ease_of_contact", "neither satisfied nor dissatisfied"),)


def test_recording_questions_take_typed_words(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    shown = press_all(world, ann, shown.interview_id, "1", "1", "7", "7", "7", "7", "7")
    assert (shown.node, shown.free_text) == ("dissatisfaction_reason", True)
    with pytest.raises(ConsoleError):
        assisted.answer(
            world.db, registry(world), ann, shown.interview_id, key="1", now=world.clock()
        )
    with pytest.raises(ConsoleError):
        assisted.answer(
            world.db, registry(world), ann, shown.interview_id, text="  ", now=world.clock()
        )
    shown = assisted.answer(
        world.db,
        registry(world),
        ann,
        shown.interview_id,
        text=" Nobody rang me back. ",
        now=world.clock(),
    )
    assert shown.answers[-1] == ("dissatisfaction_reason", "Nobody rang me back.")
    assert shown.node == "recovery_consent"
    press_all(world, ann, shown.interview_id, "1", "2")
    with world.db.transaction() as session:
        referral = session.scalars(select(Referral)).one()
    assert (referral.kind, referral.district, referral.consented) == (
        "service_recovery",
        "Hartlepool",
        True,
    )


def test_resuming_a_partial_interview_as_another_interviewer(world: World) -> None:
    cases(world, A)
    ann, bob = interviewer(world, "ann"), interviewer(world, "bob")
    shown = open_next(world, ann)
    press_all(world, ann, shown.interview_id, "1", "1", "2", "3")
    assisted.end_call(world.db, registry(world), ann, shown.interview_id, "partial", world.clock())
    assert world.schedule(A).disposition is None  # to be rung again, to carry on
    with pytest.raises(ConsoleError):  # ann no longer holds it
        assisted.answer(
            world.db, registry(world), ann, shown.interview_id, key="1", now=world.clock()
        )
    with pytest.raises(assisted.NotDealt):  # nobody dealt it to bob
        assisted.open_interview(world.db, registry(world), bob, shown.case_id, world.clock())
    boss = interviewer(world, "boss", role="supervisor")
    given = assisted.give_case(
        world.db, registry(world), boss, "uss", "CR/0", bob.id, world.clock()
    )
    assert given == shown.case_id
    resumed = assisted.open_interview(world.db, registry(world), bob, shown.case_id, world.clock())
    assert resumed.interview_id == shown.interview_id
    # Who they are is confirmed again before anything else; then consent to carry on.
    assert (resumed.status, resumed.node) == ("in_progress", "_identity")
    assert [qid for qid, _ in resumed.answers] == ["ease_of_contact", "actions_taken"]
    resumed = press_all(world, bob, resumed.interview_id, "1")
    assert resumed.node == "_consent" and "carry on" in resumed.wording
    resumed = press_all(world, bob, resumed.interview_id, "1")
    assert resumed.node == "kept_informed"
    done = press_all(world, bob, resumed.interview_id, "1", "1", "1", "2")
    assert done.status == "completed"
    assisted.end_call(world.db, registry(world), bob, done.interview_id, "completed", world.clock())
    with world.db.transaction() as session:
        interview = session.get(Interview, done.interview_id)
        assert interview is not None and interview.interviewer_id == bob.id
    assert world.schedule(A).disposition == "1.1"


def test_an_action_alert_mid_interview(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    press_all(world, ann, shown.interview_id, "1", "1", "2")
    referral_id = assisted.action_alert(
        world.db,
        registry(world),
        ann,
        shown.interview_id,
        "Says the offender came back last night",
        world.clock(),
    )
    with pytest.raises(ConsoleError, match="already"):
        assisted.action_alert(
            world.db, registry(world), ann, shown.interview_id, "again", world.clock()
        )
    with pytest.raises(ConsoleError):
        assisted.action_alert(
            world.db, registry(world), ann, shown.interview_id, " ", world.clock()
        )
    # Yes to "anything else the police should contact you about" raises no second alert.
    done = press_all(world, ann, shown.interview_id, "2", "2", "2", "2", "1")
    assert done.status == "completed"
    with world.db.transaction() as session:
        referrals = list(session.scalars(select(Referral)))
    assert [(r.id, r.kind, r.district) for r in referrals] == [
        (referral_id, "action_alert", "Hartlepool")
    ]
    assert referrals[0].reasons == [
        {
            "question": "interviewer",
            "code": None,
            "answer": "Says the offender came back last night",
        }
    ]


def test_a_callback_is_booked_inside_a_window(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    press_all(world, ann, shown.interview_id, "1")
    with pytest.raises(ConsoleError):
        assisted.book_callback(
            world.db, registry(world), ann, shown.interview_id, "never", world.clock()
        )
    when = assisted.book_callback(
        world.db, registry(world), ann, shown.interview_id, "tomorrow_evening", world.clock()
    )
    policy = world.campaign().policy
    assert policy.may_start(when) and when > world.clock() + timedelta(hours=12)
    assert when == policy.appointment("tomorrow_evening", world.clock())
    schedule = world.schedule(A)
    assert (schedule.held_by_id, schedule.disposition) == (None, None)
    assert schedule.appointment_at == when
    assert schedule.next_attempt_at == when
    after = assisted.screen(world.db, registry(world), ann, shown.interview_id)
    assert (after.status, after.kind) == ("callback_requested", "ended")


def test_a_refusal_joins_the_do_not_call_list(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    assisted.end_call(world.db, registry(world), ann, shown.interview_id, "refused", world.clock())
    with world.db.engine.connect() as conn:
        assert store.on_do_not_call(conn, [A]) == {A}
    assert world.schedule(A).disposition == "2.11"
    assert assisted.screen(world.db, registry(world), ann, shown.interview_id).status == "refused"


def test_no_answer_counts_an_attempt_and_rings_again_later(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    assisted.end_call(
        world.db, registry(world), ann, shown.interview_id, "no_answer", world.clock()
    )
    schedule = world.schedule(A)
    assert (schedule.attempts, schedule.outcomes, schedule.held_by_id) == (1, ["no_answer"], None)
    assert schedule.next_attempt_at > world.clock()  # type: ignore[operator]
    [attempt] = world.attempts(A)
    assert (attempt.direction, attempt.outcome, attempt.attempt_no) == (
        "interviewer",
        "no_answer",
        1,
    )
    assert assisted.next_case(world.db, registry(world), ann, world.clock()) is None
    world.clock.advance(hours=4)
    again = open_next(world, ann)
    # One interview per case, carried on from the identity check.
    assert again.interview_id == shown.interview_id and again.node == "_identity"
    assert count(world, CallAttempt) == 1


def test_ended_interviews_accept_only_their_own_outcome(world: World) -> None:
    cases(world, A)
    ann = interviewer(world, "ann")
    shown = open_next(world, ann)
    ended = press_all(world, ann, shown.interview_id, "3")
    assert ended.status == "wrong_number"
    with pytest.raises(ConsoleError, match="wrong_number"):
        assisted.end_call(world.db, registry(world), ann, shown.interview_id, "busy", world.clock())
    assisted.end_call(
        world.db, registry(world), ann, shown.interview_id, "wrong_number", world.clock()
    )
    assert world.schedule(A).disposition == "3.91"


def test_others_cannot_work_or_see_an_interview(world: World) -> None:
    cases(world, A)
    ann, bob = interviewer(world, "ann"), interviewer(world, "bob")
    boss = interviewer(world, "boss", role="supervisor")
    officer = interviewer(world, "dro", role="service_manager")
    shown = open_next(world, ann)
    with pytest.raises(ConsoleError):
        assisted.answer(
            world.db, registry(world), bob, shown.interview_id, key="1", now=world.clock()
        )
    with pytest.raises(ConsoleError):
        assisted.screen(world.db, registry(world), bob, shown.interview_id)
    with pytest.raises(ConsoleError):
        assisted.open_interview(world.db, registry(world), bob, shown.case_id, world.clock())
    with pytest.raises(ConsoleError):
        assisted.next_case(world.db, registry(world), officer, world.clock())
    assert assisted.screen(world.db, registry(world), boss, shown.interview_id).node == "_identity"


def test_supervision_shows_each_interviewer(world: World) -> None:
    cases(world, A, B)
    ann, bob, cat = (interviewer(world, n) for n in ("ann", "bob", "cat"))
    shown = open_next(world, ann)
    done = press_all(world, ann, shown.interview_id, *SATISFIED)
    on_call = open_next(world, bob)
    rows = {row["name"]: row for row in assisted.supervision(world.db, world.clock())}
    assert [rows[n]["state"] for n in ("ann", "bob", "cat")] == ["wrapping up", "on a call", "idle"]
    assert rows["ann"]["completes_today"] == rows["ann"]["completes_last_hour"] == 1
    assert [c["case_id"] for c in rows["bob"]["cases"]] == [on_call.case_id]
    assisted.end_call(world.db, registry(world), ann, done.interview_id, "completed", world.clock())
    world.clock.advance(hours=2)
    rows = {row["name"]: row for row in assisted.supervision(world.db, world.clock())}
    assert (
        rows["ann"]["state"],
        rows["ann"]["completes_last_hour"],
        rows["ann"]["completes_today"],
    ) == ("idle", 0, 1)
