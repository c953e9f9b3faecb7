"""Run the demo: fresh database, sample import, every call through the real webhooks."""

from __future__ import annotations

import io
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from rich.text import Text

from ivr.accounts.staff import add_user
from ivr.app import create_app
from ivr.calendar import ZONE
from ivr.campaigns.limiter import LocalRateLimiter
from ivr.campaigns.samples import import_sample
from ivr.campaigns.scheduler import Campaign, campaign_for, tick
from ivr.campaigns.scheduler import status as campaign_status
from ivr.config import Settings
from ivr.demo.people import (
    DISTRICTS,
    DemoCase,
    drama_numbers,
    sample_csv,
    uss_csv,
    uss_victims,
    vcas_csv,
)
from ivr.demo.personas import KINDS, LATER_KIND, Persona, pick_kind
from ivr.demo.queue_work import give_calls_their_length, work_the_queue
from ivr.jobs import InProcessQueue
from ivr.questionnaire.demographics import ETHNIC_MINORITY, group_key
from ivr.results.model import Period
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
    #: The quarter each block of simulated calling began in, oldest first.
    quarters: list[str] = field(default_factory=list)
    #: What became of the referrals once the demo's staff had worked the queue.
    queue: Counter[str] = field(default_factory=Counter)


def simulation_settings(database_url: str, **more: Any) -> Settings:
    """Settings for a simulated run against the fake Twilio API: a fresh auth token and
    secret key each time, the survey number and public URL the simulation uses."""
    return Settings.from_env({}).but(
        database_url=database_url,
        twilio_auth_token=secrets.token_hex(16),
        twilio_account_sid=ACCOUNT_SID,
        twilio_from_number=SURVEY_NUMBER,
        public_base_url=PUBLIC_BASE_URL,
        secret_key=secrets.token_hex(16),
        **more,
    )


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
        #: Each number's victim's mood (see ``victim_mood``); 0 for anyone else.
        self.mood: dict[str, float] = {}
        #: The first victims to answer are one of each kind, in a random order, so that
        #: even a small demo shows every way a call can go; the rest are drawn.
        self.deck = list(KINDS)
        rng.shuffle(self.deck)

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
            if to not in self.kind:
                self.kind[to] = (
                    self.deck.pop() if self.deck else pick_kind(self.rng, self.mood.get(to, 0.0))
                )
            kind = self.kind[to]
            if kind in LATER_KIND:
                # At the appointment, or when rung back to carry on, they take part.
                self.kind[to] = LATER_KIND[kind]
            self.result.kinds[kind] += 1
            fate, name = human(Persona(kind, self.rng, mood=self.mood.get(to, 0.0))), "answered"
        self.result.fates[name] += 1
        return fate


def _pick(weights: Mapping[str, int], rng: random.Random) -> str:
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


@dataclass(frozen=True)
class Block:
    """A stretch of simulated calling: a fresh sample imported on ``start`` (a Monday,
    09:00 in London) and both campaigns run for ``days``."""

    start: datetime
    days: int
    quarter: str
    uss_cases: int
    vcas_cases: int
    #: Oldest first; the last block runs up to today.
    index: int


