"""Import a survey's sample of cases from a CSV file: every row, or none at all.

A sample comes from a force's crime system, often edited by hand in a spreadsheet, so
every row is checked and every problem is reported (with the physical line it starts
on) before anything is stored: an operator fixes the file once, not once per error.
"""

from __future__ import annotations

import csv
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TextIO

from sqlalchemy.orm import Session

from ivr.questionnaire import access_needs
from ivr.questionnaire.demographics import VOCABULARIES, accepted, group_key
from ivr.questionnaire.schema import CaseField, Questionnaire
from ivr.store.handovers import ACCESS_NEEDS, make_interviewer_only_by_ref
from ivr.store.models import utcnow
from ivr.store.samples import (
    CASE_REF_LENGTH,
    FIXED_CASE_COLUMNS,
    add_cases,
    imported_case_refs,
)
from ivr.telephony.numbers import PhoneError, national_writing, to_e164

#: Columns every sample has, whatever the questionnaire.
BASE_COLUMNS = ("case_ref", "phone")
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
WHOLE_NUMBER = re.compile(r"[+-]?\d+")
#: Optional columns any survey's sample may carry. ``domestic_abuse: yes`` makes a case
#: sensitive whatever its crime type: nothing about the call's purpose is said until the
#: victim's identity and safety are confirmed.
STANDARD_FIELDS: dict[str, CaseField] = {
    "domestic_abuse": CaseField(type="yes_no", required=False, label="Domestic abuse"),
    "language": CaseField(type="text", required=False, label="Language (e.g. en-GB, cy-GB)"),
    "ethnicity": CaseField(type="text", required=False, label="Ethnicity"),
    "age": CaseField(type="integer", required=False, label="Age"),
    "date_of_birth": CaseField(type="date", required=False, label="Date of birth"),
    "sex": CaseField(type="text", required=False, label="Sex"),
    "disability": CaseField(type="text", required=False, label="Disability"),
    "access_needs": CaseField(
        type="text",
        required=False,
        label="Access needs (relay_uk; textphone; hearing; speech; slow_speech; other:...)",
    ),
}
#: The longest free-text value kept from a sample cell outside the case's own columns.
MAX_TEXT = 200
#: The ages a sample may give. Under-16s are kept (eligibility marks them out of sample,
#: 4.10, rather than the import refusing the file); past 120 is a typing mistake.
AGE_RANGE = (0, 120)


#: Characters no sample cell may hold: the C0 controls but tab, line feed and carriage
#: return (a quoted cell may span lines), and DEL.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fields_of(questionnaire: Questionnaire) -> dict[str, CaseField]:
    """The case columns a survey's sample may have: its questionnaire's and the standard."""
    return {**STANDARD_FIELDS, **questionnaire.case_fields}


