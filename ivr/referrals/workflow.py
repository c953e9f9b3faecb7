"""Working a referral: assign, note, contact attempts, close and reopen; the queue's lists.

Each action appends a :class:`ReferralEvent` (events are never changed or deleted) and
keeps the referral's summary columns (status, assignee, first contact, outcome) in step.
A request the rules refuse raises :class:`WorkflowError`, whose message says why.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ivr.accounts.staff import may_see, referral_scope
from ivr.calendar import ZONE
from ivr.store import referrals as referral_store
from ivr.store.models import Referral, ReferralEvent, User, utcnow

#: Notes, contact notes, closing notes and reopening reasons are capped at this length.
MAX_TEXT = 2000
#: After this many tries that did not reach the victim, the referral may be closed as
#: not contactable.
NO_CONTACT_TRIES = 3


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    CLOSED = referral_store.CLOSED

    @property
    def label(self) -> str:
        return {
            "new": "New",
            "assigned": "Assigned",
            "in_progress": "In progress",
            "closed": "Closed",
        }[self.value]


#: The kinds of referral, with the words the pages use: an action alert is the victim
#: asking for police contact, a service-recovery referral their dissatisfaction.
KINDS = {
    "action_alert": "Action alert",
    "service_recovery": "Service recovery",
}
#: Referrals listed on one page of the queue.
PAGE_SIZE = 50
#: The longest case reference searched for (longer ones are no case reference).
MAX_CASE_REF = 64

#: How a contact attempt went, with the words the pages use.
CONTACT_OUTCOMES = {
    "contacted_resolved": "Spoke to them: resolved",
    "contacted_escalated": "Spoke to them: escalated",
    "no_contact": "Tried, did not reach them",
    "declined": "They declined to talk",
}
#: How a referral was closed, with the words the pages use.
CLOSING_OUTCOMES = {
    "contacted_resolved": "Contacted: resolved",
    "contacted_escalated": "Contacted: escalated",
    "not_contactable": "Not contactable",
    "declined": "Declined",
    "noted": "Noted: the victim did not agree to be contacted",
}
_REAL_CONTACT = frozenset({"contacted_resolved", "contacted_escalated", "declined"})


class WorkflowError(ValueError):
    """The action is not allowed on this referral as asked; the message says why."""


def _text(value: str | None, what: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise WorkflowError(f"{what} is required")
    if len(text) > MAX_TEXT:
        raise WorkflowError(
            f"{what} can be at most {MAX_TEXT:,} characters (this one has {len(text):,})"
        )
    return text


def _event(
    referral: Referral, kind: str, by: Any, now: datetime | None, **details: Any
) -> ReferralEvent:
    at = now or utcnow()
    event = ReferralEvent(at=at, actor_id=getattr(by, "id", None), kind=kind, details=details)
    referral.events.append(event)
    referral.updated_at = at
    return event


def _check_actor(referral: Referral, by: Any) -> None:
    if not may_see(by, referral):
        raise WorkflowError(f"you may not work referral #{referral.id}")


def _check_open(referral: Referral, action: str) -> None:
    if referral.status == Status.CLOSED:
        raise WorkflowError(f"referral #{referral.id} is closed: reopen it to {action}")


def is_overdue(referral: Referral, now: datetime) -> bool:
    """Whether the referral is open and its first contact was due before ``now``."""
    due = referral.due_at
    return referral.status != Status.CLOSED and due is not None and due < now


def no_contact_tries(referral: Referral) -> int:
    """How many contact attempts did not reach the victim."""
    return sum(
        1
        for e in referral.events
        if e.kind == "contact_attempt" and e.details.get("outcome") == "no_contact"
    )


def may_close_not_contactable(referral: Referral) -> bool:
    """Whether enough tries failed that closing as not contactable is offered."""
    return referral.status != Status.CLOSED and no_contact_tries(referral) >= NO_CONTACT_TRIES


def assign(
    referral: Referral, to_user: User, by: Any, *, now: datetime | None = None
) -> ReferralEvent:
    """Give the referral to ``to_user``, who must be able to see it."""
    _check_actor(referral, by)
    _check_open(referral, "assign it")
    if not may_see(to_user, referral):
        raise WorkflowError(
            f"{to_user.email} may not see referral #{referral.id}, so it cannot be assigned to them"
        )
    if referral.assigned_to_id == to_user.id:
        raise WorkflowError(f"referral #{referral.id} is already assigned to {to_user.email}")
    referral.assigned_to = to_user
    if referral.status == Status.NEW:
        referral.status = Status.ASSIGNED
    return _event(referral, "assigned", by, now, to_user_id=to_user.id, to=to_user.email)


def add_note(
    referral: Referral, text: str, by: Any, *, now: datetime | None = None
) -> ReferralEvent:
    """Add a note (required, at most MAX_TEXT characters); allowed on closed referrals."""
    _check_actor(referral, by)
    return _event(referral, "note", by, now, text=_text(text, "a note", required=True))


def record_contact(
    referral: Referral,
    outcome: str,
    by: Any,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> ReferralEvent:
    """Record one contact attempt; the first real contact (not ``no_contact``) sets
    ``first_contact_at``. See :func:`may_close_not_contactable` for what it offers next."""
    _check_actor(referral, by)
    _check_open(referral, "record a contact attempt")
    if not referral.consented:
        raise WorkflowError(
            f"the victim did not agree to be contacted about referral "
            f"#{referral.id}: close it as noted"
        )
    if not outcome:
        raise WorkflowError("choose how the contact attempt went")
    if outcome not in CONTACT_OUTCOMES:
        raise WorkflowError(
            f"unknown contact outcome '{outcome}' (one of: {', '.join(CONTACT_OUTCOMES)})"
        )
    text = _text(note, "a contact note", required=False)
    event = _event(referral, "contact_attempt", by, now, outcome=outcome, note=text)
    if outcome in _REAL_CONTACT and referral.first_contact_at is None:
        referral.first_contact_at = event.at
    referral.status = Status.IN_PROGRESS
    return event


def close(
    referral: Referral,
    outcome: str,
    by: Any,
    note: str | None = None,
    *,
    now: datetime | None = None,
) -> ReferralEvent:
    """Close with an outcome. ``not_contactable`` needs NO_CONTACT_TRIES failed tries;
    the other outcomes mean the victim was reached, so they set first contact if unset."""
    _check_actor(referral, by)
    if referral.status == Status.CLOSED:
        raise WorkflowError(f"referral #{referral.id} is already closed")
    if not outcome:
        raise WorkflowError("choose an outcome to close it with")
    if outcome not in CLOSING_OUTCOMES:
        raise WorkflowError(
            f"unknown closing outcome '{outcome}' (one of: {', '.join(CLOSING_OUTCOMES)})"
        )
    if (outcome == "noted") == bool(referral.consented):
        raise WorkflowError(
            "'noted' is how a referral without the victim's consent to "
            "contact is closed, and only such a referral"
        )
    if outcome == "not_contactable" and not may_close_not_contactable(referral):
        raise WorkflowError(
            f"a referral is not contactable only after {NO_CONTACT_TRIES} "
            f"tries without contact (so far: {no_contact_tries(referral)})"
        )
    text = _text(note, "a closing note", required=False)
    event = _event(referral, "closed", by, now, outcome=outcome, note=text)
    if outcome in _REAL_CONTACT and referral.first_contact_at is None:
        referral.first_contact_at = event.at
    referral.status = Status.CLOSED
    referral.outcome = outcome
    referral.closed_at = event.at
    return event


def reopen(
    referral: Referral, by: Any, reason: str, *, now: datetime | None = None
) -> ReferralEvent:
    """Reopen a closed referral, saying why; its contact history stays."""
    _check_actor(referral, by)
    if referral.status != Status.CLOSED:
        raise WorkflowError(f"referral #{referral.id} is not closed")
    text = _text(reason, "a reason for reopening", required=True)
    event = _event(referral, "reopened", by, now, reason=text, previous_outcome=referral.outcome)
    attempted = any(e.kind == "contact_attempt" for e in referral.events)
    referral.status = (
        Status.IN_PROGRESS
        if attempted
        else Status.ASSIGNED
        if referral.assigned_to_id
        else Status.NEW
    )
    referral.outcome = None
    referral.closed_at = None
    return event


def record_notified(
    referral: Referral, reason: str, recipients: list[int], via: str, *, now: datetime | None = None
) -> ReferralEvent:
    """Record that people were told about the referral (by the system, not a user)."""
    event = ReferralEvent(
        at=now or utcnow(),
        actor_id=None,
        kind="notified",
        details={"reason": reason, "recipients": recipients, "via": via},
    )
    referral.events.append(event)
    return event


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; None (or False) means any."""

    kind: str | None = None
    district: str | None = None
    survey: str | None = None
    crime_type: str | None = None
    status: str | None = None
    overdue: bool = False
    #: The start of a case reference, or a whole one, in any case.
    case_ref: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise WorkflowError(f"unknown kind '{self.kind}' (one of: {', '.join(KINDS)})")
        if self.case_ref is not None and len(self.case_ref) > MAX_CASE_REF:
            raise WorkflowError(
                f"a case reference is at most {MAX_CASE_REF} characters "
                f"(this one has {len(self.case_ref):,})"
            )
        if self.status is not None and self.status not in {s.value for s in Status}:
            raise WorkflowError(
                f"unknown status '{self.status}' (one of: {', '.join(s.value for s in Status)})"
            )


