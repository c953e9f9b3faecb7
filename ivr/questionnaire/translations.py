"""A questionnaire's translations: each language built as a whole questionnaire of its own.

A translation lives in the questionnaire file, under ``translations: {<tag>: ...}``, so that
the version an interview pins holds its translations and a diff shows them. It gives the
words only: ids, keys, conditions and routing are the base questionnaire's. Every text the
base has (its messages and closings at their defaults too) must be translated, with the
same ``{placeholders}``, or the file does not load.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from ivr.questionnaire.checks import Found, neutral_texts_problems
from ivr.questionnaire.options import BUILT_IN, declared_not_counted
from ivr.questionnaire.schema import (
    LANGUAGE_TAG,
    PLACEHOLDER,
    Closing,
    ControlStep,
    Messages,
    Questionnaire,
    QuestionType,
)

#: The keys a translation may have.
KEYS = frozenset(
    {
        "name",
        "review",
        "voice",
        "speech",
        "offer",
        "key",
        "opening",
        "sensitive_opening",
        "steps",
        "questions",
        "choices",
        "not_counted",
        "messages",
        "closing",
        "case_fields",
        "dates",
    }
)
STEPS = ("identity", "safety", "convenience", "consent", "callback_time")
MISSING = "missing translation"


def build_translations(
    data: dict[str, Any], base: Questionnaire
) -> tuple[dict[str, Questionnaire], list[Found]]:
    """Each translation of a schema-valid questionnaire as a questionnaire, and every
    problem found, by path from the file's root."""
    built: dict[str, Questionnaire] = {}
    problems: list[Found] = []
    raw = data.get("translations") or {}
    if raw and not base.offer:
        problems.append(
            (
                ("offer",),
                "missing: with translations, 'offer:' says (in this language) how to switch "
                "to it, e.g. 'For English, press 9.'",
            )
        )
    for tag, block in raw.items():
        at: tuple[Any, ...] = ("translations", tag)
        if not isinstance(tag, str) or not re.fullmatch(LANGUAGE_TAG, tag):
            problems.append((at, f"'{tag}' is not a language tag such as cy-GB"))
            continue
        if tag == base.language:
            problems.append((at, f"'{tag}' is the questionnaire's own language"))
            continue
        if not isinstance(block, dict):
            problems.append((at, "a translation must be a mapping"))
            continue
        found = list(_Translation(data, base, tag, block).problems())
        if found:
            problems += found
            continue
        merged = _Translation(data, base, tag, block).merged()
        try:
            translated = Questionnaire.model_validate(merged)
        except ValidationError as exc:
            for error in exc.errors():
                problems.append((at, str(error["msg"]).removeprefix("Value error, ")))
            continue
        problems += [
            (_translated_path(at, path), m) for path, m in neutral_texts_problems(translated)
        ]
        built[tag] = translated
    problems += _offer_keys(base, built)
    return built, problems


def _translated_path(at: tuple[Any, ...], path: tuple[Any, ...]) -> tuple[Any, ...]:
    """Where a check on the built translation points, in the translation's own block."""
    if path and path[0] in STEPS:
        return (*at, "steps", *path)
    return (*at, *path)


def _offer_keys(base: Questionnaire, built: dict[str, Questionnaire]) -> Iterator[Found]:
    """A call in each language hears every other language's offer at its first step: the
    keys must differ from each other and from that step's answers."""
    everyone = {base.language: base, **built}
    first = "selection" if base.sample == "public" else "identity"
    answers = {o.key for o in BUILT_IN[first]}
    for tag, q in everyone.items():
        at = ("offer_key",) if tag == base.language else ("translations", tag, "key")
        if q.offer_key in answers:
            yield at, f"key {q.offer_key} is an answer to the {first} step the offer is heard at"
    for tag in everyone:
        keys: dict[str, str] = {}
        for other, q in everyone.items():
            if other == tag:
                continue
            if q.offer_key in keys:
                at = ("offer_key",) if other == base.language else ("translations", other, "key")
                yield (
                    at,
                    (
                        f"key {q.offer_key} switches to both {keys[q.offer_key]} and {other} "
                        f"in a call in {tag}"
                    ),
                )
            keys[q.offer_key] = other


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


