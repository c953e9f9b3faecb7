"""Each survey's retention periods, applied by ``ivr retention run`` (and daily by the
clock): recordings deleted where they are kept, then personal details erased, then the
pseudonymous answers removed, and old audit entries; a dry run changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select

import ivr.cli
from ivr.app import create_app
from ivr.store.models import Answer, AuditEntry, Case
from ivr.telephony.port import RecordingTelephony, TelephonyError
from tests.conftest import make_settings
from tests.functional.campaign_world import MONDAY_11, Clock, RaisingQueue
from tests.functional.test_referrals_without_consent import NAMED
from tests.functional.test_subject_rights import recording_of, traces_left, worked_referral


class Unreachable(RecordingTelephony):
    """A recording store that cannot be reached until told otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self.down = True

    def delete_recording(self, recording_url: str) -> bool:
        if self.down:
            raise TelephonyError("could not reach the Twilio API", retryable=True)
        return super().delete_recording(recording_url)


@pytest.fixture
def world(any_db: str) -> Iterator[tuple[Flask, Clock, Unreachable]]:
    clock, store = Clock(MONDAY_11), Unreachable()
    app = create_app(
        make_settings(any_db, audit_retention_days=400),
        queue=RaisingQueue(),
        clock=clock,
        telephony=store,
    )
    yield app, clock, store
    app.extensions["ivr"].db.dispose()


def imported_now(app: Flask, clock: Clock) -> None:
    """The sample was imported when the call took place, by the test's clock."""
    with app.extensions["ivr"].db.transaction() as session:
        for case in session.scalars(select(Case)):
            case.imported_at = clock()


def retention(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(ivr.cli.main, ["retention", "run", *args])
    assert result.exit_code == 0, result.output
    return result


def counts(app: Flask) -> dict[str, Any]:
    with app.extensions["ivr"].db.transaction() as session:
        return {
            "recordings": session.scalar(
                select(func.count()).where(Answer.recording_url.is_not(None))
            ),
            "answers": session.scalar(select(func.count()).select_from(Answer)),
            "named": session.scalar(select(func.count()).where(Case.phone == NAMED["phone"])),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
        }


def test_each_period_in_turn_and_a_dry_run_changes_nothing(
    world: tuple[Flask, Clock, Unreachable],
) -> None:
    app, clock, store = world
    worked_referral(app)
    imported_now(app, clock)
    recording = recording_of(app)
    store.down = False
    start = counts(app)
    assert start["recordings"] == 1 and start["named"] == 1 and start["answers"] > 0

    # Within every period: nothing goes.
    clock.advance(days=30)
    retention(app)
    assert counts(app) == start and store.deleted == []

    # Past the recordings' 90 days: a dry run counts it, the run deletes it at Twilio first.
    clock.advance(days=61)
    dry = json.loads(retention(app, "--dry-run", "--json").stdout)
    assert dry["dry_run"] is True
    deleted = {line["survey"]: line["recordings_deleted"] for line in dry["surveys"]}
    assert deleted == {"lpcs": 0, "uss": 1, "vcas_exit": 0}
    assert "dry run" in retention(app, "--dry-run").stdout and counts(app) == start
    retention(app)
    assert store.deleted == [recording]
    assert counts(app)["recordings"] == 0 and counts(app)["named"] == 1

    # Past the personal details' 365 days: erased everywhere, answers kept.
    clock.advance(days=275)
    retention(app)
    assert traces_left(app, recording) == []
    after = counts(app)
    assert after["named"] == 0 and after["answers"] == start["answers"]

    # Past the answers' 2,190 days: only that the interview took place is left; and the
    # audit trail keeps its 400 days.
    clock.advance(days=1830)
    retention(app)
    final = counts(app)
    assert final["answers"] == 0
    assert after["audit"] > 0 and final["audit"] == 0  # every entry was over 400 days old


def test_a_recording_twilio_cannot_delete_keeps_its_case_until_the_next_run(
    world: tuple[Flask, Clock, Unreachable],
) -> None:
    app, clock, store = world
    worked_referral(app)
    imported_now(app, clock)
    recording = recording_of(app)
    clock.advance(days=366)
    result = json.loads(retention(app, "--json").stdout)
    [uss] = [line for line in result["surveys"] if line["survey"] == "uss"]
    assert (uss["recordings_failed"], uss["recordings_deleted"], uss["cases_erased"]) == (1, 0, 0)
    # Nothing lost: the recording's address, and the case that holds it, wait.
    assert counts(app)["recordings"] == 1 and counts(app)["named"] == 1
    store.down = False
    retention(app)
    assert store.deleted == [recording]
    assert traces_left(app, recording) == []


def test_erasure_deletes_the_recordings_at_twilio_first(
    world: tuple[Flask, Clock, Unreachable],
) -> None:
    app, _clock, store = world
    worked_referral(app)
    recording = recording_of(app)
    runner = app.test_cli_runner()
    refused = runner.invoke(ivr.cli.main, ["subject", "erase", "--case", NAMED["case_ref"]])
    assert refused.exit_code == 1 and "could be deleted at Twilio" in refused.stderr
    assert counts(app)["named"] == 1  # nothing else erased
    store.down = False
    done = runner.invoke(ivr.cli.main, ["subject", "erase", "--case", NAMED["case_ref"]])
    assert done.exit_code == 0, done.output
    assert store.deleted == [recording] and traces_left(app, recording) == []


def test_a_questionnaire_sets_its_retention_and_a_bad_period_is_a_located_error() -> None:
    from ivr.questionnaire.loader import QuestionnaireError, parse_questionnaire
    from tests.conftest import ROOT

    source = (ROOT / "questionnaires" / "uss.yaml").read_text(encoding="utf-8")
    assert parse_questionnaire(source).questionnaire.retention.recordings_days == 90
    kept = parse_questionnaire(
        source + "retention:\n  recordings_days: 30\n  answers_days: null\n"
    ).questionnaire.retention
    assert (kept.personal_details_days, kept.recordings_days, kept.answers_days) == (
        365,
        30,
        None,
    )
    with pytest.raises(QuestionnaireError) as bad:
        parse_questionnaire(source + "retention:\n  recordings_days: 0\n", "uss.yaml")
    message = str(bad.value)
    assert "uss.yaml:" in message and "retention" in message and "recordings_days" in message
