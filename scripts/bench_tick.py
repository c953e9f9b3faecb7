"""One scheduler pass over a large campaign: how long it takes and how many queries it sends.

The database holds N planned USS cases in a steady state: most are waiting for a later
call, some are closed, and a few hundred are due now. One pass (``ivr.campaigns.tick``)
picks the due ones, checks them, creates their attempts and queues the jobs; the queue
here only counts them. A second figure is a pass that plans a batch of new cases.

    python scripts/bench_tick.py                       # 100,000 and 1,000,000 on SQLite
    python scripts/bench_tick.py --cases 100000 --database-url postgresql+psycopg://...

``--database-url`` drops and recreates the ivr tables in that database.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text

from ivr.campaigns.scheduler import Campaign, campaign_for, tick
from ivr.demo.people import drama_numbers
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.store import campaigns as store
from ivr.store.db import Database
from ivr.store.models import Base

ROOT = Path(__file__).resolve().parent.parent
#: Monday 23 November 2026, 11:00 London: inside the calling window.
NOW = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
CHUNK = 20_000
CRIMES = ("burglary", "vehicle", "violent", "domestic_abuse", "racist")
DISTRICTS = ("Hartlepool", "Stockton", "Middlesbrough", "Redcar and Cleveland")


class CountingQueue:
    """Counts the jobs a pass would send to RQ."""

    def __init__(self) -> None:
        self.jobs = 0

    def enqueue(self, func_path: str, *args: Any) -> None:
        self.jobs += 1


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fill(db: Database, cases: int, due_now: int, unplanned: int, seed: int = 1) -> None:
    """``cases`` USS cases with schedules: ``due_now`` due, ``unplanned`` new, the rest
    waiting for later calls or closed."""
    rng = random.Random(seed)
    phones = drama_numbers()
    case_table = Base.metadata.tables["cases"]
    schedule_table = Base.metadata.tables["schedules"]
    started = time.perf_counter()
    with db.engine.begin() as conn:
        for start in range(0, cases, CHUNK):
            ids = range(start + 1, min(start + CHUNK, cases) + 1)
            conn.execute(
                insert(case_table),
                [
                    {
                        "id": i,
                        "survey": "uss",
                        "case_ref": f"BENCH/{i}",
                        "phone": phones[i % len(phones)],
                        "first_name": "Alex",
                        "crime_type": CRIMES[i % len(CRIMES)],
                        "district": DISTRICTS[i % len(DISTRICTS)],
                        "reported_on": NOW.date() - timedelta(days=42 + i % 40),
                        "fields": {},
                        "imported_at": NOW,
                    }
                    for i in ids
                ],
            )
            rows = []
            for i in ids:
                row: dict[str, Any] = {
                    "case_id": i,
                    "survey": "uss",
                    "attempts": 0,
                    "outcomes": [],
                    "updated_at": NOW,
                    "planned_at": NOW,
                    "next_attempt_at": None,
                    "disposition": None,
                }
                if i <= due_now:
                    row["next_attempt_at"] = NOW - timedelta(minutes=rng.randint(1, 120))
                elif i <= due_now + unplanned:
                    row["planned_at"] = None
                elif rng.random() < 0.4:
                    row["disposition"] = rng.choice(("1.1", "2.11", "3.13", "4.10"))
                else:
                    row["next_attempt_at"] = NOW + timedelta(minutes=rng.randint(30, 30_000))
                rows.append(row)
            conn.execute(insert(schedule_table), rows)
            log(f"  {ids[-1]:>9,} cases stored ({time.perf_counter() - started:.0f} s)")
    with db.engine.begin() as conn:
        store.set_campaign_status(conn, "uss", "running", NOW)
        # Fresh statistics, as a database that has run for a while has.
        conn.execute(text("ANALYZE"))


class QueryCounter:
    def __init__(self, db: Database) -> None:
        self.by_verb: Counter[str] = Counter()
        event.listen(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.by_verb[statement.lstrip().split(None, 1)[0].upper()] += 1

    def take(self) -> dict[str, int]:
        taken = dict(self.by_verb)
        self.by_verb.clear()
        return taken


def measure(
    database_url: str, campaign: Campaign, cases: int, due_now: int, max_calls: int
) -> dict[str, Any]:
    db = Database(database_url)
    if db.engine.dialect.name == "sqlite":
        db.upgrade()
    else:
        with db.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.execute(text("drop table if exists alembic_version"))
        db.upgrade()
    log(f"{cases:,} cases: storing")
    unplanned = min(5000, cases // 20)
    fill(db, cases, due_now, unplanned)
    counter = QueryCounter(db)
    queue = CountingQueue()
    started = time.perf_counter()
    report = tick(db, campaign, queue, NOW + timedelta(seconds=1), max_concurrent_calls=max_calls)
    tick_seconds = time.perf_counter() - started
    tick_queries = counter.take()
    # The same pass again with the calls of the first still live: what every later pass
    # costs while calls are under way.
    started = time.perf_counter()
    tick(db, campaign, CountingQueue(), NOW + timedelta(seconds=2), max_concurrent_calls=max_calls)
    busy_seconds = time.perf_counter() - started
    busy_queries = counter.take()
    db.dispose()
    return {
        "cases": cases,
        "due_now": due_now,
        "unplanned": unplanned,
        "max_concurrent_calls": max_calls,
        "tick_seconds": round(tick_seconds, 4),
        "tick_queries": tick_queries,
        "tick_queries_total": sum(tick_queries.values()),
        "planned_in_tick": report.planned,
        "calls_queued": queue.jobs,
        "busy_tick_seconds": round(busy_seconds, 4),
        "busy_tick_queries_total": sum(busy_queries.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases",
        type=int,
        action="append",
        help="cases in the campaign (repeatable; default 100000 and 1000000)",
    )
    parser.add_argument("--due", type=int, default=300, help="cases due now (default 300)")
    parser.add_argument(
        "--max-calls",
        type=int,
        default=50,
        help="concurrent call limit, i.e. calls one pass may queue (default 50)",
    )
    parser.add_argument("--database-url", help="default: a fresh SQLite file per size")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    registry = QuestionnaireRegistry(ROOT / "questionnaires")
    campaign = campaign_for(registry, "uss")
    results = []
    for cases in args.cases or [100_000, 1_000_000]:
        with tempfile.TemporaryDirectory(prefix="ivr-tick-") as tmp:
            url = args.database_url or f"sqlite:///{tmp}/tick.db"
            results.append(measure(url, campaign, cases, args.due, args.max_calls))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(
                f"{r['cases']:>9,} cases: one pass {1000 * r['tick_seconds']:.1f} ms, "
                f"{r['tick_queries_total']} queries {r['tick_queries']}; planned "
                f"{r['planned_in_tick']}, queued {r['calls_queued']} calls; next pass with "
                f"those calls live {1000 * r['busy_tick_seconds']:.1f} ms, "
                f"{r['busy_tick_queries_total']} queries"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
