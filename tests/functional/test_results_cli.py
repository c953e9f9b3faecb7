"""``ivr results`` and ``ivr referrals`` over interviews played through the real webhooks."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask

import ivr.cli
from ivr.reports import wilson_interval
from ivr.telephony.respondents import Action, Scripted, hang_up, press, record
from tests.conftest import SURVEY_NUMBER, add_case, simulator

QUESTIONS = ["ease_of_contact", "actions_taken", "kept_informed", "treatment",
             "whole_experience", "recovery_consent", "dissatisfaction_reason", "police_contact"]


def keys(*digits: str) -> list[Action]:
    return [press(d) for d in digits]


@pytest.fixture
def surveyed(app: Flask) -> Flask:
    """Three calls: satisfied, dissatisfied with consent and a recording, hung up midway."""
    cases = [
        ("CR/0001/26", "+441134960001", "Hartlepool",
         keys("1", "1", "2", "2", "3", "1", "2", "2")),
        ("CR/0002/26", "+441134960002", "Stockton",
         [*keys("1", "1", "6", "2", "7", "1", "4", "1"), record(5), press("1")]),
        ("CR/0003/26", "+441134960003", "Hartlepool", [*keys("1", "1", "2"), hang_up()]),
    ]
    sim = simulator(app)
    for case_ref, phone, district, actions in cases:
        add_case(app, case_ref=case_ref, phone=phone, district=district, first_name="Alex")
        sim.call(from_=phone, to=SURVEY_NUMBER, respondent=Scripted(*actions))
    return app


def run(app: Flask, *args: str) -> Result:
    """Run ``ivr`` against the test app, wide enough that tables do not wrap."""
    return app.test_cli_runner().invoke(ivr.cli.main, list(args), env={"COLUMNS": "200"})


def json_out(result: Result) -> Any:
    """The command's stdout, which must be JSON and nothing else."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def answer(code: str, label: str) -> dict[str, str]:
    return {"code": code, "label": label, "via": "keypad"}


def test_export_json(surveyed: Flask) -> None:
    rows = json_out(run(surveyed, "results", "export", "--survey", "uss", "--format", "json"))

    assert [(r["case_ref"], r["status"]) for r in rows] == [
        ("CR/0001/26", "completed"), ("CR/0002/26", "completed"), ("CR/0003/26", "partial")]
    for row in rows:
        assert set(row) == {"case_ref", "survey", "status", "started_at", "ended_at", "channel",
                            "questionnaire_version", "answers"}
        assert (row["survey"], row["channel"], row["questionnaire_version"]) == (
            "uss", "phone_inbound", "2026.1")
        assert list(row["answers"]) == [q for q in QUESTIONS if q in row["answers"]]
        started = datetime.fromisoformat(row["started_at"])
        assert started.utcoffset() == UTC.utcoffset(None)
        assert datetime.fromisoformat(row["ended_at"]) >= started
    satisfied, dissatisfied, partial = (r["answers"] for r in rows)

    assert satisfied == {
        "ease_of_contact": answer("2", "very satisfied"),
        "actions_taken": answer("2", "very satisfied"),
        "kept_informed": answer("3", "fairly satisfied"),
        "treatment": answer("1", "completely satisfied"),
        "whole_experience": answer("2", "very satisfied"),
        "police_contact": answer("2", "no"),
    }
    reason = dissatisfied.pop("dissatisfaction_reason")
    assert dissatisfied == {
        "ease_of_contact": answer("6", "very dissatisfied"),
        "actions_taken": answer("2", "very satisfied"),
        "kept_informed": answer("7", "completely dissatisfied"),
        "treatment": answer("1", "completely satisfied"),
        "whole_experience": answer("4", "neither satisfied nor dissatisfied"),
        "recovery_consent": answer("1", "yes"),
        "police_contact": answer("1", "yes"),
    }
    assert set(reason) == {"code", "label", "via", "recording_url"}
    assert reason["code"] is None
    assert reason["recording_url"].startswith("https://")
    assert partial == {"ease_of_contact": answer("2", "very satisfied")}


def test_export_json_to_a_file(surveyed: Flask, tmp_path: Path) -> None:
    target = tmp_path / "uss.json"
    result = run(surveyed, "results", "export", "--survey", "uss", "--format", "json",
                 "--output", str(target))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "3 interviews" in result.stderr
    stdout_rows = json_out(run(surveyed, "results", "export", "--survey", "uss"))
    assert json.loads(target.read_text(encoding="utf-8")) == stdout_rows


