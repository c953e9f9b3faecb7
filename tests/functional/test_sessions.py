"""Staff sessions the server ends: at sign-out, on a new password, when the account is
disabled, by "sign out everywhere", after 30 minutes idle and 12 hours after sign-in; and
a session cookie that holds nothing personal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import ivr.cli
from ivr.accounts.staff import add_user, set_password
from ivr.app import create_app
from ivr.config import ConfigError, Settings
from ivr.jobs import InProcessQueue
from ivr.store.models import AuditEntry, User
from ivr.telephony.port import RecordingTelephony
from tests.conftest import make_settings
from tests.functional.campaign_world import MONDAY_11, Clock, campaign_world, uss_csv
from tests.functional.staff_web import PASSWORD, csrf, sign_in

INTERVIEWER = "ivy.interviewer@force.example"
NEW_PASSWORD = "a quite different passphrase"


@pytest.fixture
def clock() -> Clock:
    return Clock(MONDAY_11)


def _app(database_url: str, clock: Clock, **settings: Any) -> Flask:
    app = create_app(make_settings(database_url, **settings), queue=InProcessQueue(), clock=clock)
    with app.extensions["ivr"].db.transaction() as session:
        add_user(session, INTERVIEWER, role="interviewer", password=PASSWORD, name="Ivy Jones")
    return app


@pytest.fixture
def app(any_db: str, clock: Clock) -> Iterator[Flask]:
    app = _app(any_db, clock)
    yield app
    app.extensions["ivr"].db.dispose()


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/console")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def cookie(client: FlaskClient) -> str:
    saved = client.get_cookie("session")
    assert saved is not None
    return saved.value


def with_cookie(app: Flask, value: str) -> FlaskClient:
    """A new browser holding a copy of a session cookie (as a thief would)."""
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def sign_out(client: FlaskClient) -> None:
    token = csrf(client.get("/console").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(ivr.cli.main, list(args))


def test_a_cookie_saved_before_sign_out_is_refused_after_it(app: Flask) -> None:
    client = sign_in(app, INTERVIEWER)
    assert signed_in(client)
    saved = cookie(client)
    sign_out(client)
    stolen = with_cookie(app, saved)
    assert not signed_in(stolen)
    # Refused for good, not only on the first try.
    assert not signed_in(with_cookie(app, saved))


def test_signing_out_ends_only_that_browsers_session(app: Flask) -> None:
    desk, laptop = sign_in(app, INTERVIEWER), sign_in(app, INTERVIEWER)
    sign_out(desk)
    assert not signed_in(desk)
    assert signed_in(laptop)


def test_a_session_idle_for_30_minutes_is_signed_out(app: Flask, clock: Clock) -> None:
    client = sign_in(app, INTERVIEWER)
    saved = cookie(client)
    clock.advance(minutes=29)
    assert signed_in(client)
    # Each request keeps the session alive for another 30 minutes...
    clock.advance(minutes=29)
    assert signed_in(client)
    # ...but a copy of the cookie from before is idle since then.
    assert not signed_in(with_cookie(app, saved))
    clock.advance(minutes=30)
    assert not signed_in(client)


def test_a_busy_session_ends_12_hours_after_sign_in(app: Flask, clock: Clock) -> None:
    client = sign_in(app, INTERVIEWER)
    for _ in range(11 * 3 + 2):
        clock.advance(minutes=20)
        assert signed_in(client)
    clock.advance(minutes=19)
    assert signed_in(client)
    clock.advance(minutes=1)
    assert not signed_in(client)
    # Signing in again starts a new 12 hours.
    assert signed_in(sign_in(app, INTERVIEWER))


def test_idle_and_lifetime_limits_are_settings(sqlite_url: str, clock: Clock) -> None:
    app = _app(sqlite_url, clock, session_idle_minutes=5, session_max_hours=1)
    try:
        client = sign_in(app, INTERVIEWER)
        clock.advance(minutes=4)
        assert signed_in(client)
        clock.advance(minutes=5)
        assert not signed_in(client)
        client = sign_in(app, INTERVIEWER)
        for _ in range(14):
            clock.advance(minutes=4)
            assert signed_in(client)
        clock.advance(minutes=4)
        assert not signed_in(client)
    finally:
        app.extensions["ivr"].db.dispose()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES must be at least 1"),
        ({"SESSION_IDLE_MINUTES": "half an hour"}, "SESSION_IDLE_MINUTES must be a number"),
        ({"SESSION_MAX_HOURS": "0"}, "SESSION_MAX_HOURS must be between 1 and 168"),
        ({"SESSION_MAX_HOURS": "169"}, "SESSION_MAX_HOURS must be between 1 and 168"),
        (
            {"SESSION_MAX_HOURS": "1", "SESSION_IDLE_MINUTES": "61"},
            "at most SESSION_MAX_HOURS (1) in minutes",
        ),
    ],
)
def test_session_settings_are_checked(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(environ)


def test_session_settings_default_to_30_minutes_and_12_hours() -> None:
    settings = Settings.from_env({})
    assert (settings.session_idle_minutes, settings.session_max_hours) == (30, 12)
    chosen = Settings.from_env({"SESSION_IDLE_MINUTES": "15", "SESSION_MAX_HOURS": "8"})
    assert (chosen.session_idle_minutes, chosen.session_max_hours) == (15, 8)


def test_a_new_password_ends_every_session(app: Flask, clock: Clock) -> None:
    desk, laptop = sign_in(app, INTERVIEWER), sign_in(app, INTERVIEWER)
    with app.extensions["ivr"].db.transaction() as session:
        user = session.scalars(select(User).where(User.email == INTERVIEWER)).one()
        set_password(session, user, NEW_PASSWORD, clock())
    assert not signed_in(desk) and not signed_in(laptop)
    assert signed_in(sign_in(app, INTERVIEWER, NEW_PASSWORD))


def test_disabling_ends_every_session_and_enabling_brings_none_back(app: Flask) -> None:
    client = sign_in(app, INTERVIEWER)
    saved = cookie(client)
    assert run(app, "users", "disable", INTERVIEWER).exit_code == 0
    with app.extensions["ivr"].db.transaction() as session:
        session.scalars(select(User).where(User.email == INTERVIEWER)).one().active = True
    assert not signed_in(with_cookie(app, saved))
    assert not signed_in(client)


def test_sign_out_everywhere_ends_every_session_of_the_account(app: Flask) -> None:
    desk, laptop = sign_in(app, INTERVIEWER), sign_in(app, INTERVIEWER)
    sign_out(laptop)
    result = run(app, "users", "sign-out", INTERVIEWER.upper())
    assert result.exit_code == 0, result.output
    assert result.output == f"signed {INTERVIEWER} out of 1 session(s)\n"
    assert not signed_in(desk)
    with app.extensions["ivr"].db.transaction() as session:
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.object_type, entry.details) == (
            "sign_out_everywhere",
            "user",
            {"sessions": 1, "via": "cli"},
        )
    # The account is not disabled: its owner signs in again.
    assert signed_in(sign_in(app, INTERVIEWER))


def test_sign_out_everywhere_names_an_unknown_account(app: Flask) -> None:
    result = run(app, "users", "sign-out", "nobody@force.example")
    assert result.exit_code == 1
    assert "no account for nobody@force.example" in result.output


def session_contents(app: Flask, client: FlaskClient) -> dict[str, Any]:
    """What anyone holding the cookie can read in it (it is signed, not encrypted)."""
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(cookie(client)))


def test_the_session_cookie_holds_no_email_or_name(app: Flask) -> None:
    client = sign_in(app, INTERVIEWER)
    client.get("/console")
    contents = session_contents(app, client)
    assert "ivy" not in repr(contents).lower() and "jones" not in repr(contents).lower()
    assert set(contents) <= {"_user_id", "_fresh", "_id", "csrf_token", "staff_session", "seen_at"}


VICTIM = "+441134960501"
OWN_PHONE = "+441134960777"


def test_flash_messages_put_no_phone_number_or_name_in_the_cookie(sqlite_url: str) -> None:
    with campaign_world(sqlite_url) as world:
        world.import_csv(uss_csv([("CLE/26/300001", VICTIM, "burglary", date(2026, 10, 5))]))
        with world.db.transaction() as session:
            add_user(session, INTERVIEWER, role="interviewer", password=PASSWORD)
        client = sign_in(world.app, INTERVIEWER)
        token = csrf(client.get("/console").get_data(as_text=True))
        taken = client.post("/console/next", data={"csrf_token": token})
        call = taken.headers["Location"] + "/call"
        # Once with no phone of the interviewer's own to ring, once ringing it.
        cookies = []
        for own_phone in (None, OWN_PHONE):
            with world.db.transaction() as session:
                session.scalars(select(User)).one().phone = own_phone
            world.app.extensions["ivr"].telephony = RecordingTelephony()
            assert client.post(call, data={"csrf_token": token}).status_code == 302
            cookies.append(repr(session_contents(world.app, client)))
        for readable in cookies:
            for personal in (VICTIM, VICTIM[3:], OWN_PHONE, OWN_PHONE[3:], "Alex"):
                assert personal not in readable


def test_webhooks_carry_no_session_and_staff_pages_keep_theirs(sqlite_url: str) -> None:
    """Twilio's signed requests never open the staff session cookie (it is neither read nor
    set for them), while the pages staff use keep their signed session."""
    from flask import session
    from flask.sessions import NullSession, SecureCookieSession

    app = create_app(make_settings(sqlite_url), queue=InProcessQueue())
    try:
        cookie = {"HTTP_COOKIE": "session=forged-or-stale"}
        with app.test_request_context("/twilio/voice", method="POST", environ_base=cookie):
            assert isinstance(session, NullSession)
            with pytest.raises(RuntimeError):
                session["user"] = "anyone"
        with app.test_request_context("/queue/", environ_base=cookie):
            assert isinstance(session, SecureCookieSession)
    finally:
        app.extensions["ivr"].db.dispose()
