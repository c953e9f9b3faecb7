"""Tests for sample import: the CSV checks, all-or-nothing storage and ``ivr sample import``."""

from __future__ import annotations

import gc
import io
from datetime import date
from pathlib import Path

import phonenumbers
import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select, text

import ivr.cli
from ivr.campaigns.samples import ImportReport, RowProblem, import_sample
from ivr.questionnaire.schema import CaseField, Questionnaire
from ivr.store.models import Case

TODAY = date(2026, 10, 1)
USS_HEADER = "case_ref,phone,crime_type,district,reported_on,first_name"
VCAS_HEADER = "case_ref,phone,first_name,closed_on,consent"


def uss_row(
    ref: str,
    phone: str = "0113 496 0001",
    *,
    crime: str = "burglary",
    district: str = "Leeds North",
    reported: str = "2026-09-14",
    name: str = "Alex",
) -> str:
    """One USS sample line with defaults for the columns a test does not care about."""
    return f"{ref},{phone},{crime},{district},{reported},{name}"


def csv_text(header: str, *rows: str) -> str:
    return "\r\n".join((header, *rows)) + "\r\n"


def questionnaire(app: Flask, survey: str = "uss") -> Questionnaire:
    return app.extensions["ivr"].questionnaires.current(survey).questionnaire


def run(
    app: Flask,
    text: str,
    *,
    survey: str = "uss",
    q: Questionnaire | None = None,
    today: date = TODAY,
) -> ImportReport:
    """Import ``text`` directly (no CLI) in its own transaction."""
    with app.extensions["ivr"].db.transaction() as session:
        return import_sample(
            session, q or questionnaire(app, survey), io.StringIO(text, newline=""), today=today
        )


def lines(report: ImportReport) -> list[str]:
    return [str(problem) for problem in report.problems]


def cases(app: Flask, survey: str = "uss") -> list[Case]:
    with app.extensions["ivr"].db.transaction() as session:
        return list(
            session.scalars(select(Case).where(Case.survey == survey).order_by(Case.case_ref))
        )


def count(app: Flask) -> int:
    with app.extensions["ivr"].db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Case)) or 0


def cli(app: Flask, path: Path, survey: str = "uss") -> Result:
    runner = app.test_cli_runner()
    return runner.invoke(ivr.cli.main, ["sample", "import", str(path), "--survey", survey])


def write(tmp_path: Path, text: str, name: str = "sample.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def with_fields(app: Flask, **extra: CaseField) -> Questionnaire:
    """The USS questionnaire with extra case fields declared."""
    q = questionnaire(app)
    return q.model_copy(update={"case_fields": {**q.case_fields, **extra}})


# --- phone numbers -------------------------------------------------------------------

UK_WRITINGS = {
    "0113 496 0001": "+441134960001",
    "+44 114 496 0002": "+441144960002",
    "0044 121 496 0003": "+441214960003",
    "+44 (0)117 496 0004": "+441174960004",
    "(020) 7946 0006": "+442079460006",
}


def test_every_uk_writing_is_stored_as_e164(app: Flask, tmp_path: Path) -> None:
    rows = [uss_row(f"CR/{n:04d}/26", raw) for n, raw in enumerate(UK_WRITINGS, 1)]
    result = cli(app, write(tmp_path, csv_text(USS_HEADER, *rows)))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"imported {len(rows)} cases for survey uss\n"
    assert result.stdout == ""
    assert [c.phone for c in cases(app)] == list(UK_WRITINGS.values())


@pytest.mark.parametrize(
    "raw, region",
    [
        ("01481 256789", "GG"),
        ("+44 1534 456789", "JE"),
        ("01624 756789", "IM"),
    ],
)
def test_crown_dependency_numbers_are_accepted(app: Flask, raw: str, region: str) -> None:
    number = phonenumbers.parse(raw, "GB")
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.region_code_for_number(number) == region
    report = run(app, csv_text(USS_HEADER, uss_row("CR/0001/26", raw)))
    assert report == ImportReport(1, [])
    assert cases(app)[0].phone == phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.E164
    )


