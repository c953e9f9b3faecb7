"""How long one quarter's results report takes, and the export's memory.

First the store calls behind a report, one after another with the report's settings, to
show where the time goes: the answer counts for the quarter (overall, by each breakdown,
and by crime type by district for weighting), the answer counts over the last 8 quarters
(overall and by ethnicity, for the trends and the ethnicity gap), the interviews
counted, the cases closed by district and by quarter (response rates,
representativeness, the weighting population), the referrals raised and the dissatisfied
victims' reasons. Then the whole report as the results page builds it (``build_report``:
the same counts in two halves run side by side on one snapshot, and the statistics).
Then the whole export is written as CSV to /dev/null, with its peak memory.

    python scripts/bench_results.py                       # 20,000 interviews, SQLite
    python scripts/bench_results.py --interviews 200000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/ivr_bench
    python scripts/bench_results.py --reuse --database-url ...   # data already there

``--database-url`` drops and recreates the ivr tables in that database and fills them
with ``scripts/gen_results_data.py`` (``--reuse`` keeps what is there). The target is the
whole report under 2 s over 1,000,000 answers on PostgreSQL.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from gen_results_data import ROOT, SURVEY, generate
from sqlalchemy import event

from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.results.export import export_objects, write_csv
from ivr.results.model import DIMENSIONS, Period, Scope, Thresholds
from ivr.results.report import REPORT_WORK_MEM, WEIGHT_CELL, build_report, coding_of
from ivr.store import results as store
from ivr.store.db import Database
from ivr.store.interviews import pinned_questionnaire

#: The report's quarter: the last of the generated data's nine.
QUARTER = (2026, 3)
TREND_QUARTERS = 8
TARGET_SECONDS = 2.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quarter_window(year: int, quarter: int) -> store.Window:
    first = date(year, 3 * quarter - 2, 1)
    after = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
    return store.london_window(f"{year} Q{quarter}", first, after - timedelta(days=1))


def trend_windows() -> list[store.Window]:
    year, quarter = QUARTER
    index = year * 4 + quarter - 1
    return [quarter_window(i // 4, i % 4 + 1) for i in range(index - TREND_QUARTERS + 1, index + 1)]


def coding_and_rules(conn: Any) -> tuple[list[store.Coding], list[store.CountingRule]]:
    """Every version's counting rule and answer coding, as the report builds them."""
    return coding_of(
        {vid: pinned_questionnaire(conn, vid) for vid in store.versions_of_survey(conn, SURVEY)}
    )


def report_calls(db: Database) -> list[tuple[str, Callable[[Any], Any]]]:
    """The store calls a quarter's report makes, by name."""
    main = quarter_window(*QUARTER)
    quarters = trend_windows()
    with db.reading() as conn:
        coding, rules = coding_and_rules(conn)
    answers = dict(coding=coding, rules=rules, districts=None)
    return [
        ("versions_of_survey", lambda conn: store.versions_of_survey(conn, SURVEY)),
        (
            "answer_counts quarter x 10 groupings",
            lambda conn: store.answer_counts(
                conn,
                SURVEY,
                windows=[main],
                groupings=[(), *((d,) for d in DIMENSIONS), WEIGHT_CELL],
                **answers,
            ),
        ),
        (
            "answer_counts 8 quarters x (), ethnicity",
            lambda conn: store.answer_counts(
                conn, SURVEY, windows=quarters, groupings=[(), ("ethnicity",)], **answers
            ),
        ),
        (
            "interview_counts quarter",
            lambda conn: store.interview_counts(
                conn,
                SURVEY,
                rules=rules,
                windows=[main],
                groupings=[(), WEIGHT_CELL],
                districts=None,
            ),
        ),
        (
            "case_counts quarter by district etc.",
            lambda conn: store.case_counts(
                conn,
                SURVEY,
                windows=[main],
                groupings=[
                    (),
                    ("district",),
                    ("crime_type",),
                    ("age_band",),
                    ("sex",),
                    ("ethnicity",),
                    WEIGHT_CELL,
                ],
                districts=None,
            ),
        ),
        (
            "case_counts 8 quarters",
            lambda conn: store.case_counts(
                conn, SURVEY, windows=quarters, groupings=[()], districts=None
            ),
        ),
        (
            "referrals_raised quarter",
            lambda conn: store.referrals_raised(
                conn, SURVEY, start=main.start, end=main.end, districts=None
            ),
        ),
        (
            "dissatisfied_reasons quarter",
            lambda conn: store.dissatisfied_reasons(
                conn, SURVEY, start=main.start, end=main.end, districts=None
            ),
        ),
    ]


def time_report(db: Database, repeat: int) -> dict[str, Any]:
    """Each call's time (best and median of ``repeat`` runs after one warm-up) and rows."""
    calls = report_calls(db)
    timings: dict[str, list[float]] = {name: [] for name, _ in calls}
    rows: dict[str, int] = {}
    for run in range(repeat + 1):
        # With the report's settings, one call after another (the report runs its two
        # halves side by side: see build_report below).
        with db.snapshot(work_mem=REPORT_WORK_MEM, jit=False) as conn:
            for name, call in calls:
                started = time.perf_counter()
                result = call(conn)
                elapsed = time.perf_counter() - started
                if run:
                    timings[name].append(elapsed)
                rows[name] = len(result)
    return {
        name: {"best": min(t), "median": statistics.median(t), "rows": rows[name]}
        for name, t in timings.items()
    }


