"""Database round trips per webhook, counted with a listener that sees every statement:
on PostgreSQL a turn is one read and one writing statement (no BEGIN, no COMMIT), and so is
a call's first webhook, inbound or outbound."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.referrals.notifications import NOTIFY_NEW_REFERRAL
from ivr.store.models import Referral
from ivr.telephony.respondents import Action, Scripted, press, record
from ivr.telephony.simulator import CallRecord, TwilioSimulator, WSGITransport
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER, add_case, make_settings
from tests.functional.campaign_world import campaign_world, uss_csv

SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")
#: Identity, consent, the five core questions (three dissatisfied), the reason recorded,
#: then yes to a call back and to sharing the answers: a referral is raised.
DISSATISFIED: tuple[Action, ...] = (
    *map(press, "1162735"),
    record(6),
    press("1"),
    press("2"),
)
#: The most round trips a call's final status callback takes: one transaction that ends the
#: attempt and plans the case's next call (not yet at the floor of 3).
STATUS_MOST = 10


class CountingTransport(WSGITransport):
    """Delivers webhooks in-process, noting the database round trips each one made."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.trips: list[tuple[str, int]] = []
        self.params: list[tuple[str, dict[str, str]]] = []
        self._count = 0
        engine = app.extensions["ivr"].db.engine
        event.listen(engine, "before_cursor_execute", self._statement)
        for name in ("begin", "commit", "rollback"):
            event.listen(engine, name, self._transaction)

    def _statement(self, *args: Any, **kwargs: Any) -> None:
        self._count += 1

    def _transaction(self, conn: Any) -> None:
        # A connection in autocommit sends no BEGIN, COMMIT or ROLLBACK to the server.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            self._count += 1

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        self._count = 0
        answer = super().post(url, params, headers)
        self.trips.append((url, self._count))
        self.params.append((url, dict(params)))
        return answer


@pytest.fixture
def postgres_app(empty_postgres_url: str) -> Iterator[Flask]:
    app = create_app(make_settings(empty_postgres_url), queue=InProcessQueue())
    yield app
    app.extensions["ivr"].db.dispose()


def test_a_turn_on_postgresql_is_two_round_trips(postgres_app: Flask) -> None:
    add_case(postgres_app)
    transport = CountingTransport(postgres_app)
    sim = TwilioSimulator(transport, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL)
    call = sim.call(
        from_="+441134960001", to=SURVEY_NUMBER, respondent=Scripted(*map(press, SATISFIED))
    )
    assert call.errors == [] and call.ended_by == "app"
    turns = [trips for url, trips in transport.trips if "/turns/" in url]
    assert len(turns) == len(SATISFIED)
    # The last turn ends the interview with no referral: it too is two round trips.
    assert turns == [2] * len(SATISFIED)


def _ring(app: Flask, transport: CountingTransport, phone: str, *answers: Action) -> CallRecord:
    sim = TwilioSimulator(transport, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL)
    call = sim.call(from_=phone, to=SURVEY_NUMBER, respondent=Scripted(*answers))
    assert call.errors == [] and call.ended_by == "app"
    return call


def _by_kind(trips: list[tuple[str, int]]) -> dict[str, list[int]]:
    kinds: dict[str, list[int]] = {"voice": [], "turn": [], "status": []}
    for url, n in trips:
        kind = "turn" if "/turns/" in url else "voice" if "/voice" in url else "status"
        kinds[kind].append(n)
    return kinds


def _warm_up(app: Flask, transport: CountingTransport) -> None:
    """One call first, on another case: the questionnaire's stored version is found once
    per process, and from then on a first webhook has nothing to look up but the call."""
    add_case(app, case_ref="CR/0009/26", phone="+441134960009")
    _ring(app, transport, "+441134960009", *map(press, SATISFIED))
    transport.trips.clear()


