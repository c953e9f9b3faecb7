"""Open-loop load test: whole signed USS calls at a fixed rate of webhooks per second.

Callers ring in as a Poisson process sized so that, with every call's webhooks counted
(the first webhook, each answer and the status callback), the server is sent ``--rate``
requests a second on average. Each caller listens to the prompt it is given (about 15
characters a second, as the simulator reckons synthesised speech), but for no more than
six seconds: ``<Gather>`` lets a caller key in over the prompt, and most do once they know
the scale. Then they think for one to three seconds, so a turn comes about every eight
seconds and, at 300 webhooks a second, some 2,400 calls are in progress at once.

Latency is measured from the moment a request was *due*, not from when the generator got
round to sending it: a generator that falls behind shows as latency instead of hiding it.

The mix of callers: 60% satisfied, 25% dissatisfied (a reason recorded, consent to be
contacted: a service-recovery referral) and 15% who ask for police contact (an action
alert). Every call must end with its interview completed, and every referral's notice
must have been sent, or the run counts an error.

    python scripts/load_calls.py --rate 300 --duration 120                   # PostgreSQL
    python scripts/load_calls.py --rate 100 --duration 30 --database-url sqlite:///load.db

Without ``--database-url`` a throwaway PostgreSQL database is created on 127.0.0.1 and
dropped at the end. The app runs as the Procfile runs it: gunicorn with the product's own
configuration (``ivr/gunicorn_config.py``, ``--workers`` sync workers) and an RQ worker
sending the referral notices, on a Redis database the run claims (``--in-process-queue``
runs them inside the web request instead, as the embedded default does). It prints
p50/p90/p99/max per kind of webhook, the errors, the calls in progress, how late the
generator itself sent (its own lag is inside the latency), and the CPU used by the
machine, by the server's processes (web and worker) and by the generator itself.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench_app import AUTH_TOKEN, SURVEY_NUMBER, bench_environ, drama_numbers, prepare_database
from bench_turns import PRODUCT_SETTINGS, free_port
from sqlalchemy import create_engine, make_url, text
from twilio.request_validator import RequestValidator

HOST = "127.0.0.1"
SERVER_LOG = Path(tempfile.gettempdir()) / "ivr-load-server.log"
WORKER_LOG = Path(tempfile.gettempdir()) / "ivr-load-worker.log"
ROOT = Path(__file__).resolve().parent.parent
#: Webhooks in a satisfied call: the first, eight answers, the status callback.
WEBHOOKS_PER_CALL = 10.4
PERSONAS = (("satisfied", 0.60), ("dissatisfied", 0.25), ("police_contact", 0.15))
SCALE_HINT = "completely satisfied"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class Figures:
    """What was measured inside the window: latencies by kind, errors by what went wrong."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: How late the generator itself sent each request (ms): its own lag, inside the latency.
    lateness: list[float] = field(default_factory=list)
    gc_pauses: int = 0
    gc_longest_ms: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    calls_started: int = 0
    calls_completed: int = 0
    in_progress: list[int] = field(default_factory=list)


class Window:
    """The measured part of the run: after the warm-up, before the end."""

    def __init__(self, warmup: float, duration: float) -> None:
        self.start = time.monotonic() + warmup
        self.end = self.start + duration

    def holds(self, moment: float) -> bool:
        return self.start <= moment < self.end


#: The longest a caller listens before keying in over the prompt.
MAX_LISTEN_SECONDS = 6.0


def listening_seconds(twiml: ET.Element) -> float:
    said = " ".join(say.text or "" for say in twiml.iter("Say"))
    return min(MAX_LISTEN_SECONDS, len(said) / 15)


def answer_for(persona: str, gather: ET.Element, asked: int) -> str:
    """The key a caller of this persona presses at the ``asked``-th question."""
    if SCALE_HINT in (gather.get("hints") or ""):
        if persona == "dissatisfied":
            return random.choice("567")
        if persona == "police_contact":
            return "4"
        return random.choice("123")
    if asked < 2:
        return "1"  # identity, then taking part
    # Recovery consent (dissatisfied only) and "anything else for the police?".
    return "2" if persona == "satisfied" else "1"


