"""The second factor: enrolment with a QR code and recovery codes, a code after the
password before anything opens, no code twice, wrong codes throttled and audited,
REQUIRE_2FA for administrators and supervisors, an administrator's reset; and wrong
current passwords on the change-password page counted like failed sign-ins."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.accounts.staff import add_user
from ivr.accounts.web import NOT_YOUR_PASSWORD, TOO_MANY_ATTEMPTS, WRONG_CODE
from ivr.app import create_app
from ivr.config import ConfigError, Settings
from ivr.jobs import InProcessQueue
from ivr.store.models import AuditEntry, User
from tests.conftest import make_settings
from tests.functional.staff_web import PASSWORD, csrf
from tests.functional.test_users_cli import run

ADMIN = "ada.admin@force.example"
SUPERVISOR = "sol.supervisor@force.example"
INTERVIEWER = "ivy.interviewer@force.example"
WRONG_PASSWORD = "not the password at all"
_addresses = itertools.count(1)


class Clock:
    """The app's clock, moved on by the tests (codes change every 30 seconds)."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: int = 30) -> None:
        self.now += timedelta(seconds=seconds)


def _app(database_url: str, clock: Clock, **settings: Any) -> Flask:
    app = create_app(make_settings(database_url, **settings), queue=InProcessQueue(), clock=clock)
    with app.extensions["ivr"].db.transaction() as session:
        for email, role in (
            (ADMIN, "admin"),
            (SUPERVISOR, "supervisor"),
            (INTERVIEWER, "interviewer"),
        ):
            add_user(session, email, role=role, password=PASSWORD)
    return app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(any_db: str, clock: Clock) -> Iterator[Flask]:
    app = _app(any_db, clock)
    yield app
    app.extensions["ivr"].db.dispose()


@pytest.fixture
def strict_app(any_db: str, clock: Clock) -> Iterator[Flask]:
    app = _app(any_db, clock, require_2fa=True)
    yield app
    app.extensions["ivr"].db.dispose()


def browser(app: Flask, address: str | None = None) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address or f"10.9.{next(_addresses) % 250}.1"
    return client


