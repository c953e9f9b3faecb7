"""The questionnaires on disk, reloaded when a file changes, each by survey id."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from ivr.questionnaire.loader import (
    LoadedQuestionnaire,
    Problem,
    QuestionnaireError,
    load_file,
)
from ivr.questionnaire.population import Population, check_against, load_population

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    loaded: LoadedQuestionnaire
    mtime_ns: int
    #: A survey of the public's population figures (its quotas' file).
    population: Population | None = None


#: Where a survey's quotas find their population files, beside the questionnaires.
POPULATIONS = "populations"


class QuestionnaireRegistry:
    """Current questionnaires by survey id.

    A file edited while the app runs is picked up when the next interview starts; an
    edit with errors is logged and the last good version stays in use. Interviews
    already running keep the version they pinned, so an edit never breaks a call.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self._entries: dict[str, _Entry] = {}
        self._paths: dict[str, Path] = {}
        self._lock = threading.Lock()
        problems: list[Problem] = []
        for path in sorted(directory.glob("*.yaml")):
            try:
                self._add(path)
            except QuestionnaireError as exc:
                problems.extend(exc.problems)
        if problems:
            raise QuestionnaireError(problems)

    def _add(self, path: Path) -> None:
        loaded = load_file(path)
        survey = loaded.questionnaire.id
        if survey in self._paths and self._paths[survey] != path:
            raise QuestionnaireError(
                [
                    Problem(
                        str(path),
                        1,
                        "id",
                        f"survey id '{survey}' is also used by {self._paths[survey]}",
                    )
                ]
            )
        population = self._population(path, loaded)
        self._entries[survey] = _Entry(loaded, path.stat().st_mtime_ns, population)
        self._paths[survey] = path

    def _population(self, path: Path, loaded: LoadedQuestionnaire) -> Population | None:
        quotas = loaded.questionnaire.quotas
        if quotas is None:
            return None
        population = load_population(path.parent / POPULATIONS / quotas.population)
        missing = check_against(population, quotas.areas, quotas.cells)
        if missing:
            lines = loaded.source.splitlines()
            line = next(
                (n for n, text in enumerate(lines, 1) if text.strip().startswith("areas:")), 1
            )
            raise QuestionnaireError(
                [Problem(str(path), line, "quotas", message) for message in missing]
            )
        return population

    def population(self, survey: str) -> Population:
        """The population figures of a survey with quotas (KeyError otherwise)."""
        self.current(survey)
        population = self._entries[survey].population
        if population is None:
            raise KeyError(f"survey '{survey}' has no quotas")
        return population

    def surveys(self) -> list[str]:
        """Survey ids available."""
        return sorted(self._entries)

    def path_of(self, survey: str) -> Path:
        """The file a survey's questionnaire is read from (KeyError if unknown)."""
        return self._paths[survey]

    def current(self, survey: str) -> LoadedQuestionnaire:
        """The newest valid version of a survey's questionnaire (KeyError if unknown)."""
        entry = self._entries[survey]
        path = self._paths[survey]
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            return entry.loaded
        if mtime != entry.mtime_ns:
            with self._lock:
                try:
                    self._add(path)
                except QuestionnaireError as exc:
                    log.error(
                        "questionnaire %s changed but is invalid; still using version %s:\n%s",
                        path,
                        entry.loaded.questionnaire.version,
                        exc,
                    )
                    entry.mtime_ns = mtime
        return self._entries[survey].loaded
