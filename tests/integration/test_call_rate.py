"""Outbound call starts are paced by a moving window: per process, and across workers that
share a real Redis. Times are real; each check is a lower bound the limit guarantees, so a
slow machine cannot make it fail."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
from redis import Redis

from ivr.campaigns.limiter import (
    LocalRateLimiter,
    MovingWindowLimiter,
    RedisRateLimiter,
    per_window,
)
from tests.conftest import REDIS_URL


@pytest.mark.parametrize(
    ("per_second", "calls", "seconds"),
    [(2, 2, 1), (1, 1, 1), (0.2, 1, 5), (0.5, 1, 2), (1.5, 3, 2), (30, 30, 1)],
)
def test_a_rate_is_whole_calls_per_whole_seconds(
    per_second: float, calls: int, seconds: int
) -> None:
    limit = per_window(per_second)
    assert (limit.amount, limit.get_expiry()) == (calls, seconds)
    assert Fraction(calls, seconds) == Fraction(per_second).limit_denominator(3600)


@pytest.mark.parametrize("per_second", [0, -1])
def test_a_rate_must_be_positive(per_second: float) -> None:
    with pytest.raises(ValueError, match="more than 0"):
        per_window(per_second)


def starts(limiters: list[MovingWindowLimiter], n: int) -> list[tuple[float, float]]:
    """Acquire n times, taking turns between the limiters; (asked, allowed) times."""
    spans = []
    for i in range(n):
        asked = time.time()
        limiters[i % len(limiters)].acquire()
        spans.append((asked, time.time()))
    return spans


def assert_never_more_than(limit: int, window: float, spans: list[tuple[float, float]]) -> None:
    # Start k was allowed after start k-limit was asked for: if the window holds, at
    # least a whole window lies between them.
    for k in range(limit, len(spans)):
        assert spans[k][1] - spans[k - limit][0] >= window, (k, spans)


def test_one_process_never_starts_more_than_the_limit_in_any_window() -> None:
    limiter = LocalRateLimiter(5, key="test-local")
    spans = starts([limiter], 12)
    assert_never_more_than(5, 1.0, spans)


def test_no_double_burst_at_the_edge_of_a_second() -> None:
    """A fixed window counting per clock second lets 2 start late in one second and 2
    more early in the next: 4 within half a second. The moving window does not."""
    limiter = LocalRateLimiter(2, key="test-edge")
    time.sleep((0.7 - time.time() % 1) % 1)  # late in a clock second
    first = starts([limiter], 2)
    time.sleep(0.5)  # into the next clock second
    second = starts([limiter], 2)
    assert_never_more_than(2, 1.0, first + second)


def test_workers_sharing_redis_share_one_budget(redis: Redis) -> None:
    workers = [RedisRateLimiter(REDIS_URL, 3, key="test-shared") for _ in range(2)]
    spans = starts(workers, 3)
    # Worker 0 and 1 spent the budget between them; neither may start another now.
    for w in workers:
        assert not w.strategy.test(w.limit, w.key)
    spans += starts(workers, 4)
    assert_never_more_than(3, 1.0, spans)
