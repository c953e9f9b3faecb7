"""The questionnaire pages: each survey's versions with the interviews pinned to them, a
readable view, the diff between two versions, and a new version checked and published
(by administrators only), which new interviews use while running ones keep theirs."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from ivr.questionnaire.loader import parse_questionnaire
from ivr.store.interviews import pin_version
from ivr.store.models import AuditEntry, Interview, QuestionnaireVersion
from ivr.telephony.respondents import Prompt, Scripted, press
from tests.conftest import ROOT, SURVEY_NUMBER, add_case, make_settings, simulator
from tests.functional.staff_web import csrf, sign_in
from tests.functional.test_referral_queue import add_staff

ADMIN = "admin@cleveland.example"
SUPERVISOR = "supervisor@cleveland.example"
SATISFIED = ("1", "1", "1", "2", "3", "2", "1", "2")
OLD_WORDS = "the way you were treated"
NEW_WORDS = "how you were treated"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The bundled questionnaires copied, so that publishing changes only the test's own."""
    copied = tmp_path / "questionnaires"
    shutil.copytree(ROOT / "questionnaires", copied)
    return copied


@pytest.fixture
def app(any_db: str, folder: Path) -> Iterator[Flask]:
    app = create_app(make_settings(any_db, questionnaires_dir=folder), queue=InProcessQueue())
    yield app
    app.extensions["ivr"].db.dispose()


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    add_staff(app, ADMIN, "admin")
    return sign_in(app, ADMIN)


@pytest.fixture
def supervisor(app: Flask) -> FlaskClient:
    add_staff(app, SUPERVISOR, "supervisor")
    return sign_in(app, SUPERVISOR)


def edited(text: str, version: str = "2026.3") -> str:
    """The USS questionnaire with a new version string and the treatment question reworded."""
    assert OLD_WORDS in text
    return text.replace('version: "2026.2"', f'version: "{version}"').replace(OLD_WORDS, NEW_WORDS)


def page_text(response: Any) -> str:
    """A page's words, tags dropped, as a reader meets them."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def check(client: FlaskClient, text: str, survey: str = "uss") -> Any:
    token = csrf(client.get(f"/admin/questionnaires/{survey}/new").get_data(as_text=True))
    return client.post(
        f"/admin/questionnaires/{survey}/check", data={"csrf_token": token, "text": text}
    )


def publish_form(page: str) -> dict[str, str]:
    """The hidden fields of a checked version's Publish form, as the browser sends them."""
    form = page[page.index('action="/admin/questionnaires/uss/publish"') :]
    form = form[: form.index("</form>")]
    fields = dict(re.findall(r'name="([a-z_0-9]+)" value="([^"]*)"', form))
    return {name: unescape(value) for name, value in fields.items()}


def check_and_publish(client: FlaskClient, text: str) -> Any:
    checked = check(client, text)
    assert checked.status_code == 200, page_text(checked)
    return client.post(
        "/admin/questionnaires/uss/publish", data=publish_form(checked.get_data(as_text=True))
    )


def audit_entries(app: Flask, action: str) -> list[AuditEntry]:
    with app.extensions["ivr"].db.transaction() as session:
        found = list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        session.expunge_all()
    return found


def add_interview(app: Flask, case_ref: str, status: str, *, text: str | None = None) -> int:
    """An interview of a new USS case pinned to the current file (or to ``text``)."""
    registry = app.extensions["ivr"].questionnaires
    loaded = registry.current("uss")
    if text is not None:
        loaded = parse_questionnaire(text, "uss.yaml")
    case = add_case(app, case_ref=case_ref, phone=f"+4411349600{len(case_ref):02d}")
    with app.extensions["ivr"].db.transaction() as session:
        version_id = pin_version(session, loaded)
        interview = Interview(
            case_id=case.id, questionnaire_version_id=version_id, channel="phone", status=status
        )
        session.add(interview)
        session.flush()
        return interview.id


