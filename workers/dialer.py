"""RQ jobs of the outbound dialler: the scheduler pass and placing one call.

Run them with ``rq worker --with-scheduler`` (the Procfile's ``worker:``); ``ivr db upgrade``
(the release step) and ``ivr campaign start`` send the first pass, and each pass schedules
the next one, and the supervisors' overdue notice once an hour.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from ivr.campaigns import dialler, scheduler
from ivr.services import current_services

log = logging.getLogger(__name__)

#: Seconds between scheduler passes: appointments are kept within 15 minutes, and a
#: pass every half minute keeps calls flowing at the configured rate.
TICK_SECONDS = 30
#: Only one chain of passes runs however many times ``campaign start`` is run: a pass
#: schedules the next only if it holds this key.
TICK_LOCK = "ivr:scheduler-pass"
#: Seconds between overdue notices to supervisors.
OVERDUE_EVERY = 3600
OVERDUE_LOCK = "ivr:overdue-notice"


def place_call(attempt_public_id: str) -> str:
    """Dial one queued attempt (idempotent: a re-run finds it taken and does nothing)."""
    svc = current_services()
    telephony, limiter = svc.dialer()
    done = dialler.place_call(
        svc.db,
        svc.questionnaires,
        svc.settings,
        telephony,
        limiter,
        attempt_public_id,
        svc.clock(),
    )
    return f"{done.result}: {done.detail}" if done.detail else done.result


def tick(reschedule: bool = True) -> list[dict[str, Any]]:
    """One scheduler pass over every survey with a campaign; then schedule the next."""
    reports = []
    svc = current_services()
    for survey in svc.questionnaires.surveys():
        try:
            campaign = scheduler.campaign_for(svc.questionnaires, survey)
        except scheduler.CampaignError:
            continue
        report = scheduler.tick(
            svc.db,
            campaign,
            svc.queue,
            svc.clock(),
            max_concurrent_calls=svc.settings.max_concurrent_calls,
        )
        reports.append(report.as_dict())
    if reschedule and svc.settings.redis_url:
        schedule_next_tick(svc.settings.redis_url)
        schedule_overdue_notices(svc.settings.redis_url)
    return reports


def schedule_overdue_notices(redis_url: str) -> bool:
    """Queue the supervisors' overdue notice at most once an hour (the scheduler passes are
    the platform's clock under RQ)."""
    from redis import Redis
    from rq import Queue

    redis = Redis.from_url(redis_url)
    if not redis.set(OVERDUE_LOCK, "1", nx=True, ex=OVERDUE_EVERY):
        return False
    Queue("default", connection=redis).enqueue("workers.notifications.notify_overdue")
    return True


def schedule_next_tick(redis_url: str, delay: int = TICK_SECONDS) -> bool:
    """Queue the next pass in ``delay`` seconds unless another chain already did."""
    from redis import Redis
    from rq import Queue

    redis = Redis.from_url(redis_url)
    # The key lives a little less than a pass interval: a chain renews it each pass, and
    # a chain that died (worker gone) lets a new one start within one interval.
    if not redis.set(TICK_LOCK, "1", nx=True, ex=max(delay - 1, 1)):
        return False
    Queue("default", connection=redis).enqueue_in(timedelta(seconds=delay), tick)
    return True
