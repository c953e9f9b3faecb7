"""The RQ job that applies every survey's retention periods (see :mod:`ivr.privacy.retention`)."""

from __future__ import annotations

from ivr.privacy.retention import run_retention
from ivr.services import current_services, recording_store


def apply_retention() -> str:
    """Erase, delete and remove what has outlived its retention period; what was done."""
    svc = current_services()
    done = run_retention(
        svc.db,
        svc.questionnaires,
        recording_store(svc),
        audit_days=svc.settings.audit_retention_days,
        now=svc.clock(),
    )
    return (
        "; ".join(
            f"{line.survey}: {line.cases_erased} cases erased, {line.recordings_deleted} "
            f"recordings deleted ({line.recordings_failed} to retry), "
            f"{line.interviews_emptied} interviews' answers removed"
            for line in done.surveys
        )
        + f"; {done.audit_entries_removed} audit entries removed"
    )
