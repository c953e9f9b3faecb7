"""A USS survey's worth of results data: N interviews over nine quarters, for benchmarks.

Cases are spread over five districts and six crime types, with ethnicity, sex, disability
and age in their sample fields (some left out, as samples leave them). Most cases are
interviewed: completed (five core answers, then police contact and, when dissatisfied,
the reason recorded and transcribed and the consent to be contacted), stopped part way
(partial past the threshold, or a break-off), or refused; some were never interviewed
(no answer, machines, wrong numbers, out of sample). A few cases hold two interviews, a
partial one and a later completed one, as cases from before interviews were carried on
do. Dissatisfied victims raise service-recovery referrals and police-contact requests
action alerts, worked by the districts. Two questionnaire versions are in use, the older
one for the first quarters.

    python scripts/gen_results_data.py                                  # 20,000 on SQLite
    python scripts/gen_results_data.py --interviews 200000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/ivr_bench

``--database-url`` drops and recreates the ivr tables in that database; without it the data
goes to a new SQLite file in the temporary folder, whose URL is printed. Rows go in with
plain Core executemany inserts, a few thousand at a time.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, text

from ivr.store.db import Database
from ivr.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
SURVEY = "uss"
#: The nine quarters the interviews are spread over: 2024 Q3 to 2026 Q3.
FIRST_DAY = date(2024, 7, 1)
LAST_DAY = date(2026, 9, 30)
#: When the current questionnaire version replaced the older one.
NEW_VERSION_FROM = date(2025, 7, 1)
DISTRICTS = ("Hartlepool", "Stockton", "Middlesbrough", "Redcar and Cleveland", "Darlington")
CRIMES = ("burglary", "vehicle", "violent", "domestic_abuse", "racist", "criminal_damage")
ETHNICITIES = (
    ("white", 80),
    ("asian", 8),
    ("black", 4),
    ("mixed", 3),
    ("other", 2),
    ("not_stated", 3),
)
CORE = ("ease_of_contact", "actions_taken", "kept_informed", "treatment", "whole_experience")
#: Scale answers 1-7 and 8 (don't know): most victims lean satisfied on every question, a
#: quarter lean dissatisfied, as victims tend to answer.
SATISFIED = (("1", 30), ("2", 32), ("3", 21), ("4", 10), ("5", 2), ("8", 5))
DISSATISFIED = (("2", 4), ("3", 8), ("4", 16), ("5", 28), ("6", 22), ("7", 17), ("8", 5))
CHANNELS = (("phone_outbound", 72), ("phone_inbound", 10), ("interviewer", 18))
NON_INTERVIEWS = (
    ("3.13", 35),
    ("3.14", 20),
    ("3.91", 10),
    ("4.10", 10),
    ("2.21", 15),
    ("3.12", 10),
)
LABELS = {
    "1": "completely satisfied",
    "2": "very satisfied",
    "3": "fairly satisfied",
    "4": "neither satisfied nor dissatisfied",
    "5": "fairly dissatisfied",
    "6": "very dissatisfied",
    "7": "completely dissatisfied",
    "8": "don't know",
}
#: Cases per batch of inserts.
BATCH = 5000
#: Tables whose ids the generator gives (PostgreSQL's sequences are moved past them).
NUMBERED = (
    "questionnaire_versions",
    "cases",
    "interviews",
    "answers",
    "transcriptions",
    "referrals",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


@dataclass
class Batch:
    """Rows of every table for a run of cases, inserted together."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    interviews: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    transcriptions: list[dict[str, Any]] = field(default_factory=list)
    referrals: list[dict[str, Any]] = field(default_factory=list)

    def insert(self, conn: Connection) -> None:
        for table, rows in (
            ("cases", self.cases),
            ("schedules", self.schedules),
            ("interviews", self.interviews),
            ("answers", self.answers),
            ("transcriptions", self.transcriptions),
            ("referrals", self.referrals),
        ):
            if rows:
                conn.execute(insert(Base.metadata.tables[table]), rows)


