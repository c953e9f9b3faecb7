"""A campaign test world: the app on a simulated clock, placing real REST requests to a fake
Twilio API on loopback, which plays each call back through the app's webhooks."""

from __future__ import annotations

import io
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from ivr.app import create_app
from ivr.campaigns import scheduler
from ivr.campaigns.limiter import LocalRateLimiter
from ivr.campaigns.samples import import_sample
from ivr.jobs import resolve
from ivr.store import campaigns as store
from ivr.store.models import CallAttempt, Case, Schedule
from ivr.telephony.fake_api import FakeCall, FakeTwilioApi, Fate, human
from ivr.telephony.port import TwilioTelephony
from ivr.telephony.respondents import Scripted, press
from ivr.telephony.simulator import WSGITransport
from tests.conftest import AUTH_TOKEN, make_settings

ACCOUNT_SID = "AC" + "0" * 32
#: Monday 23 November 2026, 11:00 in London (GMT): inside the weekday window.
MONDAY_11 = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")


def satisfied() -> Fate:
    return human(Scripted(*(press(k) for k in SATISFIED)))


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def set(self, when: datetime) -> None:
        self.now = when


class RaisingQueue:
    """Runs jobs at once, like the in-process queue, but lets their errors reach the test."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...]]] = []

    def enqueue(self, func_path: str, *args: Any) -> None:
        self.jobs.append((func_path, args))
        resolve(func_path)(*args)


@dataclass
class World:
    app: Flask
    fake: FakeTwilioApi
    clock: Clock
    queue: RaisingQueue
    fates: dict[str, deque[Fate]] = field(default_factory=lambda: defaultdict(deque))
    default_fate: Callable[[], Fate] = satisfied

    @property
    def db(self) -> Any:
        return self.app.extensions["ivr"].db

    def campaign(self, survey: str = "uss") -> scheduler.Campaign:
        return scheduler.campaign_for(self.app.extensions["ivr"].questionnaires, survey)

    def fate(self, to: str, _params: Mapping[str, str]) -> Fate:
        queued = self.fates.get(to)
        return queued.popleft() if queued else self.default_fate()

    def import_csv(self, text: str, survey: str = "uss") -> None:
        q = self.app.extensions["ivr"].questionnaires.current(survey).questionnaire
        with self.db.transaction() as session:
            report = import_sample(
                session, q, io.StringIO(text, newline=""), today=self.clock().date()
            )
        assert not report.problems, report.problems

    def start(self, survey: str = "uss") -> None:
        with self.db.engine.begin() as conn:
            store.set_campaign_status(conn, survey, "running", self.clock())

    def tick(self, survey: str = "uss", max_concurrent_calls: int = 50) -> scheduler.TickReport:
        with self.app.app_context():
            return scheduler.tick(
                self.db,
                self.campaign(survey),
                self.queue,
                self.clock(),
                max_concurrent_calls=max_concurrent_calls,
            )

    def play(self) -> list[FakeCall]:
        return self.fake.play_pending()

    def schedule(self, phone: str, survey: str = "uss") -> Schedule:
        with self.db.transaction() as session:
            return session.scalars(
                select(Schedule)
                .join(Case, Case.id == Schedule.case_id)
                .where(Case.phone == phone, Case.survey == survey)
            ).one()

    def attempts(self, phone: str) -> list[CallAttempt]:
        with self.db.transaction() as session:
            return list(
                session.scalars(
                    select(CallAttempt)
                    .join(Case, Case.id == CallAttempt.case_id)
                    .where(Case.phone == phone)
                    .order_by(CallAttempt.id)
                )
            )

    def calls_to(self, phone: str) -> list[FakeCall]:
        return [c for c in self.fake.calls if c.params.get("To") == phone]


def uss_csv(rows: list[tuple[str, str, str, date]], extra: str = "") -> str:
    """A USS sample: (case_ref, phone, crime_type, reported_on) rows."""
    header = "case_ref,phone,crime_type,district,reported_on,first_name" + (",age" if extra else "")
    lines = [header]
    for ref, phone, crime, reported in rows:
        line = f"{ref},{phone},{crime},Hartlepool,{reported.isoformat()},Alex"
        lines.append(line + ("," if extra else ""))
    return "\n".join(lines) + "\n"


@contextmanager
def campaign_world(database_url: str, **fake_options: Any) -> Iterator[World]:
    """The app, its fake Twilio on loopback and a clock at Monday 11:00."""
    clock = Clock(MONDAY_11)
    queue = RaisingQueue()
    app = create_app(make_settings(database_url), queue=queue, clock=clock)
    world: World
    fake = FakeTwilioApi(
        WSGITransport(app),
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        fate=lambda to, params: world.fate(to, params),
        **fake_options,
    )
    world = World(app, fake, clock, queue)
    svc = app.extensions["ivr"]
    # Calls may start as fast as the test asks: pacing has its own tests.
    svc.limiter = LocalRateLimiter(10_000)
    try:
        with fake.serving() as base_url:
            svc.telephony = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, api_base_url=base_url)
            yield world
    finally:
        svc.db.dispose()
