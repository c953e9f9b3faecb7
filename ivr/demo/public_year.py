"""A simulated year of the Local Public Confidence Survey, through the real product.

Each Monday the planner's weekly release of numbers is drawn in each area (random digit
dialling in its number ranges); the scheduler rings them through the week on a simulated
clock, with Twilio's REST client against a fake Twilio API that plays each call through the
real webhooks. Behind each number is a household of the area: some numbers do not work,
some households have nobody aged 16 or over or live outside the area, and the resident
selected (age band, sex and ethnic group drawn from the area's population shares) takes
part with a propensity that differs by group, so that quotas have work to do.

``scripts/simulate_lpcs_year.py`` runs it at full scale; the tests run it small.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from ivr.app import create_app
from ivr.calendar import ZONE
from ivr.campaigns import quota_status
from ivr.campaigns.limiter import LocalRateLimiter
from ivr.campaigns.public_sample import generate_sample
from ivr.campaigns.quota_progress import quota_progress
from ivr.campaigns.scheduler import campaign_for, tick
from ivr.demo.run import ACCOUNT_SID, SimulatedClock, next_due, simulation_settings
from ivr.jobs import InProcessQueue
from ivr.questionnaire.demographics import AGE_BANDS
from ivr.questionnaire.population import Cell, Population
from ivr.questionnaire.registry import POPULATIONS
from ivr.questionnaire.schema import Questionnaire
from ivr.store import campaigns as campaign_store
from ivr.store.db import Database
from ivr.telephony.fake_api import FakeTwilioApi, Fate, failed, human, machine, no_answer
from ivr.telephony.port import TwilioTelephony
from ivr.telephony.respondents import Action, Scripted, press, record
from ivr.telephony.simulator import WSGITransport

SURVEY = "lpcs"
#: Shares of the numbers drawn at random that reach a working line.
WORKING = 0.7
#: Households with nobody aged 16 or over, and with the line's owner outside the area.
NO_ADULT = 0.04
OUTSIDE_AREA = 0.03
#: How each working line answers across attempts (as the victims' demo lines do).
LINES = {"answers": 50, "often_out": 25, "machine_first": 10, "never": 15}
#: The chance the selected resident takes part, by age band, before the other factors.
TAKES_PART = {
    "16-24": 0.30,
    "25-34": 0.38,
    "35-44": 0.45,
    "45-54": 0.52,
    "55-64": 0.60,
    "65-74": 0.66,
    "75+": 0.58,
}
#: Men, and people of ethnic minority groups, take part less often in phone surveys.
MALE = 0.85
MINORITY = 0.75
#: Respondents who ask the police to contact them.
ASKS_FOR_CONTACT = 0.03
#: Respondents who prefer not to give their age band, sex or ethnic group.
PREFERS_NOT_TO_SAY = {"age_band": 0.005, "sex": 0.003, "ethnicity": 0.015}
ETHNIC_KEYS = {"white": "1", "mixed": "2", "asian": "3", "black": "4", "other": "5"}
AGE_KEYS = {band: str(i) for i, (band, _low, _high) in enumerate(AGE_BANDS, 1)}
SEX_KEYS = {"female": "1", "male": "2"}
#: Simulated minutes between scheduler passes while a calling window is open.
PASS_MINUTES = 60
#: At most this many times the plan's weekly numbers are drawn in one week (a cap on a
#: plan made from a yield guessed on too few numbers).
MAX_RELEASE = 5000


@dataclass
class Household:
    """Who is behind one drawn number, and how its line answers."""

    area: str
    works: bool
    line: str
    adult: bool
    in_area: bool
    age_band: str
    sex: str
    ethnicity: str
    takes_part: float
    rung: int = 0


@dataclass
class YearResult:
    """What a simulated year did."""

    targets: dict[Cell, int] = field(default_factory=dict)
    achieved: Counter[Cell] = field(default_factory=Counter)
    released: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    fates: Counter[str] = field(default_factory=Counter)
    #: Cases by AAPOR final disposition at the year's end.
    dispositions: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    weeks: int = 0
    seconds: float = 0.0

    def not_stated(self, area: str, kind: str) -> int:
        """The area's interviews whose group of ``kind`` was not said (prefer not to
        say): they count in the area's total and in no cell of that kind."""
        stated = sum(n for (a, k, _g), n in self.achieved.items() if a == area and k == kind)
        return self.achieved[(area, "area", area)] - stated

    def shortfalls(self, tolerance: float) -> dict[Cell, tuple[int, int]]:
        """Cells over the year's target at all, or short of it by more than ``tolerance``
        of it (at least one interview) beyond the interviews of the area that did not say
        their group of the cell's kind (the area's total fills without them)."""
        found = {}
        for cell, target in self.targets.items():
            area, kind, _group = cell
            got = self.achieved[cell]
            allowed = max(tolerance * target, 1)
            if kind != "area":
                allowed += self.not_stated(area, kind)
            if got > target or target - got > allowed:
                found[cell] = (got, target)
        return found


