"""Typed SQLAlchemy models: cases, interviews, answers, referrals, call attempts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ivr.store.sealing import SealedJSON, SealedText, phone_hash_default

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, kept in UTC and always given back timezone-aware.

    PostgreSQL keeps the zone (``timestamptz``); SQLite keeps text without one, so a
    London time would come back as if it were UTC. Every moment is turned to UTC on the
    way in, and a zone-less value read back is UTC, on every backend, in one place. A
    naive datetime handed in is a mistake (its zone is a guess) and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive datetime ({value}) cannot be stored: give it a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def public_id() -> str:
    """An unguessable id for URLs, so no sequence or case detail appears in them."""
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class QuestionnaireVersion(Base):
    """The exact questionnaire text an interview started with, kept for its whole life."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("survey", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Case(Base):
    """A victim's case sampled for a survey."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("survey", "case_ref"),
        # Inbound calls find their case by the number's keyed hash: the number is sealed.
        Index("ix_cases_phone_hash", "phone_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey: Mapped[str] = mapped_column(String(64))
    case_ref: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(SealedText())
    #: The keyed hash of ``phone`` (computed on insert), by which the number is found.
    phone_hash: Mapped[str] = mapped_column(String(64), default=phone_hash_default)
    first_name: Mapped[str | None] = mapped_column(SealedText(100))
    crime_type: Mapped[str | None] = mapped_column(String(40))
    district: Mapped[str | None] = mapped_column(String(100))
    reported_on: Mapped[date | None] = mapped_column(Date)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    interviews: Mapped[list[Interview]] = relationship(back_populates="case")

    def field_values(self) -> dict[str, Any]:
        """Every case field by name, as the questionnaire's prompts and conditions see them."""
        return case_field_values(self)


class _CaseColumns(Protocol):
    """A case's field columns, as the model and lighter row types both offer them."""

    @property
    def first_name(self) -> str | None: ...
    @property
    def crime_type(self) -> str | None: ...
    @property
    def district(self) -> str | None: ...
    @property
    def reported_on(self) -> date | None: ...
    @property
    def fields(self) -> dict[str, Any] | None: ...


def case_field_values(case: _CaseColumns) -> dict[str, Any]:
    """A case's fields by name (the named columns over the free-form ones), without blanks."""
    values: dict[str, Any] = dict(case.fields or {})
    values.update(
        first_name=case.first_name,
        crime_type=case.crime_type,
        district=case.district,
        reported_on=case.reported_on.isoformat() if case.reported_on else None,
    )
    return {k: v for k, v in values.items() if v is not None}


