"""Run the demo: fresh database, sample import, every call through the real webhooks."""

from __future__ import annotations

import io
import random
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ivr.accounts.staff import add_user
from ivr.app import create_app
from ivr.campaigns.limiter import LocalRateLimiter
from ivr.campaigns.samples import import_sample
from ivr.campaigns.scheduler import Campaign, campaign_for, tick
from ivr.campaigns.scheduler import status as campaign_status
from ivr.config import Settings
from ivr.demo.people import DISTRICTS, drama_numbers, uss_csv, vcas_csv
from ivr.demo.personas import LATER_KIND, Persona, pick_kind
from ivr.jobs import InProcessQueue
from ivr.results.reports import SurveySummary, survey_summary
from ivr.store import campaigns as campaign_store
from ivr.store.db import Database
from ivr.telephony.fake_api import FakeTwilioApi, Fate, busy, human, machine, no_answer
from ivr.telephony.port import TwilioTelephony
from ivr.telephony.respondents import Scripted, press
from ivr.telephony.simulator import TwilioSimulator, WSGITransport

SURVEY_NUMBER = "+441134960999"
PUBLIC_BASE_URL = "https://ivr.example.test"
ACCOUNT_SID = "AC" + "0" * 32


@dataclass
class DemoResult:
    """What the demo did, for the summary and for tests."""

    database_url: str
    calls: int = 0
    repeated_calls: int = 0
    unknown_callers: int = 0
    call_backs: int = 0
    mismatches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    fates: Counter[str] = field(default_factory=Counter)
    summaries: dict[str, SurveySummary] = field(default_factory=dict)
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    simulated_days: float = 0.0
    seconds: float = 0.0
    #: Cases left for the interviewers' console, due today.
    console_cases: int = 0
    #: The demo's staff accounts (email, role, districts) and their shared password.
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    password: str = ""


def fresh_sqlite(path: Path) -> str:
    """Delete any earlier demo database at ``path`` and return its URL."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


class SimulatedClock:
    """The demo's time: it jumps ahead between scheduler passes."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


#: How each victim's phone line behaves, and how often: most answer at some point.
LINES = {"answers": 55, "often_out": 20, "busy_first": 6, "machine_first": 9, "never": 10}


class DemoLines:
    """Decides each outbound call's fate: the victim's line, then the victim's persona."""

    def __init__(self, rng: random.Random, result: DemoResult) -> None:
        self.rng, self.result = rng, result
        self.line: dict[str, str] = {}
        self.kind: dict[str, str] = {}
        self.rung: Counter[str] = Counter()

    def __call__(self, to: str, _params: Mapping[str, str]) -> Fate:
        line = self.line.setdefault(to, _pick(LINES, self.rng))
        self.rung[to] += 1
        attempt = self.rung[to]
        if line == "never" or (line == "often_out" and attempt <= 2):
            fate, name = no_answer(), "no answer"
        elif line == "busy_first" and attempt == 1:
            fate, name = busy(), "busy"
        elif line == "machine_first" and attempt == 1:
            fate, name = machine(), "answering machine"
        else:
            kind = self.kind.setdefault(to, pick_kind(self.rng))
            if kind in LATER_KIND:
                # At the appointment, or when rung back to carry on, they take part.
                self.kind[to] = LATER_KIND[kind]
            self.result.kinds[kind] += 1
            fate, name = human(Persona(kind, self.rng)), "answered"
        self.result.fates[name] += 1
        return fate


