"""Staff accounts in the browser: an administrator adds an account (a typed password or
one made and shown once), changes its role and districts, records, changes and removes
its own phone (any UK writing, stored E.164, shown in UK format, audited without the
number). Every bad input is said beside its field and nothing typed is lost (but
passwords). Only administrators reach these pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.accounts.staff import authenticate
from ivr.app import create_app
from ivr.store.models import AuditEntry, User
from ivr.telephony.port import RecordingTelephony
from tests.conftest import add_case, make_settings
from tests.functional.campaign_world import MONDAY_11, Clock, RaisingQueue
from tests.functional.staff_web import csrf, sign_in
from tests.functional.test_referral_queue import add_staff

ADMIN = "admin@cleveland.example"
NEW = "sam.jones@cleveland.example"
GOOD_PASSWORD = "a lantern by the quiet harbour wall"


@pytest.fixture
def app(any_db: str) -> Iterator[Flask]:
    app = create_app(
        make_settings(any_db),
        queue=RaisingQueue(),
        clock=Clock(MONDAY_11),
        telephony=RecordingTelephony(),
    )
    yield app
    app.extensions["ivr"].db.dispose()


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    add_staff(app, ADMIN, "admin")
    return sign_in(app, ADMIN)


def user(app: Flask, email: str) -> User | None:
    with app.extensions["ivr"].db.transaction() as session:
        found = session.scalars(select(User).where(User.email == email)).first()
        session.expunge_all()
    return found


def entries(app: Flask, action: str) -> list[AuditEntry]:
    with app.extensions["ivr"].db.transaction() as session:
        found = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        session.expunge_all()
    return found


def add(client: FlaskClient, **data: Any) -> Any:
    token = csrf(client.get("/admin/users/new").get_data(as_text=True))
    form = {
        "csrf_token": token,
        "email": NEW,
        "name": "Sam Jones",
        "role": "interviewer",
        "phone": "",
        "password_choice": "type",
        "password": GOOD_PASSWORD,
        "password_again": GOOD_PASSWORD,
    }
    form.update(data)
    return client.post("/admin/users/new", data=form)


def post(client: FlaskClient, path: str, **data: Any) -> Any:
    token = csrf(client.get("/admin/users").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def test_an_admin_adds_an_interviewer_with_a_phone_shown_in_uk_format(
    app: Flask, admin: FlaskClient
) -> None:
    response = add(admin, phone="+44 (0)113 496 0001")
    assert response.status_code == 302
    added = user(app, NEW)
    assert added is not None and added.role == "interviewer" and added.name == "Sam Jones"
    assert added.phone == "+441134960001"
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "0113 496 0001" in page and "+441134960001" not in page
    with app.extensions["ivr"].db.transaction() as session:
        assert authenticate(session, NEW, GOOD_PASSWORD) is not None
    [entry] = entries(app, "add_user")
    assert entry.details["phone"] is True and entry.details["via"] == "admin page"
    assert "496" not in str(entry.details)


def test_a_made_password_is_shown_once_and_works(app: Flask, admin: FlaskClient) -> None:
    response = add(admin, password_choice="generate", password="", password_again="")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    made = re.search(
        r'<code id="generated-password">([^<]+)</code>', response.get_data(as_text=True)
    )
    assert made
    with app.extensions["ivr"].db.transaction() as session:
        assert authenticate(session, NEW, made.group(1)) is not None
    assert made.group(1) not in admin.get("/admin/users").get_data(as_text=True)
    assert entries(app, "add_user")[0].details["password"] == "generated"


def test_every_bad_field_is_said_beside_it_and_what_was_typed_is_kept(
    app: Flask, admin: FlaskClient
) -> None:
    response = add(
        admin,
        email="not an email",
        name="Sam Jones",
        role="district_officer",
        phone="0113 496",
        password="short",
        password_again="short",
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("email", "districts", "phone", "password"):
        assert f'id="{field}-error"' in page, field
    assert "There is a problem" in page
    assert 'value="not an email"' in page and 'value="Sam Jones"' in page
    assert 'value="0113 496"' in page
    assert 'value="short"' not in page  # passwords are never sent back
    assert user(app, "not an email") is None and entries(app, "add_user") == []


def test_a_district_officer_gets_districts_from_the_sample_and_typed(
    app: Flask, admin: FlaskClient
) -> None:
    add_case(app, district="Hartlepool")
    form = admin.get("/admin/users/new").get_data(as_text=True)
    assert 'value="Hartlepool"' in form
    response = add(
        admin,
        role="district_officer",
        districts=["Hartlepool"],
        districts_typed="Redcar and Cleveland,  Stockton ",
    )
    assert response.status_code == 302
    added = user(app, NEW)
    assert added is not None
    assert added.districts == ["Hartlepool", "Redcar and Cleveland", "Stockton"]


def test_an_existing_email_is_refused_beside_the_email(app: Flask, admin: FlaskClient) -> None:
    add_staff(app, NEW, "interviewer")
    response = add(admin)
    assert response.status_code == 400
    assert "already has an account" in response.get_data(as_text=True)


def test_the_role_and_districts_change_and_are_audited(app: Flask, admin: FlaskClient) -> None:
    hart = add_staff(app, NEW, "interviewer")
    refused = post(admin, f"/admin/users/{hart}/role", role="district_officer")
    assert refused.status_code == 400
    assert f'id="role-error-{hart}"' in refused.get_data(as_text=True)
    assert user(app, NEW).role == "interviewer"  # type: ignore[union-attr]
    done = post(
        admin, f"/admin/users/{hart}/role", role="district_officer", districts_typed="Hartlepool"
    )
    assert done.status_code == 302
    changed = user(app, NEW)
    assert changed is not None and changed.role == "district_officer"
    assert changed.districts == ["Hartlepool"]
    [entry] = entries(app, "change_role")
    assert entry.details["role_before"] == "interviewer"
    assert entry.details["districts"] == ["Hartlepool"]
    back = post(admin, f"/admin/users/{hart}/role", role="supervisor")
    assert back.status_code == 302
    assert user(app, NEW).districts == []  # type: ignore[union-attr]
    me = user(app, ADMIN)
    assert me is not None
    assert post(admin, f"/admin/users/{me.id}/role", role="interviewer").status_code == 400
    assert user(app, ADMIN).role == "admin"  # type: ignore[union-attr]


def test_a_phone_is_recorded_changed_and_removed_never_logging_it(
    app: Flask, admin: FlaskClient
) -> None:
    hart = add_staff(app, NEW, "interviewer")
    bad = post(admin, f"/admin/users/{hart}/phone", phone="07700 900123")
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert f'id="phone-error-{hart}"' in page and 'value="07700 900123"' in page
    assert user(app, NEW).phone is None  # type: ignore[union-attr]
    assert post(admin, f"/admin/users/{hart}/phone", phone="0114 496 0002").status_code == 302
    assert user(app, NEW).phone == "+441144960002"  # type: ignore[union-attr]
    assert post(admin, f"/admin/users/{hart}/phone", phone="(020) 7946 0006").status_code == 302
    assert user(app, NEW).phone == "+442079460006"  # type: ignore[union-attr]
    assert "020 7946 0006" in admin.get("/admin/users").get_data(as_text=True)
    assert post(admin, f"/admin/users/{hart}/phone", remove="yes").status_code == 302
    assert user(app, NEW).phone is None  # type: ignore[union-attr]
    changes = [e.details["change"] for e in entries(app, "set_phone")]
    assert changes == ["recorded", "changed", "removed"]
    assert all(
        "496" not in str(e.details) and "7946" not in str(e.details)
        for e in entries(app, "set_phone")
    )


@pytest.mark.parametrize("role", ["supervisor", "interviewer", "district_officer"])
def test_only_administrators_reach_the_user_pages(app: Flask, role: str) -> None:
    add_staff(
        app, "someone@cleveland.example", role, *(["Hartlepool"] * (role == "district_officer"))
    )
    victim = add_staff(app, NEW, "interviewer")
    client = sign_in(app, "someone@cleveland.example")
    assert client.get("/admin/users/new").status_code == 403
    # A good token (every page's sign-out form has one) and still refused.
    token = csrf(client.get("/account/password").get_data(as_text=True))
    for path in ("/admin/users/new", f"/admin/users/{victim}/role", f"/admin/users/{victim}/phone"):
        response = client.post(path, data={"csrf_token": token, "phone": "0113 496 0001"})
        assert response.status_code == 403, path
    assert entries(app, "set_phone") == [] and entries(app, "change_role") == []
