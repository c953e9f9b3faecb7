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
from ivr.results.reports import wilson_interval
from ivr.telephony.respondents import Action, Scripted, hang_up, press, record
from tests.conftest import SURVEY_NUMBER, add_case, simulator

QUESTIONS = [
    "ease_of_contact",
    "actions_taken",
    "kept_informed",
    "treatment",
    "whole_experience",
    "dissatisfaction_reason",
    "recovery_consent",
    "police_contact",
]


def keys(*digits: str) -> list[Action]:
    return [press(d) for d in digits]


@pytest.fixture
def surveyed(app: Flask) -> Flask:
    """Four calls: satisfied; dissatisfied with a recorded reason and consent; hung up after
    one answer (short of the partial threshold); hung up after four core answers, one of
    them don't know (a partial that counts)."""
    cases = [
        ("CR/0001/26", "+441134960001", "Hartlepool", keys("1", "1", "2", "2", "3", "1", "2", "2")),
        (
            "CR/0002/26",
            "+441134960002",
            "Stockton",
            [*keys("1", "1", "6", "2", "7", "1", "4"), record(5), press("1"), press("1")],
        ),
        ("CR/0003/26", "+441134960003", "Hartlepool", [*keys("1", "1", "2"), hang_up()]),
        (
            "CR/0004/26",
            "+441134960004",
            "Stockton",
            [*keys("1", "1", "1", "8", "2", "1"), hang_up()],
        ),
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


def answer(code: str, label: str, substantive: bool = True) -> dict[str, Any]:
    return {"code": code, "label": label, "via": "keypad", "substantive": substantive}


def test_export_json(surveyed: Flask) -> None:
    rows = json_out(run(surveyed, "results", "export", "--survey", "uss", "--format", "json"))

    assert [(r["case_ref"], r["status"], r["counted"]) for r in rows] == [
        ("CR/0001/26", "completed", "complete"),
        ("CR/0002/26", "completed", "complete"),
        ("CR/0003/26", "partial", None),
        ("CR/0004/26", "partial", "partial"),
    ]
    for row in rows:
        assert set(row) == {
            "case_ref",
            "survey",
            "status",
            "counted",
            "started_at",
            "ended_at",
            "channel",
            "mode",
            "questionnaire_version",
            "district",
            "crime_type",
            "reported_on",
            "disposition",
            "attempts",
            "answers",
        }
        assert (row["survey"], row["channel"], row["mode"], row["questionnaire_version"]) == (
            "uss",
            "phone_inbound",
            "phone",
            "2026.2",
        )
        assert (row["crime_type"], row["reported_on"]) == ("burglary", "2026-09-14")
        assert list(row["answers"]) == [q for q in QUESTIONS if q in row["answers"]]
        started = datetime.fromisoformat(row["started_at"])
        assert started.utcoffset() == UTC.utcoffset(None)
        assert datetime.fromisoformat(row["ended_at"]) >= started
    assert [r["district"] for r in rows] == ["Hartlepool", "Stockton", "Hartlepool", "Stockton"]
    satisfied, dissatisfied, partial, counted_partial = (r["answers"] for r in rows)

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
    assert set(reason) == {"code", "label", "via", "substantive", "recording_url", "transcription"}
    assert reason["code"] is None and reason["transcription"] is None
    assert reason["recording_url"].startswith("https://")
    assert partial == {"ease_of_contact": answer("2", "very satisfied")}
    assert counted_partial["actions_taken"] == answer("8", "don't know", substantive=False)


def test_export_json_to_a_file(surveyed: Flask, tmp_path: Path) -> None:
    target = tmp_path / "uss.json"
    result = run(
        surveyed,
        "results",
        "export",
        "--survey",
        "uss",
        "--format",
        "json",
        "--output",
        str(target),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "4 interviews" in result.stderr
    stdout_rows = json_out(run(surveyed, "results", "export", "--survey", "uss"))
    assert json.loads(target.read_text(encoding="utf-8")) == stdout_rows


def test_export_csv(surveyed: Flask) -> None:
    result = run(surveyed, "results", "export", "--survey", "uss", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ",".join(
        [
            "case_ref",
            "survey",
            "status",
            "counted",
            "started_at",
            "ended_at",
            "channel",
            "mode",
            "questionnaire_version",
            "district",
            "crime_type",
            "reported_on",
            "disposition",
            "attempts",
            *(c for q in QUESTIONS for c in (q, f"{q}_label", f"{q}_via")),
        ]
    )
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 4
    codes = [[row[q] for q in QUESTIONS] for row in rows]
    assert codes == [
        ["2", "2", "3", "1", "2", "", "", "2"],
        ["6", "2", "7", "1", "4", "", "1", "1"],
        ["2", "", "", "", "", "", "", ""],
        ["1", "8", "2", "1", "", "", "", ""],
    ]
    assert [row["status"] for row in rows] == ["completed", "completed", "partial", "partial"]
    assert [row["counted"] for row in rows] == ["complete", "complete", "", "partial"]
    assert rows[3]["actions_taken_label"] == "don't know"
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
    assert summary["interviews_by_status"] == {"completed": 2, "partial": 2}
    # The partial with one answer is short of the threshold (3 of 5): it is not counted.
    assert summary["counted"] == {"complete": 2, "partial": 1}
    assert "at least 3 of the 5 core questions" in summary["partial_rule"]
    assert summary["referrals_by_district"] == {
        "Stockton": {"action_alert": 1, "service_recovery": 1}
    }
    expected = {  # question: (base, positive, don't know)
        "ease_of_contact": (3, 2, 0),
        "actions_taken": (2, 2, 1),  # the don't know is outside the base
        "kept_informed": (3, 2, 0),
        "treatment": (3, 3, 0),
        "whole_experience": (2, 1, 0),  # the partial never reached it
    }
    assert [c["question_id"] for c in summary["core"]] == list(expected)
    for core in summary["core"]:
        base, positive, dont_know = expected[core["question_id"]]
        low, high = wilson_interval(positive, base)
        assert (core["base"], core["positive"]) == (base, positive)
        assert core["not_counted"].get("dont_know", 0) == dont_know
        assert core["counts_as"] == "satisfied: completely, very or fairly"
        assert core["percent"] == pytest.approx(100 * positive / base)
        assert (core["ci_low"], core["ci_high"]) == (
            pytest.approx(100 * low),
            pytest.approx(100 * high),
        )
    whole = next(c for c in summary["core"] if c["question_id"] == "whole_experience")
    assert (whole["percent"], round(whole["ci_low"], 1), round(whole["ci_high"], 1)) == (
        50.0,
        9.5,
        90.5,
    )


def test_summary_table(surveyed: Flask) -> None:
    result = run(surveyed, "results", "summary", "--survey", "uss")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ease_of_contact" in out and "66.7" in out and "9.5-90.5" in out
    assert "satisfied: completely, very or fairly" in out and "don't know" in out
    assert "2 complete and 1 partial" in out
    assert "partial" in out and "Stockton" in out


def test_referrals_list_csv(surveyed: Flask) -> None:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(run(surveyed, "referrals", "list", "--csv").stdout)))
    assert [(r["kind"], r["district"], r["reasons"]) for r in rows] == [
        ("action_alert", "Stockton", "police_contact: yes"),
        (
            "service_recovery",
            "Stockton",
            "ease_of_contact: very dissatisfied; kept_informed: completely dissatisfied",
        ),
    ]


def test_referrals_list_json(surveyed: Flask) -> None:
    referrals = json_out(run(surveyed, "referrals", "list", "--json"))

    for referral in referrals:
        assert set(referral) == {
            "id",
            "case_ref",
            "survey",
            "kind",
            "district",
            "reasons",
            "status",
            "consented",
            "created_at",
        }
        assert datetime.fromisoformat(referral["created_at"]).utcoffset() == UTC.utcoffset(None)
    assert [{k: v for k, v in r.items() if k not in ("id", "created_at")} for r in referrals] == [
        {
            "case_ref": "CR/0002/26",
            "survey": "uss",
            "kind": "action_alert",
            "district": "Stockton",
            "status": "new",
            "consented": True,
            "reasons": [{"question": "police_contact", "answer": "yes", "code": "1"}],
        },
        {
            "case_ref": "CR/0002/26",
            "survey": "uss",
            "kind": "service_recovery",
            "district": "Stockton",
            "status": "new",
            "consented": True,
            "reasons": [
                {"question": "ease_of_contact", "answer": "very dissatisfied", "code": "6"},
                {"question": "kept_informed", "answer": "completely dissatisfied", "code": "7"},
            ],
        },
    ]
    assert referrals[0]["created_at"] >= referrals[1]["created_at"]


def test_referrals_list_filters(surveyed: Flask) -> None:
    assert (
        len(
            json_out(
                run(surveyed, "referrals", "list", "--json", "--survey", "uss", "--status", "new")
            )
        )
        == 2
    )
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
    for args in (
        ["results", "export", "--survey", "uss"],
        ["results", "export", "--survey", "uss", "--format", "csv"],
        ["referrals", "list", "--json"],
    ):
        out = run(surveyed, *args).stdout
        assert "+44" not in out and "Alex" not in out