def test_foreign_and_invalid_numbers_are_rejected(app: Flask, tmp_path: Path) -> None:
    text = csv_text(
        USS_HEADER,
        uss_row("CR/0001/26", "+1 202 555 0143"),
        uss_row("CR/0002/26", "07700 900123"),
        uss_row("CR/0003/26", ""),
    )
    result = cli(app, write(tmp_path, text))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 2: phone: '+1 202 555 0143' is a number in US, not the UK, Guernsey, Jersey "
        "or the Isle of Man",
        "line 3: phone: '07700 900123' is not a valid phone number",
        "line 4: phone: phone number is empty",
    ]
    assert count(app) == 0


# --- values --------------------------------------------------------------------------


def test_values_are_stored_canonically(app: Flask) -> None:
    report = run(
        app,
        csv_text(
            USS_HEADER,
            uss_row(
                "  CR/0001/26 ", crime=" Domestic_Abuse ", district=" Leeds  North ", name=" Sam "
            ),
        ),
    )
    assert report.imported == 1
    (case,) = cases(app)
    assert (case.case_ref, case.crime_type, case.district, case.first_name) == (
        "CR/0001/26",
        "domestic_abuse",
        "Leeds  North",
        "Sam",
    )
    assert case.reported_on == date(2026, 9, 14)
    assert case.fields == {}


def test_every_bad_value_is_reported(app: Flask) -> None:
    text = csv_text(
        USS_HEADER,
        uss_row(" ", crime="arson"),
        uss_row("CR/0002/26", reported="14/09/2026", name=""),
        uss_row("CR/0003/26", reported="2026-02-30", district=" "),
        uss_row("CR/0004/26", reported="2026-10-02"),
        uss_row("CR/0005/26", reported="20260914"),
        uss_row("X" * 65),
        uss_row("CR/0007/26", name="N" * 101),
    )
    assert lines(run(app, text)) == [
        "line 2: case_ref is blank",
        "line 2: crime_type 'arson' is not one of: burglary, vehicle, violent, "
        "domestic_abuse, racist",
        "line 3: reported_on '14/09/2026' is not a date in the form YYYY-MM-DD",
        "line 3: first_name is blank",
        "line 4: district is blank",
        "line 4: reported_on '2026-02-30' is not a date in the form YYYY-MM-DD",
        "line 5: reported_on 2026-10-02 is in the future",
        "line 6: reported_on '20260914' is not a date in the form YYYY-MM-DD",
        "line 7: case_ref is longer than 64 characters",
        "line 8: first_name is longer than 100 characters",
    ]
    assert count(app) == 0


def test_today_is_not_the_future(app: Flask) -> None:
    assert run(app, csv_text(USS_HEADER, uss_row("CR/0001/26", reported="2026-10-01"))).imported


def test_yes_no_and_integer_fields(app: Flask) -> None:
    q = with_fields(
        app,
        callback_ok=CaseField(type="yes_no", required=False),
        victim_age=CaseField(type="integer", required=False),
    )
    header = USS_HEADER + ",Callback_OK,victim_age"
    good = [
        uss_row(f"CR/{n}/26") + f",{yn},{age}"
        for n, (yn, age) in enumerate(
            [
                ("Y", "34"),
                ("true", "+7"),
                ("1", ""),
                ("No", "0"),
                ("n", "-1"),
                ("FALSE", ""),
                ("0", ""),
                ("", ""),
            ]
        )
    ]
    assert run(app, csv_text(header, *good), q=q).imported == len(good)
    stored = {c.case_ref: c.fields for c in cases(app)}
    assert stored["CR/0/26"] == {"callback_ok": "yes", "victim_age": 34}
    assert stored["CR/1/26"] == {"callback_ok": "yes", "victim_age": 7}
    assert stored["CR/2/26"] == {"callback_ok": "yes"}
    assert [stored[f"CR/{n}/26"].get("callback_ok") for n in range(3, 8)] == [
        "no",
        "no",
        "no",
        "no",
        None,
    ]

    bad = csv_text(header, uss_row("CR/9/26") + ",maybe,3.5", uss_row("CR/10/26") + ",yes,ten")
    assert lines(run(app, bad, q=q)) == [
        "line 2: callback_ok 'maybe' is not yes or no (accepted: 0, 1, false, n, no, true, y, yes)",
        "line 2: victim_age '3.5' is not a whole number",
        "line 3: victim_age 'ten' is not a whole number",
    ]


