"""Gunicorn's settings for the web process: ``gunicorn -c python:ivr.gunicorn_config ivr.wsgi:app``.

Each worker builds the app, then moves every object that exists at that point (modules,
the app, questionnaires, SQLAlchemy's tables) into the collector's permanent generation
with :func:`gc.freeze`. Those objects live as long as the worker, yet without the freeze a
full collection walks all of them: a pause of tens of milliseconds that lands on whichever
request is running. The thresholds are raised for the same reason: a request allocates and
frees many short-lived objects, and collecting the young generation every 700 allocations
costs more than it finds.
"""

from __future__ import annotations

import gc
import os
from typing import Any

#: Sync workers: each serves one request at a time; a turn is short and mostly waits on the
#: database, so two to four per core keep the cores busy.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
#: Twilio waits 15 seconds for a webhook; a worker stuck longer than that helps nobody.
timeout = 30
#: Twilio reuses connections; a keep-alive longer than its idle time saves a handshake.
keepalive = 5

#: Young-generation threshold: allocations between collections (CPython's default is 700).
GC_THRESHOLD = (50_000, 20, 100)


def post_worker_init(worker: Any) -> None:
    """After the worker has loaded the app: collect once, then freeze what is left."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)
