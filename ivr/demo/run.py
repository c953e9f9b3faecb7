"""Run the demo: fresh database, sample import, every call through the real webhooks."""

from __future__ import annotations

import io
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select

from ivr.app import create_app
from ivr.config import Settings
from ivr.demo.people import drama_numbers, uss_csv, vcas_csv
from ivr.demo.personas import Persona, pick_kind
from ivr.queue import InProcessQueue
from ivr.reports import SurveySummary, survey_summary
from ivr.sample import import_sample
from ivr.store.db import Database
from ivr.store.models import Case
from ivr.telephony.respondents import Scripted, press
from ivr.telephony.simulator import TwilioSimulator, WSGITransport

SURVEY_NUMBER = "+441134960999"
PUBLIC_BASE_URL = "https://ivr.example.test"


@dataclass
class DemoResult:
    """What the demo did, for the summary and for tests."""

    database_url: str
    calls: int = 0
    repeated_calls: int = 0
    unknown_callers: int = 0
    mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    summaries: dict[str, SurveySummary] = field(default_factory=dict)
    seconds: float = 0.0


def fresh_sqlite(path: Path) -> str:
    """Delete any earlier demo database at ``path`` and return its URL."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_demo(path: Path, *, uss_cases: int = 250, vcas_cases: int = 50, unknown: int = 10,
             seed: int = 2026, console: Console | None = None) -> DemoResult:
    """Import fictional samples and play every case's call through the simulator."""
    started = time.perf_counter()
    console = console or Console(stderr=True)
    rng = random.Random(seed)
    url = fresh_sqlite(path)
    Database(url).upgrade()
    token = secrets.token_hex(16)
    settings = Settings.from_env({}).but(
        database_url=url, twilio_auth_token=token, twilio_account_sid="AC" + "0" * 32,
        twilio_from_number=SURVEY_NUMBER, public_base_url=PUBLIC_BASE_URL,
        secret_key=secrets.token_hex(16),
    )
    app = create_app(settings, queue=InProcessQueue())
    services = app.extensions["ivr"]
    numbers = [n for n in drama_numbers() if n != SURVEY_NUMBER]
    today = date.today()
    files = {
        "uss": uss_csv(uss_cases, numbers[:uss_cases], rng, today),
        "vcas_exit": vcas_csv(vcas_cases, numbers[uss_cases:uss_cases + vcas_cases], rng, today),
    }
    for survey, text in files.items():
        with services.db.transaction() as session:
            report = import_sample(session, services.questionnaires.current(survey).questionnaire,
                                   io.StringIO(text), today=today)
        if report.problems:
            raise RuntimeError(f"demo sample for {survey} did not import: {report.problems[0]}")
    with services.db.transaction() as session:
        phones = list(session.scalars(select(Case.phone).order_by(Case.id)))
    strangers = numbers[uss_cases + vcas_cases:uss_cases + vcas_cases + unknown]
    result = DemoResult(url)
    plain = TwilioSimulator(WSGITransport(app), auth_token=token, public_base_url=PUBLIC_BASE_URL)
    retrying = TwilioSimulator(WSGITransport(app), auth_token=token,
                               public_base_url=PUBLIC_BASE_URL, repeat_requests=True)
    with Progress(console=console, transient=False) as progress:
        task = progress.add_task("Calls", total=len(phones) + len(strangers))
        for i, phone in enumerate(phones):
            kind = pick_kind(rng)
            # Every fifth call has each webhook delivered twice, as Twilio's retries would.
            sim = retrying if i % 5 == 0 else plain
            call = sim.call(from_=phone, to=SURVEY_NUMBER, respondent=Persona(kind, rng))
            result.calls += 1
            result.repeated_calls += sim is retrying
            result.kinds[kind] += 1
            result.mismatches.extend(call.mismatches)
            result.errors.extend(call.errors)
            progress.advance(task)
        for phone in strangers:
            call = plain.call(from_=phone, to=SURVEY_NUMBER, respondent=Scripted(press("1")))
            result.unknown_callers += 1
            result.errors.extend(call.errors)
            progress.advance(task)
    with services.db.transaction() as session:
        result.summaries = {s: survey_summary(session, s) for s in files}
    services.db.dispose()
    result.seconds = time.perf_counter() - started
    return result


def print_summary(result: DemoResult, database_path: Path, console: Console) -> None:
    """Interviews by status, % satisfied with 95% intervals, referrals by district."""
    console.print(f"\n[bold]Demo finished[/bold] in {result.seconds:.1f} s: {result.calls} "
                  f"survey calls ({result.repeated_calls} with every webhook sent twice) and "
                  f"{result.unknown_callers} calls from unknown numbers.")
    if result.errors or result.mismatches:
        console.print(f"[red]Problems: {len(result.errors)} errors, "
                      f"{len(result.mismatches)} retry mismatches[/red]")
        for line in (result.errors + result.mismatches)[:10]:
            console.print(f"  {line}", markup=False)
    else:
        console.print("Every retried webhook got the same answer as the first delivery.")
    for survey, summary in result.summaries.items():
        statuses = Table(title=f"{survey}: interviews by status")
        statuses.add_column("status")
        statuses.add_column("interviews", justify="right")
        for status, count in sorted(summary.interviews_by_status.items()):
            statuses.add_row(status, str(count))
        console.print(statuses)
        core = Table(title=f"{survey}: satisfied (keys 1-3 / yes) per core question, 95% CI")
        for column in ("question", "answered", "satisfied", "%", "95% CI"):
            core.add_column(column, justify="left" if column == "question" else "right")
        for row in summary.core:
            core.add_row(row.question_id, str(row.answered), str(row.satisfied),
                         f"{row.percent:.1f}", f"{row.ci_low:.1f} - {row.ci_high:.1f}")
        console.print(core)
        referrals = Table(title=f"{survey}: referrals by district or service")
        for column in ("district", "service_recovery", "action_alert"):
            referrals.add_column(column, justify="left" if column == "district" else "right")
        for district, kinds in sorted(summary.referrals_by_district.items()):
            referrals.add_row(district, str(kinds.get("service_recovery", 0)),
                              str(kinds.get("action_alert", 0)))
        console.print(referrals)
    env = f"DATABASE_URL=sqlite:///{database_path}"
    console.print("\n[bold]What to run next[/bold]")
    for command in (
        f"{env} ivr referrals list",
        f"{env} ivr results summary --survey uss",
        f"{env} ivr results export --survey uss --format csv",
        "ivr questionnaires check",
        "python -m pytest",
    ):
        console.print(f"  {command}", markup=False, soft_wrap=True)