@dataclass(frozen=True)
class RowProblem:
    """Why one line of the file cannot be imported."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """How many cases were imported, or why none were."""

    imported: int
    problems: list[RowProblem] = field(default_factory=list)


@dataclass
class _Row:
    case_ref: str
    phone: str
    values: dict[str, Any]


class _Invalid(ValueError):
    """A cell whose value does not fit its column."""


def import_sample(
    session: Session, questionnaire: Questionnaire, stream: TextIO, *, today: date | None = None
) -> ImportReport:
    """Check a sample CSV for ``questionnaire`` and add its cases if every row is valid.

    On any problem nothing is added to ``session`` and every problem is returned;
    otherwise all rows are inserted in one batch. ``stream`` should be opened with
    ``newline=""`` so quoted line breaks survive.
    """
    with _cycle_collection_paused():
        return _import(session, questionnaire, stream, today or date.today())


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a sample is imported.

    A large sample makes millions of containers (cells, rows, records) and no cycles:
    reference counting frees them all the same, but the collector's passes over every
    live one took a sixth of the import's time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _import(
    session: Session, questionnaire: Questionnaire, stream: TextIO, today: date
) -> ImportReport:
    problems: list[RowProblem] = []
    records = csv_records(stream, problems)
    header = next(records, None)
    if header is None:
        if not problems:
            problems.append(
                RowProblem(
                    1,
                    "the file is empty; the first line must name the "
                    f"columns: {', '.join(_required(questionnaire))}",
                )
            )
        return ImportReport(0, in_line_order(problems))
    columns = _columns(*header, questionnaire, problems)
    width = len(header[1])
    known = fields_of(questionnaire)
    fields = {name: known[name] for name in columns if name in known}

    rows: list[_Row] = []
    first_seen: dict[str, int] = {}
    checker = _RowChecker(columns, fields, today)
    data_records = 0
    for line, cells in records:
        data_records += 1
        if len(cells) != width:
            problems.append(RowProblem(line, f"expected {width} columns, found {len(cells)}"))
            continue
        row, reasons = checker.check(cells)
        reasons += _language_offered(row, questionnaire)
        if reasons:
            problems.extend(RowProblem(line, reason) for reason in reasons)
        if row.case_ref:
            if row.case_ref in first_seen:
                problems.append(
                    RowProblem(
                        line,
                        f"duplicate case_ref '{row.case_ref}' "
                        f"(first on line {first_seen[row.case_ref]})",
                    )
                )
            else:
                first_seen[row.case_ref] = line
        if not reasons:
            rows.append(row)
    if not data_records and not any(p.line > header[0] for p in problems):
        problems.append(RowProblem(header[0], "no cases in file (only the header line)"))

    for ref in imported_case_refs(session, questionnaire.id, first_seen.keys()):
        problems.append(RowProblem(first_seen[ref], f"case_ref '{ref}' is already imported"))
    if problems:
        return ImportReport(0, in_line_order(problems))

    _add_rows(session, questionnaire.id, rows)
    return ImportReport(len(rows), [])


def _language_offered(row: _Row, questionnaire: Questionnaire) -> list[str]:
    """A case's language must be one its questionnaire is written or translated in (blank:
    the questionnaire's own); it is stored as the questionnaire spells the tag."""
    language = row.values.get("language")
    if language is None:
        return []
    offered = {tag.lower(): tag for tag in questionnaire.languages}
    if language.lower() not in offered:
        return [
            f"language '{language}' is not offered by this questionnaire "
            f"({', '.join(questionnaire.languages)})"
        ]
    row.values["language"] = offered[language.lower()]
    return []


def csv_records(stream: TextIO, problems: list[RowProblem]) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank CSV record with the physical line it starts on.

    Blank lines are held back and reported only when a record follows them, so the
    blank lines spreadsheets leave at the end of a file do no harm.
    """
    # strict: a quote that is never closed would otherwise swallow the rest of the file
    # into one cell without a word.
    reader = csv.reader(stream, strict=True)
    blank_lines: list[int] = []
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(RowProblem(start, _csv_reason(exc)))
            start = reader.line_num + 1
            continue
        except UnicodeDecodeError:
            problems.append(RowProblem(start, "the file is not UTF-8 text"))
            return
        if "".join(cells).strip():
            if blank_lines:
                problems.extend(RowProblem(line, "empty row") for line in blank_lines)
                blank_lines.clear()
            yield start, cells
        else:
            blank_lines.append(start)
        start = reader.line_num + 1


def _csv_reason(error: csv.Error) -> str:
    if "unexpected end of data" in str(error):
        return "a quoted value that starts in this row is never closed"
    return f"not valid CSV ({error})"


def _required(questionnaire: Questionnaire) -> list[str]:
    return [
        *BASE_COLUMNS,
        *(name for name, spec in questionnaire.case_fields.items() if spec.required),
    ]


def _columns(
    line: int, header: list[str], questionnaire: Questionnaire, problems: list[RowProblem]
) -> dict[str, int]:
    """Each known column's position, by its name as the questionnaire spells it."""
    known = {name.lower(): name for name in (*BASE_COLUMNS, *fields_of(questionnaire))}
    columns: dict[str, int] = {}
    for position, raw in enumerate(header):
        # A BOM survives when the caller opened the file as plain utf-8.
        text = (raw.lstrip("\ufeff") if position == 0 else raw).strip()
        name = known.get(text.lower())
        if not text:
            problems.append(RowProblem(line, f"column {position + 1} has no name"))
        elif name is None:
            problems.append(RowProblem(line, f"unknown column '{text}'"))
        elif name in columns:
            problems.append(RowProblem(line, f"duplicate column '{text}'"))
        else:
            columns[name] = position
    missing = [name for name in _required(questionnaire) if name not in columns]
    if missing:
        problems.append(RowProblem(line, f"missing column(s): {', '.join(missing)}"))
    return columns