class _Translation:
    """One language's block, read against the base questionnaire."""

    def __init__(self, data: dict[str, Any], base: Questionnaire, tag: str, block: dict[str, Any]):
        self.data = data
        self.base = base
        self.tag = tag
        self.block = block
        self.at: tuple[Any, ...] = ("translations", tag)

    # --- what must be there ----------------------------------------------------------

    def problems(self) -> Iterator[Found]:
        for key in self.block:
            if key not in KEYS:
                yield (*self.at, key), f"unknown key '{key}'"
        for key in ("name", "offer"):
            if not isinstance(self.block.get(key), str) or not self.block[key].strip():
                yield (*self.at, key), MISSING
        if "speech" in self.block and not isinstance(self.block["speech"], bool):
            yield (*self.at, "speech"), "'speech' must be true or false"
        for path, english in self._texts():
            yield from self._text(path, english)
        yield from self._unknown_ids()
        yield from self._choices()

    def _text(self, path: tuple[Any, ...], english: str) -> Iterator[Found]:
        value = _get(self.block, path)
        where = (*self.at, *path)
        if not isinstance(value, str) or not value.strip():
            yield where, MISSING
            return
        if _placeholders(value) != _placeholders(english):
            want = ", ".join(sorted(f"{{{n}}}" for n in _placeholders(english))) or "none"
            yield where, f"placeholders differ from the base text's (which has {want})"

    def _texts(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """Every text of the base, by where its translation goes in the block."""
        q = self.base
        yield ("opening",), q.opening
        yield ("sensitive_opening",), q.sensitive_opening
        for name in STEPS:
            step: ControlStep | None = getattr(q, name)
            if step is None:
                continue
            for field in ("prompt", "keypad", "instructions"):
                text = getattr(step, field)
                if text is not None:
                    yield ("steps", name, field), text
        for question in q.questions:
            at = ("questions", question.id)
            yield (*at, "prompt"), question.prompt
            if question.instructions is not None:
                yield (*at, "instructions"), question.instructions
            for option in question.options:
                yield (*at, "options", option.key), option.label
            for declared in question.non_substantive or ():
                if declared.label is not None:
                    yield (*at, "non_substantive", declared.key, "label"), declared.label
                if declared.help is not None:
                    yield (*at, "non_substantive", declared.key, "help"), declared.help
        for name in Messages.model_fields:
            yield ("messages", name), getattr(q.messages, name)
        for name in Closing.model_fields:
            yield ("closing", name), getattr(q.closing, name)
        for name, field_ in q.case_fields.items():
            for value, label in field_.choices.items():
                yield ("case_fields", name, value), label

    def _unknown_ids(self) -> Iterator[Found]:
        steps = {n for n in STEPS if getattr(self.base, n) is not None}
        for name in _mapping(self.block.get("steps")):
            if name not in steps:
                yield (*self.at, "steps", name), f"unknown step '{name}'"
        ids = {q.id: q for q in self.base.questions}
        for qid, text in _mapping(self.block.get("questions")).items():
            question = ids.get(qid)
            if question is None:
                yield (*self.at, "questions", qid), f"unknown question '{qid}'"
                continue
            keys = {o.key for o in question.options}
            for part in ("options", "synonyms"):
                for key in _mapping(_mapping(text).get(part)):
                    if str(key) not in keys:
                        yield (*self.at, "questions", qid, part, key), f"unknown option key {key}"
            declared = {d.key for d in declared_not_counted(question)}
            for key in _mapping(_mapping(text).get("non_substantive")):
                if str(key) not in declared:
                    yield (
                        (*self.at, "questions", qid, "non_substantive", key),
                        (f"unknown non-substantive key {key}"),
                    )
        for name in _mapping(self.block.get("case_fields")):
            if name not in self.base.case_fields:
                yield (*self.at, "case_fields", name), f"unknown case field '{name}'"
        if self.needs_dates and not isinstance(self.block.get("dates"), dict):
            yield (
                (*self.at, "dates"),
                (f"{MISSING}: a date case field is spoken, so 'dates:' needs weekdays and months"),
            )

    @property
    def needs_dates(self) -> bool:
        return any(f.type == "date" for f in self.base.case_fields.values())

    def _needed_choices(self) -> list[str]:
        q = self.base
        types = {question.type for question in q.questions}
        needed = ["selection" if q.sample == "public" else "identity", "consent", "callback_time"]
        needed += [name for name in ("safety", "convenience") if getattr(q, name) is not None]
        if QuestionType.SCALE7 in types:
            needed.append("scale7")
        if QuestionType.YES_NO in types or q.speech:
            needed.append("yes_no")
        for question in q.questions:
            for declared in declared_not_counted(question):
                if declared.label is None or declared.help is None:
                    needed.append(declared.answer.value)
        return list(dict.fromkeys(needed))

    def _choices(self) -> Iterator[Found]:
        choices = _mapping(self.block.get("choices"))
        for name in choices:
            if name not in BUILT_IN and name not in (
                "dont_know",
                "does_not_apply",
                "prefer_not_to_say",
            ):
                yield (*self.at, "choices", name), f"unknown answer set '{name}'"
        for name in self._needed_choices():
            given = choices.get(name)
            at = (*self.at, "choices", name)
            if name in BUILT_IN:
                words = _mapping(given)
                for option in BUILT_IN[name]:
                    label = _label(words.get(option.key, words.get(_int(option.key))))
                    if not label:
                        yield (*at, option.key), MISSING
            else:
                for part in ("label", "help"):
                    text = _mapping(given).get(part)
                    if not isinstance(text, str) or not text.strip():
                        yield (*at, part), MISSING
                help_text = _mapping(given).get("help")
                if isinstance(help_text, str) and help_text.strip() and "{key}" not in help_text:
                    yield (*at, "help"), "says no '{key}' (the key to press)"

    # --- the translated questionnaire ----------------------------------------------

    def merged(self) -> dict[str, Any]:
        """The base's data with this language's words in place of the base's."""
        q, block = self.base, self.block
        merged = {k: copy.deepcopy(v) for k, v in self.data.items() if k != "translations"}
        merged.update(
            language=self.tag,
            language_name=block["name"],
            offer=block["offer"],
            offer_key=str(block.get("key", "9")),
            review=block.get("review"),
            voice=block.get("voice"),
            speech=block.get("speech", q.speech),
            opening=block["opening"],
            sensitive_opening=block["sensitive_opening"],
            messages=dict(block["messages"]),
            closing=dict(block["closing"]),
            choices=self._merged_choices(),
        )
        merged.pop("dates", None)
        if "dates" in block:
            merged["dates"] = block["dates"]
        for name in STEPS:
            if getattr(q, name) is None:
                continue
            step = dict(merged.get(name) or {})
            step.pop("interviewer", None)
            step.update(_mapping(_mapping(block.get("steps")).get(name)))
            merged[name] = step
        merged["questions"] = [self._merged_question(dict(item)) for item in merged["questions"]]
        fields = merged.get("case_fields") or {}
        for name, values in _mapping(block.get("case_fields")).items():
            fields[name] = {**fields[name], "choices": dict(values)}
        return merged

    def _merged_choices(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for name, given in _mapping(self.block.get("choices")).items():
            if name in BUILT_IN:
                merged[name] = {
                    str(key): {"label": _label(value), "synonyms": _synonyms(value)}
                    for key, value in _mapping(given).items()
                }
            else:
                merged[name] = dict(given)
        return merged

    def _merged_question(self, item: dict[str, Any]) -> dict[str, Any]:
        text = _mapping(_mapping(self.block.get("questions")).get(item.get("id")))
        item.pop("interviewer", None)
        item["prompt"] = text.get("prompt")
        if "instructions" in text:
            item["instructions"] = text["instructions"]
        labels = {str(k): v for k, v in _mapping(text.get("options")).items()}
        synonyms = {str(k): v for k, v in _mapping(text.get("synonyms")).items()}
        if item.get("options"):
            item["options"] = [
                {
                    **option,
                    "label": labels[str(option["key"])],
                    # The base's words would never be heard in this language.
                    "synonyms": list(synonyms.get(str(option["key"]), ())),
                }
                for option in item["options"]
            ]
        declared = {str(k): v for k, v in _mapping(text.get("non_substantive")).items()}
        if item.get("non_substantive"):
            item["non_substantive"] = [
                {
                    **entry,
                    **_mapping(declared.get(str(entry["key"]))),
                    "synonyms": _mapping(declared.get(str(entry["key"]))).get("synonyms"),
                }
                for entry in item["non_substantive"]
            ]
        return item


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _get(block: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = block
    for part in path:
        if not isinstance(node, dict):
            return None
        node = node.get(part, node.get(_int(part)) if isinstance(part, str) else None)
    return node


def _int(key: str) -> int | str:
    # YAML reads a keypad key written bare (``1:``) as a number.
    return int(key) if key.isdigit() else key


def _label(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    label = _mapping(value).get("label")
    return label if isinstance(label, str) else None


def _synonyms(value: Any) -> list[str]:
    found = _mapping(value).get("synonyms")
    return [str(s) for s in found] if isinstance(found, list) else []
