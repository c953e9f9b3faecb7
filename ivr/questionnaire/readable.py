"""A questionnaire in the words of the people who run it: each question's answers, what
counts as positive or dissatisfied, conditions and referral rules in sentences, and the
calling settings, for staff who should not have to read YAML to know what a call says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ivr.questionnaire.options import describe_labels, options_for, positive_keys
from ivr.questionnaire.schema import (
    Condition,
    ControlStep,
    Option,
    Question,
    Questionnaire,
    QuestionType,
    ReferralRule,
    Sentiment,
)

TYPE_NAMES = {
    QuestionType.SCALE7: "Satisfaction scale, 1 to 7",
    QuestionType.YES_NO: "Yes or no",
    QuestionType.CHOICE: "Choice",
    QuestionType.NUMBER: "Number",
    QuestionType.RECORDING: "Recording of the victim's own words",
    QuestionType.STATEMENT: "Statement (nothing is asked)",
}
KIND_NAMES = {
    "service_recovery": "Service-recovery referral",
    "action_alert": "Action alert",
}
DAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
    "bank_holiday": "bank holidays",
}
NOT_COUNTED_NAMES = {
    "dont_know": "don't know",
    "does_not_apply": "does not apply",
    "prefer_not_to_say": "prefer not to say",
}


@dataclass(frozen=True)
class Answer:
    """One answer a question accepts, as the readable view lists it."""

    key: str
    label: str
    #: "satisfied", "dissatisfied", "not counted: don't know"... or "".
    note: str
    goto: str | None


@dataclass(frozen=True)
class Check:
    """One of the steps before the questions (identity, safety, convenience, consent)."""

    name: str
    step: ControlStep
    asked_of: str
    when: str | None


def answers(question: Question) -> list[Answer]:
    """Every answer a question accepts, with what it counts as."""
    return [
        Answer(option.key, option.label, _note(option), option.goto)
        for option in options_for(question)
    ]


def _note(option: Option) -> str:
    if option.not_counted is not None:
        return f"not counted: {NOT_COUNTED_NAMES.get(option.not_counted.value, '')}"
    return option.sentiment.value if option.sentiment is not None else ""


def positive_words(question: Question) -> str | None:
    """What results count as the positive answer, in words (None where nothing is asked)."""
    if question.type in (QuestionType.NUMBER, QuestionType.RECORDING, QuestionType.STATEMENT):
        return None
    keys = positive_keys(question)
    if not keys:
        return None
    labels = [o.label for o in options_for(question) if o.key in keys]
    return describe_labels(labels)


def dissatisfied_words(question: Question) -> str | None:
    """The answers that count as dissatisfied, in words (None when there are none)."""
    labels = [o.label for o in options_for(question) if o.sentiment is Sentiment.DISSATISFIED]
    return _either(labels) if labels else None


def _answer_labels(questionnaire: Questionnaire, question_id: str, keys: tuple[str, ...]) -> str:
    try:
        options = {o.key: o.label for o in options_for(questionnaire.question(question_id))}
    except KeyError:
        options = {}
    return _either([f"{options[k]} ({k})" if k in options else k for k in keys])


def _either(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def condition_words(condition: Condition | None, questionnaire: Questionnaire) -> str | None:
    """A condition as a sentence: "the answer to q3 is Yes (1)"; None when there is none."""
    if condition is None:
        return None
    if condition.answer is not None:
        labels = _answer_labels(questionnaire, condition.answer, condition.in_ or ())
        return f"the answer to {condition.answer} is {labels}"
    if condition.case is not None:
        return f"the case's {condition.case} is {_either(list(condition.in_ or ()))}"
    for name, word in (("dissatisfied", "dissatisfied"), ("satisfied", "satisfied")):
        which = getattr(condition, name)
        if which == "core":
            return f"any core question is answered {word}"
        if which is not None:
            return f"any of {_either(list(which))} is answered {word}"
    if condition.all is not None:
        return " and ".join(f"({condition_words(c, questionnaire)})" for c in condition.all)
    if condition.any is not None:
        return " or ".join(f"({condition_words(c, questionnaire)})" for c in condition.any)
    return f"not ({condition_words(condition.not_, questionnaire)})"


def checks(questionnaire: Questionnaire) -> list[Check]:
    """The steps before the questions, in the order a call takes them."""
    steps: list[tuple[str, ControlStep | None, bool]] = [
        ("Identity", questionnaire.identity, False),
        ("Safety", questionnaire.safety, True),
        ("Is now a good time", questionnaire.convenience, True),
        ("Consent", questionnaire.consent, False),
        ("A better time to call", questionnaire.callback_time, False),
    ]
    found = []
    for name, step, may_be_sensitive_only in steps:
        if step is None:
            continue
        asked_of = "everyone"
        if may_be_sensitive_only and step.asked_of == "sensitive":
            asked_of = "sensitive cases only"
        found.append(Check(name, step, asked_of, condition_words(step.when, questionnaire)))
    return found


def referral_words(rule: ReferralRule, questionnaire: Questionnaire) -> dict[str, str]:
    """A referral rule as the readable view shows it."""
    reasons = (
        "every answer given as dissatisfied"
        if rule.reasons == "dissatisfied"
        else f"the answers to {_either(list(rule.reasons))}"
    )
    words = {
        "kind": KIND_NAMES.get(rule.kind, rule.kind),
        "when": condition_words(rule.when, questionnaire) or "",
        "reasons": reasons,
        "personal details": (
            f"sent only when {condition_words(rule.consent, questionnaire)}"
            if rule.consent is not None
            else "always sent"
        ),
    }
    return words


def calling_facts(questionnaire: Questionnaire) -> list[tuple[str, str]]:
    """The campaign's eligibility and calling settings as (setting, value) pairs."""
    campaign = questionnaire.campaign
    if campaign is None:
        return []
    eligibility, calling = campaign.eligibility, campaign.calling
    before = f", until {eligibility.before} after it" if eligibility.before else ""
    facts = [("Rung from", f"{eligibility.after} after {eligibility.from_field}{before}")]
    facts += [
        (f"Only when {field} is", ", ".join(values))
        for field, values in eligibility.field_in.items()
    ]
    facts += [(f"Only when {field} is", value) for field, value in eligibility.required.items()]
    if eligibility.min_age is not None:
        facts.append(("Youngest rung", f"{eligibility.min_age}"))
    facts += [
        ("Time zone", calling.tz),
        ("Attempts at most", str(calling.max_attempts)),
        ("Attempts a day at most", str(calling.max_attempts_per_day)),
        ("Rings for", f"{calling.ring_timeout_seconds} seconds"),
        ("Calls to carry on a stopped interview", str(calling.resume_calls)),
    ]
    for day in DAYS:
        windows = getattr(calling.windows, day)
        if windows is not None:
            spans = ", ".join(f"{start:%H:%M} to {end:%H:%M}" for start, end in windows)
            facts.append((f"Calling hours, {DAYS[day]}", spans or "no calls"))
    facts += [
        (f"Wait after {outcome.replace('_', ' ')}", _duration(wait))
        for outcome, wait in calling.retry_after.items()
    ]
    return facts


def _duration(wait: timedelta) -> str:
    hours = int(wait.total_seconds() // 3600)
    if hours and hours % 24 == 0:
        return f"{hours // 24} day(s)"
    return f"{hours} hour(s)" if hours else f"{int(wait.total_seconds() // 60)} minute(s)"


def translations(questionnaire: Questionnaire) -> list[tuple[str, list[tuple[str, str]]]]:
    """Translated text the questionnaire holds, by language, as (where, text) pairs.

    Read generically, so that the view shows whatever shape the loader gives them.
    """
    held = getattr(questionnaire, "translations", None)
    if not held:
        return []
    data = held.model_dump() if hasattr(held, "model_dump") else held
    if not isinstance(data, dict):
        return []
    return [(str(language), list(_texts(texts, ()))) for language, texts in data.items()]


def _texts(value: Any, path: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _texts(inner, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for number, inner in enumerate(value, 1):
            yield from _texts(inner, (*path, str(number)))
    elif value is not None:
        yield " › ".join(path), str(value)
