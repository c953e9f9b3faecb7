"""Database round trips per webhook, counted with a listener that sees every statement:
on PostgreSQL a turn is one read and one writing statement (no BEGIN, no COMMIT), a
referral raised included; so is a call's first webhook, inbound or outbound (one more, to
store the questionnaire's version, on a process's first call); and so is a call's final
status callback, whatever way the call ended."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.referrals.notifications import NOTIFY_NEW_REFERRAL
from ivr.store import campaigns as campaign_store
from ivr.store.models import Interview, Referral
from ivr.store.statuses import FINAL_CALL
from ivr.telephony.fake_api import Fate, busy, failed, human, machine, no_answer
from ivr.telephony.respondents import Action, Scripted, hang_up, press, record
from ivr.telephony.simulator import CallRecord, TwilioSimulator, WSGITransport
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER, add_case, make_settings
from tests.functional.campaign_world import World, campaign_world, uss_csv

SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")
#: Identity, consent, the five core questions (three dissatisfied), the reason recorded,
#: then yes to a call back and to sharing the answers: a referral is raised.
DISSATISFIED: tuple[Action, ...] = (
    *map(press, "1162735"),
    record(6),
    press("1"),
    press("2"),
)
#: A call's final status callback: one read (the call's interview, attempt and case's
#: schedule), then one statement hanging the interview up, ending the attempt and planning
#: the case's next call.
STATUS = 2


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
    assert trips["status"] == [STATUS]


def test_the_first_call_of_a_process_starts_in_three_round_trips(postgres_app: Flask) -> None:
    add_case(postgres_app)
    transport = CountingTransport(postgres_app)
    _ring(postgres_app, transport, "+441134960001", *map(press, SATISFIED))
    # The questionnaire's version is stored (or found) by one statement more.
    assert _by_kind(transport.trips)["voice"] == [3]


def test_a_caller_we_cannot_match_costs_a_read_and_its_end_two_round_trips(
    postgres_app: Flask,
) -> None:
    transport = CountingTransport(postgres_app)
    _ring(postgres_app, transport, "+441134960099")
    trips = _by_kind(transport.trips)
    assert trips == {"voice": [1], "turn": [], "status": [STATUS]}


def test_an_inbound_call_hung_up_midway_ends_in_two_round_trips(postgres_app: Flask) -> None:
    add_case(postgres_app)
    transport = CountingTransport(postgres_app)
    _warm_up(postgres_app, transport)
    sim = TwilioSimulator(transport, auth_token=AUTH_TOKEN, public_base_url=PUBLIC_BASE_URL)
    call = sim.call(
        from_="+441134960001", to=SURVEY_NUMBER, respondent=Scripted(*map(press, SATISFIED[:4]))
    )
    assert call.ended_by == "respondent"
    # The hang-up ends the interview as stopped part way, in the one writing statement.
    assert _by_kind(transport.trips)["status"] == [STATUS]
    with postgres_app.extensions["ivr"].db.transaction() as session:
        statuses = [i.status for i in session.query(Interview).order_by(Interview.id)]
    assert statuses[-1] == "partial"


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
            (referral,) = session.query(Referral).all()
            queued, announced = referral.notice_queued_at, referral.announced_at
    finally:
        app.extensions["ivr"].db.dispose()
    assert trips["voice"] == [2]
    # The turn that raises the referral is two round trips like every other: the case's
    # survey and district come with the turn's read, and the referral, stored with its
    # notice counted as queued, is written by the turn's one statement.
    assert trips["turn"] == [2] * len(DISSATISFIED)
    assert [name for name, _ in queue.jobs] == [NOTIFY_NEW_REFERRAL]
    assert queued is not None and announced is None
    assert trips["status"] == [STATUS]


def _finals(transport: CountingTransport) -> list[tuple[str, int]]:
    """Each final status callback's CallStatus and round trips."""
    return [
        (params["CallStatus"], n)
        for (url, n), (_, params) in zip(transport.trips, transport.params, strict=True)
        if "/status" in url and params.get("CallStatus") in FINAL_CALL
    ]


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
        # The first call of the process also stores the questionnaire's version (one more).
        assert voice == [3, 2]
        assert _finals(transport) == [("completed", STATUS)] * 2
        # A call still going on (initiated, ringing, answered) is one statement.
        progress = [
            n
            for (url, n), (_, params) in zip(transport.trips, transport.params, strict=True)
            if "/status" in url and params.get("CallStatus") not in FINAL_CALL
        ]
        assert progress and set(progress) == {1}
        for phone in phones:
            assert [a.status for a in world.attempts(phone)] == ["completed"]