def test_each_survey_lists_its_versions_with_interviews_in_progress_and_ended(
    app: Flask, admin: FlaskClient, folder: Path
) -> None:
    add_interview(app, "A", "in_progress")
    add_interview(app, "BB", "completed")
    add_interview(app, "CCC", "partial")
    add_interview(
        app, "DDDD", "completed", text=edited((folder / "uss.yaml").read_text(), "2025.9")
    )
    response = admin.get("/admin/questionnaires")
    assert response.status_code == 200
    text = page_text(response)
    assert "Victim satisfaction survey (Home Office core questions)" in text
    assert "Current version 2026.2 (file uss.yaml )" in text
    # Version, first seen, in progress, ended: one running and two ended on the current text.
    assert re.search(r"2026\.2 current \d{4}-\d\d-\d\d \d\d:\d\d 1 2 [0-9a-f]{12} ", text)
    assert re.search(r"2025\.9 \d{4}-\d\d-\d\d \d\d:\d\d 0 1 [0-9a-f]{12} ", text)
    assert "Compare with the current file (version 2025.9)" in text


def test_the_readable_view_shows_prompts_answers_and_rules_not_yaml(
    app: Flask, supervisor: FlaskClient
) -> None:
    response = supervisor.get("/admin/questionnaires/uss/versions/current")
    assert response.status_code == 200
    text = page_text(response)
    assert OLD_WORDS in text
    assert "Am I speaking to {first_name}?" in text
    assert "Satisfaction scale, 1 to 7" in text
    assert "Counted as positive in results: satisfied: completely, very or fairly." in text
    assert (
        "Answers counted as dissatisfied: fairly dissatisfied, very dissatisfied or "
        "completely dissatisfied." in text
    )
    assert "Service-recovery referral when any core question is answered dissatisfied" in text
    assert "Attempts at most 6" in text
    assert "type: scale7" not in text
    download = supervisor.get("/admin/questionnaires/uss/versions/current/download")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True) == (ROOT / "questionnaires" / "uss.yaml").read_text()


def test_a_stored_version_reads_and_diffs_against_the_current_file(
    app: Flask, admin: FlaskClient, folder: Path
) -> None:
    older = (folder / "uss.yaml").read_text().replace('version: "2026.2"', 'version: "2026.1"')
    older = older.replace(OLD_WORDS, "the manner in which you were treated")
    add_interview(app, "A", "completed", text=older)
    with app.extensions["ivr"].db.transaction() as session:
        stored_id = session.scalar(select(QuestionnaireVersion.id))
    view = admin.get(f"/admin/questionnaires/uss/versions/{stored_id}")
    assert "the manner in which you were treated" in page_text(view)
    diff = admin.get(f"/admin/questionnaires/uss/diff?from={stored_id}&to=current")
    assert diff.status_code == 200
    text = page_text(diff)
    assert "Question treatment: its prompt changed." in text
    assert re.search(r"\d+ − removed .*the manner in which you were treated", text)
    assert re.search(r"\d+ \+ added .*" + OLD_WORDS, text)
    assert re.search(r'− removed .*version: "2026.1"', text)
    for missing in (
        "/admin/questionnaires/uss/versions/999",
        "/admin/questionnaires/nope/versions/current",
        "/admin/questionnaires/uss/diff?from=x",
        f"/admin/questionnaires/vcas_exit/versions/{stored_id}",
    ):
        assert admin.get(missing).status_code == 404, missing


def test_an_upload_with_errors_shows_file_and_line_and_changes_nothing(
    app: Flask, admin: FlaskClient, folder: Path
) -> None:
    before = (folder / "uss.yaml").read_text()
    broken = edited(before).replace("type: scale7", "type: slider", 1)
    response = check(admin, broken)
    assert response.status_code == 400
    text = page_text(response)
    line = next(n for n, words in enumerate(broken.splitlines(), 1) if "type: slider" in words)
    assert f"uss.yaml:{line}: question 'ease_of_contact':" in text
    assert f"Line {line}: type: slider" in text
    assert "There is a problem" in text
    assert "Publish version" not in text
    assert (folder / "uss.yaml").read_text() == before
    # Not YAML at all, not UTF-8, too large, empty: each is said, nothing is changed.
    assert "uss.yaml:1:" in page_text(check(admin, "id: [uss"))
    token = csrf(admin.get("/admin/questionnaires/uss/new").get_data(as_text=True))
    latin = admin.post(
        "/admin/questionnaires/uss/check",
        data={
            "csrf_token": token,
            "file": (io.BytesIO("caf\xe9".encode("latin-1")), "uss.yaml"),
        },
        content_type="multipart/form-data",
    )
    assert latin.status_code == 400
    assert "not UTF-8" in page_text(latin)
    big = check(admin, "# " + "x" * (300 * 1024))
    assert big.status_code in (400, 413)
    assert "largest accepted is 256 KB" in page_text(big)
    assert "empty" in page_text(check(admin, "   "))
    assert (folder / "uss.yaml").read_text() == before


