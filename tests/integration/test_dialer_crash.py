"""A dialler worker killed with SIGKILL never makes a victim be rung twice for one attempt.

Real PostgreSQL, real Redis, a real ``rq worker`` process, and a fake Twilio REST API on
loopback that can hold a request: before taking the call (the worker dies before Twilio
has it) or after taking it (the worker dies before reading Twilio's answer).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis import Redis
from rq import Queue
from sqlalchemy import select
from werkzeug.serving import make_server

from ivr.app import create_app
from ivr.campaigns import scheduler
from ivr.campaigns.samples import import_sample
from ivr.jobs import RedisQueue
from ivr.store import campaigns as store
from ivr.store.models import CallAttempt, Schedule
from ivr.telephony.fake_api import FakeTwilioApi, no_answer
from ivr.telephony.simulator import WSGITransport
from tests.conftest import AUTH_TOKEN, REDIS_URL, ROOT, make_settings
from tests.functional.campaign_world import ACCOUNT_SID, uss_csv
from tests.integration.procfile import rq_worker_command

PHONE = "+441134960201"
QUEUE = "ivr-dialer-test"


class Gate:
    """Wraps the fake API: holds the next call request before or after the API takes it."""

    def __init__(self, inner: FakeTwilioApi, hold: str) -> None:
        self.inner, self.hold = inner, hold
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.hold == "before":
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self.arrived.set()
            self.release.wait(60)
            # The worker is gone: nothing reads this, and the API never took the call.
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        captured: dict[str, Any] = {}

        def keep(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            captured.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self.inner(environ, keep))
        self.arrived.set()
        self.release.wait(60)
        start_response(captured["status"], captured["headers"])
        return [body]


def _dial_in_worker(env: dict[str, str], gate: Gate) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        rq_worker_command(REDIS_URL, QUEUE),
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not gate.arrived.wait(60):
        os.killpg(worker.pid, signal.SIGKILL)
        pytest.fail("the worker never asked the API to place the call")
    # Killed at the worst moment: while the REST request is in flight. The Procfile's worker
    # runs the job in its own process; a worker that forks a work horse for each job (RQ's
    # default) would have it in a session of its own, so any child is killed by pid first.
    horses = subprocess.run(
        ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    for pid in horses:
        os.kill(int(pid), signal.SIGKILL)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)
    return worker


def _rerun_worker(env: dict[str, str]) -> None:
    subprocess.run(
        rq_worker_command(REDIS_URL, QUEUE),
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("hold", ["before", "after"])
def test_a_killed_worker_leaves_the_attempt_recoverable_never_duplicated(
    hold: str,
    empty_postgres_url: str,
    redis: Redis,
    all_day_questionnaires: Path,
) -> None:
    postgres_url = empty_postgres_url
    settings = make_settings(
        postgres_url, redis_url=REDIS_URL, questionnaires_dir=all_day_questionnaires
    )
    app: Flask = create_app(settings, queue=RedisQueue(REDIS_URL, name=QUEUE))
    db = app.extensions["ivr"].db
    fake = FakeTwilioApi(
        WSGITransport(app),
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        fate=lambda to, params: no_answer(),
    )
    gate = Gate(fake, hold)
    server = make_server("127.0.0.1", 0, gate, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        campaign = scheduler.campaign_for(app.extensions["ivr"].questionnaires, "uss")
        now = datetime.now(UTC)
        with app.app_context():
            with db.transaction() as session:
                import_sample(
                    session,
                    campaign.questionnaire,
                    io.StringIO(
                        uss_csv(
                            [("CR/CRASH/26", PHONE, "burglary", now.date() - timedelta(weeks=7))]
                        ),
                        newline="",
                    ),
                    today=now.date(),
                )
            with db.engine.begin() as conn:
                store.set_campaign_status(conn, "uss", "running", now)
            (public_id,) = scheduler.tick(
                db, campaign, app.extensions["ivr"].queue, now, max_concurrent_calls=5
            ).queued
        env = {
            **os.environ,
            "DATABASE_URL": postgres_url,
            "REDIS_URL": REDIS_URL,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": settings.twilio_from_number,
            "TWILIO_API_BASE_URL": base_url,
            "PUBLIC_BASE_URL": settings.public_base_url,
            "IVR_QUESTIONNAIRES": str(all_day_questionnaires),
            "SECRET_KEY": "test",
        }
        _dial_in_worker(env, gate)
        gate.release.set()
        with db.transaction() as session:
            attempt = session.scalars(select(CallAttempt)).one()
            assert (attempt.public_id, attempt.status) == (public_id, "dialing")
        # The job runs again (RQ requeued it, or an operator did): it finds the attempt
        # taken and does not dial.
        Queue(QUEUE, connection=redis).enqueue("workers.dialer.place_call", public_id)
        _rerun_worker(env)
        assert len(fake.calls) == (1 if hold == "after" else 0)
        if hold == "after":
            # Twilio has the call: its status callbacks reconcile the attempt.
            (call,) = fake.play_pending()
            with db.transaction() as session:
                attempt = session.scalars(select(CallAttempt)).one()
                assert attempt.call_sid == call.sid
                assert (attempt.status, attempt.outcome) == ("no-answer", "no_answer")
                schedule = session.scalars(select(Schedule)).one()
                assert schedule.active_attempt_id is None and schedule.attempts == 1
        else:
            # Nothing ever reports on it: the scheduler closes it as not placed, later,
            # and plans the next attempt; this one is never dialled again.
            later = now + scheduler.STRANDED_AFTER + timedelta(minutes=1)
            report = scheduler.tick(
                db, campaign, RedisQueue(REDIS_URL, name=QUEUE), later, max_concurrent_calls=5
            )
            assert report.stranded == 1
            with db.transaction() as session:
                attempt = session.scalars(select(CallAttempt)).one()
                assert (attempt.status, attempt.outcome) == ("not-placed", "not_placed")
                schedule = session.scalars(select(Schedule)).one()
                assert schedule.active_attempt_id is None
                assert schedule.next_attempt_at is not None
            assert fake.calls == []
    finally:
        gate.release.set()
        server.shutdown()
        db.dispose()
