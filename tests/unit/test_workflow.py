"""The referral workflow rules, the queue's list and the dashboard, on hand-built rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.referrals import workflow
from ivr.referrals.workflow import QueueFilters, WorkflowError
from ivr.store.db import Database
from ivr.store.models import Case, Interview, QuestionnaireVersion, Referral, ReferralEvent, User

NOW = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def session(sqlite_url: str) -> Iterator[Session]:
    db = Database(sqlite_url)
    with db.transaction() as s:
        s.add(QuestionnaireVersion(id=1, survey="uss", version="1", sha256="x", source=""))
        yield s
    db.dispose()


def user(session: Session, email: str, role: str, *districts: str) -> User:
    # Built directly: hashing a password per account would make these tests slow.
    row = User(email=email, role=role, districts=list(districts), password_hash="-", active=True)
    session.add(row)
    session.flush()
    return row


def referral(
    session: Session,
    *,
    district: str = "Hartlepool",
    survey: str = "uss",
    kind: str = "service_recovery",
    crime_type: str = "burglary",
    created: datetime = NOW - timedelta(days=1),
    due_in: timedelta | None = None,
    case_ref: str | None = None,
) -> Referral:
    number = session.query(Case).count() + 1
    case = Case(
        survey=survey,
        case_ref=case_ref or f"CR/{number:04d}",
        phone="+441134960001",
        first_name="Alex",
        crime_type=crime_type,
        district=district,
        reported_on=date(2026, 8, 1),
    )
    interview = Interview(case=case, questionnaire_version_id=1, channel="ivr", status="completed")
    session.add_all([case, interview])
    session.flush()
    row = Referral(
        interview_id=interview.id,
        case_id=case.id,
        survey=survey,
        kind=kind,
        district=district,
        reasons=[],
        status="new",
        created_at=created,
        due_at=created + (due_in if due_in is not None else timedelta(days=2)),
    )
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def people(session: Session) -> dict[str, User]:
    return {
        "supervisor": user(session, "sup@police.test", "supervisor"),
        "hartlepool": user(session, "hart@police.test", "district_officer", "Hartlepool"),
        "stockton": user(session, "stock@police.test", "district_officer", "Stockton"),
        "service": user(session, "vcas@police.test", "service_manager"),
        "interviewer": user(session, "int@police.test", "interviewer"),
    }


def kinds(row: Referral) -> list[str]:
    return [e.kind for e in row.events]


def test_assigning_moves_a_new_referral_to_assigned_with_an_event(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    event = workflow.assign(row, people["hartlepool"], people["supervisor"], now=NOW)
    assert (row.status, row.assigned_to_id, row.updated_at) == (
        "assigned",
        people["hartlepool"].id,
        NOW,
    )
    assert (event.kind, event.actor_id, event.details["to"]) == (
        "assigned",
        people["supervisor"].id,
        "hart@police.test",
    )


@pytest.mark.parametrize("who", ["stockton", "service", "interviewer"])
def test_a_referral_cannot_be_assigned_to_someone_who_may_not_see_it(
    session: Session, people: dict[str, User], who: str
) -> None:
    row = referral(session)
    with pytest.raises(WorkflowError, match="may not see referral"):
        workflow.assign(row, people[who], people["supervisor"])
    assert row.events == [] and row.status == "new"


def test_a_disabled_account_cannot_be_assigned(session: Session, people: dict[str, User]) -> None:
    row = referral(session)
    people["hartlepool"].active = False
    with pytest.raises(WorkflowError, match="may not see"):
        workflow.assign(row, people["hartlepool"], people["supervisor"])


def test_someone_who_may_not_see_a_referral_cannot_work_it(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    with pytest.raises(WorkflowError, match="you may not work"):
        workflow.add_note(row, "hello", people["stockton"])
    with pytest.raises(WorkflowError, match="you may not work"):
        workflow.record_contact(row, "no_contact", people["interviewer"])


def test_reassigning_to_the_same_person_is_refused_and_keeps_progress(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    workflow.assign(row, people["hartlepool"], people["hartlepool"])
    with pytest.raises(WorkflowError, match="already assigned"):
        workflow.assign(row, people["hartlepool"], people["supervisor"])
    workflow.record_contact(row, "no_contact", people["hartlepool"])
    workflow.assign(row, people["supervisor"], people["hartlepool"])
    assert row.status == "in_progress"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a note is required"),
        ("   ", "a note is required"),
        ("x" * 2001, "at most 2,000 characters"),
    ],
)
def test_a_note_needs_text_of_at_most_2000_characters(
    session: Session, people: dict[str, User], text: str, message: str
) -> None:
    row = referral(session)
    with pytest.raises(WorkflowError, match=message):
        workflow.add_note(row, text, people["hartlepool"])
    workflow.add_note(row, "x" * 2000, people["hartlepool"])
    assert kinds(row) == ["note"] and row.status == "new"


def test_no_contact_is_an_attempt_but_not_a_first_contact(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    workflow.record_contact(row, "no_contact", people["hartlepool"], "rang, no answer", now=NOW)
    assert (row.status, row.first_contact_at) == ("in_progress", None)
    later = NOW + timedelta(hours=3)
    workflow.record_contact(row, "contacted_escalated", people["hartlepool"], now=later)
    workflow.record_contact(
        row, "contacted_resolved", people["hartlepool"], now=later + timedelta(hours=1)
    )
    assert row.first_contact_at == later
    assert [e.details["outcome"] for e in row.events] == [
        "no_contact",
        "contacted_escalated",
        "contacted_resolved",
    ]
    assert row.events[0].details["note"] == "rang, no answer"


def test_declining_counts_as_a_first_contact(session: Session, people: dict[str, User]) -> None:
    row = referral(session)
    workflow.record_contact(row, "declined", people["hartlepool"], now=NOW)
    assert row.first_contact_at == NOW


def test_an_unknown_contact_outcome_is_refused(session: Session, people: dict[str, User]) -> None:
    row = referral(session)
    with pytest.raises(WorkflowError, match="unknown contact outcome 'not_contactable'"):
        workflow.record_contact(row, "not_contactable", people["hartlepool"])


def test_not_contactable_is_offered_only_after_three_tries_without_contact(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    officer = people["hartlepool"]
    for tries in range(workflow.NO_CONTACT_TRIES):
        assert not workflow.may_close_not_contactable(row)
        with pytest.raises(WorkflowError, match=f"so far: {tries}"):
            workflow.close(row, "not_contactable", officer)
        workflow.record_contact(row, "no_contact", officer)
    assert workflow.may_close_not_contactable(row)
    workflow.close(row, "not_contactable", officer, now=NOW)
    assert (row.status, row.outcome, row.closed_at, row.first_contact_at) == (
        "closed",
        "not_contactable",
        NOW,
        None,
    )


def test_closing_as_contacted_sets_first_contact_when_unrecorded(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    workflow.close(row, "contacted_resolved", people["hartlepool"], "spoke at length", now=NOW)
    assert (row.status, row.outcome, row.first_contact_at) == ("closed", "contacted_resolved", NOW)
    assert row.events[-1].details == {"outcome": "contacted_resolved", "note": "spoke at length"}


def test_a_closed_referral_accepts_only_reopen_and_notes(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    officer = people["hartlepool"]
    workflow.close(row, "declined", officer)
    with pytest.raises(WorkflowError, match="is closed: reopen it"):
        workflow.assign(row, people["supervisor"], officer)
    with pytest.raises(WorkflowError, match="is closed: reopen it"):
        workflow.record_contact(row, "no_contact", officer)
    with pytest.raises(WorkflowError, match="already closed"):
        workflow.close(row, "contacted_resolved", officer)
    workflow.add_note(row, "they rang back to say thanks", officer)
    assert kinds(row) == ["closed", "note"] and row.status == "closed"


def test_reopening_needs_a_reason_and_clears_the_outcome(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    officer = people["hartlepool"]
    with pytest.raises(WorkflowError, match="is not closed"):
        workflow.reopen(row, officer, "why not")
    workflow.record_contact(row, "contacted_resolved", officer)
    workflow.close(row, "contacted_resolved", officer)
    with pytest.raises(WorkflowError, match="a reason for reopening is required"):
        workflow.reopen(row, officer, " ")
    event = workflow.reopen(row, officer, "victim rang back", now=NOW)
    assert (row.status, row.outcome, row.closed_at) == ("in_progress", None, None)
    assert event.details == {"reason": "victim rang back", "previous_outcome": "contacted_resolved"}
    assert row.first_contact_at is not None


def test_reopening_an_unworked_referral_returns_it_to_its_assignee(
    session: Session, people: dict[str, User]
) -> None:
    row = referral(session)
    workflow.assign(row, people["hartlepool"], people["supervisor"])
    workflow.close(row, "declined", people["supervisor"])
    workflow.reopen(row, people["supervisor"], "closed by mistake")
    assert row.status == "assigned"


def test_events_are_only_ever_appended(session: Session, people: dict[str, User]) -> None:
    row = referral(session)
    officer = people["hartlepool"]
    workflow.assign(row, officer, officer, now=NOW)
    session.flush()
    first = [(e.id, e.at, e.kind, dict(e.details)) for e in row.events]
    workflow.add_note(row, "a note", officer, now=NOW + timedelta(minutes=1))
    workflow.record_contact(row, "no_contact", officer, now=NOW + timedelta(minutes=2))
    session.flush()
    stored = list(session.scalars(select(ReferralEvent).order_by(ReferralEvent.id)))
    assert [(e.id, e.at, e.kind, e.details) for e in stored[:1]] == first
    assert [e.kind for e in stored] == ["assigned", "note", "contact_attempt"]
    assert row.updated_at == NOW + timedelta(minutes=2)


def test_overdue_means_open_and_past_due(session: Session, people: dict[str, User]) -> None:
    late = referral(session, due_in=timedelta(hours=20))
    on_time = referral(session, due_in=timedelta(days=3))
    closed_late = referral(session, due_in=timedelta(hours=1))
    workflow.close(closed_late, "declined", people["supervisor"])
    assert [workflow.is_overdue(r, NOW) for r in (late, on_time, closed_late)] == [
        True,
        False,
        False,
    ]
    session.flush()
    assert [r.id for r in workflow.overdue(session, NOW)] == [late.id]


def test_the_queue_is_scoped_to_what_the_user_may_see(
    session: Session, people: dict[str, User]
) -> None:
    hart = referral(session, district="Hartlepool")
    stock = referral(session, district="Stockton")
    vcas = referral(session, survey="vcas_exit", district="VCAS service manager")

    def ids(who: str) -> set[int]:
        listing = workflow.list_referrals(session, people[who], QueueFilters(), NOW)
        return {r.id for r in listing.rows}

    assert ids("supervisor") == {hart.id, stock.id, vcas.id}
    assert ids("hartlepool") == {hart.id}
    assert ids("stockton") == {stock.id}
    assert ids("service") == {vcas.id}
    assert ids("interviewer") == set()


def test_the_queue_lists_soonest_due_first_and_closed_last(
    session: Session, people: dict[str, User]
) -> None:
    later = referral(session, due_in=timedelta(days=3))
    closed = referral(session, due_in=timedelta(hours=1))
    sooner = referral(session, due_in=timedelta(days=2))
    late = referral(session, due_in=timedelta(hours=12))
    workflow.close(closed, "declined", people["supervisor"])
    session.flush()
    listing = workflow.list_referrals(session, people["supervisor"], QueueFilters(), NOW)
    assert [r.id for r in listing.rows] == [late.id, sooner.id, later.id, closed.id]
    assert [r.overdue for r in listing.rows] == [True, False, False, False]
    assert listing.counts == {"new": 3, "assigned": 0, "in_progress": 0, "closed": 1, "overdue": 1}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (QueueFilters(kind="action_alert"), ["B"]),
        (QueueFilters(district="Stockton"), ["C"]),
        (QueueFilters(survey="vcas_exit"), ["D"]),
        (QueueFilters(crime_type="vehicle"), ["B"]),
        (QueueFilters(status="assigned"), ["C"]),
        (QueueFilters(overdue=True), ["A"]),
        (QueueFilters(district="Hartlepool", crime_type="burglary"), ["A"]),
    ],
)
def test_the_queue_filters(
    session: Session, people: dict[str, User], filters: QueueFilters, expected: list[str]
) -> None:
    referral(session, case_ref="A", due_in=timedelta(hours=1))
    referral(session, case_ref="B", kind="action_alert", crime_type="vehicle")
    workflow.assign(
        referral(session, case_ref="C", district="Stockton"),
        people["supervisor"],
        people["supervisor"],
    )
    referral(session, case_ref="D", survey="vcas_exit", district="VCAS service manager")
    session.flush()
    listing = workflow.list_referrals(session, people["supervisor"], filters, NOW)
    assert [r.case_ref for r in listing.rows] == expected


def test_counts_and_choices_stay_within_scope(session: Session, people: dict[str, User]) -> None:
    referral(session, district="Hartlepool", crime_type="violent")
    referral(session, district="Stockton", crime_type="vehicle")
    listing = workflow.list_referrals(
        session, people["hartlepool"], QueueFilters(status="closed"), NOW
    )
    assert listing.rows == []
    assert listing.counts["new"] == 1
    assert listing.choices == {
        "kind": ["service_recovery"],
        "district": ["Hartlepool"],
        "survey": ["uss"],
        "crime_type": ["violent"],
    }


def test_an_unknown_status_filter_is_refused() -> None:
    with pytest.raises(WorkflowError, match="unknown status 'lost'"):
        QueueFilters(status="lost")


@pytest.mark.parametrize(
    ("moment", "label"),
    [
        (datetime(2026, 10, 14, 12, tzinfo=UTC), "October to December 2026"),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "January to March 2026"),
        # 23:30 UTC on 31 March is 00:30 on 1 April in London (summer time).
        (datetime(2026, 3, 31, 23, 30, tzinfo=UTC), "April to June 2026"),
    ],
)
def test_quarters_are_uk_calendar_quarters(moment: datetime, label: str) -> None:
    start, end, text = workflow.quarter_of(moment)
    assert text == label and start <= moment < end


def test_the_dashboard_per_district(session: Session, people: dict[str, User]) -> None:
    sup = people["supervisor"]
    a = referral(session, created=NOW - timedelta(hours=30))
    b = referral(session, created=NOW - timedelta(hours=30))
    c = referral(session, created=NOW - timedelta(hours=5), due_in=timedelta(hours=1))
    d = referral(session, district="Stockton", created=NOW - timedelta(days=1))
    old = referral(session, created=datetime(2026, 9, 1, tzinfo=UTC))
    workflow.record_contact(a, "contacted_resolved", sup, now=NOW - timedelta(hours=20))
    workflow.close(a, "contacted_resolved", sup, now=NOW - timedelta(hours=19))
    workflow.record_contact(b, "declined", sup, now=NOW - timedelta(hours=10))
    # Contacted and closed last quarter: not in this quarter's figures.
    workflow.close(old, "contacted_escalated", sup, now=datetime(2026, 9, 2, tzinfo=UTC))
    session.flush()
    board = workflow.dashboard(session, sup, NOW)
    assert board.quarter == "October to December 2026"
    hart, stock = board.districts
    assert (hart.district, hart.open, hart.overdue) == ("Hartlepool", 2, 1)
    assert hart.median_hours_to_first_contact == 15.0  # of 10 and 20 hours
    assert hart.outcomes == {
        "contacted_resolved": 1,
        "contacted_escalated": 0,
        "not_contactable": 0,
        "declined": 0,
        "noted": 0,
    }
    assert (stock.district, stock.open, stock.overdue, stock.median_hours_to_first_contact) == (
        "Stockton",
        1,
        0,
        None,
    )
    assert (board.total.open, board.total.overdue) == (3, 1)
    assert {c.id, d.id} <= {r.id for r in workflow.overdue(session, NOW + timedelta(days=5))}
    only_hart = workflow.dashboard(session, people["hartlepool"], NOW)
    assert [f.district for f in only_hart.districts] == ["Hartlepool"]


def test_notifications_are_system_events(session: Session) -> None:
    row = referral(session)
    event: Any = workflow.record_notified(row, "new", [1, 2], "log", now=NOW)
    assert (event.actor_id, event.kind, event.details) == (
        None,
        "notified",
        {"reason": "new", "recipients": [1, 2], "via": "log"},
    )
