"""Browser tests: the app served over HTTP on loopback, driven by Debian's Chromium through
Playwright. They skip locally without Chromium or Playwright and fail under CI=true."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from ivr.app import create_app
from ivr.jobs import InProcessQueue
from tests.conftest import make_settings, service_missing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        service_missing("Playwright", exc)
    if not Path(CHROMIUM).exists():
        service_missing("Chromium", FileNotFoundError(CHROMIUM))
    with sync_playwright() as playwright:
        # Root in a container has no user namespaces for Chromium's sandbox.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class LiveApp:
    """The app on a real HTTP server in a thread."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveApp:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.app.extensions["ivr"].db.dispose()


@pytest.fixture
def live(sqlite_url: str) -> Iterator[LiveApp]:
    app = create_app(make_settings(sqlite_url), queue=InProcessQueue())
    with LiveApp(app) as served:
        yield served


#: Milliseconds a page waits for a navigation, an element or a download (Playwright's
#: default is 30 s). Drawing a whole report as a PDF can take longer than that on a CI
#: machine running other tests beside it; a test that passes never waits for it.
PAGE_TIMEOUT_MS = 120_000


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Keep a full-page screenshot under build/screenshots for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
