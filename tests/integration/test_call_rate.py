"""Outbound call starts are paced: per process, and across workers on a real Redis."""

from __future__ import annotations

import pytest
from redis import Redis

from ivr.campaigns.limiter import LocalRateLimiter, RedisRateLimiter


class FakeTime:
    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_one_process_spaces_calls_evenly() -> None:
    t = FakeTime(100.0)
    limiter = LocalRateLimiter(2, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        limiter.acquire()
    assert t.slept == [0.5, 0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    ("per_second", "starts_in_first_window", "window"),
    [
        (1, 1, 1.0),
        (3, 3, 1.0),
        (0.2, 1, 5.0),
    ],
)
def test_workers_sharing_redis_share_one_limit(
    redis: Redis, per_second: float, starts_in_first_window: int, window: float
) -> None:
    t = FakeTime(1_000_000.0)
    # Two workers, one budget: whichever asks, no more than the limit start per window.
    workers = [RedisRateLimiter(redis, per_second, clock=t.clock, sleep=t.sleep) for _ in range(2)]
    for i in range(starts_in_first_window):
        workers[i % 2].acquire()
    assert t.slept == []
    workers[1].acquire()
    assert t.slept == [window]
    assert t.now == 1_000_000.0 + window
