"""RQ jobs that tell the people who work referrals that one is waiting, or that some are
overdue (see :mod:`ivr.referrals.notifications`)."""

from __future__ import annotations

from ivr.referrals import notifications
from ivr.services import current_services


def notify_new_referral(referral_id: int, kind: str, district: str) -> str:
    """Announce a new referral to the people who work its queue."""
    return notifications.notify_new_referral(current_services(), referral_id, kind, district)


def notify_overdue() -> str:
    """Tell every supervisor which referrals are past their first-contact deadline."""
    return notifications.notify_overdue(current_services())


def announce_waiting() -> str:
    """Queue again the referral notices the job queue never got, or lost."""
    return notifications.announce_waiting(current_services())
