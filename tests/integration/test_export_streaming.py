"""The export streams on SQLite and on PostgreSQL: the store reads its rows a batch at a time
from a cursor left open between batches (server-side on PostgreSQL), and each interview is
written out before the next is read, so the first rows are out before the last are read and
memory does not grow with the number of interviews.

The data is the benchmark generator's, a few batches' worth.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.results.export import export_objects, write_csv, write_json
from ivr.store import results as store
from ivr.store.db import Database
from tests.conftest import ROOT
from tests.integration.generated_results import generated_results

#: Enough interviews for a few of the store's batches.
INTERVIEWS = 3 * store.EXPORT_BATCH


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    folder = tmp_path_factory.mktemp("export")
    with generated_results(request.param, folder, INTERVIEWS, seed=5) as url:
        db = Database(url)
        yield db
        db.dispose()


def test_the_store_reads_the_rows_a_batch_at_a_time_from_an_open_cursor(
    generated: Database,
) -> None:
    streamed: list[tuple[dict[str, Any], Any]] = []

    def seen(_conn: Any, cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
        if context.execution_options.get("yield_per"):
            streamed.append((dict(context.execution_options), cursor))

    event.listen(generated.engine, "before_cursor_execute", seen)
    try:
        with generated.snapshot() as conn:
            rows = store.export_rows(conn, "uss", start=None, end=None)
            first = next(rows)
            (options, cursor), *others = streamed
            assert not others
            assert options["yield_per"] == store.EXPORT_BATCH < INTERVIEWS
            assert options.get("stream_results", True)
            if generated.engine.dialect.name == "postgresql":
                # The rows stay on the server until asked for, a batch at a time.
                assert isinstance(cursor, psycopg.ServerCursor)
                open_cursors = "select count(*) from pg_cursors where not is_holdable"
                assert conn.exec_driver_sql(open_cursors).scalar() == 1
            rest = sum(1 for _ in rows)
    finally:
        event.remove(generated.engine, "before_cursor_execute", seen)
    assert first.case_ref
    assert rest + 1 > 2 * store.EXPORT_BATCH


class Counted:
    """The store's rows, counted as they are read."""

    def __init__(self) -> None:
        self.read = 0

    def rows(self, *args: Any, **kwargs: Any) -> Iterator[store.ExportRow]:
        for row in EXPORT_ROWS(*args, **kwargs):
            self.read += 1
            yield row


EXPORT_ROWS = store.export_rows


class Watched(io.StringIO):
    """An output that notes how many rows the store had read when each line came out."""

    def __init__(self, counted: Counted) -> None:
        super().__init__()
        self.counted = counted
        self.read_at_line: list[int] = []

    def write(self, text: str, /) -> int:
        self.read_at_line.extend([self.counted.read] * text.count("\n"))
        return super().write(text)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_each_interview_is_written_before_the_next_is_read(
    generated: Database, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted()
    monkeypatch.setattr(store, "export_rows", counted.rows)
    registry = QuestionnaireRegistry(ROOT / "questionnaires")
    question_ids = [q.id for q in registry.current("uss").questionnaire.questions]
    out = Watched(counted)
    with generated.snapshot() as conn:
        rows = export_objects(conn, "uss", start=None, end=None, registry=registry)
        written = write_csv(rows, out, question_ids) if fmt == "csv" else write_json(rows, out)
    assert written == counted.read > 2 * store.EXPORT_BATCH
    # Row n's line is written once n rows are read, and never more: no row waits for the
    # ones after it (the CSV's header comes before any is read).
    if fmt == "csv":
        assert out.read_at_line[0] == 0
        rows_at = out.read_at_line[1 : written + 1]
    else:
        rows_at = out.read_at_line[:written]
    assert rows_at == list(range(1, written + 1))
