"""RQ jobs of the outbound dialler: the scheduler pass and placing one call.

Run them with ``rq worker -w rq.worker.SimpleWorker --with-scheduler`` (the Procfile's
``worker:``; the scheduler runs the notifications' delayed retries). The clock
(``rq cron workers.clock``, the Procfile's ``clock:``) enqueues a pass every half minute.
"""

from __future__ import annotations

from typing import Any

from ivr.campaigns import dialler, scheduler
from ivr.services import current_services


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


def tick() -> list[dict[str, Any]]:
    """One scheduler pass over every survey with a campaign."""
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
    return reports
