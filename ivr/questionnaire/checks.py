"""Checks across a questionnaire that a schema alone cannot express.

Each check yields ``(path, message)``; the loader turns the path into a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ivr.questionnaire.demographics import AGE_BANDS, NOT_STATED, VOCABULARIES
from ivr.questionnaire.options import (
    declared_not_counted,
    options_for,
    positive_keys,
    substantive_options,
)
from ivr.questionnaire.schema import (
    PLACEHOLDER,
    RESERVED_KEYS,
    Condition,
    ControlStep,
    Questionnaire,
    QuestionType,
)

Found = tuple[tuple[Any, ...], str]
END = "end"
#: Fields that may be spoken before the identity check: nothing that reveals the case.
BEFORE_IDENTITY_FIELDS = frozenset({"first_name"})
KEYED_TYPES = {QuestionType.SCALE7, QuestionType.YES_NO, QuestionType.CHOICE}
#: Words that would tell whoever answers a sensitive case's call what it is about.
REVEALING = re.compile(
    r"\b(police|policing|constabulary|officers?|crimes?|criminal|incidents?|offen[cs]es?|"
    r"abuse|abusive|victims?|assault|burglary|violen\w*|court|justice|survey|"
    r"satisfaction|"
    # The same in Welsh, with its mutated forms (heddlu, yr heddlu, dioddefwr...).
    r"heddlu|(t|d|th|nh)rosedd\w*|(d|dd|n)ioddef\w*|(c|g|ch|ngh)am-?drin\w*|"
    r"(d|dd|n)igwyddiad\w*|h?arolwg\w*|swyddog\w*|llys|(c|g|ch|ngh)yfiawnder|"
    r"(b|f|m)oddhad)\b",
    re.IGNORECASE,
)


def _normalised(text: str) -> str:
    return " ".join(text.split())


def check_questionnaire(q: Questionnaire) -> list[Found]:
    """Every cross-reference problem in a schema-valid questionnaire."""
    return [
        *_ids_and_keys(q),
        *_conditions(q),
        *_gotos_and_reachability(q),
        *_placeholders(q),
        *_referrals(q),
        *_campaign(q),
        *_same_words_in_both_modes(q),
        *_neutral_before_checks(q),
        *_counting(q),
        *_demographics_and_screening(q),
        *_quotas(q),
    ]


def _same_words_in_both_modes(q: Questionnaire) -> Iterator[Found]:
    """An interviewer reads the phone's words: a different 'interviewer:' wording is an
    error, with where the interviewer's own notes belong."""
    advice = (
        "the phone and the interviewer must ask the same words: keep the words in "
        "'prompt:' and put anything for the interviewer alone in 'instructions:'"
    )
    steps: list[tuple[tuple[Any, ...], ControlStep | None]] = [
        (("identity",), q.identity),
        (("safety",), q.safety),
        (("convenience",), q.convenience),
        (("consent",), q.consent),
        (("callback_time",), q.callback_time),
    ]
    for path, step in steps:
        if (
            step is not None
            and step.interviewer is not None
            and _normalised(step.interviewer) != _normalised(step.prompt)
        ):
            yield path + ("interviewer",), advice
    for i, question in enumerate(q.questions):
        if question.interviewer is not None and _normalised(question.interviewer) != _normalised(
            question.prompt
        ):
            yield ("questions", i, "interviewer"), advice


