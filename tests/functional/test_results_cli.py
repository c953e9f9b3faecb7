"""``ivr results`` and ``ivr referrals`` over interviews played through the real webhooks."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select

import ivr.cli
from ivr.app import create_app
from ivr.calendar import ZONE
from ivr.campaigns.samples import import_sample
from ivr.jobs import InProcessQueue
from ivr.results.reports import survey_summary
from ivr.results.statistics import wilson_interval
from ivr.store.campaigns import set_plan
from ivr.store.models import Case
from ivr.telephony.respondents import Action, Scripted, hang_up, press, record
from tests.conftest import SURVEY_NUMBER, add_case, make_settings, simulator

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
            "language",
            "questionnaire_version",
            "district",
            "crime_type",
            "reported_on",
            "disposition",
            "attempts",
            "ethnicity",
            "age_band",
            "sex",
            "disability",
            "weight",
            "answers",
        }
        assert (row["survey"], row["channel"], row["mode"], row["questionnaire_version"]) == (
            "uss",
            "phone_inbound",
            "phone",
            "2026.2",
        )
        assert (row["crime_type"], row["reported_on"]) == ("burglary", "2026-09-14")
        assert row["language"] == "en-GB"
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
            "language",
            "questionnaire_version",
            "district",
            "crime_type",
            "reported_on",
            "disposition",
            "attempts",
            "ethnicity",
            "age_band",
            "sex",
            "disability",
            "weight",
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


def lowered_thresholds(app: Flask) -> Flask:
    """The app with nothing held back (a base of 1 shows), for figures on a handful of
    interviews; the real thresholds are the settings' defaults."""
    services = app.extensions["ivr"]
    services.settings = services.settings.but(results_suppress_below=1, results_low_base_below=1)
    return app


def test_summary_json(surveyed: Flask) -> None:
    report = json_out(
        run(lowered_thresholds(surveyed), "results", "summary", "--survey", "uss", "--json")
    )

    assert report["survey"] == "uss"
    # The partial with one answer is short of the threshold (3 of 5): it is not counted.
    assert (report["complete"], report["partial"]) == (2, 1)
    assert any("at least 3 of the 5 core questions" in line for line in report["method"])
    assert {
        row["district"]: (row["service_recovery"], row["action_alerts"])
        for row in report["recovery"]["rows"]
    }["Stockton"] == (1, 1)
    expected = {  # question: (base, positive, don't know)
        "ease_of_contact": (3, 2, 0),
        "actions_taken": (2, 2, 1),  # the don't know is outside the base
        "kept_informed": (3, 2, 0),
        "treatment": (3, 3, 0),
        "whole_experience": (2, 1, 0),  # the partial never reached it
    }
    assert [q["question_id"] for q in report["questions"]] == list(expected)
    for question in report["questions"]:
        base, positive, dont_know = expected[question["question_id"]]
        figure = question["overall"]
        low, high = wilson_interval(positive, base)
        assert (figure["base"], figure["positive"]) == (base, positive)
        assert question["not_counted"].get("dont_know", 0) == dont_know
        assert question["counts_as"] == "satisfied: completely, very or fairly"
        assert figure["percent"] == pytest.approx(100 * positive / base)
        assert (figure["low"], figure["high"]) == (
            pytest.approx(100 * low),
            pytest.approx(100 * high),
        )
    whole = next(q for q in report["questions"] if q["question_id"] == "whole_experience")
    figure = whole["overall"]
    assert (figure["percent"], round(figure["low"], 1), round(figure["high"], 1)) == (
        50.0,
        9.5,
        90.5,
    )
    # No --by: every breakdown, as the report has them.
    assert {b["dimension"] for b in whole["breakdowns"]} >= {"district", "mode"}


