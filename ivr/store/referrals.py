"""The referrals' SQL: referrals and their events, the queue's listing and counts, the
dashboard's figures, overdue referrals and the victim's recorded words.

Which referrals a user may see is decided by ``ivr.accounts.staff``; it hands the store a
:class:`ReferralScope`, which this module turns into the condition every query of the
queue and the dashboard carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from ivr.store.models import Answer, Case, Interview, Referral, Transcription, User

#: The status of a closed referral: closed ones are never overdue and are listed last.
CLOSED = "closed"


@dataclass(frozen=True)
class ReferralScope:
    """Which referrals a query may return; who may see what is ``ivr.accounts.staff``'s rule.

    The default is every referral; an empty tuple of surveys or districts means none.
    """

    #: Only referrals of these surveys (None: any survey).
    surveys: tuple[str, ...] | None = None
    #: Only referrals of these districts (None: any district).
    districts: tuple[str, ...] | None = None
    #: No referral of these surveys.
    not_surveys: tuple[str, ...] = ()


#: No referral at all.
NOTHING = ReferralScope(surveys=())
#: Every referral.
EVERYTHING = ReferralScope()


class Narrowing(NamedTuple):
    """What the queue is narrowed to, besides status and overdue; None means any."""

    kind: str | None = None
    district: str | None = None
    survey: str | None = None
    crime_type: str | None = None
    #: The start of a case reference (a whole one included), in any case.
    case_ref: str | None = None


class QueueEntry(NamedTuple):
    """One referral as the queue lists it, with its case's reference and crime type, the
    email of whoever it is assigned to, and the language of the interview that raised it
    (None: the questionnaire's own)."""

    referral: Referral
    case_ref: str
    crime_type: str | None
    assigned_to: str | None
    language: str | None


class QueuePage(NamedTuple):
    """Which rows of the queue to list: ``limit`` rows after the first ``offset``."""

    offset: int
    limit: int


class Timings(NamedTuple):
    """What the dashboard counts of one referral."""

    district: str
    status: str
    due_at: datetime | None
    created_at: datetime
    first_contact_at: datetime | None
    closed_at: datetime | None
    outcome: str | None


def _in_scope(scope: ReferralScope) -> ColumnElement[bool]:
    if scope.surveys == () or scope.districts == ():
        return false()
    conditions: list[ColumnElement[bool]] = []
    if scope.districts is not None:
        conditions.append(Referral.district.in_(list(scope.districts)))
    if scope.surveys is not None:
        conditions.append(Referral.survey.in_(list(scope.surveys)))
    if scope.not_surveys:
        conditions.append(Referral.survey.not_in(list(scope.not_surveys)))
    return and_(*conditions) if conditions else true()


def _narrowed(scope: ReferralScope, narrowing: Narrowing) -> list[ColumnElement[bool]]:
    conditions = [_in_scope(scope)]
    for column, value in (
        (Referral.kind, narrowing.kind),
        (Referral.district, narrowing.district),
        (Referral.survey, narrowing.survey),
        (Case.crime_type, narrowing.crime_type),
    ):
        if value is not None:
            conditions.append(column == value)
    if narrowing.case_ref:
        # Case references are typed in any case; LIKE's wildcards in them are literal.
        conditions.append(
            func.lower(Case.case_ref).startswith(narrowing.case_ref.lower(), autoescape=True)
        )
    return conditions


def _overdue(now: datetime) -> ColumnElement[bool]:
    return (Referral.status != CLOSED) & (Referral.due_at < now)


# --- one referral ------------------------------------------------------------------------


def referral_by_id(session: Session, referral_id: int, *, lock: bool = False) -> Referral | None:
    """The referral with this id, or None; ``lock`` holds its row until the transaction
    ends, so that two people acting on it at once take turns (PostgreSQL)."""
    return session.get(Referral, referral_id, with_for_update=lock)


def referrals_by_ids(session: Session, referral_ids: Iterable[int]) -> list[Referral]:
    """The referrals with these ids (those that exist)."""
    return list(session.scalars(select(Referral).where(Referral.id.in_(list(referral_ids)))))


def interview_of(session: Session, referral: Referral) -> Interview | None:
    """The interview the referral was raised from."""
    return session.get(Interview, referral.interview_id)


def recording_url(session: Session, referral: Referral) -> str | None:
    """Where the first recorded answer of the referral's interview is kept, or None."""
    return session.scalar(
        select(Answer.recording_url)
        .where(Answer.interview_id == referral.interview_id, Answer.recording_url.is_not(None))
        .order_by(Answer.id)
        .limit(1)
    )


def answer_words(
    session: Session, interview_id: int, question_ids: Iterable[str]
) -> dict[str, str | None]:
    """What the respondent said or keyed to each of ``question_ids`` that has a typed or
    spoken answer: the interviewer's typing or speech heard, else Twilio's transcription
    of the recording; None for a recording with neither."""
    wanted = list(dict.fromkeys(question_ids))
    rows = session.execute(
        select(Answer.question_id, Answer.raw, Answer.recording_url, Transcription.text)
        .outerjoin(
            Transcription,
            (Transcription.interview_id == Answer.interview_id)
            & (Transcription.question_id == Answer.question_id),
        )
        .where(Answer.interview_id == interview_id, Answer.question_id.in_(wanted))
    )
    return {
        question_id: raw or text
        for question_id, raw, recording, text in rows
        if raw or text or recording
    }


# --- the queue ---------------------------------------------------------------------------


def queue_entries(
    session: Session,
    scope: ReferralScope,
    narrowing: Narrowing,
    *,
    status: str | None,
    overdue_at: datetime | None,
    page: QueuePage | None = None,
) -> list[QueueEntry]:
    """The referrals in scope, narrowed, of ``status`` if given and overdue at
    ``overdue_at`` if given: open ones soonest due first (undated after), closed ones
    last, most recently closed first; only ``page``'s rows when given."""
    conditions = _listed(scope, narrowing, status, overdue_at)
    closed = Referral.status == CLOSED
    due = case((closed, None), else_=Referral.due_at)
    query = (
        select(Referral, Case.case_ref, Case.crime_type, User.email, Interview.language)
        .join(Case, Case.id == Referral.case_id)
        .join(Interview, Interview.id == Referral.interview_id)
        .outerjoin(User, User.id == Referral.assigned_to_id)
        .where(*conditions)
        .order_by(
            case((closed, 1), else_=0), due.is_(None), due, Referral.closed_at.desc(), Referral.id
        )
    )
    if page is not None:
        query = query.offset(page.offset).limit(page.limit)
    return [QueueEntry(*row) for row in session.execute(query)]


def _listed(
    scope: ReferralScope, narrowing: Narrowing, status: str | None, overdue_at: datetime | None
) -> list[ColumnElement[bool]]:
    conditions = _narrowed(scope, narrowing)
    if status is not None:
        conditions.append(Referral.status == status)
    if overdue_at is not None:
        conditions.append(_overdue(overdue_at))
    return conditions


def count_entries(
    session: Session,
    scope: ReferralScope,
    narrowing: Narrowing,
    *,
    status: str | None,
    overdue_at: datetime | None,
) -> int:
    """How many referrals :func:`queue_entries` lists over all its pages."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Referral)
            .join(Case, Case.id == Referral.case_id)
            .where(*_listed(scope, narrowing, status, overdue_at))
        )
        or 0
    )


def count_by_status(session: Session, scope: ReferralScope, narrowing: Narrowing) -> dict[str, int]:
    """How many referrals in scope, narrowed, have each status (statuses with none are
    left out)."""
    query = (
        select(Referral.status, func.count())
        .join(Case, Case.id == Referral.case_id)
        .where(*_narrowed(scope, narrowing))
        .group_by(Referral.status)
    )
    return {status: count for status, count in session.execute(query).all()}


def count_overdue(
    session: Session, scope: ReferralScope, narrowing: Narrowing, now: datetime
) -> int:
    """How many open referrals in scope, narrowed, were due before ``now``."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Referral)
            .join(Case, Case.id == Referral.case_id)
            .where(*_narrowed(scope, narrowing), _overdue(now))
        )
        or 0
    )