def _neutral_before_checks(q: Questionnaire) -> Iterator[Found]:
    """What a sensitive case's call says before identity and safety are confirmed, and the
    goodbyes that end such a call, name no police, crime, victim or survey."""
    texts: list[tuple[tuple[Any, ...], str | None]] = [
        (("sensitive_opening",), q.sensitive_opening),
        (("identity", "prompt"), q.identity.prompt),
        (("identity", "keypad"), q.identity.keypad),
        (("callback_time", "prompt"), q.callback_time.prompt),
        (("callback_time", "keypad"), q.callback_time.keypad),
    ]
    for name in ("safety", "convenience"):
        step = getattr(q, name)
        if step is not None:
            texts += [((name, "prompt"), step.prompt), ((name, "keypad"), step.keypad)]
    for name in ("callback", "wrong_person", "no_response", "unsafe"):
        texts.append((("closing", name), getattr(q.closing, name)))
    for name in ("no_input", "invalid", "confirm", "putting_through", "nobody_free", "slower"):
        texts.append((("messages", name), getattr(q.messages, name)))
    for path, text in texts:
        if not text:
            continue
        found = REVEALING.search(text)
        if found:
            yield (
                path,
                (
                    f"says '{found.group(0)}', which a sensitive case's call must not "
                    "say before identity and safety are confirmed"
                ),
            )
        for name in PLACEHOLDER.findall(text):
            if name in q.case_fields and name not in BEFORE_IDENTITY_FIELDS:
                yield (
                    path,
                    (
                        f"uses '{{{name}}}', which a sensitive case's call must not say "
                        "before identity and safety are confirmed"
                    ),
                )


def neutral_texts_problems(q: Questionnaire) -> Iterator[Found]:
    """The neutral-text checks alone, with the offer of another language (heard at a
    sensitive case's opening too): for a translation, whose other checks are the base's."""
    yield from _neutral_before_checks(q)
    if q.offer:
        found = REVEALING.search(q.offer)
        if found:
            yield (
                ("offer",),
                (
                    f"says '{found.group(0)}', which a sensitive case's call must not "
                    "say before identity and safety are confirmed"
                ),
            )


def _counting(q: Questionnaire) -> Iterator[Found]:
    """Figures need a declared positive answer for each core question, and a partial
    threshold the core questions can reach."""
    for i, question in enumerate(q.questions):
        keys = {o.key for o in options_for(question) if o.substantive}
        if question.positive is not None:
            for key in question.positive:
                if key not in keys:
                    yield (
                        ("questions", i, "positive"),
                        f"'{key}' is not one of the question's answers that count "
                        f"(keys: {', '.join(sorted(keys))})",
                    )
        if question.core and question.type in KEYED_TYPES and not positive_keys(question):
            yield (
                ("questions", i, "positive"),
                "a core question needs 'positive:' naming the keys its figure counts",
            )
        if question.type not in KEYED_TYPES and question.non_substantive:
            yield (
                ("questions", i, "non_substantive"),
                f"a {question.type.value} question takes no keyed answers",
            )
    core = len(q.core_ids)
    if q.partial_core_answers is not None and q.partial_core_answers > core:
        yield (
            ("partial_core_answers",),
            f"{q.partial_core_answers} is more than the {core} core questions",
        )


def _campaign(q: Questionnaire) -> Iterator[Found]:
    if q.campaign is None:
        return
    rules = q.campaign.eligibility
    path = ("campaign", "eligibility")
    field = q.case_fields.get(rules.from_field)
    if field is None:
        yield path + ("from_field",), f"'{rules.from_field}' is not in case_fields"
    elif field.type != "date":
        yield path + ("from_field",), f"'{rules.from_field}' is not a date field"
    if rules.before_days is not None and rules.before_days <= rules.after_days:
        yield path + ("before",), "'before' must be later than 'after'"
    for section in ("field_in", "required", "needs_safety_check"):
        for name in getattr(rules, section):
            if name not in q.case_fields:
                yield path + (section, name), f"'{name}' is not in case_fields"
    if rules.min_age is not None and "age" not in q.case_fields:
        yield path + ("min_age",), "'min_age' needs an 'age' field in case_fields"
    if rules.needs_safety_check and q.safety is None:
        yield (
            path + ("needs_safety_check",),
            "cases that need a safety check can never be rung: the questionnaire has none",
        )
    if q.safety is None and q.sample == "victims":
        yield (
            ("campaign",),
            "a survey that rings victims needs a 'safety:' step: any case "
            "may be sensitive (the sample's domestic_abuse: yes)",
        )


