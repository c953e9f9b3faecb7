"""Webhook turns per second for full USS calls, against a constant-TwiML baseline in the same run.

Each simulated call is a satisfied respondent going through the whole USS questionnaire
(identity, consent, five scale questions, police contact): nine webhooks and one status
callback. After each call, as many requests with the same form parameters, signed and sent
by the same HTTP client, go to ``/twilio/bench-trivial``, a route that returns constant TwiML. The
ratio of the mean times from request sent to response read, turn webhooks against trivial
requests, is what a turn costs in the product (signature, engine, database write, TwiML)
over Flask, WSGI and HTTP; the whole call's ratio (its first webhook and status callback
included) is printed beside it.

    python scripts/bench_turns.py                     # gunicorn, one sync worker, SQLite
    python scripts/bench_turns.py --calls 500 --repeat
    python scripts/bench_turns.py --wsgi --profile turns.pstats --sql-trace
    python scripts/bench_turns.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

``--database-url`` drops and recreates the ivr tables in that database. Every call must
end with its interview ``completed``; otherwise the figures are printed but the script
exits 1, because the cost of a broken call says nothing about a real one.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from bench_app import (
    AUTH_TOKEN,
    SURVEY_NUMBER,
    TRIVIAL_PATH,
    TRIVIAL_TWIML,
    bench_environ,
    create_bench_app,
    drama_numbers,
    prepare_database,
)
from sqlalchemy import Engine, event, make_url, text
from twilio.request_validator import RequestValidator

from ivr.store.db import Database
from ivr.telephony.respondents import Scripted, press
from ivr.telephony.simulator import (
    CallRecord,
    HTTPTransport,
    SimulatorError,
    Transport,
    TwilioSimulator,
    WSGITransport,
)

SCRIPTS = Path(__file__).resolve().parent
HOST = "127.0.0.1"
#: The ratio of a turn's cost to the trivial request's that the product aims to stay under.
TARGET_RATIO = 2.0
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
WARMUP_TRIVIAL = 50
#: Settings the product reads from the environment; the server gets ours, never the shell's.
PRODUCT_SETTINGS = (
    "IVR_ENV",
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "TWILIO_API_BASE_URL",
    "PUBLIC_BASE_URL",
    "IVR_QUESTIONNAIRES",
)
TURN_PATH = re.compile(r"^/twilio/interviews/[^/]+/turns/\d+$")


def log(message: str) -> None:
    """Progress goes to stderr so that stdout carries only the figures (or the JSON)."""
    print(message, file=sys.stderr, flush=True)


def satisfied_respondent() -> Scripted:
    """Identity yes, take part, five satisfied scale answers, no further police contact."""
    return Scripted(
        press("1"),
        press("1"),
        press("2"),
        press("2"),
        press("3"),
        press("1"),
        press("2"),
        press("2"),
    )


# --- measuring -------------------------------------------------------------------------------


def request_kind(url: str) -> str:
    """Which webhook a URL is, so costs can be split by endpoint."""
    path = urlsplit(url).path
    if path == "/twilio/voice":
        return "voice"
    if path == "/twilio/status":
        return "status"
    if path == TRIVIAL_PATH:
        return "trivial"
    return "turn" if TURN_PATH.match(path) else "other"


class SqlCounter:
    """Counts what the app asks of its database, for in-process runs only.

    Every round trip is counted, as tests/functional/test_round_trips.py counts them: each
    statement, and each BEGIN, COMMIT and ROLLBACK a connection outside autocommit sends
    (no cursor event shows those). Connection checkouts are counted beside them because,
    with ``pool_pre_ping``, each checkout is one more round trip.
    """

    def __init__(self, engine: Engine) -> None:
        self.statements: Counter[str] = Counter()
        self.checkouts = 0
        self.commits = 0
        self.trace: list[str] | None = None
        # SQLite's BEGIN IMMEDIATE is a statement of its own, seen as one already.
        self._begins_seen = engine.dialect.name == "sqlite"
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)
        event.listen(engine.pool, "checkout", self._checkout)

    def _transaction(self, conn: Any, verb: str) -> None:
        # A connection in autocommit sends no BEGIN, COMMIT or ROLLBACK to the server.
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            return
        self.statements[verb] += 1
        if self.trace is not None:
            self.trace.append(verb)

    def _begin(self, conn: Any) -> None:
        if not self._begins_seen:
            self._transaction(conn, "BEGIN")

    def _rollback(self, conn: Any) -> None:
        self._transaction(conn, "ROLLBACK")

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements[statement.lstrip().split(None, 1)[0].upper()] += 1
        if self.trace is not None:
            self.trace.append(" ".join(statement.split()))

    def _commit(self, conn: Any) -> None:
        self.commits += 1
        self._transaction(conn, "COMMIT")

    def _checkout(self, *_args: Any) -> None:
        self.checkouts += 1

    def snapshot(self) -> tuple[Counter[str], int, int]:
        """The counts so far, to subtract from a later snapshot."""
        return Counter(self.statements), self.checkouts, self.commits


@dataclass
class KindStats:
    """Requests of one kind during one phase: how many, time inside the transport, SQL."""

    requests: int = 0
    seconds: float = 0.0
    statements: Counter[str] = field(default_factory=Counter)
    checkouts: int = 0
    commits: int = 0
    samples: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(self.samples) if self.samples else 0.0

    def as_dict(self, with_sql: bool) -> dict[str, Any]:
        n = max(self.requests, 1)
        out: dict[str, Any] = {
            "requests": self.requests,
            "mean_ms": round(1000 * self.seconds / n, 3),
            "median_ms": round(self.median_ms, 3),
        }
        if with_sql:
            out.update(
                sql_per_request=round(sum(self.statements.values()) / n, 2),
                sql_by_verb_per_request={
                    k: round(v / n, 2) for k, v in sorted(self.statements.items())
                },
                checkouts_per_request=round(self.checkouts / n, 2),
                commits_per_request=round(self.commits / n, 2),
            )
        return out


class MeteredTransport:
    """Wraps a transport to time every POST and attribute its SQL to the endpoint it hit."""

    def __init__(self, inner: Transport, sql: SqlCounter | None) -> None:
        self.inner = inner
        self.sql = sql
        self.stats: dict[str, KindStats] = {}
        self._last: tuple[str, dict[str, str]] | None = None

    def reset(self) -> dict[str, KindStats]:
        """Start a new phase; return the previous phase's figures."""
        stats, self.stats = self.stats, {}
        return stats

    def post(self, url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        """POST through the wrapped transport, counting time and statements."""
        kind = request_kind(url)
        # The simulator's --repeat sends each webhook twice in a row: cost the replay apart.
        if (url, params) == self._last:
            kind += " (retry)"
        self._last = (url, dict(params))
        stats = self.stats.setdefault(kind, KindStats())
        before = self.sql.snapshot() if self.sql else None
        if self.sql is not None and self.sql.trace is not None:
            self.sql.trace.append(f"-- POST {urlsplit(url).path} {params.get('Digits', '')}")
        started = time.perf_counter()
        try:
            return self.inner.post(url, params, headers)
        finally:
            took = time.perf_counter() - started
            stats.seconds += took
            stats.samples.append(took)
            stats.requests += 1
            if self.sql is not None and before is not None:
                after = self.sql.snapshot()
                stats.statements.update(after[0] - before[0])
                stats.checkouts += after[1] - before[1]
                stats.commits += after[2] - before[2]


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    """A port nothing listens on now; gunicorn binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class GunicornServer:
    """One gunicorn master with one sync worker serving the bench app, stopped on exit.

    It runs in its own session so that a Ctrl-C meant for the benchmark does not reach it
    before the benchmark has decided to stop it, and so that the whole group (master and
    worker) can be signalled at once.
    """

    def __init__(self, environ: dict[str, str], port: int) -> None:
        self.port = port
        self.env = {k: v for k, v in os.environ.items() if k not in PRODUCT_SETTINGS}
        self.env.update(environ)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> GunicornServer:
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "1",
            "-k",
            "sync",
            "-b",
            f"{HOST}:{self.port}",
            "--chdir",
            str(SCRIPTS),
            "--log-level",
            "warning",
            "--graceful-timeout",
            "5",
            "bench_app:create_bench_app()",
        ]
        log(f"starting: {' '.join(cmd[2:])}")
        # Its output goes to our stderr: stdout is reserved for the figures.
        self.proc = subprocess.Popen(
            cmd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            stderr=sys.stderr.fileno(),
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with code {self.proc.returncode} "
                    "before serving; its log is above"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                try:
                    conn.request(
                        "POST",
                        TRIVIAL_PATH,
                        body=b"",
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                    )
                    if conn.getresponse().status == 200:
                        log(f"gunicorn (pid {self.proc.pid}) ready on {HOST}:{self.port}")
                        return
                finally:
                    conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not ready after {READY_TIMEOUT:.0f}s")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL it if it has not gone in time."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
        log(f"gunicorn (pid {proc.pid}) stopped")


# --- the benchmark ---------------------------------------------------------------------------


@dataclass
class Target:
    """Where requests go: base URL, transport and, in-process, the SQL counter."""

    base_url: str
    transport: MeteredTransport
    sql: SqlCounter | None = None


@dataclass
class Phase:
    """One timed phase: requests sent, wall time and per-endpoint figures."""

    requests: int
    seconds: float
    kinds: dict[str, KindStats]

    @property
    def ms_per_request(self) -> float:
        return 1000 * self.seconds / max(self.requests, 1)

    @property
    def transport_ms_per_request(self) -> float:
        return 1000 * sum(k.seconds for k in self.kinds.values()) / max(self.requests, 1)

    def as_dict(self, with_sql: bool) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 4),
            "per_s": round(self.requests / self.seconds, 1) if self.seconds else None,
            "ms_per_request": round(self.ms_per_request, 3),
            "transport_ms_per_request": round(self.transport_ms_per_request, 3),
            "by_endpoint": {k: v.as_dict(with_sql) for k, v in sorted(self.kinds.items())},
        }


def run_calls(target: Target, phones: list[str], repeat: bool) -> tuple[list[CallRecord], Phase]:
    """One full call per phone, one after another; failures are kept, not raised."""
    sim = TwilioSimulator(
        target.transport,
        auth_token=AUTH_TOKEN,
        public_base_url=target.base_url,
        repeat_requests=repeat,
    )
    records: list[CallRecord] = []
    target.transport.reset()
    started = time.perf_counter()
    for phone in phones:
        try:
            records.append(
                sim.call(from_=phone, to=SURVEY_NUMBER, respondent=satisfied_respondent())
            )
        except SimulatorError as exc:
            if exc.record is None:
                raise
            records.append(exc.record)
    seconds = time.perf_counter() - started
    kinds = target.transport.reset()
    return records, Phase(sum(k.requests for k in kinds.values()), seconds, kinds)


def run_trivial(target: Target, templates: list[dict[str, str]], count: int, repeat: bool) -> Phase:
    """``count`` POSTs to the constant route with the calls' own parameters, each signed as
    the simulator signs (once per pair when repeating, as the simulator does)."""
    url = target.base_url + TRIVIAL_PATH
    validator = RequestValidator(AUTH_TOKEN)
    sends = 2 if repeat else 1
    target.transport.reset()
    started = time.perf_counter()
    for i in range(count // sends):
        params = templates[i % len(templates)]
        headers = {
            "X-Twilio-Signature": validator.compute_signature(url, params),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        for _ in range(sends):
            status, body = target.transport.post(url, params, headers)
            if status != 200 or body != TRIVIAL_TWIML:
                raise RuntimeError(f"{TRIVIAL_PATH} answered HTTP {status}: {body[:200]!r}")
    seconds = time.perf_counter() - started
    kinds = target.transport.reset()
    return Phase(sum(k.requests for k in kinds.values()), seconds, kinds)


def add_phase(total: Phase, more: Phase) -> None:
    """Add ``more``'s requests, time and per-endpoint figures to ``total``."""
    total.requests += more.requests
    total.seconds += more.seconds
    for kind, stats in more.kinds.items():
        into = total.kinds.setdefault(kind, KindStats())
        into.requests += stats.requests
        into.seconds += stats.seconds
        into.statements.update(stats.statements)
        into.checkouts += stats.checkouts
        into.commits += stats.commits
        into.samples.extend(stats.samples)


def run_interleaved(
    target: Target,
    phones: list[str],
    templates: list[dict[str, str]],
    repeat: bool,
    profile: cProfile.Profile | None,
) -> tuple[list[CallRecord], Phase, Phase]:
    """Each call followed by as many trivial requests as it made, so that both see the same
    machine: on a shared host the speed drifts within seconds, and measuring the two in
    separate phases made the ratio swing by more than the effects being measured."""
    records: list[CallRecord] = []
    calls, trivial = Phase(0, 0.0, {}), Phase(0, 0.0, {})
    per_call = len(templates) * (2 if repeat else 1)
    for phone in phones:
        if profile is not None:
            profile.enable()
        more, phase = run_calls(target, [phone], repeat)
        if profile is not None:
            profile.disable()
        records += more
        add_phase(calls, phase)
        add_phase(trivial, run_trivial(target, templates, per_call, repeat))
    return records, calls, trivial


def db_summary(database_url: str) -> dict[str, Any]:
    """What the calls left in the database: interviews and attempts by status, rows per
    interview."""
    db = Database(database_url)
    try:
        with db.engine.connect() as conn:

            def by_status(table: str) -> dict[str, int]:
                rows = conn.execute(text(f"select status, count(*) from {table} group by status"))
                return {status: int(n) for status, n in rows}

            def count(table: str) -> int:
                return int(conn.execute(text(f"select count(*) from {table}")).scalar_one())

            return {
                "interviews_by_status": by_status("interviews"),
                "call_attempts_by_status": by_status("call_attempts"),
                "answers": count("answers"),
                "turns": count("turns"),
                "referrals": count("referrals"),
            }
    finally:
        db.dispose()


def check_calls(
    records: list[CallRecord], summary: dict[str, Any], expected: int, requests_per_call: int
) -> list[str]:
    """Every reason to distrust the run; empty when every call completed as scripted."""
    problems: list[str] = []
    for record in records:
        for error in record.errors:
            problems.append(f"{record.from_}: {error}")
        problems.extend(f"{record.from_}: {m}" for m in record.mismatches)
        if record.ended_by != "app":
            problems.append(f"{record.from_}: call ended by {record.ended_by}, not the app")
        if len(record.requests) != requests_per_call:
            problems.append(
                f"{record.from_}: {len(record.requests)} webhooks, expected {requests_per_call}"
            )
    statuses = summary["interviews_by_status"]
    if statuses != {"completed": expected}:
        problems.append(f"interviews by status {statuses}, expected {{'completed': {expected}}}")
    return problems


def print_profile(profile: cProfile.Profile, turns: int, limit: int) -> None:
    """The top functions by own time and by cumulative time, in ms per turn, to stderr."""
    for sort in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats(sort).print_stats(limit)
        log(
            f"\n== profile, top {limit} by {sort} ({turns} turns; divide times by turns "
            f"for per turn) =="
        )
        # pstats' header lines are noise here; keep from the column titles on.
        listing = out.getvalue()
        log(listing[listing.find("   ncalls") :])


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into SystemExit so the server is stopped on the way out."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--http",
        dest="wsgi",
        action="store_false",
        help="gunicorn with one sync worker on 127.0.0.1 (default)",
    )
    mode.add_argument(
        "--wsgi",
        dest="wsgi",
        action="store_true",
        help="in-process through Flask's test client, for profiling and SQL counts",
    )
    parser.set_defaults(wsgi=False)
    parser.add_argument("--calls", type=int, default=200, help="measured calls (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured calls first (default 5)")
    parser.add_argument(
        "--repeat",
        action="store_true",
        help="send every webhook twice, as Twilio does when it retries",
    )
    parser.add_argument(
        "--database-url",
        help="run on this database instead of a fresh SQLite file; "
        "its ivr tables are DROPPED and recreated",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    parser.add_argument(
        "--max-ratio",
        type=float,
        default=TARGET_RATIO,
        help=f"turn/trivial cost ratio to judge against (default {TARGET_RATIO})",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="--wsgi only: cProfile the measured calls, write pstats to FILE "
        "and print the top functions to stderr",
    )
    parser.add_argument(
        "--profile-limit",
        type=int,
        default=30,
        help="functions listed from the profile (default 30)",
    )
    parser.add_argument(
        "--sql-trace",
        action="store_true",
        help="--wsgi only: print every SQL statement of one measured call",
    )
    args = parser.parse_args(argv)
    if args.calls < 1 or args.warmup < 1:
        parser.error("--calls and --warmup must be at least 1")
    if (args.profile or args.sql_trace) and not args.wsgi:
        parser.error("--profile and --sql-trace need --wsgi")
    return args


def bench(args: argparse.Namespace, stack: ExitStack) -> dict[str, Any]:
    """Prepare, serve, measure and check; return the figures."""
    if args.database_url:
        database_url = args.database_url
    else:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="ivr-bench-"))
        database_url = f"sqlite:///{Path(tmp) / 'ivr.db'}"
    phones = drama_numbers(args.warmup + args.calls)
    log(f"preparing {len(phones)} cases in {database_url}")
    prepare_database(database_url, phones)

    if args.wsgi:
        base_url = f"http://{HOST}"
        app = create_bench_app(bench_environ(database_url, base_url))
        db = app.extensions["ivr"].db
        stack.callback(db.dispose)
        sql = SqlCounter(db.engine)
        target = Target(base_url, MeteredTransport(WSGITransport(app), sql), sql)
    else:
        port = free_port()
        base_url = f"http://{HOST}:{port}"
        stack.enter_context(GunicornServer(bench_environ(database_url, base_url), port))
        http_transport = HTTPTransport()
        stack.callback(http_transport.close)
        target = Target(base_url, MeteredTransport(http_transport, None))

    log(f"warm-up: {args.warmup} calls, {WARMUP_TRIVIAL} trivial requests")
    warm_records, _ = run_calls(target, phones[: args.warmup], args.repeat)
    templates = [params for _url, params in warm_records[0].requests]
    run_trivial(target, templates, WARMUP_TRIVIAL, args.repeat)

    log(
        f"calls: {args.calls}, each followed by {len(templates)} trivial requests"
        + (" (every webhook sent twice)" if args.repeat else "")
    )
    trace: list[str] = []
    if args.sql_trace and target.sql is not None:
        # The first measured call alone is traced: every call runs the same statements.
        target.sql.trace = trace
        records, _ = run_calls(target, phones[args.warmup : args.warmup + 1], args.repeat)
        target.sql.trace = None
        log("\n== SQL of one full call ==\n" + "\n".join(trace) + "\n")
        measured_phones = phones[args.warmup + 1 :]
    else:
        records = []
        measured_phones = phones[args.warmup :]
    profile = cProfile.Profile() if args.profile else None
    more, calls, trivial = run_interleaved(target, measured_phones, templates, args.repeat, profile)
    records += more
    if profile is not None:
        profile.dump_stats(args.profile)
        print_profile(profile, calls.requests, args.profile_limit)

    summary = db_summary(database_url)
    problems = check_calls(
        warm_records + records, summary, args.warmup + args.calls, len(templates)
    )
    trivial_ms = trivial.ms_per_request
    trivial_transport_ms = trivial.transport_ms_per_request
    # Judged on the time each request spends in the transport (sent to response read):
    # that is what the endpoint costs. The simulator's own work between requests (parsing
    # and checking the TwiML, choosing the answer) is the test client's, not the turn's.
    # The target is per turn webhook (signature, engine, database write, TwiML); the
    # call's first webhook (finding the case, creating the interview) and its status
    # callback are reported beside it, and in the whole-call ratio.
    turn_stats = calls.kinds.get("turn", KindStats())
    turn_ms = 1000 * turn_stats.seconds / max(turn_stats.requests, 1)
    ratio = turn_ms / trivial_transport_ms
    call_ratio = calls.transport_ms_per_request / trivial_transport_ms
    # Medians as well: on a shared host another tenant's burst lands on a few requests of
    # either kind and moves the means; the medians show the typical request.
    trivial_median = trivial.kinds.get("trivial", KindStats()).median_ms
    median_ratio = turn_stats.median_ms / trivial_median if trivial_median else 0.0
    with_sql = target.sql is not None
    figures: dict[str, Any] = {
        "mode": "wsgi" if args.wsgi else "http",
        "server": "in-process (Flask test client)" if args.wsgi else "gunicorn -w 1 (sync worker)",
        "database": make_url(database_url).get_backend_name()
        if args.database_url
        else "sqlite (fresh file)",
        "repeat": args.repeat,
        "calls": args.calls,
        "measured_calls": len(more),
        "requests_per_call": len(templates) * (2 if args.repeat else 1),
        "turns": calls.requests,
        "turns_per_s": round(calls.requests / calls.seconds, 1),
        "ms_per_turn": round(calls.ms_per_request, 3),
        "calls_per_s": round(len(more) / calls.seconds, 2),
        "trivial_req_per_s": round(1000 / trivial_ms, 1),
        "trivial_ms_per_request": round(trivial_ms, 3),
        "transport_ms_per_turn": round(turn_ms, 3),
        "transport_ms_per_call_request": round(calls.transport_ms_per_request, 3),
        "transport_ms_per_trivial": round(trivial_transport_ms, 3),
        "ratio": round(ratio, 3),
        "whole_call_ratio": round(call_ratio, 3),
        "median_ms_turn": round(turn_stats.median_ms, 3),
        "median_ms_trivial": round(trivial_median, 3),
        "median_ratio": round(median_ratio, 3),
        "max_ratio": args.max_ratio,
        "within_max_ratio": ratio <= args.max_ratio,
        # Wall time of whole calls, the simulator's work included, over the trivial loop's.
        "wall_ratio": round(calls.ms_per_request / trivial_ms, 3),
        "profiled": bool(args.profile),
        "phases": {"calls": calls.as_dict(with_sql), "trivial": trivial.as_dict(False)},
        "database_after": summary,
        "correct": not problems,
        "problems": problems[:20],
    }
    if with_sql:
        statements = sum(sum(k.statements.values()) for k in calls.kinds.values())
        figures["sql_per_turn"] = round(statements / calls.requests, 2)
        figures["sql_per_call"] = round(statements / len(more), 2)
    return figures


