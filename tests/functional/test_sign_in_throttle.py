"""Failed sign-ins are throttled per account and address, strangers cannot lock a known
user out, successes are never counted, and every refusal is audited."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.accounts.staff import add_user
from ivr.accounts.web import BAD_CREDENTIALS, TOO_MANY_ATTEMPTS
from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.store.models import AuditEntry, User
from tests.conftest import REDIS_URL, make_settings
from tests.functional.staff_web import PASSWORD, csrf

OFFICER = "olu.officer@force.example"
WRONG = "not the password at all"
USUAL = "198.51.100.10"
#: An address with nothing listening: Redis "down".
NO_REDIS = "redis://127.0.0.1:9/0"


def _app(database_url: str, **settings: Any) -> Flask:
    app = create_app(make_settings(database_url, **settings), queue=InProcessQueue())
    with app.extensions["ivr"].db.transaction() as session:
        add_user(session, OFFICER, role="supervisor", password=PASSWORD)
    return app


@pytest.fixture
def app(sqlite_url: str) -> Iterator[Flask]:
    app = _app(sqlite_url)
    yield app
    app.extensions["ivr"].db.dispose()


def attempt(
    app: Flask, email: str, password: str, address: str, forwarded: str | None = None
) -> int:
    """One sign-in from a fresh browser at ``address``; the response's status."""
    client: FlaskClient = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    token = csrf(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    if response.status_code == 429:
        assert TOO_MANY_ATTEMPTS in response.get_data(as_text=True)
    if response.status_code == 200:
        assert BAD_CREDENTIALS in response.get_data(as_text=True)
    return response.status_code


def audited(app: Flask) -> list[tuple[str, str | None, dict[str, Any]]]:
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (e.action, e.address, e.details)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def test_sign_ins_that_succeed_are_never_counted(app: Flask) -> None:
    station = "203.0.113.50"
    with app.extensions["ivr"].db.transaction() as session:
        for n in range(6):
            add_user(session, f"officer{n}@force.example", role="supervisor", password=PASSWORD)
    # Shift change: six officers at one station's address, each signing in twice.
    for _ in range(2):
        for n in range(6):
            assert attempt(app, f"officer{n}@force.example", PASSWORD, station) == 302


def test_the_sixth_try_after_five_failures_is_refused_untried(app: Flask) -> None:
    for _ in range(5):
        assert attempt(app, OFFICER, WRONG, USUAL) == 200
    assert attempt(app, OFFICER, PASSWORD, USUAL) == 429
    with app.extensions["ivr"].db.transaction() as session:
        officer = session.scalars(select(User).where(User.email == OFFICER)).one()
        assert officer.last_login_at is None
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(e.action, e.object_type, e.object_id, e.address) for e in entries] == [
            *[("sign_in_failed", "user", officer.id, USUAL)] * 5,
            ("sign_in_throttled", "user", officer.id, USUAL),
        ]
        assert all(e.details == {} for e in entries)


def test_failures_from_one_address_do_not_limit_another_account(app: Flask) -> None:
    with app.extensions["ivr"].db.transaction() as session:
        add_user(session, "colleague@force.example", role="supervisor", password=PASSWORD)
    for _ in range(5):
        assert attempt(app, OFFICER, WRONG, USUAL) == 200
    assert attempt(app, "colleague@force.example", PASSWORD, USUAL) == 302


def test_strangers_failing_cannot_lock_the_user_out_of_their_usual_address(app: Flask) -> None:
    assert attempt(app, OFFICER, PASSWORD, USUAL) == 302
    for n in range(5):
        assert attempt(app, OFFICER, WRONG, f"192.0.2.{n + 1}") == 200
    # Other strangers are refused from now on...
    assert attempt(app, OFFICER, PASSWORD, "192.0.2.99") == 429
    # ...but the real user, where they usually sign in, is not.
    assert attempt(app, OFFICER, PASSWORD, USUAL) == 302


