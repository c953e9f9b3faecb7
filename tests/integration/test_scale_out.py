"""Scale-out: two app processes behind a "load balancer" that sends each webhook of a call to
either of them at random (Twilio's retries included), sharing one PostgreSQL database and
one Redis, end with the same answers, referrals and calls as one process does alone; two
RQ workers emptying the shared queue side by side send each referral's notice once.

Each process is gunicorn with the product's own configuration, as the Procfile runs it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from ivr.store.db import Database
from ivr.store.models import Case, User
from ivr.telephony.respondents import Scripted, hang_up, press, record
from ivr.telephony.simulator import HTTPTransport, TwilioSimulator
from tests.conftest import (
    AUTH_TOKEN,
    PUBLIC_BASE_URL,
    REDIS_URL,
    SURVEY_NUMBER,
    throwaway_postgres,
)
from tests.integration.procfile import rq_worker_command

ROOT = Path(__file__).resolve().parents[2]

#: Who rings in: each phone's case and what its caller does.
CALLERS: dict[str, tuple[Any, ...]] = {
    "+441134960101": tuple(map(press, "11223122")),  # satisfied, nothing more
    "+441134960102": (  # dissatisfied: a reason, consent to be contacted, police contact
        *map(press, "11" + "66756"),
        record(9, "nobody came back to me"),
        press("1"),
        press("1"),
    ),
    "+441134960103": (*map(press, "11" + "44444"), press("1")),  # asks for police contact
    "+441134960104": (*map(press, "11" + "123"), hang_up()),  # stops part way
    "+441134960105": (press("1"), press("3")),  # does not want to take part
    "+441134960106": (press("2"), press("1")),  # not available now: a call-back
    "+441134960107": tuple(map(press, "11*1*2345*2")),  # repeats questions, then completes
    "+441134960108": (*map(press, "11" + "77777"), record(5), press("2"), press("2")),
}


@contextmanager
def _fresh_database() -> Iterator[str]:
    with throwaway_postgres("ivr_scale") as url:
        Database(url).upgrade()
        yield url


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    with ExitStack() as stack:
        yield (
            stack.enter_context(_fresh_database()),
            stack.enter_context(_fresh_database()),
        )


def _environ(database_url: str, redis_url: str, questionnaires: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "IVR_"))}
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="scale-out-test",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=SURVEY_NUMBER,
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        IVR_QUESTIONNAIRES=str(questionnaires),
        WEB_CONCURRENCY="2",
    )
    return env


@contextmanager
def app_process(env: dict[str, str], log: Path) -> Iterator[str]:
    """One web process as the Procfile runs it, on a port of its own."""
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:ivr.gunicorn_config",
                "-b",
                "127.0.0.1:0",
                "ivr.wsgi:app",
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = _wait_for_port(proc, log)
        yield base
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _wait_for_port(proc: subprocess.Popen[bytes], log: Path) -> str:
    """Gunicorn logs the port it bound ("Listening at: http://127.0.0.1:PORT")."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{log.read_text()}")
        for line in log.read_text().splitlines():
            if "Listening at: " in line:
                base = line.split("Listening at: ", 1)[1].split()[0]
                if _serving(base):
                    return base
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not start:\n{log.read_text()}")


