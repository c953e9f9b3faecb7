"""Background jobs: RQ on Redis in production, run in-process on the embedded default.

Every job has a policy: how long one run may take before the worker stops it, how long
its result and its failure are kept, and whether a failed run is tried again. The table
below is the only place those numbers live; the clock (``workers/clock.py``) uses it too.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: The jobs, by the dotted path a worker imports.
SCHEDULER_PASS = "workers.dialer.tick"
PLACE_CALL = "workers.dialer.place_call"
NOTIFY_NEW_REFERRAL = "workers.notifications.notify_new_referral"
NOTIFY_OVERDUE = "workers.notifications.notify_overdue"
ANNOUNCE_WAITING = "workers.notifications.announce_waiting"
APPLY_RETENTION = "workers.privacy.apply_retention"

#: Seconds between scheduler passes: appointments are kept within 15 minutes, and a
#: pass every half minute keeps calls flowing at the configured rate.
SCHEDULER_EVERY = 30
#: Seconds between overdue notices to supervisors.
OVERDUE_EVERY = 3600
#: Seconds between looks for referral notices the job queue never got (or lost).
ANNOUNCE_EVERY = 300
#: Seconds between runs of the retention periods.
RETENTION_EVERY = 24 * 3600

HOUR = 3600
WEEK = 7 * 24 * HOUR


@dataclass(frozen=True)
class JobPolicy:
    """How RQ treats one kind of job."""

    #: Seconds one run may take before the worker stops it (and counts it failed).
    timeout: int
    #: Seconds a finished job's result is kept (for ``rq info`` and the dashboard).
    result_ttl: int = HOUR
    #: Seconds a failed job is kept in the failed registry for someone to look at.
    failure_ttl: int = WEEK
    #: Seconds to wait before each retry of a failed run; empty: never retried.
    retry_after: tuple[int, ...] = ()
    #: Seconds a job may wait in the queue before it is dropped unrun; None: forever.
    queued_ttl: int | None = None


POLICIES: dict[str, JobPolicy] = {
    # The next pass is the retry: a pass that failed is not repeated, and a pass that
    # waited a whole interval in a busy queue is dropped for the fresher one behind it.
    SCHEDULER_PASS: JobPolicy(
        timeout=SCHEDULER_EVERY - 5, result_ttl=600, queued_ttl=SCHEDULER_EVERY
    ),
    # Never retried by the queue: the attempt records its own failure and the calling
    # policy decides when to call again, so a victim is never dialled twice by accident.
    PLACE_CALL: JobPolicy(timeout=60),
    # A supervisor must hear of a referral: a mail server that is down gets three more tries.
    NOTIFY_NEW_REFERRAL: JobPolicy(timeout=60, retry_after=(30, 300, 1800)),
    # Sent by the clock, like the pass: the next hour's notice is the retry.
    NOTIFY_OVERDUE: JobPolicy(timeout=120, queued_ttl=OVERDUE_EVERY),
    # By the clock, like the pass: the next look is the retry.
    ANNOUNCE_WAITING: JobPolicy(timeout=120, queued_ttl=ANNOUNCE_EVERY),
    # Daily, by the clock: what fails today is tried again tomorrow (a recording Twilio
    # could not delete keeps its address until then).
    APPLY_RETENTION: JobPolicy(timeout=2 * HOUR, queued_ttl=RETENTION_EVERY),
}
#: Any job not in the table.
DEFAULT_POLICY = JobPolicy(timeout=300)


def policy_for(func_path: str) -> JobPolicy:
    """The policy of the job at ``func_path``."""
    return POLICIES.get(func_path, DEFAULT_POLICY)


class JobQueue(Protocol):
    """Somewhere to send a job, named by its dotted import path."""

    def enqueue(self, func_path: str, *args: Any) -> None:
        """Run ``func_path(*args)`` in the background (or now, in-process); raise
        `JobQueueUnavailable` when the queue cannot take it."""


def resolve(func_path: str) -> Callable[..., Any]:
    """Import the function a dotted path names."""
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class InProcessQueue:
    """Runs each job at once in the calling process.

    On the embedded default a failing job is logged and the request or pass that sent it
    carries on, as it would with a worker. Tests set ``raise_errors`` so that a failing
    job fails the test instead of hiding in a log.
    """

    #: Raise a job's exception to the caller instead of logging it.
    raise_errors = False

    def enqueue(self, func_path: str, *args: Any) -> None:
        """Run the job now."""
        try:
            resolve(func_path)(*args)
        except Exception:
            if self.raise_errors:
                raise
            log.exception("in-process job %s failed", func_path)


class JobQueueUnavailable(Exception):
    """The job queue (Redis) could not take a job; nothing was queued."""


class RedisQueue:
    """Sends jobs to an RQ queue for ``rq worker`` processes, each with its policy."""

    def __init__(self, redis_url: str, name: str = "default"):
        from redis import Redis
        from rq import Queue

        self.queue = Queue(name, connection=Redis.from_url(redis_url))

    def enqueue(self, func_path: str, *args: Any) -> None:
        """Enqueue the job on Redis."""
        from redis.exceptions import RedisError
        from rq import Retry

        policy = policy_for(func_path)
        retry = (
            Retry(max=len(policy.retry_after), interval=list(policy.retry_after))
            if policy.retry_after
            else None
        )
        try:
            self.queue.enqueue(
                func_path,
                args=args,
                job_timeout=policy.timeout,
                result_ttl=policy.result_ttl,
                failure_ttl=policy.failure_ttl,
                ttl=policy.queued_ttl,
                retry=retry,
            )
        except RedisError as exc:
            raise JobQueueUnavailable(f"Redis did not take {func_path}: {exc}") from exc


def make_queue(redis_url: str | None) -> JobQueue:
    """RQ when ``REDIS_URL`` is set, otherwise in-process."""
    return RedisQueue(redis_url) if redis_url else InProcessQueue()
