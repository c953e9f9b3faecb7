"""Tell the people who work referrals that one is waiting, or that some are overdue.

Messages name the referral by id, kind and district only: no victim's details go into an
email or a log line. With ``SMTP_HOST`` set they are emailed; otherwise each recipient is
logged on one line. Either way the referral gets a ``notified`` event.

The jobs that run these are ``workers.notifications``; the scheduler pass sends the
overdue notice once an hour.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.orm import Session

from ivr.accounts.staff import Role, may_see
from ivr.config import Settings
from ivr.jobs import NOTIFY_NEW_REFERRAL, JobQueue, JobQueueUnavailable
from ivr.referrals import workflow
from ivr.services import Services
from ivr.store import referrals as referral_store
from ivr.store import staff as staff_store
from ivr.store.db import Database
from ivr.store.models import User
from ivr.wording import local_time, words

log = logging.getLogger(__name__)
#: Seconds after which a queued notice not yet sent counts as lost (longer than its
#: retries take: 30 s, 5 and 30 minutes).
NOTICE_LOST_AFTER = 3600
#: Notices queued again by one look.
WAITING_BATCH = 500

#: Seconds to wait on the mail server before giving up (the job fails, and can be retried).
SMTP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Recipient:
    id: int
    email: str


def send_mail(settings: Settings, recipients: list[Recipient], subject: str, body: str) -> None:
    """Email each recipient separately (so none sees the others) over one connection."""
    assert settings.smtp_host, "send_mail needs SMTP_HOST"
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        for recipient in recipients:
            message = EmailMessage()
            message["From"] = settings.smtp_from
            message["To"] = recipient.email
            message["Subject"] = subject
            message.set_content(body)
            smtp.send_message(message)


def _deliver(
    settings: Settings, recipients: list[Recipient], subject: str, body: str, log_line: str
) -> str:
    """Email, or log one line per recipient; say which was done."""
    if settings.smtp_host:
        send_mail(settings, recipients, subject, body)
        log.info("emailed %d people: %s", len(recipients), log_line)
        return "email"
    for recipient in recipients:
        log.info("for user #%d (no SMTP_HOST, so not emailed): %s", recipient.id, log_line)
    return "log"


def _staff(session: Session, role: Role) -> list[User]:
    return staff_store.active_users_with_role(session, role.value)


def notify_new_referral(svc: Services, referral_id: int, kind: str, district: str) -> str:
    """Announce a new referral to the district research officers of its district, or to the
    victim service's managers for a service referral; no personal data is sent or logged.

    Returns what was announced; whom it went to is logged and kept in the ``notified`` event.
    """
    what = f"new {kind} referral #{referral_id} for {district}"
    settings = svc.settings
    with svc.db.transaction() as session:
        referral = referral_store.referral_by_id(session, referral_id)
        if referral is None:
            log.warning("%s: no such referral, so nobody was told", what)
            return what
        recipients = [
            Recipient(u.id, u.email)
            for role in (Role.DISTRICT_OFFICER, Role.SERVICE_MANAGER)
            for u in _staff(session, role)
            if may_see(u, referral)
        ]
        due = (
            f"First contact is due by {local_time(referral.due_at)}."
            if referral.consented and referral.due_at is not None
            else "The victim did not agree to be contacted: it is for information."
        )
    if not recipients:
        log.warning("%s: nobody works that queue, so nobody was told", what)
        with svc.db.transaction() as session:
            referral_store.mark_announced(session, referral_id, svc.clock())
        return what
    link = f"{settings.public_base_url}/queue/referrals/{referral_id}"
    via = _deliver(
        settings,
        recipients,
        f"New {words(kind).lower()} referral #{referral_id} for {district}",
        f"A new {words(kind).lower()} referral (#{referral_id}) is waiting in the "
        f"{district} queue.\n{due}\n\n{link}\n",
        what,
    )
    with svc.db.transaction() as session:
        referral = referral_store.referral_by_id(session, referral_id)
        assert referral is not None
        workflow.record_notified(referral, "new", [r.id for r in recipients], via, now=svc.clock())
        referral_store.mark_announced(session, referral_id, svc.clock())
    return what


def announce(
    queue: JobQueue | None,
    db: Database,
    referrals: Iterable[tuple[int, str, str]],
    now: datetime,
    *,
    marked: bool = False,
) -> None:
    """Queue the notices of referrals (id, kind, district) just committed. A notice the job
    queue cannot take now is kept, not lost: its referral waits, unqueued, for
    :func:`announce_waiting` once the queue is back; the caller carries on either way.

    ``marked``: the referrals were stored with their notices counted as queued, as a new
    referral is, so that a webhook queueing them makes no write more: only those the queue
    could not take are written, as not queued after all.
    """
    wanted = list(referrals)
    queued = []
    for referral_id, kind, district in wanted:
        if queue is None:
            break
        try:
            queue.enqueue(NOTIFY_NEW_REFERRAL, referral_id, kind, district)
        except JobQueueUnavailable:
            log.warning(
                "referral #%d: the job queue is unreachable; its notice is kept and sent "
                "when the queue is back",
                referral_id,
            )
            continue
        queued.append(referral_id)
    if marked:
        missed = [referral_id for referral_id, *_ in wanted if referral_id not in queued]
        if missed:
            with db.transaction() as session:
                referral_store.mark_notices_unqueued(session, missed)
    elif queued:
        with db.transaction() as session:
            referral_store.mark_notices_queued(session, queued, now)


def announce_waiting(svc: Services) -> str:
    """Queue every notice the job queue never got, or lost an hour or more ago."""
    with svc.db.transaction() as session:
        waiting = referral_store.notices_waiting(
            session, svc.clock() - timedelta(seconds=NOTICE_LOST_AFTER), WAITING_BATCH
        )
    announce(svc.queue, svc.db, waiting, svc.clock())
    return f"{len(waiting)} referral notice(s) queued again"


def notify_overdue(svc: Services) -> str:
    """Tell every supervisor which referrals are past their first-contact deadline."""
    settings, now = svc.settings, svc.clock()
    with svc.db.transaction() as session:
        late = [
            (r.id, r.kind, r.district, local_time(r.due_at)) for r in workflow.overdue(session, now)
        ]
        recipients = [Recipient(u.id, u.email) for u in _staff(session, Role.SUPERVISOR)]
    if not late:
        return "no overdue referrals"
    what = f"{len(late)} overdue referral(s): " + ", ".join(
        f"#{rid} ({kind}, {district})" for rid, kind, district, _due in late
    )
    if not recipients:
        log.warning("%s: there is no supervisor to tell", what)
        return f"{what}: nobody to tell"
    lines = "\n".join(
        f"#{rid} {words(kind).lower()} for {district}, due {due}: "
        f"{settings.public_base_url}/queue/referrals/{rid}"
        for rid, kind, district, due in late
    )
    via = _deliver(
        settings,
        recipients,
        f"{len(late)} referral(s) overdue for first contact",
        f"These referrals are past their first-contact deadline:\n\n"
        f"{lines}\n\n{settings.public_base_url}/queue?overdue=1\n",
        what,
    )
    with svc.db.transaction() as session:
        for referral in referral_store.referrals_by_ids(session, [rid for rid, *_ in late]):
            workflow.record_notified(referral, "overdue", [r.id for r in recipients], via, now=now)
    return f"{what}: told {len(recipients)} by {via}"