def test_export_csv(surveyed: Flask) -> None:
    result = run(surveyed, "results", "export", "--survey", "uss", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(["case_ref", "survey", "status", "started_at", "ended_at",
                                 "channel", *(c for q in QUESTIONS for c in (q, f"{q}_via"))])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 3
    codes = [[row[q] for q in QUESTIONS] for row in rows]
    assert codes == [
        ["2", "2", "3", "1", "2", "", "", "2"],
        ["6", "2", "7", "1", "4", "1", "", "1"],
        ["2", "", "", "", "", "", "", ""],
    ]
    assert [row["status"] for row in rows] == ["completed", "completed", "partial"]
    assert rows[0]["treatment_via"] == "keypad"
    assert rows[0]["recovery_consent_via"] == ""
    assert rows[2]["channel"] == "phone_inbound"
    assert all(row["ended_at"] for row in rows)


def test_unknown_survey_is_an_error(surveyed: Flask) -> None:
    for args in (["export", "--survey", "nope"], ["summary", "--survey", "nope", "--json"]):
        result = run(surveyed, "results", *args)
        assert result.exit_code == 1
        assert result.stdout == ""
        assert "unknown survey 'nope'" in result.stderr


def test_summary_json(surveyed: Flask) -> None:
    summary = json_out(run(surveyed, "results", "summary", "--survey", "uss", "--json"))

    assert summary["survey"] == "uss"
    assert summary["interviews_by_status"] == {"completed": 2, "partial": 1}
    assert summary["referrals_by_district"] == {
        "Stockton": {"action_alert": 1, "service_recovery": 1}}
    expected = {  # question: (answered, satisfied)
        "ease_of_contact": (3, 2),
        "actions_taken": (2, 2),
        "kept_informed": (2, 1),
        "treatment": (2, 2),
        "whole_experience": (2, 1),
    }
    assert [c["question_id"] for c in summary["core"]] == list(expected)
    for core in summary["core"]:
        answered, satisfied = expected[core["question_id"]]
        low, high = wilson_interval(satisfied, answered)
        assert (core["answered"], core["satisfied"]) == (answered, satisfied)
        assert core["percent"] == pytest.approx(100 * satisfied / answered)
        assert (core["ci_low"], core["ci_high"]) == (pytest.approx(100 * low),
                                                     pytest.approx(100 * high))
    kept = next(c for c in summary["core"] if c["question_id"] == "kept_informed")
    assert (kept["percent"], round(kept["ci_low"], 1), round(kept["ci_high"], 1)) == (
        50.0, 9.5, 90.5)


def test_summary_table(surveyed: Flask) -> None:
    result = run(surveyed, "results", "summary", "--survey", "uss")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ease_of_contact" in out and "66.7" in out and "9.5-90.5" in out
    assert "partial" in out and "Stockton" in out


def test_referrals_list_json(surveyed: Flask) -> None:
    referrals = json_out(run(surveyed, "referrals", "list", "--json"))

    for referral in referrals:
        assert set(referral) == {"id", "case_ref", "survey", "kind", "district", "reasons",
                                 "status", "created_at"}
        assert datetime.fromisoformat(referral["created_at"]).utcoffset() == UTC.utcoffset(None)
    assert [{k: v for k, v in r.items() if k not in ("id", "created_at")}
            for r in referrals] == [
        {"case_ref": "CR/0002/26", "survey": "uss", "kind": "action_alert",
         "district": "Stockton", "status": "new",
         "reasons": [{"question": "police_contact", "answer": "yes", "code": "1"}]},
        {"case_ref": "CR/0002/26", "survey": "uss", "kind": "service_recovery",
         "district": "Stockton", "status": "new",
         "reasons": [
             {"question": "ease_of_contact", "answer": "very dissatisfied", "code": "6"},
             {"question": "kept_informed", "answer": "completely dissatisfied", "code": "7"},
         ]},
    ]
    assert referrals[0]["created_at"] >= referrals[1]["created_at"]


def test_referrals_list_filters(surveyed: Flask) -> None:
    assert len(json_out(run(surveyed, "referrals", "list", "--json", "--survey", "uss",
                            "--status", "new"))) == 2
    assert json_out(run(surveyed, "referrals", "list", "--json", "--status", "done")) == []
    assert json_out(run(surveyed, "referrals", "list", "--json", "--survey", "vcas_exit")) == []


def test_referrals_table_shows_no_personal_details(surveyed: Flask) -> None:
    result = run(surveyed, "referrals", "list")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "CR/0002/26" in out and "service_recovery" in out and "action_alert" in out
    assert "kept_informed: completely dissatisfied" in out
    assert "+44" not in out and "01134" not in out and "Alex" not in out


def test_outputs_hold_no_phone_numbers_or_names(surveyed: Flask) -> None:
    for args in (["results", "export", "--survey", "uss"],
                 ["results", "export", "--survey", "uss", "--format", "csv"],
                 ["referrals", "list", "--json"]):
        out = run(surveyed, *args).stdout
        assert "+44" not in out and "Alex" not in out
