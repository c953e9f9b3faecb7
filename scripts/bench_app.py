"""The WSGI app the turn benchmark serves: the product app plus one constant-TwiML route.

Gunicorn loads it as ``bench_app:create_bench_app()`` with the settings in environment
variables, exactly as production reads them; ``scripts/bench_turns.py`` prepares the
database and starts the server. The ``/twilio/bench-trivial`` route is the baseline a webhook turn
is compared with, so it lives here and never in the product.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

from flask import Flask, Response
from sqlalchemy import text

from ivr.accounts.guards import csrf
from ivr.app import create_app
from ivr.config import Settings
from ivr.demo.people import drama_numbers as all_drama_numbers
from ivr.jobs import InProcessQueue
from ivr.store.campaigns import add_missing_schedules
from ivr.store.db import Database
from ivr.store.models import Base, Case, utcnow

ROOT = Path(__file__).resolve().parent.parent
#: Under /twilio/ so that it passes through the app's hooks exactly as a webhook does (no
#: sign-in limit, no page headers): the ratio then isolates what a turn does itself.
TRIVIAL_PATH = "/twilio/bench-trivial"
TRIVIAL_TWIML = "<Response><Say>Hello</Say><Hangup/></Response>"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
#: The number callers dial; kept out of the generated callers so no case shares it.
SURVEY_NUMBER = "+441134960999"


def drama_numbers(count: int) -> list[str]:
    """``count`` distinct fictional numbers in E.164 (the demo's), never the survey number."""
    numbers = [n for n in all_drama_numbers() if n != SURVEY_NUMBER][:count]
    if len(numbers) < count:
        raise ValueError(f"only {len(numbers)} drama numbers are available, {count} asked for")
    return numbers


def bench_environ(
    database_url: str, public_base_url: str, auth_token: str = AUTH_TOKEN
) -> dict[str, str]:
    """Every product setting as an environment variable, so nothing leaks in from the shell.

    REDIS_URL is empty on purpose: a queue on Redis would add a network hop to turns that
    create referrals and make the figure depend on a service the benchmark does not start.
    """
    return {
        "IVR_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "SECRET_KEY": "bench-secret",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": auth_token,
        "TWILIO_FROM_NUMBER": SURVEY_NUMBER,
        "TWILIO_API_BASE_URL": "",
        "PUBLIC_BASE_URL": public_base_url,
        "IVR_QUESTIONNAIRES": str(ROOT / "questionnaires"),
    }


def _cases(phones: list[str]) -> Iterator[Case]:
    for index, phone in enumerate(phones):
        yield Case(
            survey="uss",
            case_ref=f"BENCH/{index:05d}/26",
            phone=phone,
            first_name="Alex",
            crime_type="burglary",
            district="Hartlepool",
            reported_on=date(2026, 9, 14),
        )


def prepare_database(database_url: str, phones: list[str]) -> None:
    """Create the schema with the product's migrations and store one USS case per phone.

    On anything but SQLite the ivr tables are dropped first, so a rerun starts from the
    same empty state as a fresh SQLite file.
    """
    db = Database(database_url)
    try:
        if db.engine.dialect.name != "sqlite":
            with db.engine.begin() as conn:
                Base.metadata.drop_all(conn)
                conn.execute(text("drop table if exists alembic_version"))
        db.upgrade()
        with db.transaction() as session:
            session.add_all(_cases(phones))
            session.flush()
            # As a sample import does: every case has a campaign schedule, which the end
            # of each call updates.
            add_missing_schedules(session.connection(), "uss", utcnow())
    finally:
        db.dispose()


def _trivial() -> Response:
    return Response(TRIVIAL_TWIML, content_type="text/xml; charset=utf-8")


def create_bench_app(environ: Mapping[str, str] | None = None) -> Flask:
    """The product app built from ``environ`` (default: the process environment) plus the
    constant-TwiML baseline route."""
    settings = Settings.from_env(environ)
    app = create_app(settings, queue=InProcessQueue())
    # Deliberately unsigned and stateless: it measures Flask, WSGI and HTTP overhead only.
    app.add_url_rule(TRIVIAL_PATH, "bench_trivial", _trivial, methods=["POST"])
    # Like the webhooks, it is called by Twilio, not a browser form: no CSRF token.
    csrf.exempt(_trivial)
    return app
