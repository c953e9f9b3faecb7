"""Scheduler passes on a real Redis: one chain however often ``campaign start`` runs, and a
worker with the scheduler runs the pass that places calls."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.registry import FinishedJobRegistry, ScheduledJobRegistry

from tests.conftest import REDIS_URL, ROOT
from workers.dialer import OVERDUE_LOCK, TICK_LOCK, schedule_next_tick


def test_only_one_chain_of_passes_is_scheduled(redis: Redis) -> None:
    assert schedule_next_tick(REDIS_URL, delay=30)
    assert not schedule_next_tick(REDIS_URL, delay=30)
    registry = ScheduledJobRegistry(queue=Queue("default", connection=redis))
    (job_id,) = registry.get_job_ids()
    job = Queue("default", connection=redis).fetch_job(job_id)
    assert job is not None and job.func_name == "workers.dialer.tick"
    when = registry.get_scheduled_time(job_id)
    assert timedelta(seconds=25) < when - datetime.now(UTC) <= timedelta(seconds=31)
    assert 0 < redis.ttl(TICK_LOCK) <= 29
    # Once the key lapses (the chain's worker died), a new chain may start.
    redis.delete(TICK_LOCK)
    assert schedule_next_tick(REDIS_URL, delay=30)


def test_a_worker_runs_a_pass_and_it_schedules_the_next(
    redis: Redis,
    sqlite_url: str,
    all_day_questionnaires: Path,
) -> None:
    Queue("default", connection=redis).enqueue("workers.dialer.tick")
    env = {
        "DATABASE_URL": sqlite_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": "test",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM_NUMBER": "+441134960999",
        "PUBLIC_BASE_URL": "https://ivr.example.test",
        "IVR_QUESTIONNAIRES": str(all_day_questionnaires),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", REDIS_URL, "default"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Job OK" in done.stderr + done.stdout
    registry = ScheduledJobRegistry(queue=Queue("default", connection=redis))
    assert len(registry.get_job_ids()) == 1
    # The pass also queued the supervisors' overdue notice, once for the hour, and the
    # burst worker ran it too.
    finished = FinishedJobRegistry(queue=Queue("default", connection=redis))
    ran = [
        Queue("default", connection=redis).fetch_job(job_id) for job_id in finished.get_job_ids()
    ]
    assert sorted(job.func_name for job in ran if job) == [
        "workers.dialer.tick",
        "workers.notifications.notify_overdue",
    ]
    assert 3500 < redis.ttl(OVERDUE_LOCK) <= 3600