def test_an_upload_that_may_not_replace_the_current_version_is_refused(
    admin: FlaskClient, folder: Path
) -> None:
    current = (folder / "uss.yaml").read_text()
    same = check(admin, current)
    assert same.status_code == 400
    assert "same text as the current one" in page_text(same)
    reworded = check(admin, current.replace(OLD_WORDS, NEW_WORDS))
    assert reworded.status_code == 400
    assert "give it a new version" in page_text(reworded)
    other = check(admin, (folder / "vcas_exit.yaml").read_text())
    assert other.status_code == 400
    assert "not of 'uss'" in page_text(other)
    unknown = check(admin, edited(current).replace("id: uss", "id: uss_pilot", 1))
    assert unknown.status_code == 400
    assert "There is no survey 'uss_pilot'" in page_text(unknown)
    assert (folder / "uss.yaml").read_text() == current


def test_publishing_changes_the_file_and_new_interviews_while_running_ones_keep_theirs(
    app: Flask, admin: FlaskClient, folder: Path
) -> None:
    path = folder / "uss.yaml"
    original = path.read_text()
    add_case(app, case_ref="A", phone="+441134960001")
    add_case(app, case_ref="B", phone="+441134960002")

    class PublishesMidCall(Scripted):
        """Answers the survey, and has an administrator publish a new version meanwhile."""

        def respond(self, heard: str, prompt: Prompt):  # type: ignore[no-untyped-def]
            if len(self.heard) == 3:
                published = check_and_publish(admin, edited(original))
                assert published.status_code == 302, page_text(published)
            return super().respond(heard, prompt)

    first = simulator(app).call(
        from_="+441134960001",
        to=SURVEY_NUMBER,
        respondent=PublishesMidCall(*(press(k) for k in SATISFIED)),
    )
    assert OLD_WORDS in first.heard_text
    assert path.read_text() == edited(original)
    assert app.extensions["ivr"].questionnaires.current("uss").questionnaire.version == "2026.3"
    second = simulator(app).call(
        from_="+441134960002", to=SURVEY_NUMBER, respondent=Scripted(*(press(k) for k in SATISFIED))
    )
    assert NEW_WORDS in second.heard_text
    with app.extensions["ivr"].db.transaction() as session:
        pinned = session.execute(
            select(Interview.status, QuestionnaireVersion.version)
            .join(QuestionnaireVersion)
            .order_by(Interview.id)
        ).all()
    assert [tuple(row) for row in pinned] == [("completed", "2026.2"), ("completed", "2026.3")]
    [entry] = audit_entries(app, "publish_questionnaire")
    assert entry.details["survey"] == "uss"
    assert entry.details["old_version"] == "2026.2"
    assert entry.details["new_version"] == "2026.3"
    assert len(entry.details["sha256"]) == 64
    assert entry.object_type == "questionnaire_version"
    # No temporary file is left beside the questionnaires.
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        "lpcs.yaml",
        "uss.yaml",
        "vcas_exit.yaml",
    ]


def test_after_publishing_the_diff_back_to_the_previous_text_is_there(
    app: Flask, admin: FlaskClient, folder: Path
) -> None:
    published = check_and_publish(admin, edited((folder / "uss.yaml").read_text()))
    assert published.status_code == 302
    diff = admin.get(published.headers["Location"])
    text = page_text(diff)
    assert "Version 2026.3 is published" in text
    assert "From version 2026.2 (stored" in text
    assert "Question treatment: its prompt changed." in text
    assert re.search(r"\+ added .*" + NEW_WORDS, text)
    listing = page_text(admin.get("/admin/questionnaires"))
    assert re.search(r"2026\.3 current .* 2026\.2 ", listing)