def report(figures: dict[str, Any]) -> str:
    """The figures as a few lines for a person."""
    f = figures
    lines = [
        f"mode {f['mode']}: {f['server']}, {f['database']}"
        + (", every webhook sent twice" if f["repeat"] else "")
        + (" [UNDER cProfile: absolute figures inflated]" if f["profiled"] else ""),
        f"calls {f['measured_calls']} measured x {f['requests_per_call']} requests = "
        f"{f['turns']} turns",
        f"full call turns/s     {f['turns_per_s']:>9.1f}   ({f['ms_per_turn']:.3f} ms/turn, "
        f"{f['calls_per_s']:.2f} calls/s)",
        f"trivial req/s         {f['trivial_req_per_s']:>9.1f}   ({f['trivial_ms_per_request']:.3f}"
        " ms)",
        f"per request, sent to response read: turn webhook {f['transport_ms_per_turn']:.3f} ms,"
        f" any webhook of a call {f['transport_ms_per_call_request']:.3f} ms, trivial "
        f"{f['transport_ms_per_trivial']:.3f} ms",
        f"ratio turn/trivial    {f['ratio']:>9.3f}   "
        + ("<=" if f["within_max_ratio"] else ">")
        + f" {f['max_ratio']}: "
        + ("OK" if f["within_max_ratio"] else "OVER TARGET"),
        f"whole call (first webhook and status callback included) / trivial: "
        f"{f['whole_call_ratio']:.3f}",
        f"medians: turn webhook {f['median_ms_turn']:.3f} ms, trivial "
        f"{f['median_ms_trivial']:.3f} ms -> ratio {f['median_ratio']:.3f}",
        f"wall-time ratio, simulator's own work included: {f['wall_ratio']:.3f}",
    ]
    for kind, stats in f["phases"]["calls"]["by_endpoint"].items():
        extra = ""
        if "sql_per_request" in stats:
            verbs = ", ".join(f"{k} {v:g}" for k, v in stats["sql_by_verb_per_request"].items())
            extra = (
                f", {stats['sql_per_request']:g} round trips ({verbs}), "
                f"{stats['checkouts_per_request']:g} checkouts, "
                f"{stats['commits_per_request']:g} commits"
            )
        lines.append(
            f"  {kind:<16} {stats['requests']:>6} requests, {stats['mean_ms']:.3f} ms" + extra
        )
    if "sql_per_turn" in f:
        lines.append(
            f"database round trips per turn {f['sql_per_turn']:g}, per call {f['sql_per_call']:g}"
        )
    db = f["database_after"]
    lines.append(
        f"interviews by status {db['interviews_by_status']}; attempts "
        f"{db['call_attempts_by_status']}; answers {db['answers']}, turns "
        f"{db['turns']}, referrals {db['referrals']}"
    )
    lines.append(
        "correct: every call completed"
        if f["correct"]
        else "BROKEN CALLS, figures worthless:\n  " + "\n  ".join(f["problems"])
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when any call did not complete, 130 on Ctrl-C."""
    args = parse_args(argv)
    try:
        with sigterm_as_exit(), ExitStack() as stack:
            figures = bench(args, stack)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0 if figures["correct"] else 1


if __name__ == "__main__":
    sys.exit(main())