def test_one_address_trying_many_accounts_is_refused(app: Flask) -> None:
    for n in range(30):
        assert attempt(app, f"guess{n}@force.example", WRONG, "192.0.2.200") == 200
    assert attempt(app, OFFICER, PASSWORD, "192.0.2.200") == 429
    assert ("sign_in_throttled", "192.0.2.200", {"unknown_account": True}) not in audited(app)
    assert attempt(app, "guess99@force.example", PASSWORD, "192.0.2.200") == 429
    assert audited(app)[-1] == ("sign_in_throttled", "192.0.2.200", {"unknown_account": True})
    assert attempt(app, OFFICER, PASSWORD, "192.0.2.201") == 302


def test_a_rotating_forwarded_for_behind_one_proxy_gets_no_more_tries(sqlite_url: str) -> None:
    app = _app(sqlite_url, proxy_count=1)
    proxy, client = "10.0.0.1", "203.0.113.7"
    try:
        assert attempt(app, OFFICER, PASSWORD, proxy, USUAL) == 302
        # The client writes what it likes in X-Forwarded-For; the proxy adds its address on
        # the right, and only that one is trusted.
        for n in range(5):
            assert attempt(app, OFFICER, WRONG, proxy, f"198.18.0.{n}, {client}") == 200
        assert attempt(app, OFFICER, PASSWORD, proxy, f"198.18.0.77, {client}") == 429
        assert attempt(app, OFFICER, PASSWORD, proxy, f"{USUAL}, {client}") == 429
        assert audited(app)[-1][:2] == ("sign_in_throttled", client)
        # The user, behind the same proxy at their usual address, is not limited by them.
        assert attempt(app, OFFICER, PASSWORD, proxy, USUAL) == 302
    finally:
        app.extensions["ivr"].db.dispose()


def test_web_processes_share_their_counts_through_redis(sqlite_url: str, redis: Any) -> None:
    first = _app(sqlite_url, redis_url=REDIS_URL)
    second = create_app(make_settings(sqlite_url, redis_url=REDIS_URL), queue=InProcessQueue())
    try:
        for _ in range(3):
            assert attempt(first, OFFICER, WRONG, USUAL) == 200
        for _ in range(2):
            assert attempt(second, OFFICER, WRONG, USUAL) == 200
        assert attempt(first, OFFICER, PASSWORD, USUAL) == 429
        assert attempt(second, OFFICER, PASSWORD, USUAL) == 429
    finally:
        first.extensions["ivr"].db.dispose()
        second.extensions["ivr"].db.dispose()


def test_with_redis_unreachable_sign_in_works_and_still_counts(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = _app(sqlite_url, redis_url=NO_REDIS)
    try:
        assert attempt(app, OFFICER, PASSWORD, USUAL) == 302
        for _ in range(5):
            assert attempt(app, OFFICER, WRONG, "192.0.2.1") == 200
        assert attempt(app, OFFICER, PASSWORD, "192.0.2.1") == 429
        assert "sign-in counts kept in this process only" in caplog.text
    finally:
        app.extensions["ivr"].db.dispose()


def test_refusals_are_audited_on_postgresql_too(app_any_db: Flask) -> None:
    app = app_any_db
    with app.extensions["ivr"].db.transaction() as session:
        add_user(session, OFFICER, role="supervisor", password=PASSWORD)
    assert attempt(app, OFFICER, PASSWORD, USUAL) == 302
    for n in range(5):
        assert attempt(app, OFFICER, WRONG, f"192.0.2.{n + 1}") == 200
    assert attempt(app, OFFICER, PASSWORD, "192.0.2.50") == 429
    assert attempt(app, OFFICER, PASSWORD, USUAL) == 302
    actions = [(action, address) for action, address, _ in audited(app)]
    assert actions == [
        ("sign_in", USUAL),
        *[("sign_in_failed", f"192.0.2.{n + 1}") for n in range(5)],
        ("sign_in_throttled", "192.0.2.50"),
        ("sign_in", USUAL),
    ]
    assert PASSWORD not in repr(audited(app)) and WRONG not in repr(audited(app))