def password_step(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    token = csrf(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def code_step(client: FlaskClient, code: str) -> Any:
    token = csrf(client.get("/login/code").get_data(as_text=True))
    return client.post("/login/code", data={"code": code, "csrf_token": token})


def signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def stored(app: Flask, email: str) -> User:
    with app.extensions["ivr"].db.transaction() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        session.expunge(user)
        return user


def audit_trail(app: Flask) -> list[tuple[str, str | None, dict[str, Any]]]:
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (e.action, e.object_type, e.details)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def shown_key(page: str) -> str:
    """The key an enrolment page shows for typing into an app."""
    found = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', page)
    assert found, page
    return found.group(1).replace(" ", "")


def enrol(
    client: FlaskClient, clock: Clock, password: str | None = PASSWORD
) -> tuple[str, list[str]]:
    """Set a second factor up through the page: the secret read from it, and the recovery
    codes it shows."""
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = shown_key(page)
    data = {"csrf_token": csrf(page), "code": pyotp.TOTP(secret).at(clock.now)}
    if password is not None:
        data["current_password"] = password
    done = client.post("/account/second-factor", data=data)
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Your second factor is on" in text, text
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", text)
    return secret, codes


def test_enrolment_shows_a_qr_code_and_the_key_and_needs_a_right_code(
    app: Flask, clock: Clock
) -> None:
    client = browser(app)
    assert password_step(client, INTERVIEWER).headers["Location"] == "/console"
    assert "/account/second-factor" in client.get("/account/password").get_data(as_text=True)
    page = client.get("/account/second-factor").get_data(as_text=True)
    assert "<svg" in page and "<path" in page
    assert INTERVIEWER in page and "ivr" in page
    first = shown_key(page)
    user = stored(app, INTERVIEWER)
    assert user.totp_secret == first and user.totp_enabled_at is None
    # Each showing is a new key, so a key someone else saw earlier is never the one set up.
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = shown_key(page)
    assert secret != first and stored(app, INTERVIEWER).totp_secret == secret

    def confirm(code: str, password: str = PASSWORD) -> str:
        data = {"csrf_token": csrf(page), "code": code, "current_password": password}
        return html.unescape(
            client.post("/account/second-factor", data=data).get_data(as_text=True)
        )

    right = pyotp.TOTP(secret).at(clock.now)
    assert WRONG_CODE in confirm("000000" if right != "000000" else "111111")
    assert WRONG_CODE in confirm(pyotp.TOTP(first).at(clock.now))
    assert NOT_YOUR_PASSWORD in confirm(right, WRONG_PASSWORD)
    assert stored(app, INTERVIEWER).totp_enabled_at is None
    done = confirm(right)
    assert "Your second factor is on" in done
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done)
    assert len(codes) == 10 and len(set(codes)) == 10
    user = stored(app, INTERVIEWER)
    assert user.totp_enabled_at == clock.now
    # Only digests are kept, and the page now says it is on without showing them again.
    assert len(user.recovery_code_hashes) == 10
    assert not any(code in repr(user.recovery_code_hashes) for code in codes)
    again = client.get("/account/second-factor").get_data(as_text=True)
    assert "10 recovery codes left" in again and codes[0] not in again
    assert ("second_factor_enabled", "user", {}) in audit_trail(app)


def test_sign_in_needs_the_code_before_any_page_opens(app: Flask, clock: Clock) -> None:
    secret, _ = enrol(signed_in_browser(app, INTERVIEWER), clock)
    clock.tick()
    client = browser(app)
    assert password_step(client, INTERVIEWER).headers["Location"] == "/login/code"
    assert not signed_in(client)
    for page in ("/console", "/", "/account/password", "/results"):
        assert client.get(page).status_code == 302
    assert "/login" in client.get("/console").headers["Location"]
    wrong = code_step(
        client, "123456" if pyotp.TOTP(secret).at(clock.now) != "123456" else "654321"
    )
    assert wrong.status_code == 200 and WRONG_CODE in html.unescape(wrong.get_data(as_text=True))
    assert not signed_in(client)
    right = code_step(client, pyotp.TOTP(secret).at(clock.now))
    assert right.status_code == 302 and right.headers["Location"] == "/console"
    assert signed_in(client) and client.get("/console").status_code == 200
    trail = audit_trail(app)
    assert ("sign_in_failed", "user", {"reason": "wrong_code"}) in trail
    assert trail[-1] == ("sign_in", None, {"second_factor": "app"})
    assert INTERVIEWER not in repr(trail)


def signed_in_browser(app: Flask, email: str) -> FlaskClient:
    client = browser(app)
    assert password_step(client, email).status_code == 302
    assert signed_in(client)
    return client


def test_a_code_from_a_step_either_side_is_accepted_but_never_twice(
    app: Flask, clock: Clock
) -> None:
    secret, _ = enrol(signed_in_browser(app, INTERVIEWER), clock)
    totp = pyotp.TOTP(secret)
    # The code that confirmed the enrolment cannot sign anyone in.
    client = browser(app)
    password_step(client, INTERVIEWER)
    assert WRONG_CODE in html.unescape(code_step(client, totp.at(clock.now)).get_data(as_text=True))
    # A phone's clock 30 seconds ahead: the next step's code is accepted...
    ahead = totp.at(clock.now + timedelta(seconds=30))
    assert code_step(client, ahead).status_code == 302
    # ... and is refused when given again, from another browser.
    replay = browser(app)
    password_step(replay, INTERVIEWER)
    refused = code_step(replay, ahead)
    assert refused.status_code == 200 and not signed_in(replay)
    assert ("sign_in_failed", "user", {"reason": "replayed_code"}) in audit_trail(app)
    # Later, a fresh code works.
    clock.tick(60)
    assert code_step(replay, totp.at(clock.now)).status_code == 302


def test_wrong_codes_are_throttled_like_wrong_passwords(app: Flask, clock: Clock) -> None:
    secret, _ = enrol(signed_in_browser(app, INTERVIEWER), clock)
    clock.tick()
    client = browser(app, "203.0.113.7")
    password_step(client, INTERVIEWER)
    right = pyotp.TOTP(secret).at(clock.now)
    for guess in range(5):
        assert (
            code_step(client, f"{guess:06d}" if f"{guess:06d}" != right else "999999").status_code
            == 200
        )
    refused = code_step(client, right)
    assert refused.status_code == 429 and TOO_MANY_ATTEMPTS in refused.get_data(as_text=True)
    assert not signed_in(client)
    # The password step from there is refused too: the failures are one count.
    again = browser(app, "203.0.113.7")
    assert password_step(again, INTERVIEWER).status_code == 429
    trail = [action for action, _, _ in audit_trail(app)]
    assert trail.count("sign_in_failed") == 5 and "sign_in_throttled" in trail


def test_a_recovery_code_signs_in_once(app: Flask, clock: Clock) -> None:
    _, codes = enrol(signed_in_browser(app, INTERVIEWER), clock)
    client = browser(app)
    password_step(client, INTERVIEWER)
    used = code_step(client, codes[3].upper().replace("-", " "))
    assert used.status_code == 302 and signed_in(client)
    assert "9 left" in client.get("/console").get_data(as_text=True)
    assert len(stored(app, INTERVIEWER).recovery_code_hashes) == 9
    second = browser(app)
    password_step(second, INTERVIEWER)
    assert code_step(second, codes[3]).status_code == 200 and not signed_in(second)
    assert ("sign_in", None, {"second_factor": "recovery_code"}) in audit_trail(app)


@pytest.mark.parametrize("email", [ADMIN, SUPERVISOR])
def test_require_2fa_sends_admins_and_supervisors_to_enrolment_first(
    strict_app: Flask, clock: Clock, email: str
) -> None:
    client = browser(strict_app)
    response = password_step(client, email)
    assert response.headers["Location"] == "/account/second-factor"
    assert not signed_in(client)
    for page in ("/queue", "/console", "/", "/account/password", "/login/code"):
        assert client.get(page).status_code == 302
    assert "must have a second factor" in client.get("/account/second-factor").get_data(
        as_text=True
    )
    # No password asked again here: it was just given.
    secret, codes = enrol(client, clock, password=None)
    assert len(codes) == 10 and signed_in(client)
    assert client.get("/queue").status_code == 200
    assert ("sign_in", None, {"second_factor": "enrolled"}) in audit_trail(strict_app)
    # From then on: the code step.
    clock.tick()
    later = browser(strict_app)
    assert password_step(later, email).headers["Location"] == "/login/code"
    assert code_step(later, pyotp.TOTP(secret).at(clock.now)).headers["Location"] == "/queue"


def test_require_2fa_leaves_interviewers_to_choose(strict_app: Flask) -> None:
    client = browser(strict_app)
    assert password_step(client, INTERVIEWER).headers["Location"] == "/console"
    assert signed_in(client)


def test_a_password_waits_for_its_code_ten_minutes_at_most(strict_app: Flask, clock: Clock) -> None:
    client = browser(strict_app)
    password_step(client, SUPERVISOR)
    clock.tick(10 * 60)
    gone = client.get("/account/second-factor")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert stored(strict_app, SUPERVISOR).totp_secret is None


def test_an_administrator_resets_a_second_factor_and_its_sessions_end(
    strict_app: Flask, clock: Clock
) -> None:
    client = browser(strict_app)
    password_step(client, SUPERVISOR)
    enrol(client, clock, password=None)
    assert client.get("/queue").status_code == 200
    result = run(strict_app, "users", "reset-2fa", SUPERVISOR)
    assert result.exit_code == 0, result.output
    assert "second factor reset" in result.output and "1 session(s)" in result.output
    assert client.get("/queue").status_code == 302
    user = stored(strict_app, SUPERVISOR)
    assert (user.totp_secret, user.totp_enabled_at, user.recovery_code_hashes) == (None, None, [])
    assert audit_trail(strict_app)[-1] == (
        "reset_second_factor",
        "user",
        {"had_one": True, "sessions": 1, "via": "cli"},
    )
    # Back to enrolment at the next sign-in.
    assert password_step(browser(strict_app), SUPERVISOR).headers["Location"] == (
        "/account/second-factor"
    )
    assert run(strict_app, "users", "reset-2fa", "nobody@force.example").exit_code == 1


def change_password(client: FlaskClient, current: str) -> Any:
    token = csrf(client.get("/account/password").get_data(as_text=True))
    new = "lantern orchard quietly"
    return client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm_password": new,
        },
    )


def test_wrong_current_passwords_on_the_change_page_count_as_failed_sign_ins(
    app: Flask,
) -> None:
    client = browser(app, "198.51.100.77")
    password_step(client, SUPERVISOR)
    for _ in range(5):
        response = change_password(client, WRONG_PASSWORD)
        assert response.status_code == 200
        assert NOT_YOUR_PASSWORD in response.get_data(as_text=True)
    refused = change_password(client, PASSWORD)
    assert refused.status_code == 429 and TOO_MANY_ATTEMPTS in refused.get_data(as_text=True)
    trail = [action for action, _, _ in audit_trail(app)]
    assert trail.count("change_password_refused") == 5
    assert trail[-1] == "change_password_throttled" and "change_password" not in trail
    # The same count as sign-in's: that address cannot guess at the sign-in page either.
    assert password_step(browser(app, "198.51.100.77"), SUPERVISOR).status_code == 429


def test_require_2fa_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).require_2fa is False
    assert Settings.from_env({"REQUIRE_2FA": "true"}).require_2fa is True
    with pytest.raises(ConfigError, match="REQUIRE_2FA"):
        Settings.from_env({"REQUIRE_2FA": "sometimes"})