class PublicLines:
    """Decides each outbound call's fate from the household behind the number."""

    def __init__(self, rng: random.Random, q: Questionnaire, population: Population) -> None:
        assert q.quotas is not None
        self.rng, self.q, self.population = rng, q, population
        self.households: dict[str, Household] = {}
        self.patterns = [
            (area, pattern.replace(" ", ""))
            for area, patterns in q.quotas.number_ranges.items()
            for pattern in patterns
        ]
        self.fates: Counter[str] = Counter()

    def area_of(self, e164: str) -> str:
        national = "0" + e164.removeprefix("+44")
        for area, pattern in self.patterns:
            if len(national) == len(pattern) and all(
                p == "x" or p == d for p, d in zip(pattern, national, strict=True)
            ):
                return area
        raise ValueError("a number outside every configured range was rung")

    def _draw(self, shares: Mapping[str, float]) -> str:
        groups = list(shares)
        return self.rng.choices(groups, weights=[shares[g] for g in groups])[0]

    def household(self, e164: str) -> Household:
        found = self.households.get(e164)
        if found is None:
            area = self.area_of(e164)
            age_sex = self._draw(self.population.shares(area, "age_sex"))
            age_band, sex = age_sex.rsplit(" ", 1)
            ethnicity = self._draw(self.population.shares(area, "ethnicity"))
            takes_part = TAKES_PART[age_band] * (MALE if sex == "male" else 1.0)
            takes_part *= 1.0 if ethnicity == "white" else MINORITY
            found = self.households[e164] = Household(
                area=area,
                works=self.rng.random() < WORKING,
                line=self._draw({k: float(v) for k, v in LINES.items()}),
                adult=self.rng.random() >= NO_ADULT,
                in_area=self.rng.random() >= OUTSIDE_AREA,
                age_band=age_band,
                sex=sex,
                ethnicity=ethnicity,
                takes_part=takes_part,
            )
        return found

    def __call__(self, to: str, _params: Mapping[str, str]) -> Fate:
        home = self.household(to)
        home.rung += 1
        if not home.works:
            fate, name = failed(), "not working"
        elif home.line == "never" or (home.line == "often_out" and home.rung <= 2):
            fate, name = no_answer(), "no answer"
        elif home.line == "machine_first" and home.rung == 1:
            fate, name = machine(), "answering machine"
        else:
            fate, name = human(Scripted(*self.answers(home))), "answered"
        self.fates[name] += 1
        return fate

    def answers(self, home: Household) -> list[Action]:
        """What the household does on the call, key by key."""
        if not home.adult:
            return [press("3")]
        if self.rng.random() >= home.takes_part:
            return [press("1"), press("3")]  # selected, then declines
        keys = ["1", "1", "1" if home.in_area else "2", "1"]
        keys.append(self._or_not_said("age_band", AGE_KEYS[home.age_band]))
        keys.append(self._or_not_said("sex", SEX_KEYS[home.sex]))
        keys.append(self._or_not_said("ethnicity", ETHNIC_KEYS[home.ethnicity]))
        keys += [str(self.rng.randint(1, 5))]  # how good a job
        keys += [str(self.rng.randint(1, 5)) for _ in range(7)]  # the agreement items
        keys += [str(self.rng.randint(1, 4)), str(self.rng.randint(1, 6))]
        keys.append(self.rng.choice(["1", "2", "2", "2"]))  # disability
        actions: list[Action] = [press(k) for k in keys]
        if self.rng.random() < ASKS_FOR_CONTACT:
            actions += [press("1"), record(3), press("1"), record(10)]
        else:
            actions.append(press("2"))
        return actions

    def _or_not_said(self, demographic: str, key: str) -> str:
        return "9" if self.rng.random() < PREFERS_NOT_TO_SAY[demographic] else key


