"""The export's writers stream: each row is written before the next is asked for, and no
row is kept once written, so an export of any size needs the memory of one row."""

from __future__ import annotations

import csv
import io
import json
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ivr.results.export import COLUMNS, write_csv, write_json

QUESTION_IDS = ["ease_of_contact", "treatment"]


class Row(dict[str, Any]):
    """A row that can be watched (a plain dict cannot be weakly referenced)."""


def row(i: int) -> Row:
    values: dict[str, Any] = dict.fromkeys(COLUMNS)
    values.update(case_ref=f"C{i}", survey="uss", status="completed", attempts=1, weight=1.5)
    values["answers"] = {
        "ease_of_contact": {"code": "2", "label": "very satisfied", "via": "keypad"}
    }
    return Row(values)


class Watched:
    """Rows made one at a time, that check as each is asked for that the ones before it
    are already written out, and count how many are still held anywhere."""

    def __init__(self, count: int, out: io.StringIO, written: Callable[[str, int], bool]):
        self.count, self.out, self.written = count, out, written
        self.alive = 0
        self.most_alive = 0

    def _gone(self) -> None:
        self.alive -= 1

    def __iter__(self) -> Iterator[Row]:
        for i in range(self.count):
            if i:
                assert self.written(self.out.getvalue(), i - 1), f"row {i - 1} not yet written"
            made = row(i)
            self.alive += 1
            self.most_alive = max(self.most_alive, self.alive)
            weakref.finalize(made, self._gone)
            yield made
            del made


def in_json(text: str, i: int) -> bool:
    return f'"case_ref": "C{i}"' in text


def in_csv(text: str, i: int) -> bool:
    return f"\nC{i}," in text


ROWS = 2_000


def test_json_is_written_a_row_at_a_time_and_nothing_is_kept() -> None:
    out = io.StringIO()
    rows = Watched(ROWS, out, in_json)
    assert write_json(rows, out) == ROWS
    # The row being written and, at most, the one before it: never the list.
    assert rows.most_alive <= 2
    parsed = json.loads(out.getvalue())
    assert [r["case_ref"] for r in parsed] == [f"C{i}" for i in range(ROWS)]
    assert parsed[0]["weight"] == 1.5


def test_csv_is_written_a_row_at_a_time_and_nothing_is_kept() -> None:
    out = io.StringIO()
    rows = Watched(ROWS, out, in_csv)
    assert write_csv(rows, out, QUESTION_IDS) == ROWS
    assert rows.most_alive <= 2
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(parsed) == ROWS
    assert (parsed[7]["case_ref"], parsed[7]["ease_of_contact_label"]) == ("C7", "very satisfied")
    # A question the row does not have, and a None, are blank cells.
    assert (parsed[7]["treatment"], parsed[7]["district"]) == ("", "")


def test_an_empty_export_is_an_empty_array_and_a_header() -> None:
    out = io.StringIO()
    assert write_json(iter(()), out) == 0
    assert json.loads(out.getvalue()) == []
    out = io.StringIO()
    assert write_csv(iter(()), out, QUESTION_IDS) == 0
    assert out.getvalue().splitlines() == [
        ",".join([*COLUMNS, *(c for q in QUESTION_IDS for c in (q, f"{q}_label", f"{q}_via"))])
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_csv_text_never_runs_as_a_formula(start: str) -> None:
    hostile = row(0)
    hostile["district"] = f'{start}HYPERLINK("http://x")'
    out = io.StringIO()
    write_csv([hostile], out, QUESTION_IDS)
    (parsed,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert parsed["district"] == f'\'{start}HYPERLINK("http://x")'
    # Numbers stay numbers.
    assert (parsed["weight"], parsed["attempts"]) == ("1.5", "1")


def test_json_keeps_text_as_it_is() -> None:
    data = row(0)
    data["district"] = "=Stockton"
    out = io.StringIO()
    write_json([data], out)
    assert json.loads(out.getvalue())[0]["district"] == "=Stockton"