@dataclass(frozen=True)
class QueueRow:
    """One referral as the queue lists it."""

    id: int
    case_ref: str
    survey: str
    kind: str
    district: str
    crime_type: str | None
    status: str
    created_at: datetime
    due_at: datetime | None
    assigned_to: str | None
    overdue: bool
    #: Whether the victim agreed to be contacted; without it the case is not named.
    consented: bool = True
    first_contact_at: datetime | None = None
    #: The language the victim was interviewed in; None: the questionnaire's own.
    language: str | None = None


@dataclass
class QueueListing:
    """The rows, and the counts and filter choices of the user's whole scope."""

    rows: list[QueueRow]
    #: Per status (every status, zeros too), within the scope and the filters other than
    #: status and overdue; "overdue" counts the open ones past due.
    counts: dict[str, int]
    #: Values to filter on, within the scope: kind, district, survey, crime_type.
    choices: dict[str, list[str]] = field(default_factory=dict)
    #: How many referrals match over all pages, which page ``rows`` is and of how many.
    total: int = 0
    page: int = 1
    pages: int = 1


def list_referrals(
    session: Session, user: Any, filters: QueueFilters, now: datetime, *, page: int | None = 1
) -> QueueListing:
    """The referrals ``user`` may see, filtered: open ones soonest due first, closed last.

    ``page`` (from 1) lists PAGE_SIZE of them, a page past the last being the last; None
    lists them all, as a download does.
    """
    scope = referral_scope(user)
    narrowing = referral_store.Narrowing(
        kind=filters.kind,
        district=filters.district,
        survey=filters.survey,
        crime_type=filters.crime_type,
        case_ref=filters.case_ref,
    )
    overdue_at = now if filters.overdue else None
    total = referral_store.count_entries(
        session, scope, narrowing, status=filters.status, overdue_at=overdue_at
    )
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(page or 1, 1), pages)
    entries = referral_store.queue_entries(
        session,
        scope,
        narrowing,
        status=filters.status,
        overdue_at=overdue_at,
        page=None
        if page is None
        else referral_store.QueuePage(offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE),
    )
    rows = [
        QueueRow(
            id=r.id,
            case_ref=case_ref,
            survey=r.survey,
            kind=r.kind,
            district=r.district,
            crime_type=crime_type,
            status=r.status,
            created_at=r.created_at or now,
            due_at=r.due_at,
            assigned_to=email,
            overdue=is_overdue(r, now),
            consented=bool(r.consented),
            first_contact_at=r.first_contact_at,
            language=language,
        )
        for r, case_ref, crime_type, email, language in entries
    ]
    counts = dict.fromkeys((s.value for s in Status), 0) | referral_store.count_by_status(
        session, scope, narrowing
    )
    counts["overdue"] = referral_store.count_overdue(session, scope, narrowing, now)
    choices = referral_store.filter_choices(session, scope)
    return QueueListing(
        rows=rows, counts=counts, choices=choices, total=total, page=number, pages=pages
    )