# --- shape of the file ---------------------------------------------------------------


def test_header_is_matched_loosely(app: Flask) -> None:
    header = "\ufeff Phone ,CASE_REF,First_Name, district,Reported_On,crime_type"
    text = csv_text(header, "0114 496 0002,CR/0001/26,Robin,Sheffield,2026-09-01,vehicle")
    assert run(app, text).imported == 1
    (case,) = cases(app)
    assert (case.phone, case.case_ref, case.first_name, case.district, case.crime_type) == (
        "+441144960002",
        "CR/0001/26",
        "Robin",
        "Sheffield",
        "vehicle",
    )


def test_unknown_and_missing_columns(app: Flask) -> None:
    text = csv_text(
        "case_ref,telephone,crime_type,district,Notes,first_name",
        "CR/0001/26,0113 496 0001,burglary,Leeds,x,Alex",
    )
    assert lines(run(app, text)) == [
        "line 1: unknown column 'telephone'",
        "line 1: unknown column 'Notes'",
        "line 1: missing column(s): phone, reported_on",
    ]


def test_duplicate_and_unnamed_columns(app: Flask) -> None:
    text = csv_text(USS_HEADER + ",Phone,", uss_row("CR/0001/26") + ",0113 496 0001,")
    assert lines(run(app, text)) == [
        "line 1: duplicate column 'Phone'",
        "line 1: column 8 has no name",
    ]


def test_optional_declared_column_is_allowed_and_may_be_left_out(app: Flask) -> None:
    q = with_fields(app, officer=CaseField(required=False, label="Officer in case"))
    text = csv_text(
        USS_HEADER + ",officer",
        uss_row("CR/0001/26") + ",PC Jordan Reyes",
        uss_row("CR/0002/26") + ",",
    )
    assert run(app, text, q=q).imported == 2
    assert [c.fields for c in cases(app)] == [{"officer": "PC Jordan Reyes"}, {}]
    assert run(app, csv_text(USS_HEADER, uss_row("CR/0003/26")), q=q).imported == 1


def test_empty_file_and_header_only(app: Flask) -> None:
    assert lines(run(app, "")) == [
        "line 1: the file is empty; the first line must name the columns: case_ref, phone, "
        "first_name, crime_type, district, reported_on"
    ]
    assert lines(run(app, USS_HEADER + "\n\n")) == [
        "line 1: no cases in file (only the header line)"
    ]


def test_wrong_cell_count_and_empty_rows(app: Flask) -> None:
    text = csv_text(
        USS_HEADER,
        uss_row("CR/0001/26"),
        "",
        uss_row("CR/0002/26") + ",extra",
        "CR/0003/26,0113 496 0001",
        " , ",
        uss_row("CR/0004/26"),
        "",
        "",
        ",,,",
    )
    assert lines(run(app, text)) == [
        "line 3: empty row",
        "line 4: expected 6 columns, found 7",
        "line 5: expected 6 columns, found 2",
        "line 6: empty row",
    ]


def test_trailing_blank_lines_are_ignored(app: Flask) -> None:
    assert run(app, csv_text(USS_HEADER, uss_row("CR/0001/26")) + "\r\n\n,,,,,\n").imported == 1


def test_line_numbers_are_physical(app: Flask) -> None:
    text = csv_text(
        USS_HEADER,
        'CR/0001/26,0113 496 0001,burglary,"Leeds\nNorth\nand West",2026-09-14,Alex',
        uss_row("CR/0002/26", "07700 900456"),
        '"CR/0003/26","0121 496 0003",burglary,"Birmingham\r\nCentral",2026-09-14,""',
        uss_row("CR/0004/26", crime="theft"),
    )
    assert lines(run(app, text)) == [
        "line 5: phone: '07700 900456' is not a valid phone number",
        "line 6: first_name is blank",
        "line 8: crime_type 'theft' is not one of: burglary, vehicle, violent, "
        "domestic_abuse, racist",
    ]