class _RowChecker:
    """Checks and converts one file's rows, each distinct value once.

    A sample repeats its crime types, districts and dates on every row and a repeat
    victim's number on each of their cases; a number may also be written several ways.
    Converting each distinct value once (parsing a number is most of a row's checks)
    makes a large file's checks several times faster.
    """

    def __init__(self, columns: dict[str, int], fields: dict[str, CaseField], today: date):
        self.columns = columns
        self.fields = fields
        self.today = today
        self._case_ref = columns.get("case_ref")
        self._phone = columns.get("phone")
        # Each field's position, and what each value seen in it became: the stored
        # value, or the reason it was refused.
        self._field_positions = [(name, spec, columns[name]) for name, spec in fields.items()]
        self._converted: dict[str, dict[str, tuple[Any, str | None]]] = {n: {} for n in fields}
        # The verdict on each number as written, and on each national writing parsed.
        self._numbers: dict[str, str | PhoneError] = {}

    def check(self, cells: list[str]) -> tuple[_Row, list[str]]:
        """The row's converted values and the reasons it is invalid (none if valid)."""
        if CONTROL_CHARACTERS.search("".join(cells)):
            reasons = [
                # Said without the value: the cell may hold a victim's name or number.
                f"{name} holds a control character"
                for name, position in self.columns.items()
                if position < len(cells) and CONTROL_CHARACTERS.search(cells[position])
            ]
            if reasons:
                # A NUL byte cannot even be stored (PostgreSQL refuses it): check nothing
                # else.
                return _Row("", "", {}), reasons
        reasons = []
        case_ref = ""
        if self._case_ref is not None:
            case_ref = cells[self._case_ref].strip()
            if not case_ref:
                reasons.append("case_ref is blank")
            elif len(case_ref) > CASE_REF_LENGTH:
                reasons.append(f"case_ref is longer than {CASE_REF_LENGTH} characters")
        phone = ""
        if self._phone is not None:
            e164 = self._e164(cells[self._phone])
            if isinstance(e164, PhoneError):
                reasons.append(f"phone: {e164}")
            else:
                phone = e164
        values: dict[str, Any] = {}
        for name, spec, position in self._field_positions:
            text = cells[position].strip()
            converted = self._converted[name]
            known = converted.get(text)
            if known is None:
                try:
                    known = converted[text] = (_convert(name, spec, text, self.today), None)
                except _Invalid as exc:
                    known = converted[text] = (None, str(exc))
            value, reason = known
            if reason is None:
                values[name] = value
            else:
                reasons.append(reason)
        born = values.get("date_of_birth")
        age_left_blank = values.get("age") is None and ("age" in values or "age" not in self.fields)
        if age_left_blank and isinstance(born, date):
            # Reports band victims by age: a date of birth alone gives the age on the day
            # the sample was drawn, stored beside it so every report bands the case the
            # same way.
            age = _years_between(born, self.today)
            if AGE_RANGE[0] <= age <= AGE_RANGE[1]:
                values["age"] = age
            else:
                reasons.append(f"date_of_birth {born.isoformat()} gives an age over {AGE_RANGE[1]}")
        return _Row(case_ref, phone, values), reasons

    def _e164(self, written: str) -> str | PhoneError:
        """``written`` in E.164, or why it is refused; each number is parsed once however
        it is written, and a number refused is parsed again as written, so the reason
        names it as the sample writes it."""
        numbers = self._numbers
        known = numbers.get(written)
        if known is None:
            national = national_writing(written)
            if national is None:
                known = _parsed(written)
            else:
                known = numbers.get(national)
                if known is None:
                    known = numbers[national] = _parsed(national)
                if isinstance(known, PhoneError) and national != written:
                    known = _parsed(written)
            numbers[written] = known
        return known


