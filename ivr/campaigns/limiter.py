"""Limits on how fast outbound calls start: per process, or across workers on Redis."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol


class CallRateLimiter(Protocol):
    """Blocks until another call may start."""

    def acquire(self) -> None:
        """Return when a call may start now."""


def _window(calls_per_second: float) -> tuple[float, int]:
    """A counting window in seconds and the calls it allows: 1 s for 1 or more per second,
    longer for fewer (0.2 per second is one call per 5 s window)."""
    if calls_per_second >= 1:
        return 1.0, int(calls_per_second)
    return math.ceil(1 / calls_per_second), 1


class LocalRateLimiter:
    """Spaces calls in one process (the embedded default runs one dialler)."""

    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = 1 / calls_per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            self._sleep(wait)


class RedisRateLimiter:
    """At most N calls start in each window across every worker sharing the Redis.

    Each start increments the window's counter; a worker over the limit sleeps until the
    next window. The counter expires soon after its window, so Redis keeps two at most.
    """

    def __init__(
        self,
        redis: Any,
        calls_per_second: float,
        *,
        key: str = "ivr:call-starts",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.redis = redis
        self.window, self.limit = _window(calls_per_second)
        self.key = key
        self._clock, self._sleep = clock, sleep

    def acquire(self) -> None:
        while True:
            now = self._clock()
            slot = int(now // self.window)
            key = f"{self.key}:{slot}"
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, int(self.window) + 5)
            count, _ = pipe.execute()
            if int(count) <= self.limit:
                return
            self._sleep((slot + 1) * self.window - now)