def test_unclosed_quote(app: Flask) -> None:
    text = csv_text(
        USS_HEADER,
        uss_row("CR/0001/26"),
        'CR/0002/26,"0113 496 0001,burglary',
        uss_row("CR/0003/26"),
    )
    assert lines(run(app, text)) == [
        "line 3: a quoted value that starts in this row is never closed"
    ]


def test_malformed_quoting_is_reported_and_checking_goes_on(app: Flask) -> None:
    text = csv_text(
        USS_HEADER,
        'CR/0001/26,0113 496 0001,"burglary"x,Leeds,2026-09-14,Alex',
        uss_row("CR/0002/26", crime="arson"),
    )
    assert lines(run(app, text)) == [
        "line 2: not valid CSV (',' expected after '\"')",
        "line 3: crime_type 'arson' is not one of: burglary, vehicle, violent, "
        "domestic_abuse, racist",
    ]


def test_duplicate_case_refs_in_the_file(app: Flask) -> None:
    text = csv_text(
        USS_HEADER,
        uss_row("CR/0001/26"),
        uss_row("CR/0002/26"),
        uss_row("CR/0001/26", "0114 496 0002"),
        uss_row("CR/0001/26", "07700 900789"),
    )
    assert lines(run(app, text)) == [
        "line 4: duplicate case_ref 'CR/0001/26' (first on line 2)",
        "line 5: phone: '07700 900789' is not a valid phone number",
        "line 5: duplicate case_ref 'CR/0001/26' (first on line 2)",
    ]


def test_problems_leave_the_callers_session_alone(app: Flask) -> None:
    with app.extensions["ivr"].db.transaction() as session:
        pending = Case(survey="uss", case_ref="CR/0009/26", phone="+441134960009")
        session.add(pending)
        report = import_sample(
            session,
            questionnaire(app),
            io.StringIO(csv_text(USS_HEADER, uss_row("CR/0001/26", "x"))),
            today=TODAY,
        )
        assert report.imported == 0 and report.problems
        assert list(session.new) == [pending]
        session.expunge(pending)
    assert count(app) == 0


def test_row_problem_text() -> None:
    assert str(RowProblem(7, "case_ref is blank")) == "line 7: case_ref is blank"


# --- the command ---------------------------------------------------------------------


def test_one_bad_row_imports_nothing(app: Flask, tmp_path: Path) -> None:
    rows = [uss_row(f"CR/{n:04d}/26") for n in range(1, 6)]
    rows[3] = uss_row("CR/0004/26", crime="shoplifting")
    result = cli(app, write(tmp_path, csv_text(USS_HEADER, *rows)))
    assert result.exit_code == 1
    assert result.stderr == (
        "line 5: crime_type 'shoplifting' is not one of: burglary, vehicle, "
        "violent, domestic_abuse, racist\n"
    )
    assert result.stdout == ""
    assert count(app) == 0


def test_second_import_reports_already_imported(app: Flask, tmp_path: Path) -> None:
    first = write(tmp_path, csv_text(USS_HEADER, uss_row("CR/0001/26"), uss_row("CR/0002/26")))
    assert cli(app, first).exit_code == 0
    second = write(
        tmp_path,
        csv_text(USS_HEADER, uss_row("CR/0003/26"), uss_row("CR/0002/26"), uss_row("CR/0001/26")),
        "again.csv",
    )
    result = cli(app, second)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 3: case_ref 'CR/0002/26' is already imported",
        "line 4: case_ref 'CR/0001/26' is already imported",
    ]
    assert count(app) == 2
    # The same case_ref in another survey is a different case.
    vcas = write(
        tmp_path, csv_text(VCAS_HEADER, "CR/0001/26,0113 496 0001,Alex,2025-06-30,yes"), "vcas.csv"
    )
    assert cli(app, vcas, "vcas_exit").exit_code == 0


def test_already_imported_is_found_for_every_row_of_a_large_file(app: Flask) -> None:
    refs = [f"CR/{n:05d}/26" for n in range(1203)]
    text = csv_text(USS_HEADER, *(uss_row(ref) for ref in refs))
    assert run(app, text).imported == len(refs)
    report = run(app, text)
    assert report.imported == 0
    assert len(report.problems) == len(refs)
    assert str(report.problems[-1]) == (
        f"line {len(refs) + 1}: case_ref '{refs[-1]}' is already imported"
    )


