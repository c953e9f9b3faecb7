"""Database round trips per webhook, counted with a listener that sees every statement:
on PostgreSQL a turn is one read and one writing statement (no BEGIN, no COMMIT)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.telephony.respondents import Scripted, press
from ivr.telephony.simulator import TwilioSimulator, WSGITransport
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER, add_case, make_settings

SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")


class CountingTransport(WSGITransport):
    """Delivers webhooks in-process, noting the database round trips each one made."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.trips: list[tuple[str, int]] = []
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
