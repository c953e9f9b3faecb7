"""Tell a district (or the victim service) that a referral is waiting for them."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def notify_new_referral(referral_id: int, kind: str, district: str) -> str:
    """Announce a new referral to its district's queue; no personal data is logged."""
    message = f"new {kind} referral #{referral_id} for {district}"
    log.info(message)
    return message