def _pick(weights: Mapping[str, int], rng: random.Random) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def run_demo(
    path: Path,
    *,
    uss_cases: int = 250,
    vcas_cases: int = 50,
    unknown: int = 10,
    seed: int = 2026,
    days: int = 21,
    console: Console | None = None,
) -> DemoResult:
    """Import fictional samples and run both surveys' campaigns on a simulated clock.

    The dialler places its calls with Twilio's REST client against a fake Twilio API on
    loopback, which plays each call back through the real webhooks (signed, following the
    TwiML) as the victim's line and persona would answer it.
    """
    started = time.perf_counter()
    console = console or Console(stderr=True)
    rng = random.Random(seed)
    url = fresh_sqlite(path)
    Database(url).upgrade()
    token = secrets.token_hex(16)
    settings = Settings.from_env({}).but(
        database_url=url,
        twilio_auth_token=token,
        twilio_account_sid=ACCOUNT_SID,
        twilio_from_number=SURVEY_NUMBER,
        public_base_url=PUBLIC_BASE_URL,
        secret_key=secrets.token_hex(16),
        max_concurrent_calls=40,
    )
    zone = ZoneInfo("Europe/London")
    today = date.today()
    # Monday of this week, 09:00 in London: the first window opens an hour later.
    monday = today - timedelta(days=today.weekday())
    clock = SimulatedClock(datetime.combine(monday, dt_time(9), tzinfo=zone).astimezone(UTC))
    app = create_app(settings, queue=InProcessQueue(), clock=clock)
    services = app.extensions["ivr"]
    numbers = [n for n in drama_numbers() if n != SURVEY_NUMBER]
    files = {
        "uss": uss_csv(uss_cases, numbers[:uss_cases], rng, monday),
        "vcas_exit": vcas_csv(vcas_cases, numbers[uss_cases : uss_cases + vcas_cases], rng, monday),
    }
    for survey, text in files.items():
        with services.db.transaction() as session:
            report = import_sample(
                session,
                services.questionnaires.current(survey).questionnaire,
                io.StringIO(text),
                today=monday,
            )
        if report.problems:
            raise RuntimeError(f"demo sample for {survey} did not import: {report.problems[0]}")
        with services.db.begin() as conn:
            campaign_store.set_campaign_status(conn, survey, "running", clock())
    strangers = numbers[uss_cases + vcas_cases : uss_cases + vcas_cases + unknown]
    result = DemoResult(url)
    # Staff first, so that each new referral notifies its district's officers.
    result.password = secrets.token_urlsafe(12)
    with services.db.transaction() as session:
        for email, role, districts in demo_staff():
            add_user(
                session,
                email,
                role=role,
                password=result.password,
                districts=[districts] if districts else [],
            )
            result.accounts.append((email, role, districts))
    lines = DemoLines(rng, result)
    fake = FakeTwilioApi(
        WSGITransport(app),
        account_sid=ACCOUNT_SID,
        auth_token=token,
        fate=lines,
        repeat_webhooks=True,
        duplicate_callbacks=True,
    )
    inbound = TwilioSimulator(WSGITransport(app), auth_token=token, public_base_url=PUBLIC_BASE_URL)
    campaigns = {s: campaign_for(services.questionnaires, s) for s in files}
    begun = clock()
    end = begun + timedelta(days=days)
    with (
        fake.serving() as api_url,
        app.app_context(),
        Progress(console=console, transient=False) as progress,
    ):
        services.telephony = TwilioTelephony(ACCOUNT_SID, token, api_base_url=api_url)
        # Simulated time: pacing by the real clock would only make the demo slow.
        services.limiter = LocalRateLimiter(10_000)
        task = progress.add_task("Simulated days", total=days)
        called_back = False
        while clock() < end:
            for campaign in campaigns.values():
                tick(
                    services.db,
                    campaign,
                    services.queue,
                    clock(),
                    max_concurrent_calls=settings.max_concurrent_calls,
                )
            for call in fake.play_pending():
                result.calls += 1
                result.repeated_calls += call.record is not None
                if call.record is not None:
                    result.mismatches.extend(call.record.mismatches)
                    result.errors.extend(call.record.errors)
                result.errors.extend(call.errors)
            if not called_back and clock() - begun > timedelta(hours=5):
                # A few victims with calls still to come ring the survey number themselves,
                # and some strangers ring it too.
                called_back = True
                result.call_backs = _victims_call_back(services, inbound, rng, result)
                for phone in strangers:
                    stranger = inbound.call(
                        from_=phone, to=SURVEY_NUMBER, respondent=Scripted(press("1"))
                    )
                    result.unknown_callers += 1
                    result.errors.extend(stranger.errors)
            clock.now = _next_pass(campaigns.values(), clock())
            progress.update(task, completed=min(days, (clock() - begun) / timedelta(days=1)))
        result.simulated_days = days
        for survey, campaign in campaigns.items():
            result.campaigns[survey] = campaign_status(services.db, campaign, clock())
    # A last sample, due on today's real date and rung by nobody yet: the interviewers'
    # console deals these out ("Next case") inside today's calling windows.
    console_numbers = numbers[
        uss_cases + vcas_cases + unknown : uss_cases + vcas_cases + unknown + CONSOLE_CASES
    ]
    with services.db.transaction() as session:
        import_sample(
            session,
            services.questionnaires.current("uss").questionnaire,
            io.StringIO(uss_csv(CONSOLE_CASES, console_numbers, rng, today, first=uss_cases)),
            today=today,
        )
    result.console_cases = CONSOLE_CASES
    with services.db.transaction() as session:
        result.summaries = {s: survey_summary(session, s) for s in files}
    services.db.dispose()
    result.seconds = time.perf_counter() - started
    return result


def demo_staff() -> list[tuple[str, str, str]]:
    """(email, role, district) of the demo's accounts: one officer per district."""
    people = [
        ("supervisor@demo.example", "supervisor", ""),
        ("admin@demo.example", "admin", ""),
        ("vcas.manager@demo.example", "service_manager", ""),
        ("interviewer@demo.example", "interviewer", ""),
    ]
    for district in DISTRICTS:
        slug = district.lower().replace(" and ", "-").replace(" ", "-")
        people.append((f"officer.{slug}@demo.example", "district_officer", district))
    return people


#: Cases imported after the simulation for interviewers to work from the console.
CONSOLE_CASES = 20

#: Simulated minutes between scheduler passes while a calling window is open.
PASS_MINUTES = 15


def _next_pass(campaigns: Iterable[Campaign], now: datetime) -> datetime:
    """The next scheduler pass: a quarter of an hour on, or when the next window opens."""
    later = now + timedelta(minutes=PASS_MINUTES)
    return min(c.policy.windows.next_open(later) for c in campaigns)


