"""Background jobs: RQ on Redis in production, run in-process on the embedded default."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)


class JobQueue(Protocol):
    """Somewhere to send a job, named by its dotted import path."""

    def enqueue(self, func_path: str, *args: Any) -> None:
        """Run ``func_path(*args)`` in the background (or now, in-process)."""


def resolve(func_path: str) -> Callable[..., Any]:
    """Import the function a dotted path names."""
    module, _, name = func_path.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


class InProcessQueue:
    """Runs each job at once in the calling process; a failing job is logged, not raised."""

    def enqueue(self, func_path: str, *args: Any) -> None:
        """Run the job now."""
        try:
            resolve(func_path)(*args)
        except Exception:
            log.exception("in-process job %s failed", func_path)


class RedisQueue:
    """Sends jobs to an RQ queue for ``rq worker`` processes."""

    def __init__(self, redis_url: str, name: str = "default"):
        from redis import Redis
        from rq import Queue

        self.queue = Queue(name, connection=Redis.from_url(redis_url))

    def enqueue(self, func_path: str, *args: Any) -> None:
        """Enqueue the job on Redis."""
        self.queue.enqueue(func_path, *args)


def make_queue(redis_url: str | None) -> JobQueue:
    """RQ when ``REDIS_URL`` is set, otherwise in-process."""
    return RedisQueue(redis_url) if redis_url else InProcessQueue()