def _ring_each(world: World, fates: list[Fate]) -> CountingTransport:
    """Ring one case once per fate, each call when the case's plan says, counting trips."""
    phone = "+441134960301"
    world.import_csv(uss_csv([("CR/0301/26", phone, "burglary", date(2026, 10, 5))]))
    world.start()
    world.fates[phone].extend(fates)
    transport = CountingTransport(world.app)
    world.fake.transport = transport
    for _ in fates:
        due = world.schedule(phone).next_attempt_at
        if due is not None:
            world.clock.set(max(world.clock(), due.replace(tzinfo=UTC)))
        world.tick()
        assert len(world.play()) == 1
    return transport


def test_every_way_an_outbound_call_ends_is_two_round_trips(empty_postgres_url: str) -> None:
    with campaign_world(empty_postgres_url) as world:
        transport = _ring_each(
            world,
            [
                busy(),
                no_answer(),
                failed(),
                machine(),
                # Hangs up after two core questions: stopped part way, then rung once more.
                human(Scripted(press("1"), press("1"), press("2"), hang_up())),
                human(Scripted(*map(press, SATISFIED))),
            ],
        )
        assert _finals(transport) == [
            ("busy", STATUS),
            ("no-answer", STATUS),
            ("failed", STATUS),
            ("completed", STATUS),
            ("completed", STATUS),
            ("completed", STATUS),
        ]
        attempts = world.attempts("+441134960301")
        assert [a.outcome for a in attempts] == [
            "busy",
            "no_answer",
            "failed",
            "machine",
            "partial",
            "completed_interview",
        ]
        assert world.schedule("+441134960301").disposition == "1.1"


def test_a_refusal_ends_its_call_in_two_round_trips_and_closes_every_case_of_the_number(
    empty_postgres_url: str,
) -> None:
    phone = "+441134960301"
    with campaign_world(empty_postgres_url) as world:
        world.import_csv(
            "case_ref,phone,first_name,closed_on,consent\n"
            f"VC/1,{phone},Alex,{date(2026, 11, 13).isoformat()},yes\n",
            survey="vcas_exit",
        )
        # Identity confirmed, then no to taking part.
        transport = _ring_each(world, [human(Scripted(press("1"), press("3")))])
        assert _finals(transport) == [("completed", STATUS)]
        # The number is listed and the case of the other survey closes with this one.
        assert world.schedule(phone).disposition == "2.11"
        other = world.schedule(phone, "vcas_exit")
        assert (other.disposition, other.reason) == ("2.11", "do_not_call")
        with world.db.reading() as conn:
            assert campaign_store.on_do_not_call(conn, [phone]) == {phone}


def test_repeated_final_callbacks_are_two_round_trips_and_end_the_attempt_once(
    empty_postgres_url: str,
) -> None:
    with campaign_world(empty_postgres_url, duplicate_callbacks=True) as world:
        transport = _ring_each(world, [no_answer(), human(Scripted(*map(press, SATISFIED)))])
        finals = _finals(transport)
        assert [status for status, _ in finals] == ["no-answer"] * 2 + ["completed"] * 2
        assert {n for _, n in finals} == {STATUS}
        attempts = world.attempts("+441134960301")
        assert [a.outcome for a in attempts] == ["no_answer", "completed_interview"]
        assert world.schedule("+441134960301").outcomes == ["no_answer", "completed_interview"]
