"""Checks across a questionnaire that a schema alone cannot express.

Each check yields ``(path, message)``; the loader turns the path into a line.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ivr.questionnaire.options import options_for
from ivr.questionnaire.schema import (
    PLACEHOLDER,
    RESERVED_KEYS,
    Condition,
    Questionnaire,
    QuestionType,
)

Found = tuple[tuple[Any, ...], str]
END = "end"
#: Fields that may be spoken before the identity check: nothing that reveals the case.
BEFORE_IDENTITY_FIELDS = frozenset({"first_name"})
KEYED_TYPES = {QuestionType.SCALE7, QuestionType.YES_NO, QuestionType.CHOICE}


def check_questionnaire(q: Questionnaire) -> list[Found]:
    """Every cross-reference problem in a schema-valid questionnaire."""
    return [
        *_ids_and_keys(q),
        *_conditions(q),
        *_gotos_and_reachability(q),
        *_placeholders(q),
        *_referrals(q),
        *_campaign(q),
    ]


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
    from ivr.scheduling.policy import CallingPolicy

    try:
        CallingPolicy.from_mapping(q.campaign.calling)
    except ValueError as exc:
        yield ("campaign", "calling"), str(exc)
    if rules.needs_safety_check and q.safety is None:
        yield (path + ("needs_safety_check",),
               "cases that need a safety check can never be rung: the questionnaire has none")


def _ids_and_keys(q: Questionnaire) -> Iterator[Found]:
    seen: dict[str, int] = {}
    for i, question in enumerate(q.questions):
        if question.id in seen:
            yield (("questions", i, "id"),
                   f"duplicate id (already used by question #{seen[question.id] + 1})")
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
                yield (sub_path + ("answer",),
                       f"'when:' names question '{c.answer}', which is not asked before this one")
            target = q.question(c.answer)
            if target.type in KEYED_TYPES:
                keys = {o.key for o in options_for(target)}
                for value in c.in_ or ():
                    if value not in keys:
                        yield (sub_path + ("in",),
                               f"'{value}' is not a key of question '{c.answer}' "
                               f"(keys: {', '.join(sorted(keys))})")
            elif target.type is not QuestionType.NUMBER:
                yield (sub_path + ("answer",),
                       f"question '{c.answer}' is a {target.type.value}; "
                       "'when:' can only test keyed or number answers")
        if c.case is not None:
            field = q.case_fields.get(c.case)
            if field is None:
                yield (sub_path + ("case",),
                       f"'when:' names case field '{c.case}', not in case_fields")
            elif field.type == "choice":
                for value in c.in_ or ():
                    if value not in field.choices:
                        yield (sub_path + ("in",),
                               f"'{value}' is not a choice of case field '{c.case}'")
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
                        yield (sub_path + (name,),
                               f"question '{qid}' has no satisfied/dissatisfied answers")
                    elif asked_before is not None and qid not in asked_before:
                        yield (sub_path + (name,),
                               f"'{name}:' names question '{qid}', "
                               "which is not asked before this one")


def _conditions(q: Questionnaire) -> Iterator[Found]:
    for section in ("identity", "safety", "consent"):
        step = getattr(q, section)
        if step is not None and step.when is not None:
            yield from _check_condition(q, step.when, (section, "when"), asked_before=[])
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
    known = set(q.case_fields)
    texts: list[tuple[tuple[Any, ...], str, frozenset[str] | None]] = [
        (("opening",), q.opening, frozenset()),
        (("identity", "prompt"), q.identity.prompt, BEFORE_IDENTITY_FIELDS),
        (("consent", "prompt"), q.consent.prompt, None),
    ]
    if q.safety is not None:
        texts.append((("safety", "prompt"), q.safety.prompt, BEFORE_IDENTITY_FIELDS))
    for i, question in enumerate(q.questions):
        texts.append((("questions", i, "prompt"), question.prompt, None))
        if question.interviewer:
            texts.append((("questions", i, "interviewer"), question.interviewer, None))
    for name, text in q.closing:
        texts.append((("closing", name), text, BEFORE_IDENTITY_FIELDS))
    for path, text, allowed in texts:
        for name in PLACEHOLDER.findall(text):
            if name not in known:
                yield path, f"prompt uses '{{{name}}}', which is not in case_fields"
            elif allowed is not None and name not in allowed:
                yield path, (f"prompt uses '{{{name}}}' before the identity check "
                             "(case details may only be spoken to the right person)")


def _referrals(q: Questionnaire) -> Iterator[Found]:
    ids = {x.id for x in q.questions}
    for i, rule in enumerate(q.referrals):
        yield from _check_condition(q, rule.when, ("referrals", i, "when"), asked_before=None)
        if rule.reasons != "dissatisfied":
            for qid in rule.reasons:
                if qid not in ids:
                    yield ("referrals", i, "reasons"), f"reasons names unknown question '{qid}'"
    kinds = [rule.kind for rule in q.referrals]
    for kind in set(kinds):
        if kinds.count(kind) > 1:
            yield ("referrals",), f"more than one '{kind}' rule (an interview raises at most one)"
    if q.routing.to == "district" and q.referrals and "district" not in q.case_fields:
        yield ("routing",), "referrals route to the district, but 'district' is not in case_fields"
