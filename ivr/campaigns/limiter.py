"""How fast outbound calls start: a moving window from the ``limits`` library, in this
process's memory or on Redis, where every worker shares it."""

from __future__ import annotations

import time
from fractions import Fraction
from typing import Protocol

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

#: The limit's key in the storage: one budget for every survey and worker.
KEY = "ivr-call-starts"


class CallRateLimiter(Protocol):
    """Blocks until another call may start."""

    def acquire(self) -> None:
        """Return when a call may start now."""


def per_window(calls_per_second: float) -> RateLimitItemPerSecond:
    """The limit as calls per whole seconds: 2 a second, or 1 every 5 seconds for 0.2."""
    if calls_per_second <= 0:
        raise ValueError(f"calls_per_second must be more than 0, not {calls_per_second}")
    rate = Fraction(calls_per_second).limit_denominator(3600)
    return RateLimitItemPerSecond(rate.numerator, rate.denominator)


class MovingWindowLimiter:
    """At most the limit's calls start in any window of its length, counted in ``storage``.

    Unlike a fixed window, no two bursts meet at a window's edge: the window moves with
    each call, so 2 a second never means 4 within half a second either side of a tick.
    """

    def __init__(self, storage: Storage, calls_per_second: float, *, key: str = KEY):
        self.limit = per_window(calls_per_second)
        self.strategy = MovingWindowRateLimiter(storage)
        self.key = key

    def acquire(self) -> None:
        while not self.strategy.hit(self.limit, self.key):
            # reset_time is when the oldest start in the window leaves it (epoch seconds).
            stats = self.strategy.get_window_stats(self.limit, self.key)
            time.sleep(max(stats.reset_time - time.time(), 0.001))


class LocalRateLimiter(MovingWindowLimiter):
    """The limit in this process's memory (the embedded default runs one dialler)."""

    def __init__(self, calls_per_second: float, *, key: str = KEY):
        super().__init__(MemoryStorage(), calls_per_second, key=key)


class RedisRateLimiter(MovingWindowLimiter):
    """The limit on Redis, shared by every worker using the same server and database."""

    def __init__(self, redis_url: str, calls_per_second: float, *, key: str = KEY):
        super().__init__(RedisStorage(redis_url), calls_per_second, key=key)
