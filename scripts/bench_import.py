"""How long ``ivr sample import`` takes for a large victims' sample, on SQLite and PostgreSQL.

The sample is written the way a force's crime system exports one: 100,000 USS cases by
default, phone numbers in the common UK writings (``0113 496 0001``, ``+44 113 496 0001``,
``(0113) 4960001``...). Only Ofcom's 14,000 drama numbers may be used, so numbers repeat
about seven times in a sample this size, as a repeat victim's would across cases. Each
database is fresh; the command is run as an operator would run it, in a process of its
own, and timed from start to exit (start-up included). Its CPU time (user and system) is
given too: on a busy machine it moves much less than the elapsed time.

    python scripts/bench_import.py                       # 100,000 rows, both databases
    python scripts/bench_import.py --runs 3              # each database fresh, 3 times
    python scripts/bench_import.py --rows 20000 --database-url sqlite:////tmp/x.db
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import create_engine, make_url, text

from ivr.demo.people import drama_numbers
from ivr.store.db import Database

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CRIMES = ("burglary", "vehicle", "violent", "racist")
DISTRICTS = ("Hartlepool", "Middlesbrough", "Redcar and Cleveland", "Stockton-on-Tees")
NAMES = ("Alex", "Sam", "Jo", "Chris", "Pat", "Jamie", "Robin", "Morgan")


def writings(e164: str) -> list[str]:
    """The same number as different systems write it."""
    national = "0" + e164[3:]
    return [
        f"{national[:4]} {national[4:7]} {national[7:]}",
        f"+44 {national[1:4]} {national[4:7]} {national[7:]}",
        f"({national[:4]}) {national[4:]}",
        national,
        f"0044 {national[1:]}",
    ]


def write_sample(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    numbers = drama_numbers()
    start = date(2026, 9, 1)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["case_ref", "phone", "crime_type", "district", "reported_on", "first_name"]
        )
        for index in range(rows):
            phone = rng.choice(writings(numbers[index % len(numbers)]))
            writer.writerow(
                [
                    f"BI/{index:07d}/26",
                    phone,
                    rng.choice(CRIMES),
                    rng.choice(DISTRICTS),
                    (start + timedelta(days=rng.randrange(60))).isoformat(),
                    rng.choice(NAMES),
                ]
            )


@contextmanager
def fresh_postgres() -> Iterator[str]:
    server = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    name = f"ivr_bench_import_{os.getpid()}"
    with server.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    try:
        yield make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        server.dispose()


@contextmanager
def fresh_sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{folder}/bench.db"


class Timing(NamedTuple):
    """How long the command took from start to exit, and the CPU time its process used."""

    seconds: float
    cpu_seconds: float


def timed_import(database_url: str, sample: Path) -> Timing:
    Database(database_url).upgrade()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "IVR_"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="bench", REDIS_URL="")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", "sample", "import"]
        + [str(sample), "--survey", "uss"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"the import failed:\n{done.stderr[-2000:]}")
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(text("select count(*) from cases")).scalar_one()
    engine.dispose()
    if count < 1:
        raise SystemExit("the import stored no cases")
    return Timing(seconds, cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="one database instead of both fresh ones")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1, help="imports per database, each fresh")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs: please enter a value greater than 0")
    with tempfile.TemporaryDirectory() as folder:
        sample = Path(folder) / "sample.csv"
        write_sample(sample, args.rows, args.seed)
        for _ in range(args.runs):
            places = (
                [(make_url(args.database_url).get_backend_name(), _given(args.database_url))]
                if args.database_url
                else [("sqlite", fresh_sqlite()), ("postgresql", fresh_postgres())]
            )
            for name, place in places:
                with place as url:
                    timing = timed_import(url, sample)
                print(
                    f"{name}: {args.rows} rows imported in {timing.seconds:.2f} s "
                    f"({timing.cpu_seconds:.2f} s CPU)",
                    flush=True,
                )
    return 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    sys.exit(main())