def test_summary_counts_as_the_survey_summary_did(surveyed: Flask) -> None:
    """The summary now comes from the quarterly report's counting: the same bases,
    positives and answers kept out as the all-time summary it replaces."""
    report = json_out(
        run(lowered_thresholds(surveyed), "results", "summary", "--survey", "uss", "--json")
    )
    with surveyed.extensions["ivr"].db.transaction() as session:
        before = survey_summary(session, "uss")
    assert (report["complete"], report["partial"]) == (
        before.counted["complete"],
        before.counted["partial"],
    )
    assert [
        (
            q["question_id"],
            q["overall"]["base"],
            q["overall"]["positive"],
            q["not_counted"],
            q["no_answer"],
        )
        for q in report["questions"]
    ] == [(f.question_id, f.base, f.positive, f.not_counted, f.no_answer) for f in before.core]


def test_summary_table(surveyed: Flask) -> None:
    result = run(lowered_thresholds(surveyed), "results", "summary", "--survey", "uss")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "ease_of_contact" in out and "66.7" in out and "9.5-90.5" in out
    assert "satisfied: completely, very or fairly" in out and "don't know" in out
    assert "2 complete and 1 partial" in out
    assert "partial" in out and "Stockton" in out
    # Without --by, only the overall figures.
    assert "By district" not in out


def test_summary_holds_back_small_bases_as_every_report_does(surveyed: Flask) -> None:
    result = run(surveyed, "results", "summary", "--survey", "uss")
    assert result.exit_code == 0, result.output
    assert "suppressed" in result.stdout
    assert "66.7" not in result.stdout and "9.5-90.5" not in result.stdout
    report = json_out(run(surveyed, "results", "summary", "--survey", "uss", "--json"))
    overall = report["questions"][0]["overall"]
    assert overall["suppressed"] and overall["percent"] is None and overall["base"] is None


def test_summary_by_dimensions(surveyed: Flask) -> None:
    app = lowered_thresholds(surveyed)
    result = run(app, "results", "summary", "--survey", "uss", "--by", "district", "--by", "mode")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "By district" in out and "By mode" in out and "By crime type" not in out
    stockton = next(line for line in out.splitlines() if "Stockton" in line and "50.0" in line)
    assert "9.5-90.5" in stockton  # ease of contact in Stockton: 1 of 2
    report = json_out(
        run(app, "results", "summary", "--survey", "uss", "--by", "district", "--json")
    )
    for question in report["questions"]:
        assert [b["dimension"] for b in question["breakdowns"]] == ["district"]
    ease = report["questions"][0]["breakdowns"][0]["groups"]
    assert [(g["group"], g["figure"]["base"], g["figure"]["positive"]) for g in ease] == [
        ("Hartlepool", 1, 1),
        ("Stockton", 2, 1),
    ]


def test_summary_by_an_unknown_dimension_is_refused(surveyed: Flask) -> None:
    result = run(surveyed, "results", "summary", "--survey", "uss", "--by", "postcode")
    assert result.exit_code == 2
    assert "postcode" in result.stderr and "district" in result.stderr


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


# --- over dates: --from, --to, and what each exported row carries --------------------------