class Generator:
    """Makes cases one at a time, numbering every row itself (no RETURNING round trips)."""

    def __init__(self, seed: int, versions: tuple[int, int], interviews: int) -> None:
        self.rng = random.Random(seed)
        self.old_version, self.new_version = versions
        self.ids = {"case": 0, "interview": 0, "answer": 0, "transcription": 0, "referral": 0}
        self.days = (LAST_DAY - FIRST_DAY).days + 1
        #: About one case in five is never interviewed.
        self.expected_cases = interviews * 6 // 5 + 1
        self.interviews = 0
        self.answers = 0

    def next_id(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def moment(self) -> datetime:
        """When the current case's first call is made, in calling hours (09:00-20:00 UTC):
        cases come in date order, as a database numbers its rows as they happen."""
        share = min(self.ids["case"] / self.expected_cases, 1.0)
        day = FIRST_DAY + timedelta(days=min(int(share * self.days), self.days - 1))
        return datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(
            seconds=self.rng.randrange(11 * 3600)
        )

    def fields(self) -> dict[str, Any]:
        rng = self.rng
        fields: dict[str, Any] = {}
        if rng.random() < 0.9:
            fields["ethnicity"] = pick(rng, ETHNICITIES)
        if rng.random() < 0.95:
            fields["sex"] = rng.choice(("female", "male", "female", "male", "not_stated"))
        if rng.random() < 0.8:
            fields["disability"] = "yes" if rng.random() < 0.18 else "no"
        if rng.random() < 0.93:
            fields["age"] = rng.randint(16, 92)
        if rng.random() < 0.03:
            fields["domestic_abuse"] = "yes"
        return fields

    def case(self, batch: Batch) -> None:
        """One case, its schedule, and its interviews, answers and referrals if any."""
        rng = self.rng
        case_id = self.next_id("case")
        started = self.moment()
        batch.cases.append(
            {
                "id": case_id,
                "survey": SURVEY,
                "case_ref": f"GEN/{case_id}",
                "phone": f"+4477009{case_id % 1_000_000:06d}",
                "first_name": "Alex",
                "crime_type": rng.choice(CRIMES),
                "district": rng.choice(DISTRICTS),
                "reported_on": (started - timedelta(days=rng.randint(42, 84))).date(),
                "fields": self.fields(),
                "imported_at": started - timedelta(days=40),
            }
        )
        attempts = rng.randint(1, 6)
        if rng.random() < 0.2:
            disposition = pick(rng, NON_INTERVIEWS)
            closed = started + timedelta(days=rng.randint(0, 20))
        else:
            if rng.random() < 0.03:
                # An older case: a partial interview, then a completed one on a later call.
                self.interview(batch, case_id, started, "partial", core=2)
                started += timedelta(days=rng.randint(1, 6))
            roll = rng.random()
            if roll < 0.86:
                status, core, disposition = "completed", 5, "1.1"
            elif roll < 0.96:
                status, core = "partial", rng.randint(1, 4)
                disposition = "1.2" if core >= 3 else "2.12"
            else:
                status, core, disposition = "refused", 0, "2.11"
            ended = self.interview(batch, case_id, started, status, core=core)
            closed = ended + timedelta(hours=rng.randint(0, 72))
        batch.schedules.append(
            {
                "case_id": case_id,
                "survey": SURVEY,
                "planned_at": started - timedelta(days=30),
                "attempts": attempts,
                "outcomes": [],
                "disposition": disposition,
                "closed_at": closed,
                "reason": None,
                "updated_at": closed,
            }
        )

    def interview(
        self, batch: Batch, case_id: int, started: datetime, status: str, *, core: int
    ) -> datetime:
        """One interview with ``core`` core questions asked; when it ended."""
        rng = self.rng
        interview_id = self.next_id("interview")
        self.interviews += 1
        ended = started + timedelta(seconds=rng.randint(120, 480))
        version = self.new_version if started.date() >= NEW_VERSION_FROM else self.old_version
        channel = pick(rng, CHANNELS)
        batch.interviews.append(
            {
                "id": interview_id,
                "public_id": hashlib.md5(str(interview_id).encode()).hexdigest(),
                "case_id": case_id,
                "questionnaire_version_id": version,
                "channel": channel,
                "status": status,
                "step_no": core + 3,
                "opening_step_no": 0,
                "state": {},
                "started_at": started,
                "ended_at": ended,
            }
        )
        via = "interviewer" if channel == "interviewer" else rng.choice(("keypad", "speech"))
        dissatisfied = []
        leaning = SATISFIED if rng.random() < 0.75 else DISSATISFIED
        for qid in CORE[:core]:
            # About one in a hundred questions got no usable answer after three tries.
            code = None if rng.random() < 0.01 else pick(rng, leaning)
            if code in ("5", "6", "7"):
                dissatisfied.append({"question": qid, "answer": LABELS[code], "code": code})
            self.answer(batch, interview_id, qid, code, via, ended)
        consented = None
        if core == 5 and status == "completed":
            if dissatisfied:
                self.reason(batch, interview_id, via, ended)
                consented = rng.random() < 0.6
                self.answer(
                    batch, interview_id, "recovery_consent", "1" if consented else "2", via, ended
                )
            police = rng.random() < 0.08
            self.answer(batch, interview_id, "police_contact", "1" if police else "2", via, ended)
            if police:
                self.referral(
                    batch,
                    interview_id,
                    case_id,
                    "action_alert",
                    True,
                    ended,
                    [{"question": "police_contact", "answer": "yes", "code": "1"}],
                )
        if dissatisfied:
            self.referral(
                batch,
                interview_id,
                case_id,
                "service_recovery",
                bool(consented),
                ended,
                dissatisfied,
            )
        return ended

    def answer(
        self,
        batch: Batch,
        interview_id: int,
        qid: str,
        code: str | None,
        via: str | None,
        at: datetime,
        *,
        recording_url: str | None = None,
    ) -> None:
        self.answers += 1
        batch.answers.append(
            {
                "id": self.next_id("answer"),
                "interview_id": interview_id,
                "question_id": qid,
                "code": code,
                "label": None if code is None else LABELS.get(code, code),
                "via": None if code is None and recording_url is None else via,
                "raw": code,
                "confidence": None,
                "recording_url": recording_url,
                "answered_at": at,
            }
        )

    def reason(self, batch: Batch, interview_id: int, via: str, at: datetime) -> None:
        """Why they were dissatisfied: typed by an interviewer, or recorded and transcribed."""
        if via == "interviewer":
            self.answer(
                batch, interview_id, "dissatisfaction_reason", "Nobody came back to me.", via, at
            )
            return
        url = f"https://api.twilio.example/Recordings/RE{interview_id:030d}"
        self.answer(
            batch, interview_id, "dissatisfaction_reason", None, "speech", at, recording_url=url
        )
        if self.rng.random() < 0.7:
            batch.transcriptions.append(
                {
                    "id": self.next_id("transcription"),
                    "interview_id": interview_id,
                    "question_id": "dissatisfaction_reason",
                    "recording_sid": f"RE{interview_id:030d}",
                    "status": "completed",
                    "text": "They never told me what happened.",
                    "received_at": at + timedelta(minutes=2),
                }
            )

    def referral(
        self,
        batch: Batch,
        interview_id: int,
        case_id: int,
        kind: str,
        consented: bool,
        at: datetime,
        reasons: list[dict[str, Any]],
    ) -> None:
        rng = self.rng
        district = batch.cases[-1]["district"]
        due = at + timedelta(days=2) if consented else None
        contacted = (
            at + timedelta(hours=rng.randint(2, 96)) if consented and rng.random() < 0.85 else None
        )
        closed = contacted is not None and rng.random() < 0.8
        batch.referrals.append(
            {
                "id": self.next_id("referral"),
                "interview_id": interview_id,
                "case_id": case_id,
                "survey": SURVEY,
                "kind": kind,
                "district": district,
                "reasons": reasons,
                "status": "closed" if closed else ("in_progress" if contacted else "new"),
                "created_at": at,
                "due_at": due,
                "first_contact_at": contacted,
                "closed_at": contacted + timedelta(hours=1) if closed and contacted else None,
                "outcome": "contacted_resolved" if closed else None,
                "consented": consented,
                "updated_at": at,
            }
        )


def store_versions(conn: Connection) -> tuple[int, int]:
    """The older and the current USS questionnaire versions, as interviews pin them."""
    source = (ROOT / "questionnaires" / "uss.yaml").read_text()
    older = source.replace('version: "2026.2"', 'version: "2025.1"', 1)
    table = Base.metadata.tables["questionnaire_versions"]
    loaded = datetime(2024, 6, 1, tzinfo=UTC)
    for version_id, (version, text_) in enumerate((("2025.1", older), ("2026.2", source)), 1):
        conn.execute(
            insert(table),
            {
                "id": version_id,
                "survey": SURVEY,
                "version": version,
                "sha256": hashlib.sha256(text_.encode()).hexdigest(),
                "source": text_,
                "loaded_at": loaded,
            },
        )
    return 1, 2


def fresh_database(database_url: str) -> Database:
    """The schema by the product's migrations; on anything but SQLite the ivr tables are
    dropped first, so a rerun starts from the same empty state."""
    db = Database(database_url)
    if db.engine.dialect.name != "sqlite":
        with db.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("drop table if exists alembic_version"))
    db.upgrade()
    return db


