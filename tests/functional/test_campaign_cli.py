"""``ivr campaign`` and ``ivr dnc`` as an operator uses them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result

import ivr.cli
from tests.conftest import SURVEY_NUMBER
from tests.functional.campaign_world import MONDAY_11, World, campaign_world, uss_csv

A, B, C = "+441134960301", "+441134960302", "+441134960303"


@pytest.fixture
def world(sqlite_url: str) -> Iterator[World]:
    with campaign_world(sqlite_url) as w:
        today = MONDAY_11.date()
        w.import_csv(
            uss_csv(
                [
                    ("CR/1/26", A, "burglary", today - timedelta(weeks=7)),
                    ("CR/2/26", B, "violent", today - timedelta(weeks=8)),
                    ("CR/3/26", C, "vehicle", today - timedelta(weeks=2)),
                ]
            )
        )
        yield w


def run(world: World, *args: str) -> Result:
    return world.app.test_cli_runner().invoke(ivr.cli.main, list(args))


def json_of(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_preview_counts_the_eligible_and_why_the_others_are_not(world: World) -> None:
    data = json_of(run(world, "campaign", "preview", "--survey", "uss", "--json"))
    assert data["cases"] == 3 and data["eligible"] == 2
    assert data["not_eligible"] == {"not_yet": 1}
    text = run(world, "campaign", "preview", "--survey", "uss")
    assert "eligible: 2" in text.output and "not_yet: 1" in text.output


def test_run_once_places_the_due_calls_to_the_rest_api_and_exits(world: World) -> None:
    # Never started: running it starts it.
    placed = run(world, "campaign", "run", "--survey", "uss", "--once")
    assert placed.exit_code == 0, placed.output
    assert "calls placed 2" in placed.stderr
    assert sorted(c.params["To"] for c in world.fake.calls) == [A, B]
    assert {c.params["From"] for c in world.fake.calls} == {SURVEY_NUMBER}
    # Placed, not waited for: the calls have not been played back yet.
    status = json_of(run(world, "campaign", "status", "--survey", "uss", "--json"))
    assert status["status"] == "running" and status["in_progress"] == 2
    assert status["calls_placed_today"] == 2
    world.play()
    status = json_of(run(world, "campaign", "status", "--survey", "uss", "--json"))
    assert status["completed"] == 2 and status["in_progress"] == 0
    assert status["by_disposition"] == {"1.1 Complete": 2}
    assert status["next_due"] is not None  # the case reported two weeks ago
    again = run(world, "campaign", "run", "--survey", "uss", "--once", "--json")
    assert json.loads(again.stdout)["calls_queued"] == 0 and len(world.fake.calls) == 2


def test_pause_stops_new_calls_until_started_again(world: World) -> None:
    run(world, "campaign", "start", "--survey", "uss")
    assert run(world, "campaign", "pause", "--survey", "uss").exit_code == 0
    paused = run(world, "campaign", "run", "--survey", "uss", "--once")
    assert paused.exit_code == 0 and "paused" in paused.stderr
    assert world.fake.calls == []
    assert (
        json_of(run(world, "campaign", "status", "--survey", "uss", "--json"))["status"] == "paused"
    )
    run(world, "campaign", "start", "--survey", "uss")
    resumed = run(world, "campaign", "run", "--survey", "uss", "--once")
    assert resumed.exit_code == 0 and len(world.fake.calls) == 2


def test_unknown_survey_is_a_clear_error(world: World) -> None:
    result = run(world, "campaign", "status", "--survey", "nope")
    assert result.exit_code != 0 and "unknown survey 'nope'" in result.output


def test_do_not_call_add_list_remove(world: World) -> None:
    added = run(world, "dnc", "add", "0113 496 0301", "--reason", "asked by letter")
    assert added.exit_code == 0, added.output
    assert f"{A} is now on the do-not-call list" in added.stderr
    listed = json_of(run(world, "dnc", "list", "--json"))
    assert [(r["phone"], r["reason"], r["source"]) for r in listed] == [
        (A, "asked by letter", "command line")
    ]
    run(world, "campaign", "run", "--survey", "uss", "--once")
    assert [c.params["To"] for c in world.fake.calls] == [B]
    assert run(world, "dnc", "remove", A).exit_code == 0
    assert json_of(run(world, "dnc", "list", "--json")) == []
    missing = run(world, "dnc", "remove", A)
    assert missing.exit_code != 0 and "not on the do-not-call list" in missing.output
    bad = run(world, "dnc", "add", "12345")
    assert bad.exit_code != 0 and "not a valid phone number" in bad.output