class Caller:
    """One call, played as Twilio would: signed webhooks that follow the TwiML returned."""

    def __init__(self, run: LoadRun, phone: str, persona: str) -> None:
        self.run = run
        self.phone = phone
        self.persona = persona
        self.sid = "CA" + secrets.token_hex(16)

    def params(self, **specific: str) -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.phone,
            "To": SURVEY_NUMBER,
            "Direction": "inbound",
            "CallStatus": "in-progress",
            "ApiVersion": "2010-04-01",
            **specific,
        }

    async def play(self, due: float) -> None:
        run, figures = self.run, self.run.figures
        counted = run.window.holds(due)
        figures.calls_started += counted
        run.live += 1
        began = due
        try:
            body = await run.send("voice", run.base + "/twilio/voice", self.params(), due)
            asked = 0
            while body is not None:
                twiml = ET.fromstring(body)
                gather = twiml.find("Gather")
                record = twiml.find("Record")
                due = time.monotonic() + listening_seconds(twiml) + random.uniform(1.0, 3.0)
                if gather is not None:
                    digits = answer_for(self.persona, gather, asked)
                    asked += 1
                    url, specific = gather.get("action", ""), {"Digits": digits}
                elif record is not None:
                    url = record.get("action", "")
                    seconds = random.randint(4, 20)
                    due += seconds
                    specific = {
                        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/"
                        f"AC{'0' * 32}/Recordings/RE{secrets.token_hex(16)}",
                        "RecordingDuration": str(seconds),
                        "RecordingSid": "RE" + secrets.token_hex(16),
                        "Digits": "#",
                    }
                else:
                    break
                body = await run.send("turn", url, self.params(**specific), due)
            ended = time.monotonic()
            status = self.params(
                CallStatus="completed", CallDuration=str(max(1, round(ended - began)))
            )
            await run.send("status", run.base + "/twilio/status", status, ended)
            if counted:
                figures.calls_completed += 1
        except _CallFailed:
            pass
        finally:
            run.live -= 1


class _CallFailed(Exception):
    pass


#: Seconds a webhook may take before the run counts it an error (Twilio waits 15).
REQUEST_TIMEOUT = 15.0


async def post(url: str, params: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
    """One form POST on a connection of its own, as a webhook from Twilio comes: the status
    and the body. A minimal HTTP/1.1 client, so that the generator's own work per request
    stays small beside the server's on a machine they share."""
    parts = urlsplit(url)
    body = urlencode(params).encode()
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = (
        f"POST {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        if parts.query
        else f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    )
    request += (
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n{head}\r\n"
    )
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request.encode("latin-1") + body)
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await reader.readexactly(length) if length else b""
    finally:
        writer.close()
    return status, payload.decode("utf-8")


