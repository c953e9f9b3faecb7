"""What changed between two versions of a questionnaire: the lines of its text, and, read
from the loaded models, what that means for the questions a victim hears."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from ivr.questionnaire.options import options_for
from ivr.questionnaire.schema import Question, Questionnaire

#: Unchanged lines shown around each change.
CONTEXT_LINES = 3


class LineKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    SAME = "same"
    #: A hunk's heading: where in each version the lines that follow are.
    PLACE = "place"


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff, with its line number in the old or new text."""

    kind: LineKind
    text: str
    old_line: int | None = None
    new_line: int | None = None


def line_diff(old: str, new: str, old_name: str, new_name: str) -> list[DiffLine]:
    """The unified diff of two texts as lines to show (empty when they are the same)."""
    lines: list[DiffLine] = []
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT_LINES):
        first = group[0]
        lines.append(
            DiffLine(
                LineKind.PLACE,
                f"{old_name} from line {first[1] + 1}, {new_name} from line {first[3] + 1}",
            )
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [
                    DiffLine(LineKind.SAME, old_lines[i], i + 1, j1 + (i - i1) + 1)
                    for i in range(i1, i2)
                ]
                continue
            lines += [
                DiffLine(LineKind.REMOVED, old_lines[i], old_line=i + 1) for i in range(i1, i2)
            ]
            lines += [DiffLine(LineKind.ADDED, new_lines[j], new_line=j + 1) for j in range(j1, j2)]
    return lines


def unified_text(old: str, new: str, old_name: str, new_name: str) -> str:
    """The plain unified diff, as ``diff -u`` writes it (for a download)."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            old_name,
            new_name,
            n=CONTEXT_LINES,
        )
    )


def _options(question: Question) -> dict[str, str]:
    return {o.key: o.label for o in options_for(question)}


def _question_changes(old: Question, new: Question) -> list[str]:
    said: list[str] = []
    if old.type != new.type:
        said.append(f"its type is now {new.type.value} (was {old.type.value})")
    if old.prompt != new.prompt:
        said.append("its prompt changed")
    if old.instructions != new.instructions:
        said.append("its instructions to the interviewer changed")
    before, after = _options(old), _options(new)
    for key in after.keys() - before.keys():
        said.append(f"answer {key} added: {after[key]}")
    for key in before.keys() - after.keys():
        said.append(f"answer {key} removed: {before[key]}")
    for key in sorted(before.keys() & after.keys()):
        if before[key] != after[key]:
            said.append(f"answer {key} now reads {after[key]!r} (was {before[key]!r})")
    if old.when != new.when:
        said.append("when it is asked changed")
    if old.positive != new.positive or old.options != new.options:
        if [o.sentiment for o in old.options] != [o.sentiment for o in new.options]:
            said.append("what counts as satisfied or dissatisfied changed")
        elif old.positive != new.positive:
            said.append("what counts as positive changed")
    if old.core != new.core:
        said.append("it is now a core question" if new.core else "it is no longer a core question")
    return said


def question_changes(old: Questionnaire, new: Questionnaire) -> list[str]:
    """A short account of what changed in the questions, then in the rest of the script."""
    said: list[str] = []
    before = {q.id: q for q in old.questions}
    after = {q.id: q for q in new.questions}
    for question in new.questions:
        if question.id not in before:
            said.append(f"Question {question.id} added: {question.prompt}")
    for question in old.questions:
        if question.id not in after:
            said.append(f"Question {question.id} removed: {question.prompt}")
    for question in new.questions:
        if question.id in before:
            changes = _question_changes(before[question.id], question)
            if changes:
                said.append(f"Question {question.id}: {'; '.join(changes)}.")
    kept = [q.id for q in old.questions if q.id in after]
    if kept != [q.id for q in new.questions if q.id in before]:
        said.append("The questions are asked in a different order.")
    parts = {
        "the title": (old.title, new.title),
        "the opening": (old.opening, new.opening),
        "the neutral opening for sensitive cases": (old.sensitive_opening, new.sensitive_opening),
        "the checks before the questions": (
            (old.identity, old.safety, old.convenience, old.consent, old.callback_time),
            (new.identity, new.safety, new.convenience, new.consent, new.callback_time),
        ),
        "the referral rules": ((old.referrals, old.routing), (new.referrals, new.routing)),
        "the closing words": (old.closing, new.closing),
        "the stock phrases": (old.messages, new.messages),
        "the calling settings": (old.campaign, new.campaign),
        "the retention periods": (old.retention, new.retention),
        "the quotas": (old.quotas, new.quotas),
        # Read without depending on it: not every version of the model has translations.
        "the translations": (
            getattr(old, "translations", None),
            getattr(new, "translations", None),
        ),
    }
    changed = [name for name, (was, now) in parts.items() if was != now]
    if changed:
        said.append(f"Also changed: {', '.join(changed)}.")
    return said