class Clock:
    """The app's time, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def london(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


SATISFIED = keys("1", "1", "2", "2", "3", "1", "2", "2")
DISSATISFIED = [*keys("1", "1", "6", "2", "7", "1", "4"), record(5), press("1"), press("2")]
#: case_ref, phone, crime type, district, the demographic columns (ethnicity, sex,
#: disability, age), when the victim rang (London time; None: never interviewed; D3 is
#: dissatisfied, the others satisfied) and the case's final disposition.
DATED = [
    ("D1", "0113 496 0101", "burglary", "Hartlepool", ",,,", (2026, 6, 30, 23, 30), "1.1"),
    # 00:30 on 1 July in London is still 30 June in UTC: July's, by the London day.
    ("D2", "0113 496 0102", "burglary", "Hartlepool", ",,,", (2026, 7, 1, 0, 30), "1.1"),
    ("D3", "0113 496 0103", "burglary", "Stockton", "Asian,F,yes,40", (2026, 7, 15, 11, 0), "1.1"),
    ("D4", "0113 496 0104", "burglary", "Hartlepool", "white,male,no,", (2026, 8, 3, 11, 0), "1.1"),
    ("D5", "0113 496 0105", "burglary", "Hartlepool", ",,,", None, "3.13"),
    ("D6", "0113 496 0106", "burglary", "Stockton", ",,,", None, "4.10"),
]
CLOSED = {"D1": (2026, 6, 30, 23, 45)}  # the rest closed on 10 August (Q3)
TODAY = (2026, 8, 10, 12, 0)


def dated_world(database_url: str) -> Flask:
    """Interviews on days either side of a month's and a quarter's end, a sample with
    demographic columns, and every case's calling closed: D1 in Q2, the rest in Q3.

    In Q3 the crime type by district cells are burglary/Hartlepool (D2, D4 interviewed, D5
    not: 3 eligible, 2 interviewed) and burglary/Stockton (D3 interviewed; D6 out of
    sample, not eligible: 1 eligible, 1 interviewed). Cell weights, (N_c/N)/(n_c/n):
    Hartlepool (3/4)/(2/3) = 1.125, Stockton (1/4)/(1/3) = 0.75.
    """
    clock = Clock(london(2026, 6, 1, 9, 0))
    app = create_app(
        make_settings(database_url, results_suppress_below=1, results_low_base_below=1),
        queue=InProcessQueue(),
        clock=clock,
    )
    services = app.extensions["ivr"]
    sample = (
        "case_ref,phone,crime_type,district,reported_on,first_name,ethnicity,sex,disability,age\n"
    )
    sample += "".join(
        f"{ref},{phone},{crime},{district},2026-05-01,Alex,{groups}\n"
        for ref, phone, crime, district, groups, _, _ in DATED
    )
    with services.db.transaction() as session:
        report = import_sample(
            session,
            services.questionnaires.current("uss").questionnaire,
            io.StringIO(sample),
            today=date(2026, 6, 1),
        )
    assert report.problems == [], report.problems
    sim = simulator(app)
    for ref, phone, _, _, _, when, _ in DATED:
        if when is not None:
            clock.now = london(*when)
            script = DISSATISFIED if ref == "D3" else SATISFIED
            e164 = "+44" + phone.replace(" ", "")[1:]
            sim.call(from_=e164, to=SURVEY_NUMBER, respondent=Scripted(*script))
    with services.db.begin() as conn:
        ids = dict(conn.execute(select(Case.case_ref, Case.id)).all())
        for ref, *_, disposition in DATED:
            closed = london(*CLOSED.get(ref, (2026, 8, 10, 9, 0)))
            set_plan(conn, ids[ref], now=closed, disposition=disposition, reason="test")
    clock.now = london(*TODAY)
    return app


@pytest.fixture
def dated(any_db: str) -> Iterator[Flask]:
    app = dated_world(any_db)
    yield app
    app.extensions["ivr"].db.dispose()


def refs(rows: list[dict[str, Any]]) -> list[str]:
    return [row["case_ref"] for row in rows]


def test_export_from_and_to_are_london_days_both_included(dated: Flask) -> None:
    def exported(*dates: str) -> list[str]:
        return refs(json_out(run(dated, "results", "export", "--survey", "uss", *dates)))

    assert exported() == ["D1", "D2", "D3", "D4"]
    assert exported("--from", "2026-07-01", "--to", "2026-07-31") == ["D2", "D3"]
    assert exported("--to", "2026-06-30") == ["D1"]
    assert exported("--from", "2026-07-15") == ["D3", "D4"]
    assert exported("--from", "2026-08-04") == []


def test_export_rows_carry_the_case_its_groups_and_its_weight(dated: Flask) -> None:
    rows = {
        row["case_ref"]: row for row in json_out(run(dated, "results", "export", "--survey", "uss"))
    }
    stockton = rows["D3"]
    assert {k: stockton[k] for k in ("district", "crime_type", "reported_on", "disposition")} == {
        "district": "Stockton",
        "crime_type": "burglary",
        "reported_on": "2026-05-01",
        "disposition": "1.1",
    }
    assert (stockton["mode"], stockton["questionnaire_version"], stockton["attempts"]) == (
        "phone",
        "2026.2",
        0,
    )
    # Groups, never the exact age (nor a name or number).
    assert {k: stockton[k] for k in ("ethnicity", "age_band", "sex", "disability")} == {
        "ethnicity": "asian",
        "age_band": "35-44",
        "sex": "female",
        "disability": "yes",
    }
    assert "age" not in stockton and "first_name" not in stockton and "phone" not in stockton
    assert (rows["D4"]["ethnicity"], rows["D4"]["sex"], rows["D4"]["age_band"]) == (
        "white",
        "male",
        None,
    )
    assert rows["D1"]["ethnicity"] is None
    # Q3's cell weights (see dated_world); D1 is Q2's only interview in Q2's only cell.
    assert {ref: row["weight"] for ref, row in rows.items()} == {
        "D1": pytest.approx(1.0),
        "D2": pytest.approx(1.125),
        "D3": pytest.approx(0.75),
        "D4": pytest.approx(1.125),
    }
    # The weights stand for the eligible sample: Σ w n is the interviews of the quarter.
    assert sum(rows[r]["weight"] for r in ("D2", "D3", "D4")) == pytest.approx(3)


def test_export_csv_has_the_same_rows_and_new_columns(dated: Flask) -> None:
    result = run(dated, "results", "export", "--survey", "uss", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["case_ref"] for row in rows] == ["D1", "D2", "D3", "D4"]
    d3 = rows[2]
    assert (d3["ethnicity"], d3["age_band"], d3["sex"], d3["disability"]) == (
        "asian",
        "35-44",
        "female",
        "yes",
    )
    assert [float(row["weight"]) for row in rows] == pytest.approx([1.0, 1.125, 0.75, 1.125])
    assert (d3["ease_of_contact"], d3["ease_of_contact_label"]) == ("6", "very dissatisfied")
    assert (
        rows[0]["ethnicity"] == "" and "0113" not in result.stdout and "Alex" not in result.stdout
    )


def test_summary_from_and_to(dated: Flask) -> None:
    def counted(*dates: str) -> tuple[int, str]:
        report = json_out(run(dated, "results", "summary", "--survey", "uss", "--json", *dates))
        return report["complete"], report["period"]["label"]

    assert counted("--from", "2026-07-01", "--to", "2026-07-31") == (
        2,
        "1 Jul 2026 to 31 Jul 2026",
    )
    assert counted("--to", "2026-06-30") == (1, "30 Jun 2026 to 30 Jun 2026")
    # To today, by the app's clock (10 August).
    assert counted("--from", "2026-07-02") == (2, "2 Jul 2026 to 10 Aug 2026")
    # From the first interview in the figures: 30 June in London.
    assert counted() == (4, "30 Jun 2026 to 10 Aug 2026")
    table = run(dated, "results", "summary", "--survey", "uss", "--from", "2026-07-01")
    assert table.exit_code == 0, table.output
    assert (
        "1 Jul 2026 to 10 Aug 2026" in table.stdout and "3 complete and 0 partial" in table.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01"], "--from '2026-13-01' is not a date"),
        (["--to", "1/7/2026"], "--to '1/7/2026' is not a date"),
        (["--from", "2026-08-01", "--to", "2026-07-01"], "before"),
    ],
)
def test_bad_dates_are_an_error(dated: Flask, args: list[str], message: str) -> None:
    for command in ("summary", "export"):
        result = run(dated, "results", command, "--survey", "uss", *args)
        assert result.exit_code == 1, result.output
        assert message in result.stderr
        assert result.stdout == ""