class LoadRun:
    """The generator: one asyncio loop, one HTTP client, calls started on schedule."""

    def __init__(self, base: str, phones: list[str], rate: float, window: Window) -> None:
        self.base = base
        self.phones = phones
        self.rate = rate
        self.window = window
        self.validator = RequestValidator(AUTH_TOKEN)
        self.figures = Figures()
        self.live = 0

    async def send(self, kind: str, url: str, params: dict[str, str], due: float) -> str | None:
        """POST a signed webhook when it is due; its TwiML, or None for a status callback."""
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, params)}
        counted = self.window.holds(due)
        if counted:
            self.figures.lateness.append(max(0.0, time.monotonic() - due) * 1000)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, body = await post(url, params, headers)
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
            if counted:
                self.figures.errors[f"{kind}: {type(exc).__name__}"] += 1
            raise _CallFailed from exc
        if counted:
            self.figures.latencies[kind].append((time.monotonic() - due) * 1000)
        if kind == "status":
            if status not in (200, 204) and counted:
                self.figures.errors[f"status: HTTP {status}"] += 1
            return None
        if status != 200 or "<Response" not in body:
            if counted:
                self.figures.errors[f"{kind}: HTTP {status}"] += 1
            raise _CallFailed
        return body

    async def sample_in_progress(self) -> None:
        while time.monotonic() < self.window.end:
            if self.window.holds(time.monotonic()):
                self.figures.in_progress.append(self.live)
            await asyncio.sleep(1.0)

    async def main(self) -> None:
        calls_per_second = self.rate / WEBHOOKS_PER_CALL
        tasks: set[asyncio.Task[None]] = set()
        sampler = asyncio.create_task(self.sample_in_progress())
        due = time.monotonic()
        phones = iter(self.phones)
        while due < self.window.end:
            phone = next(phones, None)
            if phone is None:
                log("ran out of cases: raise the number of cases or shorten the run")
                break
            persona = random.choices(
                [name for name, _ in PERSONAS], [weight for _, weight in PERSONAS]
            )[0]
            task = asyncio.create_task(Caller(self, phone, persona).play(due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            due += random.expovariate(calls_per_second)
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        # Calls started inside the window finish after it: their webhooks were counted
        # by when they were due, so let them end before the figures are read.
        if tasks:
            await asyncio.wait(tasks)
        await sampler


@contextmanager
def quiet_collector(figures: Figures) -> Iterator[None]:
    """Freeze what was built before the run and leave the collector off during it: the
    thousands of calls in progress are long-lived objects, and a collection walking them
    (100 ms and more) would delay every request due meanwhile. Reference counting frees
    almost everything; the few cycles wait for the end. Any collection that does run is
    counted in the figures, so that the generator's own hiccups are on record."""
    started = 0.0

    def timed(phase: str, info: dict[str, int]) -> None:
        nonlocal started
        if phase == "start":
            started = time.perf_counter()
            return
        pause = (time.perf_counter() - started) * 1000
        figures.gc_pauses += 1
        figures.gc_longest_ms = max(figures.gc_longest_ms, pause)

    gc.collect()
    gc.freeze()
    gc.disable()
    gc.callbacks.append(timed)
    try:
        yield
    finally:
        gc.callbacks.remove(timed)
        gc.enable()
        gc.unfreeze()


def cpu_jiffies() -> tuple[int, int]:
    """The machine's (busy, total) CPU time since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (those still alive)."""
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        after = stat.rsplit(")", 1)[1].split()
        total += (int(after[11]) + int(after[12])) / os.sysconf("SC_CLK_TCK")
    return total


#: Redis databases a run may claim, and the key that claims one: the test suite's, so that
#: a load run and a test run on one host never share (or flush) each other's database.
REDIS_DATABASES = range(1, 16)
REDIS_CLAIM = "ivr-test-run:{}"


@contextmanager
def claimed_redis(server: str) -> Iterator[str]:
    """A Redis database of this run's own on ``server``, emptied and released at the end."""
    from redis import Redis

    admin = Redis.from_url(f"{server}/0", socket_connect_timeout=2)
    for number in REDIS_DATABASES:
        if admin.set(REDIS_CLAIM.format(number), os.getpid(), nx=True, ex=3 * 3600):
            break
    else:
        raise RuntimeError(f"every Redis database 1-15 on {server} is claimed by another run")
    url = f"{server}/{number}"
    Redis.from_url(url).flushdb()
    try:
        yield url
    finally:
        Redis.from_url(url).flushdb()
        admin.delete(REDIS_CLAIM.format(number))


#: As the Procfile has it: jobs run in the worker's own process, on the services and
#: database connections it built once, instead of in a process forked for each job.
RQ_WORKER_CLASS = "rq.worker.SimpleWorker"


@contextmanager
def rq_worker(database_url: str, redis_url: str) -> Iterator[int]:
    """The Procfile's worker: RQ on the run's Redis database, running the referral notices
    the web processes queue. Its process id."""
    env = {k: v for k, v in os.environ.items() if k not in PRODUCT_SETTINGS}
    env.update(bench_environ(database_url, f"http://{HOST}"))
    env["REDIS_URL"] = redis_url
    worker_log = open(WORKER_LOG, "w")  # noqa: SIM115 - closed when the worker stops
    proc = subprocess.Popen(
        [sys.executable, "-m", "rq.cli", "worker", "-w", RQ_WORKER_CLASS, "--url", redis_url],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=worker_log,
        stderr=worker_log,
    )
    try:
        yield proc.pid
    finally:
        stop(proc)
        worker_log.close()


def server_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    try:
        return [master, *(int(p) for p in children.read_text().split())]
    except OSError:
        return [master]


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    admin = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"ivr_load_{os.getpid()}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM a process started in a session of its own, and its children; SIGKILL
    them if they have not gone within 15 seconds."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def gunicorn(
    database_url: str, redis_url: str, workers: int, configured: bool
) -> Iterator[tuple[str, int]]:
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {k: v for k, v in os.environ.items() if k not in PRODUCT_SETTINGS}
    env.update(bench_environ(database_url, base))
    env["WEB_CONCURRENCY"] = str(workers)
    env["REDIS_URL"] = redis_url
    # Without the product's configuration: gunicorn's defaults, as the Procfile ran it before
    # the collector was tuned, for a before-and-after comparison.
    config = ["-c", "python:ivr.gunicorn_config"] if configured else ["-w", str(workers)]
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        *config,
        "-b",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        "ivr.wsgi:app",
    ]
    # The server's own log (referral notices and the like) goes to a file, not the report.
    server_log = open(SERVER_LOG, "w")  # noqa: SIM115 - closed when the server stops
    proc = subprocess.Popen(
        cmd, env=env, cwd=ROOT, start_new_session=True, stdout=server_log, stderr=server_log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with code {proc.returncode}; see its log, {SERVER_LOG}"
                )
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError as exc:
                # /healthz says 503 without Redis, which the load run does not use.
                if getattr(exc, "code", None) == 503:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn not ready after 60s")
            time.sleep(0.2)
        time.sleep(1.0)  # every worker up, not just the first
        yield base, proc.pid
    finally:
        stop(proc)
        server_log.close()


