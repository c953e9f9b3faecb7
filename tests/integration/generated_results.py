"""A database of the benchmark generator's interviews, on SQLite or on a PostgreSQL
database of its own that is dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import throwaway_postgres
from tests.scripts import load_script


@contextmanager
def generated_results(kind: str, folder: Path, interviews: int, *, seed: int) -> Iterator[str]:
    """The URL of a ``kind`` ("sqlite" or "postgresql") database holding ``interviews``
    generated interviews; a SQLite file goes in ``folder``."""
    generator = load_script("gen_results_data")
    if kind == "sqlite":
        url = f"sqlite:///{folder / 'results.db'}"
        generator.generate(url, interviews, seed=seed)
        yield url
        return
    with throwaway_postgres("ivr_results") as url:
        generator.generate(url, interviews, seed=seed)
        yield url