def _ids_and_keys(q: Questionnaire) -> Iterator[Found]:
    seen: dict[str, int] = {}
    for i, question in enumerate(q.questions):
        if question.id in seen:
            yield (
                ("questions", i, "id"),
                f"duplicate id (already used by question #{seen[question.id] + 1})",
            )
        seen.setdefault(question.id, i)
        keys: set[str] = set()
        for j, option in enumerate(question.options):
            path = ("questions", i, "options", j, "key")
            if option.key in RESERVED_KEYS:
                use = "repeats the question" if option.key == "*" else "ends keypad input"
                yield path, f"option key '{option.key}' clashes with the reserved key that {use}"
            if option.key in keys:
                yield path, f"option key '{option.key}' is used twice"
            keys.add(option.key)
        # The scale's and yes/no's own answers are built in, not written in the YAML.
        keys.update(o.key for o in substantive_options(question))
        for j, declared in enumerate(
            declared_not_counted(question) if question.type in KEYED_TYPES else ()
        ):
            path = ("questions", i, "non_substantive", j, "key")
            if declared.key in RESERVED_KEYS:
                yield path, f"key '{declared.key}' is reserved for the keypad itself"
            elif declared.key in keys:
                yield path, f"key '{declared.key}' is already an answer of this question"
            keys.add(declared.key)


def _condition_refs(
    cond: Condition, path: tuple[Any, ...]
) -> Iterator[tuple[tuple[Any, ...], Condition]]:
    yield path, cond
    for name in ("all", "any"):
        for k, child in enumerate(getattr(cond, name) or ()):
            yield from _condition_refs(child, path + (name, k))
    if cond.not_ is not None:
        yield from _condition_refs(cond.not_, path + ("not",))


def _check_condition(
    q: Questionnaire, cond: Condition, path: tuple[Any, ...], asked_before: list[str] | None
) -> Iterator[Found]:
    """Check one condition; ``asked_before`` limits answers to earlier questions."""
    ids = [x.id for x in q.questions]
    for sub_path, c in _condition_refs(cond, path):
        if c.answer is not None:
            if c.answer not in ids:
                yield sub_path + ("answer",), f"'when:' names unknown question '{c.answer}'"
                continue
            if asked_before is not None and c.answer not in asked_before:
                yield (
                    sub_path + ("answer",),
                    f"'when:' names question '{c.answer}', which is not asked before this one",
                )
            target = q.question(c.answer)
            if target.type in KEYED_TYPES:
                keys = {o.key for o in options_for(target)}
                for value in c.in_ or ():
                    if value not in keys:
                        yield (
                            sub_path + ("in",),
                            f"'{value}' is not a key of question '{c.answer}' "
                            f"(keys: {', '.join(sorted(keys))})",
                        )
            elif target.type is not QuestionType.NUMBER:
                yield (
                    sub_path + ("answer",),
                    f"question '{c.answer}' is a {target.type.value}; "
                    "'when:' can only test keyed or number answers",
                )
        if c.case is not None:
            field = q.case_fields.get(c.case)
            if field is None:
                yield (
                    sub_path + ("case",),
                    f"'when:' names case field '{c.case}', not in case_fields",
                )
            elif field.type == "choice":
                for value in c.in_ or ():
                    if value not in field.choices:
                        yield (
                            sub_path + ("in",),
                            f"'{value}' is not a choice of case field '{c.case}'",
                        )
        for name in ("dissatisfied", "satisfied"):
            listed = getattr(c, name)
            if listed == "core":
                if not q.core_ids:
                    yield sub_path + (name,), f"'{name}: core' but no question is marked core"
            elif listed is not None:
                for qid in listed:
                    if qid not in ids:
                        yield sub_path + (name,), f"'{name}:' names unknown question '{qid}'"
                    elif q.question(qid).type is not QuestionType.SCALE7 and not any(
                        o.sentiment for o in q.question(qid).options
                    ):
                        yield (
                            sub_path + (name,),
                            f"question '{qid}' has no satisfied/dissatisfied answers",
                        )
                    elif asked_before is not None and qid not in asked_before:
                        yield (
                            sub_path + (name,),
                            f"'{name}:' names question '{qid}', which is not asked before this one",
                        )