def test_vcas_exit_columns(app: Flask, tmp_path: Path) -> None:
    text = csv_text(
        VCAS_HEADER,
        "V-0001,0113 496 0001,Jamie,2025-06-30,Yes",
        "V-0002,020 7946 0002,Priya,2025-07-01,n",
    )
    result = cli(app, write(tmp_path, text), "vcas_exit")
    assert result.exit_code == 0, result.output
    assert result.stderr == "imported 2 cases for survey vcas_exit\n"
    stored = cases(app, "vcas_exit")
    assert [(c.case_ref, c.phone, c.first_name, c.fields) for c in stored] == [
        ("V-0001", "+441134960001", "Jamie", {"closed_on": "2025-06-30", "consent": "yes"}),
        ("V-0002", "+442079460002", "Priya", {"closed_on": "2025-07-01", "consent": "no"}),
    ]
    assert stored[0].crime_type is None and stored[0].reported_on is None

    bad = write(tmp_path, csv_text(USS_HEADER, uss_row("CR/0001/26")), "wrong.csv")
    result = cli(app, bad, "vcas_exit")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 1: unknown column 'crime_type'",
        "line 1: unknown column 'district'",
        "line 1: unknown column 'reported_on'",
        "line 1: missing column(s): closed_on, consent",
    ]


def test_unknown_survey(app: Flask, tmp_path: Path) -> None:
    result = cli(app, write(tmp_path, csv_text(USS_HEADER, uss_row("CR/0001/26"))), "nope")
    assert result.exit_code == 1
    assert result.stderr == "unknown survey 'nope' (known: lpcs, uss, vcas_exit)\n"


def test_unreadable_files(app: Flask, tmp_path: Path) -> None:
    result = cli(app, tmp_path / "missing.csv")
    assert result.exit_code == 1
    assert result.stderr == f"cannot read {tmp_path / 'missing.csv'}: No such file or directory\n"

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(csv_text(USS_HEADER, uss_row("CR/0001/26", name="Zoë")).encode("latin-1"))
    result = cli(app, latin1)
    assert result.exit_code == 1
    assert result.stderr == (
        "line 2: the file is not UTF-8 text (byte 0xeb); save it as CSV UTF-8\n"
    )
    assert count(app) == 0


