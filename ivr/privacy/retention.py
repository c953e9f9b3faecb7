"""Applying each survey's retention periods: daily (the clock's job) or by hand
(``ivr retention run [--dry-run]``).

Recordings are deleted where they are kept (Twilio) before the database forgets their
address: one that cannot be deleted today keeps its address and is tried again on the next
run, as is any case whose recordings it holds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ivr.accounts import audit
from ivr.questionnaire.registry import QuestionnaireRegistry
from ivr.store import retention as store
from ivr.store import subjects
from ivr.store.db import Database
from ivr.telephony.port import RecordingStore, TelephonyError

log = logging.getLogger(__name__)


@dataclass
class SurveyRetention:
    """What one survey's run did (or, in a dry run, would do)."""

    survey: str
    cases_erased: int = 0
    recordings_deleted: int = 0
    #: Recordings the store could not delete: kept, and tried again on the next run.
    recordings_failed: int = 0
    answers_removed: int = 0
    interviews_emptied: int = 0


@dataclass
class RetentionRun:
    dry_run: bool
    surveys: list[SurveyRetention] = field(default_factory=list)
    audit_entries_removed: int = 0


def delete_recordings(recordings: RecordingStore | None, urls: list[str]) -> set[str]:
    """Delete each recording where it is kept; the addresses that could not be."""
    failed: set[str] = set()
    for url in urls:
        if recordings is None:
            continue  # no store configured: nothing is kept anywhere but the address
        try:
            recordings.delete_recording(url)
        except TelephonyError as exc:
            log.warning("could not delete a recording: %s", exc)
            failed.add(url)
    return failed


def run_retention(
    db: Database,
    registry: QuestionnaireRegistry,
    recordings: RecordingStore | None,
    *,
    audit_days: int,
    now: datetime,
    dry_run: bool = False,
) -> RetentionRun:
    """Apply every survey's retention periods, and the audit trail's."""
    run = RetentionRun(dry_run)
    for survey in registry.surveys():
        policy = registry.current(survey).questionnaire.retention
        line = SurveyRetention(survey)
        run.surveys.append(line)
        with db.reading() as conn:
            old_recordings = store.recordings_past(
                conn, survey, now - timedelta(days=policy.recordings_days)
            )
            cases = store.cases_past(
                conn, survey, now - timedelta(days=policy.personal_details_days)
            )
            interviews = (
                store.interviews_past(conn, survey, now - timedelta(days=policy.answers_days))
                if policy.answers_days is not None
                else []
            )
            case_recordings = {case_id: subjects.recordings_of(conn, case_id) for case_id in cases}
        if dry_run:
            line.recordings_deleted = len(old_recordings)
            line.cases_erased = len(cases)
            line.interviews_emptied = len(interviews)
            continue
        failed = delete_recordings(recordings, [r.url for r in old_recordings])
        done = [r for r in old_recordings if r.url not in failed]
        with db.begin() as conn:
            store.forget_recordings(conn, done)
        line.recordings_deleted, line.recordings_failed = len(done), len(failed)
        gone = {r.url for r in done}
        for case_id in cases:
            if failed & set(case_recordings[case_id]):
                continue  # its recording could not be deleted: the case waits with it
            urls = [url for url in case_recordings[case_id] if url not in gone]
            failed_here = delete_recordings(recordings, urls)
            if failed_here:
                line.recordings_failed += len(failed_here)
                continue  # tried again on the next run, recordings and all
            line.recordings_deleted += len(urls)
            with db.transaction() as session:
                erased = subjects.erase(session.connection(), case_id, answers=False, now=now)
                audit.record(
                    session,
                    None,
                    "retention_erase",
                    object_type="case",
                    object_id=case_id,
                    now=now,
                    survey=survey,
                    interviews=erased.interviews,
                )
            line.cases_erased += 1
        if interviews:
            with db.begin() as conn:
                line.answers_removed = store.forget_answers(conn, interviews)
            line.interviews_emptied = len(interviews)
    before = now - timedelta(days=audit_days)
    with db.begin() as conn:
        run.audit_entries_removed = (
            store.audit_entries_before(conn, before)
            if dry_run
            else store.forget_audit_entries(conn, before)
        )
    return run