def generate(database_url: str, interviews: int, seed: int = 1) -> dict[str, int]:
    """Fill a fresh database with ``interviews`` interviews and what goes with them; the
    numbers of rows stored."""
    db = fresh_database(database_url)
    started = time.perf_counter()
    try:
        with db.engine.begin() as conn:
            maker = Generator(seed, store_versions(conn), interviews)
        while maker.interviews < interviews:
            batch = Batch()
            while len(batch.cases) < BATCH and maker.interviews < interviews:
                maker.case(batch)
            with db.engine.begin() as conn:
                batch.insert(conn)
            log(
                f"  {maker.interviews:>9,} interviews, {maker.answers:>10,} answers "
                f"({time.perf_counter() - started:.0f} s)"
            )
        postgresql = db.engine.dialect.name == "postgresql"
        with db.engine.begin() as conn:
            if postgresql:
                for table in NUMBERED:
                    # Rows were numbered here: the sequences carry on after them.
                    conn.execute(
                        text(
                            f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"coalesce((select max(id) from {table}), 1))"
                        )
                    )
        # Fresh statistics (and, on PostgreSQL, the visibility map autovacuum would have
        # set), as a database that has run for a while has them.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE" if postgresql else "ANALYZE"))
        return {
            "cases": maker.ids["case"],
            "interviews": maker.interviews,
            "answers": maker.answers,
            "referrals": maker.ids["referral"],
            "transcriptions": maker.ids["transcription"],
        }
    finally:
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interviews", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="default: a new SQLite file in the temporary folder")
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='ivr-results-')}/results.db"
    log(f"{args.interviews:,} interviews into {url.split('@')[-1]}")
    started = time.perf_counter()
    counts = generate(url, args.interviews, args.seed)
    print(url)
    print(", ".join(f"{n:,} {what}" for what, n in counts.items()))
    print(f"stored in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
