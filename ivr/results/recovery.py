"""Service recovery in a report: referrals and action alerts raised, first contact
within the target, time to first contact, outcomes, by district."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from ivr.questionnaire import demographics
from ivr.results import disclosure
from ivr.results.model import RecoveryRow, Thresholds
from ivr.results.statistics import median
from ivr.store import results as store

# --- service recovery ---------------------------------------------------------------------


def _recovery_row(
    district: str, referrals: Sequence[store.ReferralFacts], thresholds: Thresholds
) -> RecoveryRow:
    with_target = [r for r in referrals if r.due_at is not None]
    in_time = [
        r
        for r in with_target
        if r.first_contact_at is not None
        and r.due_at is not None
        and r.first_contact_at <= r.due_at
    ]
    hours = [
        (r.first_contact_at - r.created_at).total_seconds() / 3600
        for r in referrals
        if r.first_contact_at is not None
    ]
    contacted = disclosure.protect_one(
        disclosure.shown(len(with_target), len(in_time), thresholds), thresholds
    )
    return RecoveryRow(
        district=district,
        service_recovery=sum(r.kind == "service_recovery" for r in referrals),
        action_alerts=sum(r.kind == "action_alert" for r in referrals),
        with_target=len(with_target),
        contacted_in_time=contacted,
        median_hours_to_contact=(
            median(hours) if len(hours) >= thresholds.suppress_below else None
        ),
        outcomes=dict(sorted(Counter(r.outcome for r in referrals if r.outcome).items())),
    )


def recovery(
    referrals: Sequence[store.ReferralFacts], thresholds: Thresholds
) -> tuple[RecoveryRow, ...]:
    by_district: dict[str, list[store.ReferralFacts]] = defaultdict(list)
    for r in referrals:
        by_district[r.district or demographics.NOT_STATED.label].append(r)
    return (
        _recovery_row("All districts", referrals, thresholds),
        *(_recovery_row(d, rs, thresholds) for d, rs in sorted(by_district.items())),
    )