class Interview(Base):
    """One attempt at the questionnaire with one respondent, pinned to one version."""

    __tablename__ = "interviews"
    __table_args__ = (
        Index("ix_interviews_case_id", "case_id"),
        # Results find the cases interviewed in a period by when their interviews started.
        Index("ix_interviews_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=public_id)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    channel: Mapped[str] = mapped_column(String(20))
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The interviewer who ran it, for interviews run from the console.
    interviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The interviewer's notes during the call: [{"at": ISO time, "text": ...}], oldest first.
    notes: Mapped[list[Any] | None] = mapped_column(SealedJSON())
    status: Mapped[str] = mapped_column(String(32), default="in_progress")
    step_no: Mapped[int] = mapped_column(Integer, default=0)
    #: The turn whose TwiML opened the current call (0 for the first call; later calls
    #: carry on the same interview), replayed if Twilio retries that call's first webhook.
    opening_step_no: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Sealed: it carries the case's values (the first name among them) for the prompts.
    state: Mapped[dict[str, Any]] = mapped_column(SealedJSON(), default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The language tag the interview was held in, as it started or as the victim switched
    #: (null: the questionnaire's own language, as for interviews before translations).
    language: Mapped[str | None] = mapped_column(String(16))

    case: Mapped[Case] = relationship(back_populates="interviews")
    questionnaire_version: Mapped[QuestionnaireVersion] = relationship()
    answers: Mapped[list[Answer]] = relationship(back_populates="interview", order_by="Answer.id")


class Turn(Base):
    """The response sent for one webhook turn, replayed verbatim when Twilio retries."""

    __tablename__ = "turns"

    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"), primary_key=True)
    step_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Sealed: the prompts it says may name the victim.
    response: Mapped[str] = mapped_column(SealedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Answer(Base):
    """One answer per interview and question; ``code`` is None when unanswered."""

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("interview_id", "question_id"),
        # Results read every interview's codes in interview order from this index alone
        # (an index-only scan), never the answers' wider rows.
        Index("ix_answers_codes", "interview_id", "question_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"))
    question_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    via: Mapped[str | None] = mapped_column(String(20))
    #: What was said (speech) or pressed: sealed, as a victim may say anything.
    raw: Mapped[str | None] = mapped_column(SealedText())
    confidence: Mapped[float | None] = mapped_column(Float)
    recording_url: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    interview: Mapped[Interview] = relationship(back_populates="answers")


class Transcription(Base):
    """The text Twilio transcribed from a recorded answer, kept beside the recording."""

    __tablename__ = "transcriptions"
    __table_args__ = (UniqueConstraint("interview_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"))
    question_id: Mapped[str] = mapped_column(String(64))
    recording_sid: Mapped[str | None] = mapped_column(String(64))
    #: completed, or failed (no text).
    status: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(SealedText())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Referral(Base):
    """A service-recovery referral or action alert for a district or service to work."""

    __tablename__ = "referrals"
    __table_args__ = (
        UniqueConstraint("interview_id", "kind"),
        Index("ix_referrals_status", "status"),
        Index("ix_referrals_due_at", "due_at"),
        Index("ix_referrals_announced_at", "announced_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interviews.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    survey: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(100))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    #: new, assigned, in_progress (a contact was attempted) or closed.
    status: Mapped[str] = mapped_column(String(32), default="new")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: First contact is due by then (working days after the referral was raised).
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: How it was closed: contacted_resolved, contacted_escalated, not_contactable, declined.
    outcome: Mapped[str | None] = mapped_column(String(40))
    #: Whether the victim agreed to be contacted: without it, the referral tells the district
    #: of the dissatisfaction and its reasons, but not who the victim is.
    consented: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When its notice went to the job queue; None: not yet (the queue was unreachable).
    notice_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the people who work its queue were told (or found to be nobody).
    announced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship()
    #: The interview it was raised from (read for the language the victim spoke).
    interview: Mapped[Interview] = relationship()
    assigned_to: Mapped[User | None] = relationship()
    events: Mapped[list[ReferralEvent]] = relationship(
        back_populates="referral", order_by="ReferralEvent.id"
    )


class User(Base):
    """Someone who signs in: a supervisor, district research officer, service manager,
    interviewer or administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case; the sign-in name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    #: admin, supervisor, district_officer, service_manager or interviewer.
    role: Mapped[str] = mapped_column(String(32))
    #: The districts a district research officer works (others: empty).
    districts: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    #: An interviewer's own phone in E.164, which the console rings to bridge a call.
    phone: Mapped[str | None] = mapped_column(SealedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The second factor's TOTP secret (base32): a credential, as secret as a password.
    #: Set at enrolment, before it is confirmed; None when the account has none.
    totp_secret: Mapped[str | None] = mapped_column(SealedText())
    #: When the second factor was confirmed with a right code; None: not switched on.
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The TOTP time step of the last code accepted: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Digests of the one-time recovery codes not used yet.
    recovery_code_hashes: Mapped[list[Any]] = mapped_column(default=list)


class ReferralEvent(Base):
    """One thing that happened to a referral; never changed or deleted once written."""

    __tablename__ = "referral_events"
    __table_args__ = (Index("ix_referral_events_referral_id", "referral_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Who did it; None for the system (the referral being raised, a notification sent).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: raised, assigned, note, contact_attempt, closed, reopened, notified.
    kind: Mapped[str] = mapped_column(String(32))
    #: What the event says: note text, contact outcome, assignee, closing outcome. Sealed
    #: whole: staff write about the victim in it, and no query reads inside it.
    details: Mapped[dict[str, Any]] = mapped_column(SealedJSON(), default=dict)

    referral: Mapped[Referral] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class AuditEntry(Base):
    """A view of personal details, or an action, by a signed-in user: kept for audit."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        # The admin's search: one user's entries, or one object's, newest first.
        Index("ix_audit_log_actor_at", "actor_id", "at"),
        Index("ix_audit_log_object", "object_type", "object_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: e.g. sign_in, sign_in_failed, view_referral, play_recording, assign, note, close.
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The client's address as the trusted proxies gave it (None outside a web request).
    address: Mapped[str | None] = mapped_column(String(45))


class StaffSession(Base):
    """One signed-in browser; a session is refused once ended (sign-out, a new password,
    the account disabled, or "sign out everywhere")."""

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user_id", "user_id", "started_at"),)

    #: SHA-256 of the token in the browser's session: this table alone signs no one in.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Where the sign-in came from: an account's usual addresses are spared the limit
    #: that strangers trying its password share.
    address: Mapped[str | None] = mapped_column(String(45))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CallAttempt(Base):
    """One telephone call, inbound or outbound, and how it went."""

    __tablename__ = "call_attempts"
    __table_args__ = (
        Index("ix_call_attempts_case_id", "case_id"),
        UniqueConstraint("case_id", "attempt_no"),
        Index("ix_call_attempts_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=public_id)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interviews.id"))
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    direction: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default="queued")
    answered_by: Mapped[str | None] = mapped_column(String(32))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    #: Outbound only: which attempt at the case this is (1, 2, ...), unique per case so
    #: that no two schedulers can create the same attempt twice.
    attempt_no: Mapped[int | None] = mapped_column(Integer)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When a worker took the attempt to dial it; set once, so a second worker never dials.
    dialing_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: How the attempt ended, in the calling policy's terms (no_answer, busy, machine, ...).
    outcome: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Schedule(Base):
    """Where the outbound campaign is with one case: when to ring next, how it ended."""

    __tablename__ = "schedules"
    __table_args__ = (
        # The scheduler's one query: the due cases of a survey, soonest first.
        Index(
            "ix_schedules_due",
            "survey",
            "next_attempt_at",
            postgresql_where=text("disposition IS NULL AND active_attempt_id IS NULL"),
            sqlite_where=text("disposition IS NULL AND active_attempt_id IS NULL"),
        ),
        Index(
            "ix_schedules_unplanned",
            "survey",
            postgresql_where=text("planned_at IS NULL"),
            sqlite_where=text("planned_at IS NULL"),
        ),
        # Results count a survey's cases by when their calling closed, a period at a time.
        Index("ix_schedules_closed", "survey", "closed_at"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    survey: Mapped[str] = mapped_column(String(64))
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    appointment_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    active_attempt_id: Mapped[int | None] = mapped_column(Integer)
    #: Outcomes of the attempts so far, oldest first: what the final disposition rests on.
    outcomes: Mapped[list[Any]] = mapped_column(default=list)
    #: AAPOR final disposition code once the case is no longer worked ("1.1", "3.13", ...).
    disposition: Mapped[str | None] = mapped_column(String(8))
    #: When the case got its final disposition: the period a case is counted in.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The interviewer working the case from the console, and since when: no one else is
    #: given it (and the dialler does not ring it) until it is released.
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Since when only interviewers may ring the case: the victim said it was not safe to
    #: talk (or did not say it was), so the automated dialler never rings it again.
    interviewer_only_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why: empty for the safety check, "asked_for_person" (pressed 0 when nobody could
    #: take the call), or "access_needs" (Relay UK, textphone, a hearing or speech need).
    interviewer_only_reason: Mapped[str | None] = mapped_column(String(32))
    #: Since when the victim's live call has been put through to a person: the console
    #: lists it for interviewers to take until one does.
    handed_over_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Campaign(Base):
    """Whether a survey's outbound calling is running or paused."""

    __tablename__ = "campaigns"

    survey: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DoNotCall(Base):
    """A number that no survey may ring again."""

    __tablename__ = "do_not_call"

    #: The keyed hash of ``phone``: the list is searched by it, never by the number.
    phone_hash: Mapped[str] = mapped_column(
        String(64), primary_key=True, default=phone_hash_default
    )
    phone: Mapped[str] = mapped_column(SealedText())
    reason: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
