"""``ivr demo`` plays a mixed sample through the real webhooks and sums it up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from ivr.calendar import ZONE
from ivr.cli import main
from ivr.demo.run import run_demo
from ivr.questionnaire.demographics import VOCABULARIES


def test_demo_runs_both_campaigns_through_the_outbound_path(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo.db", uss_cases=80, vcas_cases=20, unknown=5, seed=7, days=14)
    assert result.errors == [] and result.mismatches == []
    assert result.unknown_callers == 5 and result.call_backs == 3
    assert {"answered", "no answer", "busy", "answering machine"} <= set(result.fates)
    assert result.calls == sum(result.fates.values()) > 100
    uss = result.summaries["uss"]
    statuses = {
        status for summary in result.summaries.values() for status in summary.interviews_by_status
    }
    assert {"completed", "refused", "no_response", "unsafe", "wrong_number"} <= statuses
    assert [row.question_id for row in uss.core] == [
        "ease_of_contact",
        "actions_taken",
        "kept_informed",
        "treatment",
        "whole_experience",
    ]
    for row in uss.core:
        assert 0 < row.positive < row.base <= uss.counted["complete"] + uss.counted["partial"]
        assert row.ci_low < row.percent < row.ci_high
    assert set(uss.referrals_by_district) <= {
        "Hartlepool",
        "Stockton",
        "Middlesbrough",
        "Redcar and Cleveland",
    }
    assert set(result.summaries["vcas_exit"].referrals_by_district) <= {"VCAS service manager"}
    for survey, cases in (("uss", 80), ("vcas_exit", 20)):
        campaign = result.campaigns[survey]
        # Every case was worked to a final disposition, or left to interviewers because it
        # was not safe to talk; they add up.
        assert campaign["waiting"] == campaign["in_progress"] == 0
        assert sum(campaign["by_disposition"].values()) + campaign["for_interviewers"] == cases
        assert campaign["by_disposition"]["1.1 Complete"] == campaign["completed"] > 0
    engine = create_engine(result.database_url)
    with engine.connect() as conn:
        per_interview = conn.execute(
            text(
                "select max(n) from (select count(*) as n from referrals "
                "group by interview_id, kind) as counted"
            )
        ).scalar()
        most_attempts = conn.execute(
            text(
                "select max(n) from (select count(*) as n from call_attempts "
                "where direction = 'outbound' group by case_id) as counted"
            )
        ).scalar()
        completed_twice = conn.execute(
            text(
                "select count(*) from (select case_id from interviews where status = 'completed' "
                "group by case_id having count(*) > 1) as twice"
            )
        ).scalar()
        interviews_per_case = conn.execute(
            text(
                "select max(n) from (select count(*) as n from interviews group by case_id) "
                "as counted"
            )
        ).scalar()
        started = [
            row[0]
            for row in conn.execute(
                text(
                    "select i.started_at from interviews i join cases c on c.id = i.case_id "
                    "where c.survey = 'uss'"
                )
            )
        ]
        calls = [
            (_utc(row[0]), _utc(row[1]), row[2])
            for row in conn.execute(
                text(
                    "select started_at, ended_at, status from interviews where ended_at is not null"
                )
            )
        ]
        referrals = [
            (
                _utc(row[0]),
                _utc(row[1]) if row[1] else None,
                _utc(row[2]) if row[2] else None,
                row[3],
            )
            for row in conn.execute(
                text("select created_at, due_at, first_contact_at, status from referrals")
            )
        ]
        uss_fields = [
            json.loads(row[0]) if isinstance(row[0], str) else row[0]
            for row in conn.execute(text("select fields from cases where survey = 'uss'"))
        ]
    engine.dispose()
    assert per_interview in (None, 1)
    assert most_attempts <= 6
    assert completed_twice == 0
    assert interviews_per_case == 1
    # Staff accounts to work the queue with, one officer per district.
    roles = sorted(role for _, role, _ in result.accounts)
    assert roles.count("district_officer") == 4 and "supervisor" in roles
    assert len(result.password) >= 12
    # And cases due today for the interviewers' console, planned by nobody yet.
    assert result.console_cases == 20
    # Results need history: interviews in at least five quarters (by the London date they
    # started), so trends and changes against last quarter and last year show something.
    quarters = {_london_quarter(moment) for moment in started}
    assert len(quarters) >= 5, quarters
    assert len(set(result.quarters)) == 5
    # An analyst (the Commissioner's office) to read the results with.
    assert ("analyst@demo.example", "analyst", "") in result.accounts
    # The sample carries demographics, stored as the groups reports break down by.
    for name, groups in VOCABULARIES.items():
        given = {fields[name] for fields in uss_fields if name in fields}
        assert given and given <= {group.key for group in groups}
    assert any(isinstance(fields.get("age"), int) for fields in uss_fields)
    # Calls last as real ones do, 3 to 12 minutes, lengths varying, started in calling
    # hours (UK time).
    minutes = [(ended - began).total_seconds() / 60 for began, ended, _ in calls]
    assert calls and all(3 <= m <= 12 for m in minutes), (min(minutes), max(minutes))
    assert len({round(m) for m in minutes}) >= 5
    assert all(
        dt_time(9) <= began.astimezone(ZONE).time() <= dt_time(20, 30) for began, _, _ in calls
    )
    # Referrals of the last weeks were raised on many days, and worked as a team would:
    # some overdue, most not, some reached within the target, some closed.
    now = datetime.now(UTC)
    recent = [r for r in referrals if now - r[0] <= timedelta(days=35)]
    assert len({created.astimezone(ZONE).date() for created, *_ in recent}) >= 3
    due = [r for r in recent if r[1] is not None and r[1] <= now]
    overdue = [r for r in due if r[3] != "closed"]
    in_time = [r for r in due if r[2] is not None and r[2] <= r[1]]
    assert due and 0 < len(overdue) <= len(due) / 2
    assert in_time and any(r[3] == "closed" for r in recent)
    assert sum(result.queue.values()) == len(referrals)


def _utc(moment: datetime | str) -> datetime:
    if isinstance(moment, str):  # SQLite hands the stored UTC time back as text
        return datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return moment


def _london_quarter(moment: datetime | str) -> tuple[int, int]:
    if isinstance(moment, str):  # SQLite hands the stored UTC time back as text
        moment = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    day = moment.astimezone(ZONE).date()
    return (day.year, (day.month - 1) // 3 + 1)


def test_demo_command_prints_the_summary_and_what_to_run_next(tmp_path: Path) -> None:
    database = tmp_path / "cli-demo.db"
    outcome = CliRunner().invoke(
        main, ["demo", "--database", str(database), "--cases", "20", "--vcas-cases", "5"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "uss: interviews by status" in outcome.output
    assert "What to run next" in outcome.output
    # Where to see the results, and as whom.
    assert "http://127.0.0.1:5000/results" in outcome.output
    assert "analyst@demo.example" in outcome.output
    assert f"DATABASE_URL=sqlite:///{database.resolve()} ivr referrals list" in outcome.output