def test_bom_file_through_the_command(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(csv_text(USS_HEADER, uss_row("CR/0001/26")).encode("utf-8-sig"))
    result = cli(app, path)
    assert result.exit_code == 0, result.output
    assert cases(app)[0].case_ref == "CR/0001/26"


def test_any_survey_takes_the_standard_optional_columns(app: Flask) -> None:
    header = (
        f"{VCAS_HEADER},domestic_abuse,language,ethnicity,date_of_birth,sex,disability,access_needs"
    )
    report = run(
        app,
        csv_text(
            header,
            "V1,0113 496 0001,Sam,2026-09-20,yes,Yes,cy-GB,White British,1970-04-02,Female,no,"
            "other:large print",
            "V2,0113 496 0002,Ali,2026-09-21,yes,,,,,,,",
        ),
        survey="vcas_exit",
    )
    assert report.problems == [] and report.imported == 2
    first, second = cases(app, "vcas_exit")
    assert first.fields == {
        "closed_on": "2026-09-20",
        "consent": "yes",
        "domestic_abuse": "yes",
        "language": "cy-GB",
        "ethnicity": "white",
        "date_of_birth": "1970-04-02",
        # Only the date of birth was given: the age on the day of import goes beside it.
        "age": 56,
        "sex": "female",
        "disability": "no",
        "access_needs": "other:large print",
    }
    assert second.fields == {"closed_on": "2026-09-21", "consent": "yes"}


def test_a_domestic_abuse_flag_must_be_yes_or_no(app: Flask) -> None:
    report = run(
        app,
        csv_text(
            f"{USS_HEADER},domestic_abuse",
            f"{uss_row('A', crime='violent')},perhaps",
            f"{uss_row('B', '0113 496 0002', crime='violent')},yes",
        ),
    )
    assert report.imported == 0
    assert lines(report) == [
        "line 2: domestic_abuse 'perhaps' is not yes or no (accepted: "
        "0, 1, false, n, no, true, y, yes)"
    ]


def test_an_overlong_free_text_cell_is_refused(app: Flask) -> None:
    # Access needs are a list of known needs; only ``other:`` takes free text.
    report = run(app, csv_text(f"{USS_HEADER},access_needs", f"{uss_row('A')},other:{'x' * 201}"))
    assert lines(report) == ["line 2: access_needs 'other:' is longer than 100 characters"]


# --- demographics --------------------------------------------------------------------

DEMOGRAPHIC_HEADER = f"{USS_HEADER},ethnicity,sex,disability,age,date_of_birth"


def test_demographic_words_are_stored_as_group_keys(app: Flask) -> None:
    rows = {
        # ethnicity, sex, disability as a force's system might write them
        "A": ("White", "F", "Disabled"),
        "B": ("asian or asian british", "MALE", "n"),
        "C": (" Black,  Black British, Black Welsh, Caribbean or African ", "female", "YES"),
        "D": ("Mixed or Multiple ethnic groups", "m", "Not disabled"),
        "E": ("Prefer not to say", "not_stated", "unknown"),
        "F": ("OTHER", "Not Stated", "no"),
    }
    text = csv_text(
        DEMOGRAPHIC_HEADER,
        *(
            f'{uss_row(ref, f"0113 496 000{n}")},"{eth}",{sex},{dis},,'
            for n, (ref, (eth, sex, dis)) in enumerate(rows.items(), start=1)
        ),
    )
    report = run(app, text)
    assert report.problems == [] and report.imported == len(rows)
    stored = {
        c.case_ref: (c.fields["ethnicity"], c.fields["sex"], c.fields["disability"])
        for c in cases(app)
    }
    assert stored == {
        "A": ("white", "female", "yes"),
        "B": ("asian", "male", "no"),
        "C": ("black", "female", "yes"),
        "D": ("mixed", "male", "no"),
        "E": ("not_stated", "not_stated", "not_stated"),
        "F": ("other", "not_stated", "no"),
    }
    # Blank age and date of birth stay absent: no age is made up.
    assert all("age" not in c.fields and "date_of_birth" not in c.fields for c in cases(app))


def test_an_unknown_demographic_value_names_the_accepted_ones_and_imports_nothing(
    app: Flask,
) -> None:
    text = csv_text(
        DEMOGRAPHIC_HEADER,
        f"{uss_row('A')},white,female,no,40,",
        f"{uss_row('B', '0113 496 0002')},Martian,female,no,,",
        f"{uss_row('C', '0113 496 0003')},White: Welsh,woman,maybe,,",
    )
    report = run(app, text)
    assert report.imported == 0
    assert lines(report) == [
        "line 3: ethnicity 'Martian' is not one of: white, mixed, asian, black, other, not_stated",
        "line 4: ethnicity 'White: Welsh' is not one of: "
        "white, mixed, asian, black, other, not_stated",
        "line 4: sex 'woman' is not one of: female, male, not_stated",
        "line 4: disability 'maybe' is not one of: yes, no, not_stated",
    ]
    assert count(app) == 0


def test_an_age_must_be_a_whole_number_a_person_can_be(app: Flask) -> None:
    text = csv_text(
        DEMOGRAPHIC_HEADER,
        f"{uss_row('A')},,,,121,",
        f"{uss_row('B', '0113 496 0002')},,,,-1,",
        f"{uss_row('C', '0113 496 0003')},,,,forty,",
        f"{uss_row('D', '0113 496 0004')},,,,,1900-01-01",
    )
    report = run(app, text)
    assert lines(report) == [
        "line 2: age 121 is not between 0 and 120",
        "line 3: age -1 is not between 0 and 120",
        "line 4: age 'forty' is not a whole number",
        "line 5: date_of_birth 1900-01-01 gives an age over 120",
    ]
    assert count(app) == 0


def test_an_age_under_sixteen_is_imported_for_eligibility_to_rule_out(app: Flask) -> None:
    # Eligibility, not the import, keeps under-16s out of the sample (AAPOR 4.10).
    assert run(app, csv_text(DEMOGRAPHIC_HEADER, f"{uss_row('A')},,,,15,")).imported == 1
    assert cases(app)[0].fields == {"age": 15}


def test_the_age_is_worked_out_from_the_date_of_birth_on_the_day_of_import(app: Flask) -> None:
    text = csv_text(
        DEMOGRAPHIC_HEADER,
        # TODAY is 2026-10-01: a birthday tomorrow, today, and yesterday.
        f"{uss_row('A')},,,,,1980-10-02",
        f"{uss_row('B', '0113 496 0002')},,,,,1980-10-01",
        f"{uss_row('C', '0113 496 0003')},,,,,1980-09-30",
        # Both given: the sample's age stands.
        f"{uss_row('D', '0113 496 0004')},,,,50,1980-09-30",
    )
    assert run(app, text).imported == 4
    stored = {c.case_ref: c.fields for c in cases(app)}
    assert stored["A"] == {"date_of_birth": "1980-10-02", "age": 45}
    assert stored["B"] == {"date_of_birth": "1980-10-01", "age": 46}
    assert stored["C"] == {"date_of_birth": "1980-09-30", "age": 46}
    assert stored["D"] == {"date_of_birth": "1980-09-30", "age": 50}


def test_each_number_is_parsed_once_however_it_is_written(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A number repeated across rows (a repeat victim), in any of its plain writings, is
    parsed the first time only; a bad one is still reported, as written, on every line
    it is on."""
    import ivr.campaigns.samples as samples

    parsed: list[str] = []
    real = samples.to_e164

    def counting(raw: str) -> str:
        parsed.append(raw)
        return real(raw)

    monkeypatch.setattr(samples, "to_e164", counting)
    writings = ["0113 496 0001", "+44 113 496 0001", "(0113) 4960001", "0044 113 496 0001"]
    good = [uss_row(f"R{n}", writings[n % 4] if n % 2 else "0113 496 0002") for n in range(8)]
    report = run(app, csv_text(USS_HEADER, *good))
    assert report.imported == 8
    assert sorted(parsed) == ["01134960001", "01134960002"]
    assert {c.phone for c in cases(app)} == {"+441134960001", "+441134960002"}

    parsed.clear()
    bad = [uss_row(f"B{n}", "0113 496" if n % 2 else "+44 113 496") for n in range(4)]
    report = run(app, csv_text(USS_HEADER, *bad))
    assert report.imported == 0
    assert [str(p) for p in report.problems] == [
        "line 2: phone: '+44 113 496' is not a valid phone number",
        "line 3: phone: '0113 496' is not a valid phone number",
        "line 4: phone: '+44 113 496' is not a valid phone number",
        "line 5: phone: '0113 496' is not a valid phone number",
    ]
    # The national writing once, then each writing once more to name it in the reason.
    assert sorted(parsed) == ["+44 113 496", "0113 496", "0113496"]


def test_the_connection_keeps_its_page_cache_after_a_sample(app: Flask) -> None:
    """SQLite takes a sample with a larger page cache; the pooled connection's next user
    gets the one it had."""
    with app.extensions["ivr"].db.transaction() as session:
        before = session.execute(text("PRAGMA cache_size")).scalar_one()
        report = import_sample(
            session,
            questionnaire(app),
            io.StringIO(csv_text(USS_HEADER, uss_row("CR/0001/26")), newline=""),
            today=TODAY,
        )
        assert report.imported == 1
        assert session.execute(text("PRAGMA cache_size")).scalar_one() == before


def test_the_garbage_collector_runs_again_after_an_import(app: Flask) -> None:
    """The import pauses the cyclic collector for its own sake only: it runs again after
    a file that is imported, after one that is refused, and stays off if it was off."""
    good = csv_text(USS_HEADER, uss_row("CR/0001/26"))
    assert run(app, good).imported == 1
    assert gc.isenabled()
    assert run(app, good).problems
    assert gc.isenabled()
    gc.disable()
    try:
        run(app, csv_text(USS_HEADER, uss_row("CR/0002/26")))
        assert not gc.isenabled()
    finally:
        gc.enable()
