"""``ivr demo`` plays a mixed sample through the real webhooks and sums it up."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from ivr.cli import main
from ivr.demo.run import run_demo


def test_demo_plays_every_kind_of_respondent_without_errors(tmp_path: Path) -> None:
    result = run_demo(tmp_path / "demo.db", uss_cases=80, vcas_cases=20, unknown=5, seed=7)
    assert result.errors == [] and result.mismatches == []
    assert result.calls == 100 and result.repeated_calls == 20 and result.unknown_callers == 5
    uss = result.summaries["uss"]
    assert sum(uss.interviews_by_status.values()) == 80
    assert {"completed", "partial", "refused"} <= set(uss.interviews_by_status)
    assert [row.question_id for row in uss.core] == [
        "ease_of_contact", "actions_taken", "kept_informed", "treatment", "whole_experience"]
    for row in uss.core:
        assert 0 < row.satisfied < row.answered
        assert row.ci_low < row.percent < row.ci_high
    assert set(uss.referrals_by_district) <= {
        "Hartlepool", "Stockton", "Middlesbrough", "Redcar and Cleveland"}
    assert set(result.summaries["vcas_exit"].referrals_by_district) <= {"VCAS service manager"}
    engine = create_engine(result.database_url)
    with engine.connect() as conn:
        interviews = conn.execute(text("select count(*) from interviews")).scalar()
        per_interview = conn.execute(text(
            "select max(n) from (select count(*) as n from referrals "
            "group by interview_id, kind) as counted")).scalar()
    engine.dispose()
    assert interviews == 100  # the unknown callers created none
    assert per_interview in (None, 1)


def test_demo_command_prints_the_summary_and_what_to_run_next(tmp_path: Path) -> None:
    database = tmp_path / "cli-demo.db"
    outcome = CliRunner().invoke(main, ["demo", "--database", str(database), "--cases", "20",
                                        "--vcas-cases", "5"])
    assert outcome.exit_code == 0, outcome.output
    assert "uss: interviews by status" in outcome.output
    assert "What to run next" in outcome.output
    assert f"DATABASE_URL=sqlite:///{database.resolve()} ivr referrals list" in outcome.output