def test_publish_checks_the_text_again(app: Flask, admin: FlaskClient, folder: Path) -> None:
    path = folder / "uss.yaml"
    before = path.read_text()
    checked = check(admin, edited(before))
    form = publish_form(checked.get_data(as_text=True))
    # Text changed after it was checked: the digest no longer matches.
    tampered = dict(form, text=form["text"].replace(NEW_WORDS, "whatever"))
    assert admin.post("/admin/questionnaires/uss/publish", data=tampered).status_code == 409
    # Text and digest both changed to something invalid: checked again and refused.
    broken = form["text"].replace("type: scale7", "type: slider", 1)
    forged = dict(form, text=broken, sha256=hashlib.sha256(broken.encode()).hexdigest())
    refused = admin.post("/admin/questionnaires/uss/publish", data=forged)
    assert refused.status_code == 400
    assert "uss.yaml:" in page_text(refused)
    # The file changed on disk since the check.
    path.write_text(before + "\n# an edit made meanwhile\n")
    assert admin.post("/admin/questionnaires/uss/publish", data=form).status_code == 409
    assert path.read_text() == before + "\n# an edit made meanwhile\n"
    # No CSRF token: refused before anything is read.
    without = {name: value for name, value in form.items() if name != "csrf_token"}
    assert admin.post("/admin/questionnaires/uss/publish", data=without).status_code == 400
    assert audit_entries(app, "publish_questionnaire") == []


def test_a_supervisor_reads_but_cannot_check_or_publish(
    app: Flask, admin: FlaskClient, supervisor: FlaskClient, folder: Path
) -> None:
    assert supervisor.get("/admin/questionnaires").status_code == 200
    assert "Check and publish" not in page_text(supervisor.get("/admin/questionnaires"))
    assert supervisor.get("/admin/questionnaires/uss/diff").status_code == 200
    assert supervisor.get("/admin/questionnaires/uss/new").status_code == 403
    checked = check(admin, edited((folder / "uss.yaml").read_text()))
    form = publish_form(checked.get_data(as_text=True))
    token = csrf(
        supervisor.get("/admin/questionnaires/uss/versions/current").get_data(as_text=True)
    )
    assert (
        supervisor.post(
            "/admin/questionnaires/uss/publish", data=dict(form, csrf_token=token)
        ).status_code
        == 403
    )
    assert (
        supervisor.post(
            "/admin/questionnaires/uss/check", data=dict(form, csrf_token=token)
        ).status_code
        == 403
    )
    assert 'version: "2026.2"' in (folder / "uss.yaml").read_text()
    interviewer = "interviewer@cleveland.example"
    add_staff(app, interviewer, "interviewer")
    assert sign_in(app, interviewer).get("/admin/questionnaires").status_code == 403
    assert app.test_client().get("/admin/questionnaires").status_code == 302


def test_the_audit_log_finds_entries_by_case_user_action_and_day(
    app: Flask, admin: FlaskClient
) -> None:
    add_case(app, case_ref="CR/0001/26")
    assert admin.get("/admin/subjects?survey=uss&case_ref=CR/0001/26").status_code == 200
    found = admin.get("/admin/audit?case_ref=CR/0001/26")
    assert found.status_code == 200
    assert "1 entry" in page_text(found)
    assert "0 entries" in page_text(admin.get("/admin/audit?case_ref=CR/0002/26"))
    by_user = page_text(admin.get(f"/admin/audit?user={ADMIN}&action=view_subject_data"))
    assert "entries" in by_user or "entry" in by_user
    csv_file = admin.get("/admin/audit.csv?case_ref=CR/0001/26")
    assert csv_file.status_code == 200
    assert csv_file.get_data(as_text=True).startswith("at,actor,address,action")
    assert admin.get("/admin/audit?from=2026-13-01").status_code == 400


def test_a_file_with_windows_line_ends_is_checked_and_published_as_the_others_are(
    app: Flask, admin: FlaskClient, folder: Path
) -> None:
    wanted = edited((folder / "uss.yaml").read_text())
    token = csrf(admin.get("/admin/questionnaires/uss/new").get_data(as_text=True))
    checked = admin.post(
        "/admin/questionnaires/uss/check",
        data={
            "csrf_token": token,
            "text": "",
            "file": (io.BytesIO(wanted.replace("\n", "\r\n").encode("utf-8")), "uss.yaml"),
        },
        content_type="multipart/form-data",
    )
    assert checked.status_code == 200, page_text(checked)
    form = publish_form(checked.get_data(as_text=True))
    # A browser sends a field's line ends as CRLF: the digest is of the text as stored.
    form["text"] = form["text"].replace("\n", "\r\n")
    assert admin.post("/admin/questionnaires/uss/publish", data=form).status_code == 302
    assert (folder / "uss.yaml").read_bytes() == wanted.encode("utf-8")
    assert audit_entries(app, "publish_questionnaire")[0].details["sha256"] == (
        hashlib.sha256(wanted.encode("utf-8")).hexdigest()
    )