def interview_statuses(url: str) -> dict[str, int]:
    """Interviews by status once the run is over: every call should have completed one."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select status, count(*) from interviews group by status"))
            return {status: count for status, count in rows}
    finally:
        engine.dispose()


#: Seconds the worker has, once the calls are over, to send the notices still queued.
NOTICE_DRAIN_SECONDS = 60


def referral_notices(url: str) -> tuple[int, int]:
    """Referrals raised, and how many of them are still unannounced once the worker has had
    time to send their notices: every one should have gone."""
    engine = create_engine(url)
    deadline = time.monotonic() + NOTICE_DRAIN_SECONDS
    try:
        while True:
            with engine.connect() as conn:
                raised, waiting = conn.execute(
                    text("select count(*), count(*) - count(announced_at) from referrals")
                ).one()
            if not waiting or time.monotonic() > deadline:
                return int(raised), int(waiting)
            time.sleep(1.0)
    finally:
        engine.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def machine_words() -> str:
    """The processor and the interpreter the run had: the figures scale with both."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "an unknown processor",
    )
    return (
        f"on {model}, {os.cpu_count()} cores; Python {platform.python_version()} from "
        f"{sys.base_prefix} ({platform.python_compiler()})"
    )


def report(figures: Figures, seconds: float, cpu: dict[str, float]) -> str:
    lines = [machine_words()]
    every = [v for values in figures.latencies.values() for v in values]
    lines.append(
        f"sent {len(every)} webhooks in {seconds:.0f} s: {len(every) / seconds:.1f}/s; "
        f"calls started {figures.calls_started}, completed {figures.calls_completed}; "
        f"in progress: mean {statistics.fmean(figures.in_progress or [0]):.0f}, "
        f"max {max(figures.in_progress or [0])}"
    )
    lines.append(f"{'kind':<8}{'count':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind in ("voice", "turn", "status", "all"):
        values = every if kind == "all" else figures.latencies.get(kind, [])
        if not values:
            continue
        lines.append(
            f"{kind:<8}{len(values):>8}{percentile(values, 0.5):>9.1f}"
            f"{percentile(values, 0.9):>9.1f}{percentile(values, 0.99):>9.1f}{max(values):>9.1f}"
        )
    late = figures.lateness or [0.0]
    lines.append(
        f"of which the generator's own lag (sent after due): p50 {percentile(late, 0.5):.1f}, "
        f"p99 {percentile(late, 0.99):.1f}, max {max(late):.1f} ms; its collector paused "
        f"{figures.gc_pauses} times, longest {figures.gc_longest_ms:.1f} ms"
    )
    errors = sum(figures.errors.values())
    lines.append(f"errors: {errors}" + "".join(f"\n  {k}: {n}" for k, n in figures.errors.items()))
    lines.append(
        f"CPU: machine {cpu['machine']:.0f}% of {os.cpu_count()} cores; server "
        f"{cpu['server']:.0f}% of one core, its RQ worker {cpu['worker']:.0f}%; generator "
        f"{cpu['generator']:.0f}% of one core (its peak memory "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=float, default=300, help="webhooks a second (default 300)")
    parser.add_argument("--duration", type=float, default=120, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=90, help="seconds before measuring")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--database-url", help="default: a throwaway PostgreSQL database")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379",
        help="Redis server for the job queue; the run claims a database 1-15 of its own",
    )
    parser.add_argument(
        "--in-process-queue",
        action="store_true",
        help="no Redis and no RQ worker: referral notices run inside the web request",
    )
    parser.add_argument(
        "--without-config",
        action="store_true",
        help="gunicorn's defaults instead of ivr/gunicorn_config.py (no collector tuning)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    random.seed(args.seed)
    calls = int(args.rate / WEBHOOKS_PER_CALL * (args.warmup + args.duration) * 1.2) + 10
    phones = drama_numbers(calls)
    with throwaway_postgres() if not args.database_url else _given(args.database_url) as url:
        log(f"preparing {calls} cases in {make_url(url).render_as_string()}")
        prepare_database(url, phones)
        with ExitStack() as stack:
            redis_url, worker = "", None
            if not args.in_process_queue:
                redis_url = stack.enter_context(claimed_redis(args.redis))
                worker = stack.enter_context(rq_worker(url, redis_url))
            base, master = stack.enter_context(
                gunicorn(url, redis_url, args.workers, not args.without_config)
            )
            window = Window(args.warmup, args.duration)
            run = LoadRun(base, phones, args.rate, window)
            log(
                f"{args.rate:g} webhooks/s: {args.warmup:g} s warm-up, {args.duration:g} s measured"
            )
            pids = server_pids(master)
            workers = [] if worker is None else [worker]
            cpu: dict[str, float] = {}

            async def measure_cpu() -> None:
                await asyncio.sleep(max(0.0, window.start - time.monotonic()))
                busy0, total0 = cpu_jiffies()
                server0, own0 = process_cpu_seconds(pids), time.process_time()
                worker0 = process_cpu_seconds(workers)
                await asyncio.sleep(max(0.0, window.end - time.monotonic()))
                busy1, total1 = cpu_jiffies()
                span = window.end - window.start
                cpu["machine"] = 100 * (busy1 - busy0) / max(1, total1 - total0)
                cpu["server"] = 100 * (process_cpu_seconds(pids) - server0) / span
                cpu["worker"] = 100 * (process_cpu_seconds(workers) - worker0) / span
                cpu["generator"] = 100 * (time.process_time() - own0) / span

            async def measured_run() -> None:
                meter = asyncio.create_task(measure_cpu())
                await run.main()
                await meter

            started = time.monotonic()
            with quiet_collector(run.figures):
                asyncio.run(measured_run())
            log(f"run took {time.monotonic() - started:.0f} s")
            statuses = interview_statuses(url)
            referrals, unannounced = referral_notices(url)
    print(report(run.figures, args.duration, cpu))
    print("interviews: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
    print(
        f"referrals and alerts raised {referrals}, their notices "
        + (f"NOT SENT for {unannounced}" if unannounced else "all sent")
    )
    broken = sum(n for status, n in statuses.items() if status != "completed") + unannounced
    errors = sum(run.figures.errors.values()) + broken
    return 1 if errors else 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    sys.exit(main())