def test_an_inbound_call_starts_in_two_round_trips(postgres_app: Flask) -> None:
    add_case(postgres_app)
    transport = CountingTransport(postgres_app)
    _warm_up(postgres_app, transport)
    _ring(postgres_app, transport, "+441134960001", *map(press, SATISFIED))
    trips = _by_kind(transport.trips)
    # One read (the call, its case and interview), one statement writing the interview,
    # its opening turn and the call's attempt.
    assert trips["voice"] == [2]
    assert trips["turn"] == [2] * len(SATISFIED)
    assert len(trips["status"]) == 1 and trips["status"][0] <= STATUS_MOST


def test_a_resumed_inbound_call_starts_in_two_round_trips(postgres_app: Flask) -> None:
    add_case(postgres_app)
    transport = CountingTransport(postgres_app)
    _warm_up(postgres_app, transport)
    sim = TwilioSimulator(transport, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL)
    first = sim.call(
        from_="+441134960001", to=SURVEY_NUMBER, respondent=Scripted(*map(press, SATISFIED[:3]))
    )
    assert first.ended_by == "respondent"
    transport.trips.clear()
    _ring(postgres_app, transport, "+441134960001", *map(press, SATISFIED))
    # The interview is carried on by a guarded update in the same one statement.
    assert _by_kind(transport.trips)["voice"] == [2]


class _KeptQueue:
    """Keeps the jobs it is given, as RQ would for its workers: their statements are not
    the webhook's."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...]]] = []

    def enqueue(self, func_path: str, *args: Any) -> None:
        self.jobs.append((func_path, args))


def test_a_dissatisfied_call_raises_its_referral_within_its_round_trips(
    empty_postgres_url: str,
) -> None:
    queue = _KeptQueue()
    app = create_app(make_settings(empty_postgres_url), queue=queue)
    try:
        add_case(app)
        transport = CountingTransport(app)
        _warm_up(app, transport)
        _ring(app, transport, "+441134960001", *DISSATISFIED)
        trips = _by_kind(transport.trips)
        with app.extensions["ivr"].db.transaction() as session:
            assert session.query(Referral).count() == 1
    finally:
        app.extensions["ivr"].db.dispose()
    assert trips["voice"] == [2]
    # Every turn is two round trips but the one that raises the referral: one read, then
    # one transaction (BEGIN, the guarded update, the case's survey and district, the
    # referral, the answers, the turn, COMMIT), then the notification queued and marked
    # so in a transaction of its own (BEGIN, UPDATE, COMMIT).
    *others, referring = trips["turn"]
    assert others == [2] * len(others)
    assert referring == 11
    assert [name for name, _ in queue.jobs] == [NOTIFY_NEW_REFERRAL]
    assert trips["status"][0] <= STATUS_MOST


def test_an_outbound_campaign_call_starts_in_two_round_trips(empty_postgres_url: str) -> None:
    phones = ["+441134960301", "+441134960302"]
    with campaign_world(empty_postgres_url) as world:
        world.import_csv(
            uss_csv([(f"CR/{p[-4:]}/26", p, "burglary", date(2026, 10, 5)) for p in phones])
        )
        world.start()
        transport = CountingTransport(world.app)
        world.fake.transport = transport
        world.tick()
        calls = world.play()
        assert len(calls) == 2
        voice = [n for url, n in transport.trips if "/voice" in url]
        # The first call of the process also stores the questionnaire's version (two more).
        assert voice == [4, 2]
        finals = [
            n
            for (url, n), (_, params) in zip(transport.trips, transport.params, strict=True)
            if "/status" in url and params.get("CallStatus") == "completed"
        ]
        assert len(finals) == 2 and max(finals) <= STATUS_MOST
        # A call still going on (initiated, ringing, answered) is one statement.
        progress = [
            n
            for (url, n), (_, params) in zip(transport.trips, transport.params, strict=True)
            if "/status" in url and params.get("CallStatus") != "completed"
        ]
        assert progress and set(progress) == {1}
        for phone in phones:
            assert [a.status for a in world.attempts(phone)] == ["completed"]