def calling_blocks(
    today: date, *, quarters: int, days: int, uss_cases: int, vcas_cases: int
) -> list[Block]:
    """The demo's calling, one block per quarter, oldest first, so that results have
    trends and changes to show: the last block runs from a Monday at least LAST_DAYS
    before ``today`` up to ``today``'s morning, as a month of work does, and the others
    lie in the quarters before it, each a fortnight into its quarter."""
    last_monday = today - timedelta(days=max(days, LAST_DAYS))
    last_monday -= timedelta(days=last_monday.weekday())
    last = Period.of_quarter(last_monday.year, (last_monday.month - 1) // 3 + 1)
    starts: list[date] = []
    for back in range(quarters - 1, 0, -1):
        quarter = last.shifted(-back)
        day = quarter.start + timedelta(days=14)
        starts.append(day + timedelta(days=(7 - day.weekday()) % 7))
    starts.append(last_monday)
    blocks: list[Block] = []
    for index, day in enumerate(starts):
        quarter = Period.of_quarter(day.year, (day.month - 1) // 3 + 1)
        blocks.append(
            Block(
                start=datetime.combine(day, dt_time(9), tzinfo=ZONE).astimezone(UTC),
                days=(today - day).days if index == len(starts) - 1 else days,
                quarter=quarter.label,
                uss_cases=_block_share(uss_cases, quarters, index),
                vcas_cases=_block_share(vcas_cases, quarters, index),
                index=index,
            )
        )
    return blocks


#: The last block covers at least this many days: the queue shows a month of referrals.
LAST_DAYS = 28
#: The last block's sample arrives in parts every other day, as a force's exports do;
#: each part has at least SETTLING_DAYS to be worked to its end before the block ends.
TRANCHE_DAYS = 2
SETTLING_DAYS = 14


def tranche_days(block: Block, last: bool) -> list[int]:
    """The days into ``block`` on which parts of its sample arrive: one part on its first
    day, or (the last block) one every other day while each still has time to be worked."""
    if not last:
        return [0]
    return list(range(0, max(1, block.days - SETTLING_DAYS + 1), TRANCHE_DAYS))


def _block_share(total: int, blocks: int, index: int) -> int:
    """Block ``index``'s cases: the last, a month of calling, has twice each other's."""
    if blocks == 1:
        return total
    last = total * 2 // (blocks + 1)
    return last if index == blocks - 1 else _share(total - last, blocks - 1, index)


def _share(total: int, parts: int, index: int) -> int:
    """Part ``index`` of ``total`` split as evenly as whole cases allow, newest largest."""
    return total // parts + (1 if parts - 1 - index < total % parts else 0)


#: How much better than the demo's usual mix victims of each district find the service
#: (-1 to 1), so that districts differ; quarters improve from the oldest to the newest.
DISTRICT_MOOD = {
    "Hartlepool": 0.15,
    "Stockton": 0.0,
    "Middlesbrough": -0.15,
    "Redcar and Cleveland": 0.05,
}
#: Oldest and newest quarters' mood: the latest quarter clearly better than a year before.
QUARTER_MOOD = (-0.25, 0.25)
#: Victims from ethnic minorities a little less satisfied, as forces' own surveys find:
#: the report's White / ethnic-minority gap has something to measure.
MINORITY_MOOD = -0.15


def victim_mood(block: Block, blocks: int, case: DemoCase | None = None) -> float:
    """How a victim in ``block`` (and ``case``'s district and group) tends to answer."""
    low, high = QUARTER_MOOD
    mood = low + (high - low) * (block.index / (blocks - 1) if blocks > 1 else 1.0)
    if case is not None:
        mood += DISTRICT_MOOD.get(case.district, 0.0)
        if group_key("ethnicity", case.ethnicity) in ETHNIC_MINORITY:
            mood += MINORITY_MOOD
    return mood


def run_demo(
    path: Path,
    *,
    uss_cases: int = 450,
    vcas_cases: int = 90,
    unknown: int = 10,
    seed: int = 2026,
    days: int = 21,
    quarters: int = 5,
    console: Console | None = None,
) -> DemoResult:
    """Import fictional samples and run both surveys' campaigns on a simulated clock.

    The cases are split over ``quarters`` blocks of ``days`` simulated days, one per
    quarter, the last ending this morning. The dialler places its calls with Twilio's REST
    client against a fake Twilio API on loopback, which plays each call back through the
    real webhooks (signed, following the TwiML) as the victim's line and persona would
    answer it.
    """
    if quarters < 1:
        raise ValueError("quarters must be at least 1")
    started = time.perf_counter()
    console = console or Console(stderr=True)
    rng = random.Random(seed)
    url = fresh_sqlite(path)
    Database(url).upgrade()
    settings = simulation_settings(url, max_concurrent_calls=40)
    token = settings.twilio_auth_token
    today = date.today()
    blocks = calling_blocks(
        today, quarters=quarters, days=days, uss_cases=uss_cases, vcas_cases=vcas_cases
    )
    clock = SimulatedClock(blocks[0].start)
    app = create_app(settings, queue=InProcessQueue(), clock=clock)
    services = app.extensions["ivr"]
    numbers = iter(n for n in drama_numbers() if n != SURVEY_NUMBER)
    result = DemoResult(url)
    result.quarters = [block.quarter for block in blocks]
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
    campaigns = {s: campaign_for(services.questionnaires, s) for s in SURVEYS}
    for survey in SURVEYS:
        with services.db.begin() as conn:
            campaign_store.set_campaign_status(conn, survey, "running", clock())
    with (
        fake.serving() as api_url,
        app.app_context(),
        Progress(console=console, transient=False) as progress,
    ):
        services.telephony = TwilioTelephony(ACCOUNT_SID, token, api_base_url=api_url)
        # Simulated time: pacing by the real clock would only make the demo slow.
        services.limiter = LocalRateLimiter(10_000)
        task = progress.add_task("Simulated days", total=sum(b.days for b in blocks))
        for block in blocks:
            clock.now = block.start
            uss_first = sum(b.uss_cases for b in blocks[: block.index])
            vcas_first = sum(b.vcas_cases for b in blocks[: block.index])
            offsets = tranche_days(block, block.index == len(blocks) - 1)
            arrivals: list[tuple[datetime, Callable[[], None]]] = []
            for part, offset in enumerate(offsets):
                uss_n = _share(block.uss_cases, len(offsets), part)
                vcas_n = _share(block.vcas_cases, len(offsets), part)
                arrivals.append(
                    (
                        block.start + timedelta(days=offset),
                        _Tranche(
                            services,
                            lines,
                            rng,
                            numbers,
                            block,
                            len(blocks),
                            uss_n,
                            vcas_n,
                            uss_first,
                            vcas_first,
                            clock,
                        ),
                    )
                )
                uss_first += uss_n
                vcas_first += vcas_n
            # The victims who ring in themselves, and the strangers: in the last block.
            callers = (
                _Callers(services, inbound, rng, result, [next(numbers) for _ in range(unknown)])
                if block.index == len(blocks) - 1
                else None
            )
            for done in _run_block(
                block, campaigns, services, settings, clock, fake, result, callers, arrivals
            ):
                progress.update(task, completed=sum(b.days for b in blocks[: block.index]) + done)
        result.simulated_days = sum(block.days for block in blocks)
        for survey, campaign in campaigns.items():
            result.campaigns[survey] = campaign_status(services.db, campaign, clock())
    # A last sample, due on today's real date and rung by nobody yet: the interviewers'
    # console deals these out ("Next case") inside today's calling windows.
    console_numbers = [next(numbers) for _ in range(CONSOLE_CASES)]
    with services.db.transaction() as session:
        import_sample(
            session,
            services.questionnaires.current("uss").questionnaire,
            io.StringIO(uss_csv(CONSOLE_CASES, console_numbers, rng, today, first=uss_cases)),
            today=today,
        )
    result.console_cases = CONSOLE_CASES
    # The calls took real minutes, and the staff worked the queue as the month went by.
    give_calls_their_length(services.db, rng)
    result.queue = work_the_queue(services.db, datetime.now(UTC), rng)
    with services.db.transaction() as session:
        result.summaries = {s: survey_summary(session, s) for s in SURVEYS}
    services.db.dispose()
    result.seconds = time.perf_counter() - started
    return result


SURVEYS = ("uss", "vcas_exit")


@dataclass
class _Tranche:
    """One part of a block's samples, imported when it arrives."""

    services: Any
    lines: DemoLines
    rng: random.Random
    numbers: Iterator[str]
    block: Block
    blocks: int
    uss_cases: int
    vcas_cases: int
    uss_first: int
    vcas_first: int
    clock: SimulatedClock

    def __call__(self) -> None:
        day = self.clock().astimezone(ZONE).date()
        uss_numbers = [next(self.numbers) for _ in range(self.uss_cases)]
        uss = uss_victims(self.uss_cases, uss_numbers, self.rng, day, first=self.uss_first)
        for case in uss:
            self.lines.mood[case.phone] = victim_mood(self.block, self.blocks, case)
        vcas_numbers = [next(self.numbers) for _ in range(self.vcas_cases)]
        for phone in vcas_numbers:
            self.lines.mood[phone] = victim_mood(self.block, self.blocks)
        files = {
            "uss": sample_csv(uss),
            "vcas_exit": vcas_csv(
                self.vcas_cases, vcas_numbers, self.rng, day, first=self.vcas_first
            ),
        }
        counts = {"uss": self.uss_cases, "vcas_exit": self.vcas_cases}
        for survey, text in files.items():
            if not counts[survey]:
                continue  # a small demo's part may have no case of a survey
            with self.services.db.transaction() as session:
                report = import_sample(
                    session,
                    self.services.questionnaires.current(survey).questionnaire,
                    io.StringIO(text),
                    today=day,
                )
            if report.problems:
                raise RuntimeError(f"demo sample for {survey} did not import: {report.problems[0]}")


@dataclass
class _Callers:
    """Who rings the survey number during the last block: a few victims with calls still
    to come, and some strangers."""

    services: Any
    inbound: TwilioSimulator
    rng: random.Random
    result: DemoResult
    strangers: list[str]

    def ring(self) -> bool:
        """Victims waiting for their next call ring in, up to CALL_BACKS in all, and the
        strangers with the first of them; True once every one of them has rung."""
        self.result.call_backs += _victims_call_back(
            self.services, self.inbound, self.rng, self.result, CALL_BACKS - self.result.call_backs
        )
        if self.result.call_backs and self.strangers:
            for phone in self.strangers:
                stranger = self.inbound.call(
                    from_=phone, to=SURVEY_NUMBER, respondent=Scripted(press("1"))
                )
                self.result.unknown_callers += 1
                self.result.errors.extend(stranger.errors)
            self.strangers = []
        return self.result.call_backs >= CALL_BACKS and not self.strangers


def _run_block(
    block: Block,
    campaigns: Mapping[str, Campaign],
    services: Any,
    settings: Settings,
    clock: SimulatedClock,
    fake: FakeTwilioApi,
    result: DemoResult,
    callers: _Callers | None,
    arrivals: list[tuple[datetime, Callable[[], None]]],
) -> Iterator[float]:
    """Scheduler passes and the calls they place, from the block's start for its days,
    each part of the sample imported when it arrives; yields the simulated days done
    after each pass."""
    begun = clock()
    end = begun + timedelta(days=block.days)
    waiting = sorted(arrivals, key=lambda arrival: arrival[0])
    while clock() < end:
        while waiting and waiting[0][0] <= clock():
            waiting.pop(0)[1]()
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
        # Once the calling is well under way, victims waiting for their next call ring in
        # (the sample arrives in parts, so they may gather over some days).
        if callers is not None and clock() - begun > timedelta(hours=5) and callers.ring():
            callers = None
        due = next_due(services, campaigns, clock())
        clock.now = _next_pass(campaigns.values(), clock(), due, end)
        if waiting and waiting[0][0] < clock():
            clock.now = max(waiting[0][0], begun)
        yield min(block.days, (clock() - begun) / timedelta(days=1))


#: The demo account to read the results with.
ANALYST = "analyst@demo.example"


def demo_staff() -> list[tuple[str, str, str]]:
    """(email, role, district) of the demo's accounts: one officer per district."""
    people = [
        ("supervisor@demo.example", "supervisor", ""),
        ("admin@demo.example", "admin", ""),
        ("vcas.manager@demo.example", "service_manager", ""),
        ("interviewer@demo.example", "interviewer", ""),
        # The Commissioner's office: results pages and downloads, no personal details.
        (ANALYST, "analyst", ""),
    ]
    for district in DISTRICTS:
        slug = district.lower().replace(" and ", "-").replace(" ", "-")
        people.append((f"officer.{slug}@demo.example", "district_officer", district))
    return people


#: Cases imported after the simulation for interviewers to work from the console.
CONSOLE_CASES = 20

#: Simulated minutes between scheduler passes while a calling window is open.
PASS_MINUTES = 15


def _next_pass(
    campaigns: Iterable[Campaign], now: datetime, due: datetime | None, until: datetime
) -> datetime:
    """The next scheduler pass: a quarter of an hour on, or later when no case is due
    before then (passes with nothing to do would only make the demo slow), inside a
    calling window; ``until`` when no case is due at all."""
    if due is None:
        return until
    later = max(now + timedelta(minutes=PASS_MINUTES), due)
    return min(c.policy.windows.next_open(later) for c in campaigns)


def next_due(services: Any, campaigns: Mapping[str, Campaign], now: datetime) -> datetime | None:
    """When the dialler next has a case of any campaign to ring; None if it has none."""
    with services.db.reading() as conn:
        soonest = [
            case.next_attempt_at
            for survey in campaigns
            for case in campaign_store.due(conn, survey, now + timedelta(days=365), 1)
        ]
    known = [d for d in soonest if d is not None]
    return min(known) if known else None


#: How many victims ring the survey number before their next call is due.
CALL_BACKS = 3


def _victims_call_back(
    services: Any, inbound: TwilioSimulator, rng: random.Random, result: DemoResult, most: int
) -> int:
    """Up to ``most`` victims still waiting for a call ring in and take part there and
    then; return how many rang."""
    if most < 1:
        return 0
    with services.db.reading() as conn:
        waiting = campaign_store.waiting_phones(conn, "uss", limit=most)
    for phone in waiting:
        call = inbound.call(from_=phone, to=SURVEY_NUMBER, respondent=Persona("satisfied", rng))
        result.errors.extend(call.errors)
    return len(waiting)


def print_summary(result: DemoResult, database_path: Path, console: Console) -> None:
    """Interviews by status, % satisfied with 95% intervals, referrals by district."""
    span = (
        f" in {len(result.quarters)} quarters ({result.quarters[0]} to {result.quarters[-1]})"
        if result.quarters
        else ""
    )
    console.print()
    console.print(
        Text.assemble(
            ("Demo finished", "bold"),
            f" in {result.seconds:.1f} s: "
            f"{result.simulated_days:g} simulated days of both surveys' campaigns{span}, "
            f"{result.calls} outbound calls placed through the REST API and "
            f"{result.unknown_callers + result.call_backs} inbound calls "
            f"({result.unknown_callers} from unknown numbers).",
        )
    )
    if result.errors or result.mismatches:
        console.print(
            Text(
                f"Problems: {len(result.errors)} errors, {len(result.mismatches)} retry mismatches",
                style="red",
            )
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
    if result.queue:
        console.print(
            "The referral queue, as the demo's staff left it: "
            + ", ".join(f"{n} {state}" for state, n in result.queue.most_common())
            + "."
        )
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
    latest = result.quarters[-1] if result.quarters else None
    console.print()
    console.print(Text("Results", style="bold"))
    console.print(
        f"  Run `{env} ivr run --port 5000`, open http://127.0.0.1:5000/results and sign in "
        f"as {ANALYST} (the password above): the Commissioner's office's view, figures "
        "without names or numbers"
        + (
            f", {latest} against the quarter before and the same quarter a year before."
            if latest
            else "."
        ),
        markup=False,
        soft_wrap=True,
    )
    console.print()
    console.print(Text("What to run next", style="bold"))
    console.print(
        f"  {env} ivr run --port 5000    # then sign in at http://127.0.0.1:5000/login",
        markup=False,
        soft_wrap=True,
    )
    quarter = latest.replace(" ", "") if latest else "2026Q3"
    for command in (
        f"{env} ivr campaign status --survey uss",
        f"{env} ivr referrals list",
        f"{env} ivr results summary --survey uss --by district",
        f"{env} ivr report --survey uss --quarter {quarter} --format html --out uss-{quarter}.html",
        f"{env} ivr results export --survey uss --format csv",
        "ivr questionnaires check",
        "python -m pytest",
    ):
        console.print(f"  {command}", markup=False, soft_wrap=True)