def questionnaires_with(source: Path, per_area: int | None, into: Path) -> Path:
    """A folder with ``source``'s survey of the public and its population figures, every
    area's yearly target set to ``per_area`` (None: as written), for a year at that scale."""
    shutil.copytree(source / POPULATIONS, into / POPULATIONS)
    text = (source / f"{SURVEY}.yaml").read_text(encoding="utf-8")
    if per_area is not None:
        block = re.search(r"^  areas:\n((?:    .+\n)+)", text, re.M)
        if block is None:
            raise ValueError(f"{SURVEY}.yaml has no quotas areas block")
        lines = re.sub(r": \d+$", f": {per_area}", block.group(1), flags=re.M)
        text = text[: block.start(1)] + lines + text[block.end(1) :]
    (into / f"{SURVEY}.yaml").write_text(text, encoding="utf-8")
    return into


def simulate_year(
    database_url: str,
    questionnaires: Path,
    *,
    seed: int = 2026,
    weeks: int = 52,
    year_starting: date | None = None,
) -> YearResult:
    """Run the survey for ``weeks`` weeks of its year (the year that began most recently
    before today, unless ``year_starting`` is given) on a fresh database."""
    started = time.perf_counter()
    rng = random.Random(seed)
    Database(database_url).upgrade()
    settings = simulation_settings(
        database_url, questionnaires_dir=questionnaires, max_concurrent_calls=60
    )
    token = settings.twilio_auth_token
    clock = SimulatedClock(datetime.now(UTC))
    app = create_app(settings, queue=InProcessQueue(), clock=clock)
    services = app.extensions["ivr"]
    registry_q = services.questionnaires.current(SURVEY).questionnaire
    assert registry_q.quotas is not None
    population = services.questionnaires.population(SURVEY)
    first_day = year_starting or quota_status.survey_year(registry_q.quotas, date.today()).start
    clock.now = datetime.combine(first_day, dt_time(9), tzinfo=ZONE).astimezone(UTC)
    lines = PublicLines(rng, registry_q, population)
    fake = FakeTwilioApi(WSGITransport(app), account_sid=ACCOUNT_SID, auth_token=token, fate=lines)
    campaign = campaign_for(services.questionnaires, SURVEY)
    with services.db.begin() as conn:
        campaign_store.set_campaign_status(conn, SURVEY, "running", clock())
    result = YearResult(targets=quota_status.plan_of(registry_q, population).year_targets())
    with fake.serving() as api_url, app.app_context():
        services.telephony = TwilioTelephony(ACCOUNT_SID, token, api_base_url=api_url)
        services.limiter = LocalRateLimiter(10_000)
        for week in range(weeks):
            monday = clock.now
            today = monday.astimezone(ZONE).date()
            _release(services, registry_q, population, today, rng, result)
            end = monday + timedelta(days=7)
            while clock() < end:
                tick(
                    services.db,
                    campaign,
                    services.queue,
                    clock(),
                    max_concurrent_calls=settings.max_concurrent_calls,
                )
                for call in fake.play_pending():
                    result.calls += 1
                    result.errors.extend(call.errors)
                due = next_due(services, {SURVEY: campaign}, clock())
                later = clock() + timedelta(minutes=PASS_MINUTES)
                clock.now = (
                    end
                    if due is None
                    else min(end, campaign.policy.windows.next_open(max(later, due)))
                )
            clock.now = end
            result.weeks = week + 1
        with services.db.reading() as conn:
            result.achieved = quota_status.achieved(conn, registry_q, first_day)
            result.dispositions = Counter(campaign_store.counts_by(conn, SURVEY)["by_disposition"])
    result.fates = lines.fates
    services.db.dispose()
    result.seconds = time.perf_counter() - started
    return result


def _release(
    services: Any,
    q: Questionnaire,
    population: Population,
    today: date,
    rng: random.Random,
    result: YearResult,
) -> None:
    """Draw each area's planned weekly numbers (none once its year's target is met)."""
    db = services.db
    with db.reading() as conn:
        progress = quota_progress(conn, q, population, today)
    for area in progress.areas:
        count = min(area.release.per_week, MAX_RELEASE)
        if count <= 0:
            continue
        with db.transaction() as session:
            generate_sample(session, q, area.area, count, today=today, rng=rng)
        result.released[area.area] += count
