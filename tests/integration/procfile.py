"""The Procfile's worker line, as the integration tests run it: the same RQ worker class."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

PROCFILE = Path(__file__).resolve().parents[2] / "Procfile"


def _worker_options() -> list[str]:
    """The options the Procfile gives ``rq worker``, but the URL and the scheduler (each
    test has its own Redis database and runs no scheduler)."""
    for line in PROCFILE.read_text().splitlines():
        if line.startswith("worker:"):
            words = shlex.split(line.removeprefix("worker:"))
            break
    else:
        raise AssertionError("the Procfile has no worker line")
    assert words[:2] == ["rq", "worker"], words
    options, rest = [], iter(words[2:])
    for word in rest:
        if word == "--url":
            next(rest)
        elif word != "--with-scheduler":
            options.append(word)
    return options


def rq_worker_command(redis_url: str, *queues: str, burst: bool = True) -> list[str]:
    """``rq worker`` with the Procfile's options, on ``redis_url`` and ``queues``."""
    return [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        *_worker_options(),
        *(["--burst"] if burst else []),
        "--url",
        redis_url,
        *queues,
    ]
