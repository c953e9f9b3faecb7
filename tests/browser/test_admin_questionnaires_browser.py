"""An administrator pastes an edit of a questionnaire, checks it, publishes it and reads
what changed, by keyboard alone in a real browser (headless Chromium)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivr.accounts.staff import add_user
from ivr.app import create_app
from ivr.jobs import InProcessQueue
from tests.browser.conftest import LiveApp, screenshot
from tests.browser.test_admin_browser import MAX_TABS, focused
from tests.conftest import ROOT, make_settings

PASSWORD = "correct horse battery staple"
ADMIN = "ada.admin@cleveland.example"
OLD_WORDS = "the way you were treated"
NEW_WORDS = "how you were treated"


def tab_to(page: Any, wanted: str) -> None:
    """Press Tab until the focused element says ``wanted`` (a screen reader's words: the
    visually hidden part of a link's text counts, however the browser breaks its lines)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if wanted in re.sub(r"\s+", " ", focused(page)):
            return
    raise AssertionError(f"no control saying {wanted!r} is reachable by Tab")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copied = tmp_path / "questionnaires"
    shutil.copytree(ROOT / "questionnaires", copied)
    return copied


@pytest.fixture
def live(sqlite_url: str, folder: Path) -> Iterator[LiveApp]:
    """The app served with its own copy of the questionnaires, which publishing changes."""
    app = create_app(make_settings(sqlite_url, questionnaires_dir=folder), queue=InProcessQueue())
    with LiveApp(app) as served:
        yield served


def test_an_admin_checks_publishes_and_reads_the_diff_by_keyboard(
    live: LiveApp, page: Any, folder: Path
) -> None:
    with live.app.extensions["ivr"].db.transaction() as session:
        add_user(session, ADMIN, role="admin", password=PASSWORD)
    page.goto(f"{live.url}/login")
    page.get_by_label("Email address").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.wait_for_url(re.compile(r".*/queue.*"))

    tab_to(page, "Data protection")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin$"))
    tab_to(page, "Questionnaires")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin/questionnaires$"))
    tab_to(page, "Check and publish a new version of Victim satisfaction survey")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/admin/questionnaires/uss/new$"))

    # First an edit that keeps the version string: refused, and said why.
    original = (folder / "uss.yaml").read_text()
    tab_to(page, "Questionnaire text (YAML)")
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(original.replace(OLD_WORDS, NEW_WORDS))
    tab_to(page, "Check this version")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/uss/check$"))
    summary = page.locator(".error-summary").inner_text()
    assert "give it a new version" in summary
    assert original == (folder / "uss.yaml").read_text()

    # Then the same edit as a new version: checked, shown, published.
    edited = original.replace('version: "2026.2"', 'version: "2026.3"').replace(
        OLD_WORDS, NEW_WORDS
    )
    tab_to(page, "Questionnaire text (YAML)")
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(edited)
    tab_to(page, "Check this version")
    # The same URL as the refused check's page: wait for this submission's own page.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Version 2026.3 passes every check" in page.locator("main").inner_text()
    assert (
        "Question treatment: its prompt changed." in page.locator("#question-changes").inner_text()
    )
    screenshot(page, "admin-questionnaire-checked")
    tab_to(page, "Publish version 2026.3")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/uss/diff\?.*"))

    main = page.locator("main").inner_text()
    assert "Version 2026.3 is published" in main
    assert "From version 2026.2" in main
    added = page.locator("tr.diff-added").filter(has_text=NEW_WORDS)
    assert "added" in added.first.inner_text()
    removed = page.locator("tr.diff-removed").filter(has_text=OLD_WORDS)
    assert "removed" in removed.first.inner_text()
    screenshot(page, "admin-questionnaire-diff")
    assert (folder / "uss.yaml").read_text() == edited
    served = live.app.extensions["ivr"].questionnaires.current("uss")
    assert served.questionnaire.version == "2026.3"
    # The comparison form is reached by keyboard too.
    tab_to(page, "Compare")
    assert "Compare" in focused(page)
