"""The clock of a deployment on Redis: what ``rq cron workers.clock`` enqueues, and when.

The cron process enqueues a scheduler pass every half minute, a look for referral
notices the queue never got every five minutes, the supervisors' overdue notice every
hour and the retention run every day, whatever became of the last one: a
pass that raised is in RQ's failed registry, and the next pass runs on time. (RQ's cron
sends no retry policy: these jobs have none, and the next run is the retry.) Run one
clock process (the Procfile's ``clock:``); workers (``worker:``) run what it enqueues.
"""

from __future__ import annotations

from rq import cron

from ivr.jobs import (
    ANNOUNCE_EVERY,
    ANNOUNCE_WAITING,
    APPLY_RETENTION,
    NOTIFY_OVERDUE,
    OVERDUE_EVERY,
    RETENTION_EVERY,
    SCHEDULER_EVERY,
    SCHEDULER_PASS,
    JobPolicy,
    policy_for,
    resolve,
)

QUEUE = "default"


def _options(policy: JobPolicy) -> dict[str, int | None]:
    return {
        "job_timeout": policy.timeout,
        "result_ttl": policy.result_ttl,
        "failure_ttl": policy.failure_ttl,
        "ttl": policy.queued_ttl,
    }


for func_path, every in (
    (SCHEDULER_PASS, SCHEDULER_EVERY),
    (NOTIFY_OVERDUE, OVERDUE_EVERY),
    (ANNOUNCE_WAITING, ANNOUNCE_EVERY),
    (APPLY_RETENTION, RETENTION_EVERY),
):
    cron.register(
        resolve(func_path), QUEUE, interval=every, name=func_path, **_options(policy_for(func_path))
    )