def overdue(session: Session, now: datetime) -> list[Referral]:
    """Every open referral past its first-contact deadline, most overdue first."""
    return referral_store.overdue_referrals(session, now)


def quarter_of(now: datetime) -> tuple[datetime, datetime, str]:
    """The UK calendar quarter holding ``now``: start, end (UTC) and e.g. 'July to
    September 2026'."""
    local = now.astimezone(ZONE)
    first_month = 3 * ((local.month - 1) // 3) + 1
    start = datetime(local.year, first_month, 1, tzinfo=ZONE)
    end = (
        datetime(local.year + 1, 1, 1, tzinfo=ZONE)
        if first_month == 10
        else datetime(local.year, first_month + 3, 1, tzinfo=ZONE)
    )
    label = f"{start:%B} to {datetime(local.year, first_month + 2, 1):%B} {local.year}"
    return start.astimezone(UTC), end.astimezone(UTC), label


@dataclass(frozen=True)
class DistrictFigures:
    """One district's queue: open, overdue, speed of first contact, outcomes."""

    district: str
    open: int = 0
    overdue: int = 0
    #: Median hours from raised to first contact, of referrals first contacted this quarter.
    median_hours_to_first_contact: float | None = None
    #: Referrals closed this quarter, by closing outcome (every outcome, zeros too).
    outcomes: dict[str, int] = field(default_factory=dict)
    #: Referrals whose first contact fell due this quarter, up to now: the base of the
    #: share first contacted within the target.
    due: int = 0
    #: Of those, how many were first contacted by their deadline.
    contacted_in_time: int = 0
    #: Referrals whose deadline is still to come: out of the base until it passes.
    not_yet_due: int = 0

    @property
    def percent_in_time(self) -> float | None:
        """The share of referrals due this quarter first contacted within the target."""
        return round(100 * self.contacted_in_time / self.due, 1) if self.due else None


@dataclass
class Dashboard:
    """Figures per district within the user's scope, and for the scope as a whole."""

    quarter: str
    districts: list[DistrictFigures]
    total: DistrictFigures


def _median_hours(spans: list[float]) -> float | None:
    return round(statistics.median(spans), 1) if spans else None


def dashboard(session: Session, user: Any, now: datetime) -> Dashboard:
    """Per district in scope: open, overdue, median hours to first contact this quarter
    and outcomes of referrals closed this quarter (UK calendar quarter of ``now``)."""
    start, end, label = quarter_of(now)
    open_: Counter[str] = Counter()
    late: Counter[str] = Counter()
    hours: dict[str, list[float]] = {}
    outcomes: dict[str, Counter[str]] = {}
    due_now: Counter[str] = Counter()
    in_time: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    for (
        district,
        status,
        due_at,
        created_at,
        first_contact_at,
        closed_at,
        outcome,
    ) in referral_store.timings(session, referral_scope(user)):
        hours.setdefault(district, [])
        outcomes.setdefault(district, Counter())
        due, raised = due_at, created_at
        contacted, closed = first_contact_at, closed_at
        if status != Status.CLOSED:
            open_[district] += 1
            if due is not None and due < now:
                late[district] += 1
        if contacted is not None and raised is not None and start <= contacted < end:
            hours[district].append((contacted - raised).total_seconds() / 3600)
        if closed is not None and outcome and start <= closed < end:
            outcomes[district][outcome] += 1
        # Only a referral whose deadline has passed has met or missed it; one without a
        # deadline (no consent to contact) has no contact to make.
        if due is not None and due > now:
            waiting[district] += 1
        elif due is not None and start <= due:
            due_now[district] += 1
            in_time[district] += contacted is not None and contacted <= due

    def figures(name: str, districts: list[str]) -> DistrictFigures:
        by_outcome = Counter[str]()
        for d in districts:
            by_outcome += outcomes[d]
        return DistrictFigures(
            district=name,
            open=sum(open_[d] for d in districts),
            overdue=sum(late[d] for d in districts),
            median_hours_to_first_contact=_median_hours([h for d in districts for h in hours[d]]),
            outcomes={o: by_outcome[o] for o in CLOSING_OUTCOMES},
            due=sum(due_now[d] for d in districts),
            contacted_in_time=sum(in_time[d] for d in districts),
            not_yet_due=sum(waiting[d] for d in districts),
        )

    names = sorted(hours)
    return Dashboard(
        quarter=label,
        districts=[figures(d, [d]) for d in names],
        total=figures("All districts", names),
    )