def _serving(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


class Balancer:
    """Sends each webhook to one of the app processes at random, as a load balancer with no
    stickiness would; Twilio's retries (the simulator repeats every request) land anywhere."""

    def __init__(self, bases: list[str], seed: int) -> None:
        self.bases = bases
        self.random = random.Random(seed)
        self.http = HTTPTransport(timeout=30)
        self.sent: dict[str, int] = dict.fromkeys(bases, 0)

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        assert url.startswith(PUBLIC_BASE_URL), url
        base = self.random.choice(self.bases)
        self.sent[base] += 1
        return self.http.post(base + url[len(PUBLIC_BASE_URL) :], params, headers)


def _add_cases(database_url: str) -> None:
    db = Database(database_url)
    try:
        with db.transaction() as session:
            # Someone works the district's queue, so each referral's notice goes to them.
            session.add(
                User(
                    email="officer@force.example",
                    password_hash="not-used-here",
                    role="district_officer",
                    districts=["Hartlepool"],
                )
            )
            for index, phone in enumerate(CALLERS):
                session.add(
                    Case(
                        survey="uss",
                        case_ref=f"SCALE/{index:03d}/26",
                        phone=phone,
                        first_name="Sam",
                        crime_type="burglary",
                        district="Hartlepool",
                        reported_on=None,
                    )
                )
    finally:
        db.dispose()


def _play(bases: list[str], repeat: bool) -> dict[str, str]:
    balancer = Balancer(bases, seed=7)
    sim = TwilioSimulator(
        balancer, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL, repeat_requests=repeat
    )
    ended: dict[str, str] = {}
    for phone, acts in CALLERS.items():
        call = sim.call(from_=phone, to=SURVEY_NUMBER, respondent=Scripted(*acts))
        assert call.errors == [], call.errors
        assert call.mismatches == [], call.mismatches
        ended[phone] = call.ended_by
    balancer.http.close()
    if len(bases) > 1:
        # Both processes took a real share of the webhooks.
        assert min(balancer.sent.values()) > 10, balancer.sent
    return ended


def _cli(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _work_the_queue(env: dict[str, str], workers: int) -> None:
    """RQ workers, as the Procfile runs them, emptying the queue side by side (burst mode)."""
    procs = [
        subprocess.Popen(
            rq_worker_command(env["REDIS_URL"]),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()


def _notices(env: dict[str, str]) -> list[tuple[str, int, bool]]:
    """Each referral's case, how many times its notice was sent, and whether announced."""
    engine = create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return sorted(
                (ref, sent, announced)
                for ref, sent, announced in conn.execute(
                    text(
                        "select c.case_ref, (select count(*) from referral_events e "
                        "where e.referral_id = r.id and e.kind = 'notified'), "
                        "r.announced_at is not null from referrals r "
                        "join cases c on c.id = r.case_id"
                    )
                )
            )
    finally:
        engine.dispose()


def _what_happened(env: dict[str, str]) -> dict[str, Any]:
    """The answers, referrals and calls, without what differs between any two runs (times,
    call sids, ids)."""
    exported = _cli(env, "results", "export", "--survey", "uss", "--format", "json")
    interviews = {
        row["case_ref"]: {
            "status": row["status"],
            "mode": row["mode"],
            "answers": {
                qid: (answer["code"], answer["via"], answer.get("substantive", True))
                for qid, answer in row["answers"].items()
            },
        }
        for row in exported
    }
    referrals = sorted(
        (r["case_ref"], r["kind"], json.dumps(r["reasons"], sort_keys=True), r["status"])
        for r in _cli(env, "referrals", "list", "--json")
    )
    engine = create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            calls = sorted(
                (ref, status, step_no)
                for ref, status, step_no in conn.execute(
                    text(
                        "select c.case_ref, i.status, i.step_no from interviews i "
                        "join cases c on c.id = i.case_id"
                    )
                )
            )
            turns = conn.execute(text("select count(*) from turns")).scalar_one()
            answers = conn.execute(text("select count(*) from answers")).scalar_one()
            schedules = sorted(
                (ref, disposition, reason)
                for ref, disposition, reason in conn.execute(
                    text(
                        "select c.case_ref, s.disposition, s.reason from schedules s "
                        "join cases c on c.id = s.case_id"
                    )
                )
            )
    finally:
        engine.dispose()
    return {
        "interviews": interviews,
        "referrals": referrals,
        "calls": calls,
        "turns": turns,
        "answers": answers,
        "schedules": schedules,
    }


def test_two_app_processes_sharing_the_database_and_redis_act_as_one(
    two_databases: tuple[str, str],
    redis: Any,
    all_day_questionnaires: Path,
    tmp_path: Path,
) -> None:
    alone_url, shared_url = two_databases
    for url in two_databases:
        _add_cases(url)

    alone_env = _environ(alone_url, REDIS_URL, all_day_questionnaires)
    with app_process(alone_env, tmp_path / "alone.log") as base:
        alone_ended = _play([base], repeat=False)
    _work_the_queue(alone_env, workers=1)
    alone = _what_happened(alone_env)
    alone["notices"] = _notices(alone_env)
    redis.flushdb()

    shared_env = _environ(shared_url, REDIS_URL, all_day_questionnaires)
    with ExitStack() as stack:
        bases = [
            stack.enter_context(app_process(shared_env, tmp_path / f"web{n}.log")) for n in (1, 2)
        ]
        assert len(set(bases)) == 2
        shared_ended = _play(bases, repeat=True)
    _work_the_queue(shared_env, workers=2)
    shared = _what_happened(shared_env)
    shared["notices"] = _notices(shared_env)

    assert shared_ended == alone_ended
    assert shared == alone
    # The calls did what their callers did: nothing here is vacuously equal.
    assert len(alone["interviews"]) == len(CALLERS)
    # Every referral's notice went out once, whichever worker took it.
    assert alone["notices"] and all(sent == 1 and done for _r, sent, done in alone["notices"])
    kinds = {kind for _ref, kind, _reasons, _status in alone["referrals"]}
    assert kinds == {"service_recovery", "action_alert"}
    statuses = {entry["status"] for entry in alone["interviews"].values()}
    assert {"completed", "partial", "refused", "callback_requested"} <= statuses