def _parsed(written: str) -> str | PhoneError:
    try:
        return to_e164(written)
    except PhoneError as exc:
        return exc


def _years_between(born: date, day: date) -> int:
    """Whole years from ``born`` to ``day``: the age on that day."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _convert(name: str, spec: CaseField, text: str, today: date) -> Any:
    """A cell's value as stored, or None for an optional blank; _Invalid if it does not fit."""
    if not text:
        if spec.required:
            raise _Invalid(f"{name} is blank")
        return None
    if name in VOCABULARIES:
        # Stored as the group's key, the one word every report groups by, however the
        # force's system spells it.
        key = group_key(name, text)
        if key is None:
            raise _Invalid(f"{name} '{text}' is not one of: {accepted(name)}")
        return key
    if spec.type == "choice":
        canonical = {key.lower(): key for key in spec.choices}
        if text.lower() not in canonical:
            raise _Invalid(f"{name} '{text}' is not one of: {', '.join(spec.choices)}")
        return canonical[text.lower()]
    if spec.type == "date":
        try:
            if not ISO_DATE.fullmatch(text):
                raise ValueError(text)
            value = date.fromisoformat(text)
        except ValueError:
            raise _Invalid(f"{name} '{text}' is not a date in the form YYYY-MM-DD") from None
        if value > today:
            raise _Invalid(f"{name} {text} is in the future")
        return value
    if spec.type == "yes_no":
        if text.lower() in YES:
            return "yes"
        if text.lower() in NO:
            return "no"
        raise _Invalid(
            f"{name} '{text}' is not yes or no (accepted: {', '.join(sorted(YES | NO))})"
        )
    if spec.type == "integer":
        if not WHOLE_NUMBER.fullmatch(text):
            raise _Invalid(f"{name} '{text}' is not a whole number")
        number = int(text)
        if name == "age" and not AGE_RANGE[0] <= number <= AGE_RANGE[1]:
            raise _Invalid(f"age {number} is not between {AGE_RANGE[0]} and {AGE_RANGE[1]}")
        return number
    if name == "access_needs":
        try:
            return ";".join(access_needs.parse(text)) or None
        except access_needs.AccessNeedError as exc:
            raise _Invalid(str(exc)) from None
    column = FIXED_CASE_COLUMNS.get(name)
    limit = column.length if column is not None else MAX_TEXT
    if limit and len(text) > limit:
        raise _Invalid(f"{name} is longer than {limit} characters")
    return text


def _add_rows(session: Session, survey: str, rows: list[_Row]) -> None:
    """Add every row as a case in one batch, fixed columns where the Case model has
    them, and give each a schedule, which the campaign's scheduler plans.

    Rows for a bulk insert on the table, not ORM objects: many times faster for a large
    sample, and nothing in the caller needs the new Case instances.
    """
    imported_at = utcnow()
    # Every record has the same keys so the whole batch goes in one statement.
    blank = dict.fromkeys(FIXED_CASE_COLUMNS)
    batch: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = {
            **blank,
            "survey": survey,
            "case_ref": row.case_ref,
            "phone": row.phone,
            "imported_at": imported_at,
        }
        extra: dict[str, Any] = {}
        for name, value in row.values.items():
            column = FIXED_CASE_COLUMNS.get(name)
            if column is not None and isinstance(value, column.python_type):
                record[name] = value
            elif value is not None:
                extra[name] = value.isoformat() if isinstance(value, date) else value
        record["fields"] = extra
        batch.append(record)
    add_cases(session, survey, batch, imported_at)
    # A victim who uses Relay UK or a textphone, or has a hearing or speech need, cannot
    # be served by an automated call: from the start, only interviewers ring them.
    make_interviewer_only_by_ref(
        session.connection(),
        survey,
        [row.case_ref for row in rows if access_needs.interviewer_only(row.values)],
        ACCESS_NEEDS,
        imported_at,
    )


def in_line_order(problems: list[RowProblem]) -> list[RowProblem]:
    # Stable: a row's own problems keep the order of its columns.
    return sorted(problems, key=lambda problem: problem.line)
