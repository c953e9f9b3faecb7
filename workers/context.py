"""The app a job runs in: the caller's (in-process queue), or the worker's own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, has_app_context

from ivr.app import Services, create_app, services

_worker_app: Flask | None = None


@contextmanager
def app_services() -> Iterator[Services]:
    """The running app's services; a worker builds its app from the environment once."""
    global _worker_app
    if has_app_context():
        yield services()
        return
    if _worker_app is None:
        _worker_app = create_app()
    with _worker_app.app_context():
        yield services()
