"""The clock and the jobs on a real Redis: the clock enqueues a scheduler pass every half
minute whatever became of the last one, every job carries its timeout, TTLs and retry
policy, and a worker runs a pass that places calls."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry

from ivr.jobs import (
    ANNOUNCE_WAITING,
    APPLY_RETENTION,
    NOTIFY_NEW_REFERRAL,
    NOTIFY_OVERDUE,
    PLACE_CALL,
    SCHEDULER_PASS,
    RedisQueue,
    policy_for,
)
from ivr.services import build_services, using
from tests.conftest import REDIS_URL, ROOT, make_settings


def worker_env(database_url: str, questionnaires: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "test",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM_NUMBER": "+441134960999",
        "PUBLIC_BASE_URL": "https://ivr.example.test",
        "IVR_QUESTIONNAIRES": str(questionnaires),
        "PATH": "/usr/bin:/bin",
    }


def queued(redis: Redis) -> dict[str, object]:
    return {job.func_name: job for job in Queue("default", connection=redis).jobs}


def test_the_clock_process_enqueues_a_pass_and_the_overdue_notice_with_their_policies(
    redis: Redis, tmp_path: Path
) -> None:
    # The Procfile's clock line, run for a moment: jobs that never ran are due at once.
    clock = subprocess.Popen(
        [sys.executable, "-m", "rq.cli", "cron", "workers.clock", "--url", REDIS_URL],
        cwd=ROOT,
        env=worker_env("sqlite://", tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(queued(redis)) < 4 and time.monotonic() < deadline and clock.poll() is None:
            time.sleep(0.1)
    finally:
        clock.send_signal(signal.SIGTERM)
        output, _ = clock.communicate(timeout=30)
    jobs = queued(redis)
    assert sorted(jobs) == sorted(
        [SCHEDULER_PASS, NOTIFY_OVERDUE, ANNOUNCE_WAITING, APPLY_RETENTION]
    ), output
    for path, job in jobs.items():
        policy = policy_for(path)
        assert (job.timeout, job.result_ttl, job.failure_ttl, job.ttl) == (  # type: ignore[attr-defined]
            policy.timeout,
            policy.result_ttl,
            policy.failure_ttl,
            policy.queued_ttl,
        )
    # A pass left waiting longer than the interval is dropped for the next one.
    assert policy_for(SCHEDULER_PASS).queued_ttl == 30


def test_a_failing_pass_does_not_stop_the_next(redis: Redis, tmp_path: Path) -> None:
    clock = CronScheduler(connection=redis)
    clock.load_config_from_file("workers.clock")
    every = {job.name: job.interval for job in clock.get_jobs()}
    assert every == {
        SCHEDULER_PASS: 30,
        NOTIFY_OVERDUE: 3600,
        ANNOUNCE_WAITING: 300,
        APPLY_RETENTION: 86400,
    }

    assert len(clock.enqueue_jobs()) == 4
    # A database without its tables: the pass raises, as do the others.
    broken = build_services(make_settings(f"sqlite:///{tmp_path / 'empty.db'}"))
    with using(broken):
        SimpleWorker([Queue("default", connection=redis)], connection=redis).work(burst=True)
    queue = Queue("default", connection=redis)
    failed = FailedJobRegistry(queue=queue)
    failures = {job.func_name: job for job in map(queue.fetch_job, failed.get_job_ids()) if job}
    assert sorted(failures) == sorted(
        [SCHEDULER_PASS, NOTIFY_OVERDUE, ANNOUNCE_WAITING, APPLY_RETENTION]
    )
    result = failures[SCHEDULER_PASS].latest_result()
    assert result is not None and "no such table" in (result.exc_string or "")

    # Nothing is due until the interval has passed; then the pass is enqueued again.
    assert clock.enqueue_jobs() == []
    (pass_job,) = [job for job in clock.get_jobs() if job.name == SCHEDULER_PASS]
    pass_job.set_enqueue_time(datetime.now(UTC) - timedelta(seconds=30))
    assert [job.name for job in clock.enqueue_jobs()] == [SCHEDULER_PASS]
    assert list(queued(redis)) == [SCHEDULER_PASS]


def test_a_failed_referral_notice_is_tried_again_and_a_failed_call_is_not(
    redis: Redis, tmp_path: Path
) -> None:
    queue = RedisQueue(REDIS_URL)
    queue.enqueue(NOTIFY_NEW_REFERRAL, 7, "action_alert", "Hartlepool")
    queue.enqueue(PLACE_CALL, "attempt-that-cannot-be-read")
    broken = build_services(make_settings(f"sqlite:///{tmp_path / 'empty.db'}"))
    with using(broken):
        SimpleWorker([queue.queue], connection=redis).work(burst=True)

    notice = queue.queue.fetch_job(ScheduledJobRegistry(queue=queue.queue).get_job_ids()[0])
    assert notice is not None and notice.func_name == NOTIFY_NEW_REFERRAL
    assert notice.get_status() == "scheduled"
    assert notice.retries_left == 2  # three retries in all: 30 s, 5 min, 30 min
    when = ScheduledJobRegistry(queue=queue.queue).get_scheduled_time(notice.id)
    assert timedelta(seconds=20) < when - datetime.now(UTC) <= timedelta(seconds=30)

    (call,) = [queue.queue.fetch_job(i) for i in FailedJobRegistry(queue=queue.queue).get_job_ids()]
    assert call is not None and call.func_name == PLACE_CALL
    assert call.get_status() == "failed" and not call.retries_left
    assert (call.timeout, notice.timeout) == (60, 60)


def test_a_worker_runs_a_pass(redis: Redis, sqlite_url: str, all_day_questionnaires: Path) -> None:
    RedisQueue(REDIS_URL).enqueue(SCHEDULER_PASS)
    done = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", REDIS_URL, "default"],
        cwd=ROOT,
        env=worker_env(sqlite_url, all_day_questionnaires),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Job OK" in done.stderr + done.stdout
    finished = FinishedJobRegistry(queue=Queue("default", connection=redis))
    (job_id,) = finished.get_job_ids()
    job = Queue("default", connection=redis).fetch_job(job_id)
    assert job is not None and job.func_name == SCHEDULER_PASS
    # The pass does not schedule anything itself: the clock does.
    assert ScheduledJobRegistry(queue=Queue("default", connection=redis)).get_job_ids() == []


def test_the_embedded_queue_logs_a_failing_job_and_carries_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ivr.jobs import InProcessQueue

    queue = InProcessQueue()
    with pytest.raises(ModuleNotFoundError):  # tests: the failure reaches the caller
        queue.enqueue("workers.no_such_module.job")
    monkeypatch.setattr(queue, "raise_errors", False)  # a deployment: logged, not raised
    queue.enqueue("workers.no_such_module.job")
    assert "in-process job workers.no_such_module.job failed" in caplog.text