def filter_choices(session: Session, scope: ReferralScope) -> dict[str, list[str]]:
    """The values to narrow the queue by, within the scope: kind, district, survey and
    crime_type, each sorted, without blanks."""
    in_scope = _in_scope(scope)
    choices: dict[str, list[str]] = {}
    for name, column in (
        ("kind", Referral.kind),
        ("district", Referral.district),
        ("survey", Referral.survey),
        ("crime_type", Case.crime_type),
    ):
        choices[name] = [
            value
            for value in session.scalars(
                select(column)
                .select_from(Referral)
                .join(Case, Case.id == Referral.case_id)
                .where(in_scope)
                .distinct()
                .order_by(column)
            )
            if value is not None
        ]
    return choices


def all_referrals(session: Session) -> list[Referral]:
    """Every referral, oldest first."""
    return list(session.scalars(select(Referral).order_by(Referral.created_at, Referral.id)))


def overdue_referrals(session: Session, now: datetime) -> list[Referral]:
    """Every open referral due before ``now``, most overdue first."""
    return list(
        session.scalars(
            select(Referral).where(_overdue(now)).order_by(Referral.due_at, Referral.id)
        )
    )


# --- the dashboard -----------------------------------------------------------------------


def timings(session: Session, scope: ReferralScope) -> list[Timings]:
    """Each referral in scope's district, status, deadline, contact and closing."""
    query = select(
        Referral.district,
        Referral.status,
        Referral.due_at,
        Referral.created_at,
        Referral.first_contact_at,
        Referral.closed_at,
        Referral.outcome,
    ).where(_in_scope(scope))
    return [Timings(*row) for row in session.execute(query)]


