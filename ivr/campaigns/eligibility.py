"""Which sampled cases a survey's campaign may ring: pure rules over a case's fields."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from ivr.engine.script import SAFETY, check_applies, is_sensitive, node_named
from ivr.questionnaire.schema import Questionnaire


class Reason(StrEnum):
    """Why a case may or may not be rung; ``eligible`` and ``not_yet`` are not final."""

    ELIGIBLE = "eligible"
    NOT_YET = "not_yet"  # too soon after the date the period counts from
    PAST_PERIOD = "past_calling_period"  # too long after it
    NO_DATE = "no_date"  # the case has no such date
    NOT_COVERED = "not_covered"  # e.g. a crime type the survey does not cover
    REQUIREMENT_NOT_MET = "requirement_not_met"  # e.g. no consent recorded at closure
    UNDER_AGE = "under_age"
    NO_SAFETY_CHECK = "no_safety_check"  # sensitive case, questionnaire cannot ask it
    DO_NOT_CALL = "do_not_call"
    ALREADY_INTERVIEWED = "already_interviewed"
    NO_CAMPAIGN = "no_campaign"  # the questionnaire declares no outbound calling

    @property
    def final(self) -> bool:
        """Whether the case can never become eligible (only time changes ``not_yet``)."""
        return self not in (Reason.ELIGIBLE, Reason.NOT_YET)


@dataclass(frozen=True)
class Verdict:
    """A case's eligibility on a day, and the first and last days it may be rung."""

    reason: Reason
    first_day: date | None = None
    last_day: date | None = None

    @property
    def eligible(self) -> bool:
        return self.reason is Reason.ELIGIBLE


def judge(
    q: Questionnaire,
    case: dict[str, Any],
    today: date,
    *,
    do_not_call: bool = False,
    interviewed: bool = False,
) -> Verdict:
    """Whether the campaign for ``q`` may ring this case ``today``.

    ``case`` holds the case's fields by name as prompts see them (dates as ISO text or
    dates). Permanent reasons are reported before the calling period, so a case that is
    both too recent and of a crime type not covered is ``not_covered``.
    """
    if q.campaign is None:
        return Verdict(Reason.NO_CAMPAIGN)
    rules = q.campaign.eligibility
    if interviewed:
        return Verdict(Reason.ALREADY_INTERVIEWED)
    if do_not_call:
        return Verdict(Reason.DO_NOT_CALL)
    for name, allowed in rules.field_in.items():
        if str(case.get(name, "")) not in allowed:
            return Verdict(Reason.NOT_COVERED)
    for name, wanted in rules.required.items():
        if str(case.get(name, "")).lower() != wanted.lower():
            return Verdict(Reason.REQUIREMENT_NOT_MET)
    age = _age(case, today)
    if rules.min_age is not None and age is not None and age < rules.min_age:
        return Verdict(Reason.UNDER_AGE)
    if _needs_safety_check(q, case) and not _safety_check_applies(q, case):
        return Verdict(Reason.NO_SAFETY_CHECK)
    start = _as_date(case.get(rules.from_field))
    if start is None:
        return Verdict(Reason.NO_DATE)
    first = start + timedelta(days=rules.after_days)
    last = None if rules.before_days is None else start + timedelta(days=rules.before_days)
    if today < first:
        return Verdict(Reason.NOT_YET, first, last)
    if last is not None and today > last:
        return Verdict(Reason.PAST_PERIOD, first, last)
    return Verdict(Reason.ELIGIBLE, first, last)


def _age(case: dict[str, Any], today: date) -> int | None:
    """The case's age: as given, or on ``today`` from its date of birth."""
    value = case.get("age")
    try:
        if value not in (None, ""):
            return int(value)
    except (TypeError, ValueError):
        return None
    born = _as_date(case.get("date_of_birth"))
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _needs_safety_check(q: Questionnaire, case: dict[str, Any]) -> bool:
    assert q.campaign is not None
    return is_sensitive(q, case) or any(
        str(case.get(name, "")) in values
        for name, values in q.campaign.eligibility.needs_safety_check.items()
    )


def _safety_check_applies(q: Questionnaire, case: dict[str, Any]) -> bool:
    return q.safety is not None and check_applies(q, node_named(q, SAFETY), case)


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
