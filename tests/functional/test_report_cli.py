"""``ivr report``: the quarterly report from the command line, in each format, to stdout or
to files, with the disclosure thresholds of the settings and never a victim's details."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask

import ivr.cli
from ivr.config import ConfigError, Settings
from ivr.results.files import TABLES
from ivr.results.model import Thresholds
from ivr.results.settings import thresholds_of
from tests.functional.test_results_cli import dated_world

#: Q3 2026 in the dated world: D2, D3 and D4 interviewed (D3 dissatisfied), D1 in Q2.
QUARTER = "2026Q3"


@pytest.fixture
def world(sqlite_url: str) -> Iterator[Flask]:
    app = dated_world(sqlite_url)
    yield app
    app.extensions["ivr"].db.dispose()


def report(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(
        ivr.cli.main, ["report", "--survey", "uss", *args], env={"COLUMNS": "200"}
    )


def as_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def no_one_named(text: str) -> None:
    """Nothing in a report that leaves the building says who anyone is."""
    for personal in ("Alex", "0113", "+44", "D1", "D2", "D3", "D4", "recording"):
        assert personal not in text, personal


def test_json_goes_to_stdout(any_db: str) -> None:
    app = dated_world(any_db)
    try:
        data = as_json(report(app, "--quarter", QUARTER, "--format", "json"))
    finally:
        app.extensions["ivr"].db.dispose()
    assert (data["survey"], data["period"]["label"], data["period"]["quarter"]) == (
        "uss",
        "2026 Q3",
        [2026, 3],
    )
    assert (data["complete"], data["partial"], data["weighted"]) == (3, 0, False)
    whole = next(q for q in data["questions"] if q["question_id"] == "whole_experience")
    # D2 and D4 satisfied, D3 "neither": 2 of 3.
    assert (whole["overall"]["base"], whole["overall"]["positive"]) == (3, 2)
    assert whole["weighted"] is None
    # A quarter has its trend (8 quarters to it) and its changes (last quarter, last year).
    assert [p["period"] for p in whole["trend"]][-2:] == ["2026 Q2", "2026 Q3"]
    assert len(whole["trend"]) == 8 and len(whole["changes"]) == 2
    # What leaves the building never carries the dissatisfied victims' reasons.
    assert "reasons" not in data["recovery"]
    assert data["thresholds"] == {
        "suppress_below": 1,
        "low_base_below": 1,
        "representation_margin": 5.0,
    }


def test_json_to_a_file(world: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "uss-2026Q3.json"
    result = report(world, "--quarter", QUARTER, "--format", "json", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert str(target) in result.stderr
    written = json.loads(target.read_text(encoding="utf-8"))
    stdout = as_json(report(world, "--quarter", QUARTER, "--format", "json"))
    written.pop("generated_at"), stdout.pop("generated_at")
    assert written == stdout
    assert list(folder.iterdir()) == [target]  # no partial file left behind


def test_weighted_adds_the_weighted_figures(world: Flask) -> None:
    data = as_json(report(world, "--quarter", QUARTER, "--format", "json", "--weighted"))
    assert data["weighted"] is True
    whole = next(q for q in data["questions"] if q["question_id"] == "whole_experience")
    # Weighted to the eligible cases' mix (see dated_world): Hartlepool's two satisfied
    # victims weigh 1.125 each, Stockton's one "neither" 0.75: 2.25 of 3.
    assert whole["weighted"]["percent"] == pytest.approx(75.0)
    assert whole["overall"]["percent"] == pytest.approx(200 / 3)


def test_html_is_one_self_contained_file(world: Flask, tmp_path: Path) -> None:
    result = report(world, "--quarter", QUARTER, "--format", "html")
    assert result.exit_code == 0, result.output
    page = result.stdout
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "2026 Q3" in page and "Ease of contact" in page
    assert "<script" not in page.lower()
    no_one_named(page)
    target = tmp_path / "report.html"
    written = report(world, "--quarter", QUARTER, "--format", "html", "--out", str(target))
    assert written.exit_code == 0, written.output
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_pdf_to_a_file_and_to_a_pipe(world: Flask, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    result = report(world, "--quarter", QUARTER, "--format", "pdf", "--out", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF-")
    # Stdout that is not a terminal (a pipe, a file) takes the bytes.
    piped = report(world, "--quarter", QUARTER, "--format", "pdf")
    assert piped.exit_code == 0, piped.output
    assert piped.stdout_bytes.startswith(b"%PDF-")


def test_csv_tables_to_a_folder(world: Flask, tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    result = report(world, "--quarter", QUARTER, "--format", "csv", "--out", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{name}.csv" for name in TABLES)
    questions = list(csv.reader(io.StringIO((folder / "questions.csv").read_text())))
    assert len(questions) > 5  # a header and a row per core question at least
    for path in folder.iterdir():
        no_one_named(path.read_text(encoding="utf-8"))


def test_csv_tables_to_stdout_each_under_its_name(world: Flask) -> None:
    result = report(world, "--quarter", QUARTER, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    names = [line[2:] for line in lines if line.startswith("# ")]
    assert names == list(TABLES)
    # Each table after the first begins after a blank line.
    for index, line in enumerate(lines):
        if line.startswith("# ") and index:
            assert lines[index - 1].strip() == ""
    no_one_named(result.stdout)


def test_small_bases_are_held_back_by_the_settings(world: Flask) -> None:
    services = world.extensions["ivr"]
    services.settings = services.settings.but(results_suppress_below=10, results_low_base_below=30)
    data = as_json(report(world, "--quarter", QUARTER, "--format", "json"))
    assert data["thresholds"]["suppress_below"] == 10
    overall = data["questions"][0]["overall"]
    assert overall["suppressed"] and overall["base"] is None and overall["percent"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--quarter", "2026Q5", "--format", "json"], "not a quarter"),
        (["--quarter", "Q3 2026", "--format", "json"], "not a quarter"),
        (["--quarter", "1999Q4", "--format", "json"], "between 2000 and 2099"),
        (["--quarter", QUARTER, "--format", "json", "--survey", "nope"], "unknown survey 'nope'"),
    ],
)
def test_bad_input_is_a_clear_error(world: Flask, args: list[str], message: str) -> None:
    result = report(world, *args)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_out_must_fit_the_format(world: Flask, tmp_path: Path) -> None:
    folder_for_json = report(
        world, "--quarter", QUARTER, "--format", "json", "--out", str(tmp_path)
    )
    assert folder_for_json.exit_code == 1 and "is a folder" in folder_for_json.stderr
    a_file = tmp_path / "tables.csv"
    a_file.write_text("keep me")
    file_for_csv = report(world, "--quarter", QUARTER, "--format", "csv", "--out", str(a_file))
    assert file_for_csv.exit_code == 1 and "is a file" in file_for_csv.stderr
    assert a_file.read_text() == "keep me"
    nowhere = report(
        world, "--quarter", QUARTER, "--format", "html", "--out", str(tmp_path / "no" / "x.html")
    )
    assert nowhere.exit_code == 1 and "no such folder" in nowhere.stderr


def test_format_is_required_and_checked(world: Flask) -> None:
    missing = report(world, "--quarter", QUARTER)
    assert missing.exit_code == 2 and "--format" in missing.stderr
    wrong = report(world, "--quarter", QUARTER, "--format", "docx")
    assert wrong.exit_code == 2 and "docx" in wrong.stderr


def test_thresholds_come_from_the_settings() -> None:
    settings = Settings.from_env(
        {
            "RESULTS_SUPPRESS_BELOW": "5",
            "RESULTS_LOW_BASE_BELOW": "20",
            "RESULTS_REPRESENTATION_MARGIN": "2.5",
        }
    )
    assert thresholds_of(settings) == Thresholds(5, 20, 2.5)
    assert thresholds_of(Settings.from_env({})) == Thresholds(10, 30, 5.0)
    for env, problem in (
        ({"RESULTS_SUPPRESS_BELOW": "0"}, "RESULTS_SUPPRESS_BELOW must be at least 1"),
        (
            {"RESULTS_SUPPRESS_BELOW": "10", "RESULTS_LOW_BASE_BELOW": "5"},
            "RESULTS_LOW_BASE_BELOW must be at least RESULTS_SUPPRESS_BELOW",
        ),
        ({"RESULTS_LOW_BASE_BELOW": "many"}, "RESULTS_LOW_BASE_BELOW must be a number"),
        ({"RESULTS_REPRESENTATION_MARGIN": "-1"}, "RESULTS_REPRESENTATION_MARGIN"),
    ):
        with pytest.raises(ConfigError, match=problem):
            Settings.from_env(env)