# --- notices ------------------------------------------------------------------------------


class Notice(NamedTuple):
    """A referral whose people are still to be told of it."""

    id: int
    kind: str
    district: str


def mark_notices_queued(session: Session, referral_ids: Iterable[int], now: datetime) -> None:
    """The referrals' notices went to the job queue at ``now``."""
    ids = list(referral_ids)
    if ids:
        session.execute(update(Referral).where(Referral.id.in_(ids)).values(notice_queued_at=now))


def mark_notices_unqueued(session: Session, referral_ids: Iterable[int]) -> None:
    """The referrals' notices, stored as queued, never reached the job queue: they wait
    for it (see :func:`notices_waiting`)."""
    ids = list(referral_ids)
    if ids:
        session.execute(
            update(Referral)
            .where(Referral.id.in_(ids), Referral.announced_at.is_(None))
            .values(notice_queued_at=None)
        )


def mark_announced(session: Session, referral_id: int, now: datetime) -> None:
    """The people who work the referral's queue were told (or there was nobody to tell)."""
    session.execute(update(Referral).where(Referral.id == referral_id).values(announced_at=now))


def notices_waiting(session: Session, queued_before: datetime, limit: int) -> list[Notice]:
    """Referrals never announced whose notice never reached the job queue, or reached it
    before ``queued_before`` and was lost (Redis keeps nothing across a restart); oldest
    first."""
    return [
        Notice(*row)
        for row in session.execute(
            select(Referral.id, Referral.kind, Referral.district)
            .where(
                Referral.announced_at.is_(None),
                or_(
                    Referral.notice_queued_at.is_(None),
                    Referral.notice_queued_at < queued_before,
                ),
            )
            .order_by(Referral.id)
            .limit(limit)
        )
    ]
