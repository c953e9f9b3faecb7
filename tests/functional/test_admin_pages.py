"""The administrator's data-protection pages: only administrators reach them; the audit log
is searched, paged and downloaded; a victim's data is seen, downloaded and erased; staff
accounts are signed out, disabled, enabled and given new passwords. Each is audited."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.accounts import audit, second_factor
from ivr.app import create_app
from ivr.store.models import AuditEntry, CallAttempt, Case, User
from ivr.telephony.port import RecordingTelephony
from tests.conftest import add_case, make_settings
from tests.functional.campaign_world import MONDAY_11, Clock, RaisingQueue
from tests.functional.staff_web import PASSWORD, csrf, sign_in
from tests.functional.test_referral_queue import add_staff

ADMIN = "admin@cleveland.example"
CASE_REF = "CR/0001/26"
VICTIM_PHONE = "+441134960001"
VICTIM_NAME = "Alex"
NEW_PASSWORD = "a lantern by the quiet harbour wall"
#: Every page and form of the admin's, as (method, path).
ROUTES = [
    ("GET", "/admin"),
    ("GET", "/admin/audit"),
    ("GET", "/admin/audit.csv"),
    ("GET", f"/admin/subjects?survey=uss&case_ref={CASE_REF}"),
    ("GET", f"/admin/subjects/download?survey=uss&case_ref={CASE_REF}"),
    ("POST", "/admin/subjects/erase"),
    ("GET", "/admin/users"),
    ("POST", "/admin/users/1/sign-out"),
    ("POST", "/admin/users/1/disable"),
    ("POST", "/admin/users/1/enable"),
    ("POST", "/admin/users/1/password"),
    ("POST", "/admin/users/1/second-factor/reset"),
]


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


def entries(app: Flask, action: str) -> list[AuditEntry]:
    with app.extensions["ivr"].db.transaction() as session:
        found = list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )
        session.expunge_all()
    return found


def user_id(app: Flask, email: str) -> int:
    with app.extensions["ivr"].db.transaction() as session:
        return int(session.scalars(select(User.id).where(User.email == email)).one())


def token_of(client: FlaskClient, path: str = "/admin/users") -> str:
    return csrf(client.get(path).get_data(as_text=True))


def post(client: FlaskClient, path: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": token_of(client), **data})


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)


# --- who may -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role", ["supervisor", "district_officer", "service_manager", "interviewer", "analyst"]
)
def test_only_administrators_reach_the_admin_pages(app: Flask, role: str) -> None:
    add_case(app)
    add_staff(
        app, "someone@cleveland.example", role, *(["Hartlepool"] * (role == "district_officer"))
    )
    client = sign_in(app, "someone@cleveland.example")
    for method, path in ROUTES:
        response = client.open(path, method=method)
        # A POST without a good token is refused before anything; with one, still 403.
        assert response.status_code in ((400, 403) if method == "POST" else (403,)), path
    anonymous = app.test_client()
    for method, path in ROUTES:
        if method == "GET":
            response = anonymous.get(path)
            assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert entries(app, "subject_export") == []
    assert "Data protection" not in client.get("/").get_data(as_text=True)


def test_a_non_admin_with_a_good_token_is_still_refused(app: Flask) -> None:
    add_staff(app, "super@cleveland.example", "supervisor")
    victim = add_staff(app, "victim-of-this@cleveland.example", "interviewer")
    client = sign_in(app, "super@cleveland.example")
    token = csrf(client.get("/console/supervision").get_data(as_text=True))
    for action in ("sign-out", "disable", "password"):
        response = client.post(f"/admin/users/{victim}/{action}", data={"csrf_token": token})
        assert response.status_code == 403
    assert entries(app, "disable_user") == []


def test_the_admin_sees_the_pages_and_a_link_to_them(app: Flask, admin: FlaskClient) -> None:
    home = admin.get("/admin")
    assert home.status_code == 200
    assert 'href="/admin"' in home.get_data(as_text=True)
    for path in ("/admin/audit", "/admin/subjects", "/admin/users"):
        assert admin.get(path).status_code == 200, path


# --- the audit log --------------------------------------------------------------------------


def _log(app: Flask, actor: Any, action: str, at: datetime, **more: Any) -> None:
    with app.extensions["ivr"].db.transaction() as session:
        audit.record(session, actor, action, now=at, **more)


def test_the_audit_log_is_searched_by_user_case_action_and_uk_dates(
    app: Flask, admin: FlaskClient
) -> None:
    case = add_case(app)
    other = add_case(app, case_ref="CR/0009/26", phone="+441134960009")
    officer = add_staff(app, "hart@cleveland.example", "district_officer", "Hartlepool")
    officer_row = type("Actor", (), {"id": officer})()
    # 23:30 UTC on 1 July is 00:30 on 2 July in the UK (BST).
    late = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
    _log(app, officer_row, "view_referral", late, object_type="case", object_id=case.id)
    _log(app, officer_row, "note", late - timedelta(hours=1))
    _log(
        app, None, "view_referral", late + timedelta(days=3), object_type="case", object_id=other.id
    )

    def found(**query: str) -> list[str]:
        response = admin.get("/admin/audit", query_string=query)
        assert response.status_code == 200
        return rows_of(response.get_data(as_text=True))

    by_officer = found(user="HART@cleveland.example")
    assert len(by_officer) == 2 and all("hart@cleveland.example" in r for r in by_officer)
    # Newest first, and shown in UK time with its zone.
    assert "2026-07-02 00:30:00 BST" in by_officer[0]
    assert "2026-07-01 23:30:00 BST" in by_officer[1]
    about_case = found(case_ref=CASE_REF)
    assert len(about_case) == 1 and "view_referral" in about_case[0]
    assert len(found(action="view_referral")) == 2
    # A UK day: 2 July includes 23:30 UTC on 1 July, and not 22:30.
    on_the_2nd = found(**{"from": "2026-07-02", "to": "2026-07-02"})
    assert len(on_the_2nd) == 1 and "00:30:00 BST" in on_the_2nd[0]
    assert found(**{"from": "2026-07-01", "to": "2026-07-01"})[0].count("note") == 1
    # The actions offered are those the log holds.
    page = admin.get("/admin/audit").get_data(as_text=True)
    offered = re.findall(r'<option value="([^"]+)"', page)
    assert {"note", "view_referral", "sign_in"} <= set(offered)
    assert "play_recording" not in offered
    # Each view is audited, with the search but never the case reference itself.
    views = entries(app, "view_audit_log")
    assert len(views) >= 6
    about = views[1]
    assert about.details["search"]["case"] is True
    assert CASE_REF not in json.dumps([v.details for v in views])
    assert about.address is not None and about.at.tzinfo is not None


def test_a_bad_date_is_said_and_nothing_is_listed(admin: FlaskClient) -> None:
    response = admin.get("/admin/audit", query_string={"from": "2026-02-30"})
    assert response.status_code == 400
    assert "must be a date" in response.get_data(as_text=True)
    backwards = admin.get("/admin/audit", query_string={"from": "2026-07-02", "to": "2026-07-01"})
    assert backwards.status_code == 400
    assert admin.get("/admin/audit.csv?to=nonsense").status_code == 400
    for field in ("user", "case_ref", "action"):
        assert admin.get("/admin/audit", query_string={field: "x\x00y"}).status_code == 200
    nul = admin.get("/admin/subjects", query_string={"survey": "uss", "case_ref": "A\x00"})
    assert nul.status_code == 404
    for far in ("9999-12-31", "0001-01-01"):
        assert admin.get("/admin/audit", query_string={"to": far}).status_code == 400


def test_the_audit_log_is_paged_fifty_at_a_time(app: Flask, admin: FlaskClient) -> None:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with app.extensions["ivr"].db.transaction() as session:
        for n in range(120):
            audit.record(session, None, "export", now=start + timedelta(minutes=n), n=n)
    query = {"action": "export"}
    first = admin.get("/admin/audit", query_string=query).get_data(as_text=True)
    rows = rows_of(first)
    assert len(rows) == 50 and '"n": 119' in rows[0] and '"n": 70' in rows[-1]
    assert "page 1 of 3" in first and "page=2" in first
    third = admin.get("/admin/audit", query_string={**query, "page": "3"}).get_data(as_text=True)
    assert len(rows_of(third)) == 20 and "page 3 of 3" in third
    # Past the end is the last page; nonsense is the first.
    assert "page 3 of 3" in admin.get("/admin/audit?action=export&page=99999999").get_data(
        as_text=True
    )
    assert "page 1 of 3" in admin.get("/admin/audit?action=export&page=-2").get_data(as_text=True)


def test_the_csv_download_has_the_filtered_entries_and_runs_no_formulas(
    app: Flask, admin: FlaskClient
) -> None:
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    _log(app, None, "=cmd|' /C calc'!A0", at, route="+SUM(1,2)")
    _log(app, None, "other", at)
    response = admin.get("/admin/audit.csv", query_string={"action": "=cmd|' /C calc'!A0"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    assert rows[0]["action"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["at"] == at.isoformat()
    assert json.loads(rows[0]["details"]) == {"route": "+SUM(1,2)"}
    [download] = entries(app, "download_audit_log")
    assert download.details["entries"] == 1
    assert download.details["search"]["action"] == "=cmd|' /C calc'!A0"
    assert download.actor_id == user_id(app, ADMIN) and download.address


# --- a victim's data ------------------------------------------------------------------------


def test_the_admin_sees_and_downloads_what_is_held_each_time_audited(
    app: Flask, admin: FlaskClient
) -> None:
    case = add_case(app)
    response = admin.get("/admin/subjects", query_string={"survey": "uss", "case_ref": CASE_REF})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert VICTIM_PHONE in page and VICTIM_NAME in page
    download = admin.get(
        "/admin/subjects/download", query_string={"survey": "uss", "case_ref": CASE_REF}
    )
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert CASE_REF not in download.headers["Content-Disposition"]
    held = json.loads(download.get_data(as_text=True))
    assert held["case_ref"] == CASE_REF
    assert held["held"]["case"]["phone"] == VICTIM_PHONE
    seen = entries(app, "subject_export")
    assert [e.details["via"] for e in seen] == ["admin page", "admin page, download"]
    for entry in seen:
        assert entry.object_type == "case" and entry.object_id == case.id
        assert entry.actor_id == user_id(app, ADMIN)
        assert entry.address and entry.at.tzinfo is not None
        assert VICTIM_PHONE not in json.dumps(entry.details)


def test_an_unknown_case_is_not_found(admin: FlaskClient) -> None:
    response = admin.get("/admin/subjects", query_string={"survey": "uss", "case_ref": "NOPE"})
    assert response.status_code == 404
    assert "no case with this reference" in response.get_data(as_text=True)
    assert admin.get("/admin/subjects?survey=nosuch&case_ref=X").status_code == 404
    assert admin.get("/admin/subjects/download?survey=uss&case_ref=NOPE").status_code == 404


def test_erasure_needs_the_token_and_the_reference_typed_again(
    app: Flask, admin: FlaskClient
) -> None:
    add_case(app)
    form = {"survey": "uss", "case_ref": CASE_REF, "confirm_ref": CASE_REF}
    assert admin.post("/admin/subjects/erase", data=form).status_code == 400
    wrong = post(admin, "/admin/subjects/erase", **{**form, "confirm_ref": "CR/0001/2"})
    assert wrong.status_code == 400
    assert "type the case reference exactly" in wrong.get_data(as_text=True)
    with app.extensions["ivr"].db.transaction() as session:
        assert session.scalars(select(Case.phone)).one() == VICTIM_PHONE
    assert entries(app, "subject_erase") == []


@pytest.mark.parametrize("answers", ["keep", "remove"])
def test_the_admin_erases_a_victims_data_as_the_command_does(
    app: Flask, admin: FlaskClient, answers: str
) -> None:
    case = add_case(app)
    response = post(
        admin,
        "/admin/subjects/erase",
        survey="uss",
        case_ref=CASE_REF,
        confirm_ref=CASE_REF,
        answers=answers,
    )
    assert response.status_code == 302
    after = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "personal data was erased" in after
    with app.extensions["ivr"].db.transaction() as session:
        row = session.get(Case, case.id)
        assert row is not None and VICTIM_PHONE not in (row.phone or "")
        assert row.case_ref != CASE_REF and row.first_name != VICTIM_NAME
    [erased] = entries(app, "subject_erase")
    assert erased.actor_id == user_id(app, ADMIN) and erased.details["via"] == "admin page"
    assert erased.details["answers_removed"] is (answers == "remove")
    assert not any(t in json.dumps(erased.details) for t in (CASE_REF, VICTIM_PHONE, VICTIM_NAME))
    again = admin.get("/admin/subjects", query_string={"survey": "uss", "case_ref": CASE_REF})
    assert again.status_code == 404
    form = {"survey": "uss", "case_ref": CASE_REF, "confirm_ref": CASE_REF}
    assert post(admin, "/admin/subjects/erase", **form).status_code == 404


def test_a_case_on_a_call_is_not_erased_and_the_page_says_why(
    app: Flask, admin: FlaskClient
) -> None:
    case = add_case(app)
    with app.extensions["ivr"].db.transaction() as session:
        session.add(CallAttempt(case_id=case.id, direction="outbound", status="in-progress"))
    response = post(
        admin, "/admin/subjects/erase", survey="uss", case_ref=CASE_REF, confirm_ref=CASE_REF
    )
    assert response.status_code == 409
    assert "is under way" in response.get_data(as_text=True)
    with app.extensions["ivr"].db.transaction() as session:
        assert session.scalars(select(Case.phone)).one() == VICTIM_PHONE
    assert entries(app, "subject_erase") == []


# --- staff accounts -------------------------------------------------------------------------


def test_the_list_shows_each_account_and_its_open_sessions(app: Flask, admin: FlaskClient) -> None:
    add_staff(app, "hart@cleveland.example", "district_officer", "Hartlepool")
    sign_in(app, "hart@cleveland.example")
    sign_in(app, "hart@cleveland.example")
    page = admin.get("/admin/users").get_data(as_text=True)
    [hart] = [r for r in rows_of(page) if "hart@cleveland.example" in r]
    cells = re.findall(r"<td>(.*?)</td>", hart, re.S)
    assert cells[0] == "District research officer" and cells[1] == "Hartlepool"
    assert cells[2] == "Yes" and cells[4] == "2"
    # Signing in stamps the real time: shown in UK time, with its zone.
    assert re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (GMT|BST)</time>", cells[3])
    assert "password_hash" not in page and "$argon2" not in page


def test_sign_out_everywhere_ends_every_session(app: Flask, admin: FlaskClient) -> None:
    hart = add_staff(app, "hart@cleveland.example", "supervisor")
    browsers = [sign_in(app, "hart@cleveland.example") for _ in range(2)]
    assert all(b.get("/queue").status_code == 200 for b in browsers)
    response = post(admin, f"/admin/users/{hart}/sign-out")
    assert response.status_code == 302
    assert "2 session(s) ended" in admin.get("/admin/users").get_data(as_text=True)
    assert all(b.get("/queue").status_code == 302 for b in browsers)
    [entry] = entries(app, "sign_out_everywhere")
    assert entry.object_id == hart and entry.details == {"sessions": 2, "via": "admin page"}
    assert entry.actor_id == user_id(app, ADMIN) and entry.address


def test_disable_and_enable_an_account_but_never_ones_own(app: Flask, admin: FlaskClient) -> None:
    hart = add_staff(app, "hart@cleveland.example", "supervisor")
    browser = sign_in(app, "hart@cleveland.example")
    assert post(admin, f"/admin/users/{hart}/disable").status_code == 302
    assert browser.get("/queue").status_code == 302
    login = app.test_client()
    token = csrf(login.get("/login").get_data(as_text=True))
    refused = login.post(
        "/login",
        data={"email": "hart@cleveland.example", "password": PASSWORD, "csrf_token": token},
    )
    assert refused.status_code != 302
    assert post(admin, f"/admin/users/{hart}/enable").status_code == 302
    sign_in(app, "hart@cleveland.example")
    me = user_id(app, ADMIN)
    own = post(admin, f"/admin/users/{me}/disable")
    assert own.status_code == 400
    assert "cannot disable your own account" in own.get_data(as_text=True)
    assert admin.get("/admin/users").status_code == 200
    assert [e.object_id for e in entries(app, "disable_user")] == [hart]
    assert [e.object_id for e in entries(app, "enable_user")] == [hart]
    assert post(admin, "/admin/users/999999/disable").status_code == 404
    assert post(admin, f"/admin/users/{2**40}/disable").status_code == 404


def test_a_password_reset_is_checked_and_ends_every_session(app: Flask, admin: FlaskClient) -> None:
    hart = add_staff(app, "hart@cleveland.example", "supervisor")
    browser = sign_in(app, "hart@cleveland.example")
    weak = post(
        admin,
        f"/admin/users/{hart}/password",
        password="password1234",
        password_again="password1234",
    )
    assert weak.status_code == 400
    assert browser.get("/queue").status_code == 200
    differ = post(admin, f"/admin/users/{hart}/password", password=NEW_PASSWORD, password_again="x")
    assert differ.status_code == 400 and "not the same" in differ.get_data(as_text=True)
    done = post(
        admin, f"/admin/users/{hart}/password", password=NEW_PASSWORD, password_again=NEW_PASSWORD
    )
    assert done.status_code == 302
    assert browser.get("/queue").status_code == 302
    sign_in(app, "hart@cleveland.example", NEW_PASSWORD)
    [entry] = entries(app, "reset_password")
    assert entry.object_id == hart and entry.actor_id == user_id(app, ADMIN)
    assert NEW_PASSWORD not in json.dumps(entry.details)


def test_account_changes_need_the_token(app: Flask, admin: FlaskClient) -> None:
    hart = add_staff(app, "hart@cleveland.example", "supervisor")
    for action in ("sign-out", "disable", "password"):
        assert admin.post(f"/admin/users/{hart}/{action}").status_code == 400
    assert entries(app, "disable_user") == [] and entries(app, "sign_out_everywhere") == []


def test_a_lost_second_factor_is_reset_and_every_session_ends(
    app: Flask, admin: FlaskClient
) -> None:
    hart = add_staff(app, "hart@cleveland.example", "supervisor")
    browser = sign_in(app, "hart@cleveland.example")
    now = datetime.now(UTC)
    with app.extensions["ivr"].db.transaction() as session:
        user = session.get(User, hart)
        assert user is not None
        secret = second_factor.start_enrolment(user)
        assert second_factor.confirm_enrolment(user, pyotp.TOTP(secret).at(now), now)
    row = [r for r in rows_of(admin.get("/admin/users").get_data(as_text=True)) if "hart@" in r]
    assert re.findall(r"<td>(.*?)</td>", row[0], re.S)[5] == "On"
    assert "Reset the second factor of hart@cleveland.example" in row[0]

    me = user_id(app, ADMIN)
    own = post(admin, f"/admin/users/{me}/second-factor/reset")
    assert own.status_code == 400 and "Another administrator must" in own.get_data(as_text=True)
    assert admin.post(f"/admin/users/{hart}/second-factor/reset").status_code == 400  # no token
    done = post(admin, f"/admin/users/{hart}/second-factor/reset")
    assert done.status_code == 302
    assert "sets up a new one" in admin.get("/admin/users").get_data(as_text=True)
    assert browser.get("/queue").status_code == 302
    with app.extensions["ivr"].db.transaction() as session:
        user = session.get(User, hart)
        assert user is not None and user.totp_secret is None and not user.recovery_code_hashes
    # Without a second factor (and none required) the password alone signs in again.
    assert sign_in(app, "hart@cleveland.example").get("/queue").status_code == 200
    [entry] = entries(app, "reset_second_factor")
    assert entry.object_id == hart and entry.actor_id == me
    assert entry.details == {"had_one": True, "sessions": 1, "via": "admin page"}
