"""Signing in and out through the real app: sessions, CSRF, headers, audit (the limits on
failed sign-ins: test_sign_in_throttle.py; sessions ending: test_sessions.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.accounts.guards import queue_access_required, safe_next
from ivr.accounts.staff import add_user
from ivr.accounts.web import BAD_CREDENTIALS
from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.store.models import AuditEntry, User
from tests.conftest import AUTH_TOKEN, PUBLIC_BASE_URL, SURVEY_NUMBER, make_settings

PASSWORD = "correct horse battery staple"
SUPERVISOR = "sam.supervisor@force.example"
INTERVIEWER = "ivy.interviewer@force.example"


def add_account(app: Flask, email: str, role: str, districts: Iterable[str] = ()) -> int:
    with app.extensions["ivr"].db.transaction() as session:
        return add_user(session, email, role=role, password=PASSWORD, districts=districts).id


@pytest.fixture
def accounts(app: Flask) -> Flask:
    add_account(app, SUPERVISOR, "supervisor")
    add_account(app, INTERVIEWER, "interviewer")
    return app


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token from a page's form, as a browser would submit it."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(
    client: FlaskClient, email: str, password: str = PASSWORD, **fields: str
) -> TestResponse:
    return client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "email": email, "password": password, **fields},
    )


def audit_trail(app: Flask) -> list[tuple[int | None, str, dict[str, Any]]]:
    with app.extensions["ivr"].db.transaction() as session:
        return [
            (e.actor_id, e.action, e.details)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def user_id(app: Flask, email: str) -> int:
    with app.extensions["ivr"].db.transaction() as session:
        return session.scalars(select(User.id).where(User.email == email)).one()


def test_login_page_labels_its_fields_for_assistive_technology(app: Flask) -> None:
    page = app.test_client().get("/login")
    assert page.status_code == 200
    assert '<label for="email">Email address</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert 'id="email" name="email"' in page.text and 'autocomplete="username"' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert "placeholder" not in page.text


def test_sign_in_with_the_right_password_goes_to_the_queue(accounts: Flask) -> None:
    client = accounts.test_client()
    response = sign_in(client, " Sam.Supervisor@Force.example ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/queue"
    with client.session_transaction() as session:
        assert session["_user_id"] == str(user_id(accounts, SUPERVISOR))
    assert audit_trail(accounts) == [(user_id(accounts, SUPERVISOR), "sign_in", {})]


def test_wrong_password_and_unknown_email_fail_alike(accounts: Flask) -> None:
    client = accounts.test_client()
    wrong_password = sign_in(client, SUPERVISOR, "not the password at all")
    unknown_email = sign_in(client, "nobody@force.example")
    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert BAD_CREDENTIALS in response.text
        assert '<a href="#email">' + BAD_CREDENTIALS in response.text
        assert 'aria-invalid="true" aria-describedby="email-error"' in response.text
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_failed_sign_ins_are_audited_by_account_never_by_the_text_typed(
    accounts: Flask,
) -> None:
    client = accounts.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.44"
    sign_in(client, SUPERVISOR, "not the password at all")
    supervisor = user_id(accounts, SUPERVISOR)
    # A password typed in the email box must not end up in the audit log.
    sign_in(client, "correct horse battery staple", PASSWORD)
    with accounts.extensions["ivr"].db.transaction() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [
            (e.actor_id, e.action, e.object_type, e.object_id, e.details, e.address)
            for e in entries
        ] == [
            (None, "sign_in_failed", "user", supervisor, {}, "192.0.2.44"),
            (None, "sign_in_failed", None, None, {"unknown_account": True}, "192.0.2.44"),
        ]
        assert all(e.at.utcoffset() == timedelta(0) for e in entries)
        assert "horse" not in repr([e.details for e in entries])


def test_missing_fields_are_named_and_linked(app: Flask) -> None:
    response = sign_in(app.test_client(), "", "")
    assert response.status_code == 200
    assert '<a href="#email">Enter your email address</a>' in response.text
    assert '<a href="#password">Enter your password</a>' in response.text
    assert "<title>Error: Sign in" in response.text
    assert audit_trail(app) == []


def test_disabled_account_cannot_sign_in(accounts: Flask) -> None:
    with accounts.extensions["ivr"].db.transaction() as session:
        session.scalars(select(User).where(User.email == SUPERVISOR)).one().active = False
    response = sign_in(accounts.test_client(), SUPERVISOR)
    assert response.status_code == 200
    assert BAD_CREDENTIALS in response.text
    assert audit_trail(accounts)[-1] == (None, "sign_in_failed", {})


def test_disabled_account_is_signed_out_on_its_next_request(accounts: Flask) -> None:
    client = accounts.test_client()
    sign_in(client, INTERVIEWER)
    assert client.get("/console").status_code == 200
    with accounts.extensions["ivr"].db.transaction() as session:
        session.scalars(select(User).where(User.email == INTERVIEWER)).one().active = False
    response = client.get("/console")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    with client.session_transaction() as session:
        assert "_user_id" not in session
    # Enabling the account again does not sign the old session back in.
    with accounts.extensions["ivr"].db.transaction() as session:
        session.scalars(select(User).where(User.email == INTERVIEWER)).one().active = True
    assert client.get("/console").status_code == 302


def test_interviewer_lands_on_the_console_not_the_queue(accounts: Flask) -> None:
    client = accounts.test_client()
    response = sign_in(client, INTERVIEWER)
    assert response.headers["Location"] == "/console"
    assert client.get("/").headers["Location"] == "/console"
    page = client.get("/console")
    assert page.status_code == 200
    assert "ivy.interviewer@force.example (Interviewer)" in page.text
    assert client.get("/queue").status_code == 403


def test_sign_in_without_a_csrf_token_is_refused(accounts: Flask) -> None:
    client = accounts.test_client()
    response = client.post("/login", data={"email": SUPERVISOR, "password": PASSWORD})
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert "reload the page" in response.text
    forged = client.post(
        "/login", data={"email": SUPERVISOR, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 400
    assert audit_trail(accounts) == []


def test_sign_out_needs_a_csrf_token(accounts: Flask) -> None:
    client = accounts.test_client()
    sign_in(client, INTERVIEWER)
    assert client.post("/logout").status_code == 400
    assert client.get("/console").status_code == 200


def test_sign_out_ends_the_session_and_is_audited(accounts: Flask) -> None:
    client = accounts.test_client()
    sign_in(client, INTERVIEWER)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/console")})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "You have signed out." in client.get("/login").text
    assert client.get("/console").status_code == 302
    me = user_id(accounts, INTERVIEWER)
    assert [(actor, action) for actor, action, _ in audit_trail(accounts)] == [
        (me, "sign_in"),
        (me, "sign_out"),
    ]


def test_pages_carry_the_security_headers(accounts: Flask) -> None:
    client = accounts.test_client()
    for response in (client.get("/login"), client.get("/static/app.css")):
        headers = response.headers
        assert headers["Content-Security-Policy"] == (
            "default-src 'self'; img-src 'self' data:; media-src 'self' https:; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
        )
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=()"
        assert "Strict-Transport-Security" not in headers
        assert headers.get("Cache-Control") != "no-store"
    sign_in(client, INTERVIEWER)
    signed_in = client.get("/")
    assert signed_in.headers["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in signed_in.headers


def test_twilio_webhooks_get_no_browser_headers_csrf_or_limits(app: Flask) -> None:
    url = f"{PUBLIC_BASE_URL}/twilio/voice"
    client = app.test_client()
    for n in range(8):
        form = {
            "CallSid": f"CA{n:032d}",
            "From": "+441134960555",
            "To": SURVEY_NUMBER,
            "Direction": "inbound",
            "CallStatus": "ringing",
        }
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        response = client.post(
            "/twilio/voice", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200, response.text
        assert response.mimetype == "text/xml"
        for header in (
            "Content-Security-Policy",
            "X-Frame-Options",
            "Referrer-Policy",
            "Permissions-Policy",
            "X-Content-Type-Options",
            "Cache-Control",
            "Set-Cookie",
        ):
            assert header not in response.headers
    unsigned = client.post("/twilio/voice", data={"CallSid": "CA1"})
    assert unsigned.status_code == 403
    assert "Content-Security-Policy" not in unsigned.headers


def test_queue_access_required_admits_only_roles_that_work_the_queue(accounts: Flask) -> None:
    @queue_access_required
    def referrals_page() -> str:
        return "the queue"

    accounts.add_url_rule("/test-only/queue", view_func=referrals_page)
    client = accounts.test_client()
    anonymous = client.get("/test-only/queue")
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/login?next=%2Ftest-only%2Fqueue"
    sign_in(client, INTERVIEWER)
    assert client.get("/test-only/queue").status_code == 403
    supervisor = accounts.test_client()
    sign_in(supervisor, SUPERVISOR)
    assert supervisor.get("/test-only/queue").text == "the queue"


def test_sign_in_goes_on_to_next_when_it_is_a_path_here(accounts: Flask) -> None:
    client = accounts.test_client()
    page = client.get("/login?next=/queue/7%3Fstatus%3Dnew")
    assert 'name="next" value="/queue/7?status=new"' in page.text
    response = sign_in(client, SUPERVISOR, next="/queue/7?status=new")
    assert response.headers["Location"] == "/queue/7?status=new"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/queue",
        "//evil.example/queue",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\t/evil.example",
        "http:/evil.example",
        "queue",
    ],
)
def test_sign_in_refuses_to_go_on_to_other_sites(accounts: Flask, target: str) -> None:
    assert safe_next(target) is None
    response = sign_in(accounts.test_client(), SUPERVISOR, next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/queue"


def test_production_adds_hsts_secure_cookies_and_takes_forms_without_referer(
    sqlite_url: str,
) -> None:
    app = create_app(make_settings(sqlite_url, production=True), queue=InProcessQueue())
    try:
        add_account(app, SUPERVISOR, "supervisor")
        client = app.test_client()
        page = client.get("/login", base_url=PUBLIC_BASE_URL)
        assert page.headers["Strict-Transport-Security"].startswith("max-age=")
        cookie = page.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        # Referrer-Policy: no-referrer means a browser's form post carries no Referer.
        response = client.post(
            "/login",
            base_url=PUBLIC_BASE_URL,
            data={"csrf_token": token.group(1), "email": SUPERVISOR, "password": PASSWORD},
        )
        assert response.status_code == 302, response.text
        assert response.headers["Location"] == "/queue"
    finally:
        app.extensions["ivr"].db.dispose()
