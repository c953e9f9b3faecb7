"""Load questionnaire YAML, reporting every problem as ``file:line: where: what``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ivr.questionnaire.checks import check_questionnaire
from ivr.questionnaire.schema import Questionnaire
from ivr.questionnaire.translations import build_translations

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a questionnaire file, located by line."""

    file: str
    line: int
    where: str
    message: str

    def __str__(self) -> str:
        where = f"{self.where}: " if self.where else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class QuestionnaireError(ValueError):
    """Raised when a questionnaire has problems; carries all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedQuestionnaire:
    """A validated questionnaire with the exact source text it came from."""

    questionnaire: Questionnaire
    source: str
    sha256: str
    path: str


class _Located:
    """YAML data plus the line each mapping key, item and value starts on."""

    def __init__(self, file: str):
        self.file = file
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: Path_ = ()) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = yaml.safe_load(yaml.serialize(key_node)) if key_node.tag else key_node.value
                if key in result:
                    self.problems.append(
                        Problem(
                            self.file, key_node.start_mark.line + 1, "", f"duplicate key {key!r}"
                        )
                    )
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
            # YAML 1.1 reads yes/no/on/off as booleans; in a questionnaire they are words.
            return node.value
        return yaml.safe_load(yaml.serialize(node))

    def line_of(self, path: Iterable[Any]) -> int:
        """The line of the deepest part of ``path`` that exists in the file."""
        parts = tuple(path)
        while parts and parts not in self.lines:
            parts = parts[:-1]
        return self.lines.get(parts, 1)


def _where(data: Any, path: Path_) -> str:
    """Name the part of the questionnaire a path points into, in the author's words."""
    if len(path) >= 2 and path[0] == "questions" and isinstance(path[1], int):
        try:
            qid = data["questions"][path[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            qid = None
        return f"question '{qid}'" if qid else f"question #{path[1] + 1}"
    if path and path[0] == "translations":
        # Translations are keyed by id and key throughout: the path itself names the place.
        return ".".join(str(part) for part in path)
    if len(path) >= 2 and path[0] == "referrals" and isinstance(path[1], int):
        return f"referral rule #{path[1] + 1}"
    return str(path[0]) if path else ""


def _message(error: Any, path: Path_) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{path[-1]}'"
    if kind == "missing":
        return f"missing '{path[-1]}'"
    message = str(error["msg"]).removeprefix("Value error, ")
    if path and isinstance(path[-1], str) and path[-1] not in message:
        return f"'{path[-1]}': {message}"
    return message


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Path_:
    """Drop the union-branch names pydantic puts in ``loc`` so it matches the YAML."""
    path: list[Any] = []
    node = data
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part.isidentifier():
            # A missing or unknown key: keep it to name it, then stop descending.
            path.append(part)
            node = None
    return tuple(path)


def located_yaml(source: str, file: str, what: str) -> tuple[dict[Any, Any], _Located]:
    """YAML text as data, with the line of each part; QuestionnaireError if it is not a
    YAML mapping (``what`` names the kind of file in the message)."""
    located = _Located(file)
    try:
        root = yaml.compose(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise QuestionnaireError([Problem(file, line, "", f"not valid YAML: {exc}")]) from None
    if root is None or not isinstance(root, yaml.MappingNode):
        raise QuestionnaireError([Problem(file, 1, "", f"{what} must be a YAML mapping")])
    return located.build(root), located


def parse_questionnaire(
    source: str, file: str = "<questionnaire>", *, checked: bool = True
) -> LoadedQuestionnaire:
    """Validate questionnaire YAML text; raise QuestionnaireError listing every problem.

    ``checked=False`` skips the checks across the questionnaire, for a version an interview
    pinned: it passed the checks of its day, and newer checks must not make it unreadable.
    """
    data, located = located_yaml(source, file, "a questionnaire")
    problems = list(located.problems)
    try:
        questionnaire = Questionnaire.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path = _clean_loc(tuple(error["loc"]), data)
            problems.append(
                Problem(file, located.line_of(path), _where(data, path), _message(error, path))
            )
        raise QuestionnaireError(_sorted(problems)) from None
    for path, message in check_questionnaire(questionnaire) if checked else ():
        problems.append(Problem(file, located.line_of(path), _where(data, path), message))
    translations, found = build_translations(data, questionnaire)
    for path, message in found if checked else ():
        problems.append(Problem(file, located.line_of(path), _where(data, path), message))
    questionnaire.with_translations(translations)
    for tag, translated in translations.items():
        # A call in a translation may switch back, or to another translation.
        others = {t: other for t, other in translations.items() if t != tag}
        translated.with_translations({questionnaire.language: questionnaire, **others})
    if problems:
        raise QuestionnaireError(_sorted(problems))
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return LoadedQuestionnaire(questionnaire, source, digest, file)


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file, p.line, p.message))


def load_file(path: str | Path) -> LoadedQuestionnaire:
    """Read and validate one questionnaire file."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError([Problem(str(path), 1, "", f"cannot read: {exc}")]) from None
    return parse_questionnaire(source, str(path))
