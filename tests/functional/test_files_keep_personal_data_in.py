"""What the product writes to files and terminals: nothing a spreadsheet would run, and no
victim's details in an import's errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy.exc import DBAPIError

import ivr.cli
from ivr.spreadsheet import FORMULA_STARTS, text_cell
from tests.conftest import make_settings

HEADER = "case_ref,phone,crime_type,district,reported_on,first_name"


@pytest.fixture
def app_on(any_db: str) -> Flask:
    from ivr.app import create_app

    return create_app(make_settings(any_db))


def import_file(app: Flask, path: Path) -> Result:
    return app.test_cli_runner().invoke(
        ivr.cli.main, ["sample", "import", str(path), "--survey", "uss"]
    )


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_cell_that_starts_like_a_formula_is_written_as_text(start: str) -> None:
    assert text_cell(f'{start}HYPERLINK("http://x")') == f'\'{start}HYPERLINK("http://x")'
    assert text_cell("Stockton") == "Stockton"
    assert text_cell("") == ""


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b", "\x7f"])
def test_a_control_character_in_a_cell_is_a_line_error_that_shows_no_value(
    app_on: Flask, tmp_path: Path, bad: str
) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(
        f"{HEADER}\n"
        "CLE/26/1,0113 496 0001,burglary,Stockton,2026-09-14,Alex\n"
        f"CLE/26/2,0113 496 0002,burglary,Stockton,2026-09-14,Sam{bad}antha\n",
        encoding="utf-8",
    )
    result = import_file(app_on, path)
    assert result.exit_code == 1, result.output
    assert "line 3: first_name holds a control character" in result.stderr
    # Nothing about who the victim is: not the name, not the number, and no traceback.
    for secret in ("Sam", "antha", "496 0002", "+441134960002", "Traceback"):
        assert secret not in result.output
    # All or nothing: the good row was not imported either.
    again = tmp_path / "good.csv"
    again.write_text(
        f"{HEADER}\nCLE/26/1,0113 496 0001,burglary,Stockton,2026-09-14,Alex\n",
        encoding="utf-8",
    )
    assert import_file(app_on, again).exit_code == 0


def test_a_value_too_long_for_its_column_is_refused_without_the_row(
    app_on: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "cases.csv"
    path.write_text(
        f"{HEADER}\nCLE/26/2,0113 496 0002,burglary,{'S' * 150},2026-09-14,Samantha\n",
        encoding="utf-8",
    )
    result = import_file(app_on, path)
    assert result.exit_code == 1, result.output
    for secret in ("Samantha", "+441134960002", "Traceback"):
        assert secret not in result.output


def test_a_database_refusal_says_its_kind_and_nothing_of_the_row(
    app_on: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DataError(Exception):
        pass

    def refused(*_args: object, **_kwargs: object) -> None:
        # As the driver words it: the statement's parameters are in the error's text.
        raise DBAPIError(
            "INSERT INTO cases ...",
            {"phone": "+441134960002", "first_name": "Samantha"},
            DataError(),
        )

    monkeypatch.setattr("ivr.commands.sample.import_sample", refused)
    path = tmp_path / "cases.csv"
    path.write_text(f"{HEADER}\nCLE/26/2,0113 496 0002,burglary,Stockton,2026-09-14,Samantha\n")
    result = import_file(app_on, path)
    assert result.exit_code == 1
    assert "the database refused the sample (DataError); nothing was imported" in result.stderr
    for secret in ("Samantha", "+441134960002", "Traceback"):
        assert secret not in result.output