def _victims_call_back(
    services: Any, inbound: TwilioSimulator, rng: random.Random, result: DemoResult
) -> int:
    """Three victims still waiting for a call ring in and take part there and then."""
    with services.db.reading() as conn:
        waiting = campaign_store.waiting_phones(conn, "uss", limit=3)
    for phone in waiting:
        call = inbound.call(from_=phone, to=SURVEY_NUMBER, respondent=Persona("satisfied", rng))
        result.errors.extend(call.errors)
    return len(waiting)


def print_summary(result: DemoResult, database_path: Path, console: Console) -> None:
    """Interviews by status, % satisfied with 95% intervals, referrals by district."""
    console.print(
        f"\n[bold]Demo finished[/bold] in {result.seconds:.1f} s: "
        f"{result.simulated_days:g} simulated days of both surveys' campaigns, "
        f"{result.calls} outbound calls placed through the REST API and "
        f"{result.unknown_callers + result.call_backs} inbound calls "
        f"({result.unknown_callers} from unknown numbers)."
    )
    if result.errors or result.mismatches:
        console.print(
            f"[red]Problems: {len(result.errors)} errors, "
            f"{len(result.mismatches)} retry mismatches[/red]"
        )
        for line in (result.errors + result.mismatches)[:10]:
            console.print(f"  {line}", markup=False)
    else:
        console.print("Every retried webhook got the same answer as the first delivery.")
    console.print(
        "Outbound calls: "
        + ", ".join(f"{n} {name}" for name, n in result.fates.most_common())
        + f"; every webhook of the {result.repeated_calls} calls picked up (by a person or a "
        "machine) sent twice, and every status callback twice. "
        f"{result.call_backs} victims rang back before their next call was due."
    )
    for survey, campaign in result.campaigns.items():
        table = Table(title=f"{survey}: campaign, AAPOR final dispositions")
        table.add_column("disposition")
        table.add_column("cases", justify="right")
        for name, count in campaign["by_disposition"].items():
            table.add_row(name, str(count))
        table.add_row("still being worked", str(campaign["waiting"] + campaign["in_progress"]))
        table.add_row(
            "for interviewers only (not safe on an automated call)",
            str(campaign["for_interviewers"]),
        )
        console.print(table)
    for survey, summary in result.summaries.items():
        statuses = Table(title=f"{survey}: interviews by status")
        statuses.add_column("status")
        statuses.add_column("interviews", justify="right")
        for status, count in sorted(summary.interviews_by_status.items()):
            statuses.add_row(status, str(count))
        console.print(statuses)
        counted = summary.counted
        core = Table(
            title=f"{survey}: % positive per core question, 95% CI "
            f"({counted.get('complete', 0)} complete + "
            f"{counted.get('partial', 0)} partial interviews; don't know and "
            "does not apply kept out of the base)"
        )
        for column in (
            "question",
            "counted as positive",
            "base",
            "positive",
            "%",
            "95% CI",
            "not counted",
        ):
            core.add_column(
                column, justify="left" if column in ("question", "counted as positive") else "right"
            )
        for row in summary.core:
            core.add_row(
                row.question_id,
                row.counts_as,
                str(row.base),
                str(row.positive),
                f"{row.percent:.1f}",
                f"{row.ci_low:.1f} - {row.ci_high:.1f}",
                str(sum(row.not_counted.values())),
            )
        console.print(core)
        referrals = Table(title=f"{survey}: referrals by district or service")
        for column in ("district", "service_recovery", "action_alert"):
            referrals.add_column(column, justify="left" if column == "district" else "right")
        for district, kinds in sorted(summary.referrals_by_district.items()):
            referrals.add_row(
                district, str(kinds.get("service_recovery", 0)), str(kinds.get("action_alert", 0))
            )
        console.print(referrals)
    env = f"DATABASE_URL=sqlite:///{database_path}"
    accounts = Table(title="Staff accounts for the queue (fictional; password below)")
    for column in ("email", "role", "district"):
        accounts.add_column(column, overflow="fold")
    for email, role, district in result.accounts:
        accounts.add_row(email, role, district)
    console.print(accounts)
    console.print(f"Password of every demo account: {result.password}", markup=False)
    console.print(
        f"{result.console_cases} more USS cases are due today for the interviewers' "
        "console (Next case gives them out inside today's calling windows: "
        "Mon-Fri 10:00-20:30, weekends 10:00-18:00, UK time)."
    )
    console.print("\n[bold]What to run next[/bold]")
    console.print(
        f"  {env} ivr run --port 5000    # then sign in at http://127.0.0.1:5000/login",
        markup=False,
        soft_wrap=True,
    )
    for command in (
        f"{env} ivr campaign status --survey uss",
        f"{env} ivr referrals list",
        f"{env} ivr results summary --survey uss",
        f"{env} ivr results export --survey uss --format csv",
        "ivr questionnaires check",
        "python -m pytest",
    ):
        console.print(f"  {command}", markup=False, soft_wrap=True)