def time_whole_report(db: Database, repeat: int) -> dict[str, Any]:
    """The whole quarterly report as the results page builds it (weighted, with the
    reasons): store calls and the statistics on top, best and median of ``repeat`` runs."""
    registry = QuestionnaireRegistry(ROOT / "questionnaires")
    period = Period.of_quarter(*QUARTER)
    timings = []
    for run in range(repeat + 1):
        started = time.perf_counter()
        build_report(
            db,
            registry,
            SURVEY,
            period,
            scope=Scope(reasons=True),
            thresholds=Thresholds(),
            weighted=True,
            now=datetime.combine(period.end + timedelta(days=30), dt_time(12), tzinfo=UTC),
        )
        if run:
            timings.append(time.perf_counter() - started)
    return {"best": min(timings), "median": statistics.median(timings)}


def time_export(db: Database, traced_rows: int) -> dict[str, Any]:
    """The whole export as ``ivr results export --format csv`` writes it (rows shaped, with
    their weights), streamed to /dev/null: time, rows and the process's peak RSS before
    and after; then the Python heap's peak (tracemalloc) over the first ``traced_rows``
    rows and over twice as many, which stay the same when memory does not grow with rows
    (tracing every allocation makes a traced run some ten times slower)."""
    registry = QuestionnaireRegistry(ROOT / "questionnaires")
    question_ids = [q.id for q in registry.current(SURVEY).questionnaire.questions]
    figures: dict[str, Any] = {"rss_before_mb": _max_rss_mb()}
    started = time.perf_counter()
    with db.snapshot(work_mem=REPORT_WORK_MEM, jit=False) as conn, open("/dev/null", "w") as sink:
        rows = export_objects(conn, SURVEY, start=None, end=None, registry=registry)
        figures["rows"] = write_csv(rows, sink, question_ids)
    figures["seconds"] = time.perf_counter() - started
    figures["rss_after_mb"] = _max_rss_mb()
    for limit in (traced_rows, 2 * traced_rows):
        tracemalloc.start()
        with (
            db.snapshot(work_mem=REPORT_WORK_MEM, jit=False) as conn,
            open("/dev/null", "w") as sink,
        ):
            rows = export_objects(conn, SURVEY, start=None, end=None, registry=registry)
            write_csv(itertools.islice(rows, limit), sink, question_ids)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures[f"peak_heap_mb_{limit}_rows"] = peak / 2**20
    return figures


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def server_settings(db: Database, settings: dict[str, str]) -> None:
    """Set PostgreSQL settings on this engine's connections (to show what a tuned server
    gives: the product keeps the server's own)."""

    @event.listens_for(db.engine, "connect")
    def _settings(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            for name, value in settings.items():
                cursor.execute("SELECT set_config(%s, %s, false)", (name, value))
        dbapi_connection.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interviews", type=int, default=20_000)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--reuse", action="store_true", help="keep the data already there")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-jit", action="store_true", help="PostgreSQL: SET jit = off")
    parser.add_argument("--work-mem", help="PostgreSQL: SET work_mem, e.g. 32MB")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument(
        "--traced-rows", type=int, default=10_000, help="export rows traced for the heap peak"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='ivr-bench-')}/results.db"
    if not args.reuse:
        log(f"generating {args.interviews:,} interviews")
        stored = generate(url, args.interviews)
        log(", ".join(f"{n:,} {what}" for what, n in stored.items()))
    db = Database(url)
    settings = {
        **({"jit": "off"} if args.no_jit else {}),
        **({"work_mem": args.work_mem} if args.work_mem else {}),
    }
    if settings and db.engine.dialect.name == "postgresql":
        server_settings(db, settings)
    try:
        report = time_report(db, args.repeat)
        whole = time_whole_report(db, args.repeat)
        export = None if args.no_export else time_export(db, args.traced_rows)
    finally:
        db.dispose()
    total_best = sum(f["best"] for f in report.values())
    total_median = sum(f["median"] for f in report.values())
    if args.json:
        print(
            json.dumps(
                {
                    "backend": url.split(":", 1)[0],
                    "calls": report,
                    "total_best": total_best,
                    "total_median": total_median,
                    "build_report": whole,
                    "export": export,
                },
                indent=2,
            )
        )
    else:
        print(f"{'store call':<42} {'best s':>8} {'median s':>9} {'rows':>7}")
        for name, f in report.items():
            print(f"{name:<42} {f['best']:>8.3f} {f['median']:>9.3f} {f['rows']:>7}")
        print(f"{'the store calls one after another':<42} {total_best:>8.3f} {total_median:>9.3f}")
        name = "build_report (store and statistics)"
        print(f"{name:<42} {whole['best']:>8.3f} {whole['median']:>9.3f}")
        verdict = "under" if whole["median"] < TARGET_SECONDS else "OVER"
        print(f"target {TARGET_SECONDS:g} s for the whole report: {verdict}")
        if export:
            heaps = ", ".join(
                f"{v:.1f} MB over {k.split('_')[3]} rows"
                for k, v in export.items()
                if k.startswith("peak_heap")
            )
            print(
                f"export: {export['rows']:,} rows written as CSV in "
                f"{export['seconds']:.1f} s; process peak RSS {export['rss_before_mb']:.0f} MB "
                f"before, {export['rss_after_mb']:.0f} MB after; Python heap peak {heaps}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