def _conditions(q: Questionnaire) -> Iterator[Found]:
    for section in ("identity", "safety", "convenience", "consent"):
        step = getattr(q, section)
        if step is not None and step.when is not None:
            yield from _check_condition(q, step.when, (section, "when"), asked_before=[])
    if q.sensitive is not None:
        yield from _check_condition(q, q.sensitive, ("sensitive",), asked_before=[])
    for i, question in enumerate(q.questions):
        if question.when is not None:
            earlier = [x.id for x in q.questions[:i]]
            yield from _check_condition(q, question.when, ("questions", i, "when"), earlier)


def _gotos_and_reachability(q: Questionnaire) -> Iterator[Found]:
    index = {question.id: i for i, question in enumerate(q.questions)}
    edges: dict[int, set[int]] = {i: set() for i in range(len(q.questions))}
    for i, question in enumerate(q.questions):
        # Unanswered questions fall through to the question-level goto or the next one.
        targets: list[tuple[tuple[Any, ...], str | None]] = [
            (("questions", i, "goto"), question.goto)
        ]
        targets += [
            (("questions", i, "options", j, "goto"), option.goto)
            for j, option in enumerate(question.options)
        ]
        if question.goto is None:
            edges[i].add(i + 1)
        for path, target in targets:
            if target is None:
                continue
            if target == END:
                edges[i].add(len(q.questions))
            elif target not in index:
                yield path, f"goto names unknown question '{target}'"
            elif index[target] <= i:
                yield path, f"goto '{target}' goes back to an earlier question, which makes a loop"
            else:
                edges[i].add(index[target])
    reached, stack = {0}, [0]
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    for i in range(len(q.questions)):
        if i not in reached:
            yield ("questions", i, "id"), "unreachable: every path before it jumps past it"


def _placeholders(q: Questionnaire) -> Iterator[Found]:
    known = set(q.case_fields) | ({"places"} if q.quotas is not None else set())
    # A survey of the public rings a number drawn for an area: saying the area reveals
    # nothing about anyone, and tells whoever answers why they were rung.
    opening = frozenset({"district"}) if q.sample == "public" else frozenset()
    before_identity = BEFORE_IDENTITY_FIELDS | opening
    texts: list[tuple[tuple[Any, ...], str, frozenset[str] | None]] = [
        (("opening",), q.opening, opening),
        (("sensitive_opening",), q.sensitive_opening, frozenset()),
    ]
    for name in ("identity", "safety", "convenience", "callback_time", "consent"):
        step = getattr(q, name)
        if step is None:
            continue
        allowed = None if name == "consent" else before_identity
        for part in ("prompt", "keypad", "instructions"):
            if getattr(step, part):
                texts.append(((name, part), getattr(step, part), allowed))
    for i, question in enumerate(q.questions):
        texts.append((("questions", i, "prompt"), question.prompt, None))
        if question.instructions:
            texts.append((("questions", i, "instructions"), question.instructions, None))
    for name, text in q.closing:
        texts.append((("closing", name), text, before_identity))
    for path, text, allowed in texts:
        for name in PLACEHOLDER.findall(text):
            if name not in known:
                yield path, f"prompt uses '{{{name}}}', which is not in case_fields"
            elif allowed is not None and name not in allowed:
                yield (
                    path,
                    (
                        f"prompt uses '{{{name}}}' before the identity check "
                        "(case details may only be spoken to the right person)"
                    ),
                )


