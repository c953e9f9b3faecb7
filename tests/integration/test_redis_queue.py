"""Referral notifications through a real Redis and an RQ worker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis

from ivr.app import create_app
from ivr.jobs import RedisQueue
from ivr.telephony.respondents import Scripted, press, record
from tests.conftest import (
    REDIS_URL,
    SURVEY_NUMBER,
    add_case,
    make_settings,
    simulator,
)


@pytest.fixture
def redis_url(redis: Redis) -> str:
    return REDIS_URL


@pytest.fixture
def app_on_redis(redis_url: str, sqlite_url: str) -> Iterator[Flask]:
    app = create_app(make_settings(sqlite_url, redis_url=redis_url))
    yield app
    app.extensions["ivr"].db.dispose()


def test_new_referral_is_queued_on_redis_and_a_worker_runs_it(
    app_on_redis: Flask, redis_url: str
) -> None:
    from rq import Queue, SimpleWorker

    add_case(app_on_redis, district="Middlesbrough")
    queue = app_on_redis.extensions["ivr"].queue
    assert isinstance(queue, RedisQueue)
    simulator(app_on_redis).call(
        from_="+441134960001",
        to=SURVEY_NUMBER,
        respondent=Scripted(
            *(press(k) for k in ("1", "1", "7", "7", "7", "7", "7", "1")), record(5), press("2")
        ),
    )
    connection = Redis.from_url(redis_url)
    rq_queue = Queue("default", connection=connection)
    assert rq_queue.count == 1
    job = rq_queue.jobs[0]
    assert job.func_name == "workers.notifications.notify_new_referral"
    assert job.args[1:] == ("service_recovery", "Middlesbrough")
    # In the app's context the job reads the app's database, as a worker configured
    # with the same DATABASE_URL does.
    with app_on_redis.app_context():
        SimpleWorker([rq_queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == f"new service_recovery referral #{job.args[0]} for Middlesbrough"


def test_worker_process_runs_queued_jobs(redis_url: str, sqlite_url: str) -> None:
    import os
    import subprocess
    import sys

    queue = RedisQueue(redis_url, name="ivr-test")
    queue.enqueue("workers.notifications.notify_new_referral", 7, "action_alert", "Hartlepool")
    result = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url, "ivr-test"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DATABASE_URL": sqlite_url, "REDIS_URL": redis_url},
    )
    assert result.returncode == 0, result.stderr
    assert queue.queue.count == 0
    assert "Job OK" in result.stderr + result.stdout