def _referrals(q: Questionnaire) -> Iterator[Found]:
    ids = {x.id for x in q.questions}
    for i, rule in enumerate(q.referrals):
        yield from _check_condition(q, rule.when, ("referrals", i, "when"), asked_before=None)
        if rule.consent is not None:
            yield from _check_condition(
                q, rule.consent, ("referrals", i, "consent"), asked_before=None
            )
        if rule.reasons != "dissatisfied":
            for qid in rule.reasons:
                if qid not in ids:
                    yield ("referrals", i, "reasons"), f"reasons names unknown question '{qid}'"
        for part, wanted in (("contact_name", "recording"), ("contact_number", "number")):
            qid = getattr(rule, part)
            if qid is None:
                continue
            if qid not in ids:
                yield ("referrals", i, part), f"{part} names unknown question '{qid}'"
            elif q.question(qid).type.value != wanted:
                yield ("referrals", i, part), f"{part} must name a {wanted} question"
    kinds = [rule.kind for rule in q.referrals]
    for kind in set(kinds):
        if kinds.count(kind) > 1:
            yield ("referrals",), f"more than one '{kind}' rule (an interview raises at most one)"
    if q.routing.to == "district" and q.referrals and "district" not in q.case_fields:
        yield ("routing",), "referrals route to the district, but 'district' is not in case_fields"


def _groups_of(demographic: str) -> tuple[str, ...]:
    if demographic == "age_band":
        return tuple(key for key, _low, _high in AGE_BANDS)
    return tuple(g.key for g in VOCABULARIES[demographic] if g.key != NOT_STATED.key)


def _demographics_and_screening(q: Questionnaire) -> Iterator[Found]:
    """A demographic question names a known group for each of its answers; only such a
    question names groups; a screening answer is one of the question's own."""
    asked: dict[str, int] = {}
    for i, question in enumerate(q.questions):
        keys = {o.key for o in options_for(question)}
        for key in question.screens_out:
            if key not in keys:
                yield (
                    ("questions", i, "screens_out"),
                    f"'{key}' is not one of the question's answers (keys: "
                    f"{', '.join(sorted(keys))})",
                )
        if question.screens_out and question.core:
            yield ("questions", i, "screens_out"), "a core question cannot screen people out"
        seen_details: set[str] = set()
        for j, option in enumerate(question.options):
            for detail in option.details:
                if detail in seen_details:
                    yield (
                        ("questions", i, "options", j, "details"),
                        f"'{detail}' is listed twice",
                    )
                seen_details.add(detail)
        demographic = question.demographic
        for j, option in enumerate(question.options):
            if option.group is not None and demographic is None:
                yield (
                    ("questions", i, "options", j, "group"),
                    "only a question with 'demographic:' puts people in groups",
                )
        if demographic is None:
            continue
        if demographic in asked:
            yield (
                ("questions", i, "demographic"),
                f"{demographic} is already asked by question #{asked[demographic] + 1}",
            )
        asked.setdefault(demographic, i)
        if question.type is not QuestionType.CHOICE:
            yield ("questions", i, "demographic"), "a demographic question must be a choice"
            continue
        known = _groups_of(demographic)
        for j, option in enumerate(question.options):
            if option.group is None:
                yield (
                    ("questions", i, "options", j),
                    f"missing 'group': one of {', '.join(known)}",
                )
            elif option.group not in known:
                yield (
                    ("questions", i, "options", j, "group"),
                    f"'{option.group}' is not a {demographic} group: use one of {', '.join(known)}",
                )


def _quotas(q: Questionnaire) -> Iterator[Found]:
    """Quotas are for a survey of the public, whose quota questions everyone is asked."""
    if q.quotas is None:
        return
    if q.sample != "public":
        yield ("quotas",), "quotas are for a survey of the public ('sample: public')"
    for part in ("number_ranges", "places"):
        for area in getattr(q.quotas, part):
            if area not in q.quotas.areas:
                yield ("quotas", part, area), f"'{area}' is not one of the quota areas"
    by_demographic = {question.demographic: i for i, question in enumerate(q.questions)}
    for demographic in q.quotas.demographics:
        i = by_demographic.get(demographic)  # type: ignore[call-overload]
        if i is None:
            yield (
                ("quotas", "cells"),
                f"the quotas need a question with 'demographic: {demographic}'",
            )
        elif q.questions[i].when is not None:
            yield (
                ("questions", i, "when"),
                "a quota question is asked of everyone: it takes no 'when:'",
            )
