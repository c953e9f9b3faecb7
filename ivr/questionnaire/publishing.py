"""Checking a new version of a questionnaire before it goes live, and putting it live.

A new version is checked exactly as the registry will load it, under the name of the file
it replaces (so that its problems read ``uss.yaml:12: ...``), and then written whole in
one step: a running process reads either the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ivr.questionnaire.loader import (
    LoadedQuestionnaire,
    Problem,
    QuestionnaireError,
    parse_questionnaire,
)
from ivr.questionnaire.population import check_against, load_population
from ivr.questionnaire.registry import POPULATIONS

#: The largest questionnaire accepted (the bundled ones are under a tenth of this).
MAX_BYTES = 256 * 1024


class UploadRefused(ValueError):
    """A new version that is not checked at all, or is valid but may not replace the
    current one; the message says why and what to do."""


def text_of(upload: bytes) -> str:
    """An uploaded or pasted file as text: UTF-8, at most :data:`MAX_BYTES`, with its line
    ends as the files on disk have them."""
    if not upload.strip():
        raise UploadRefused("The new version is empty: choose a file or paste its text.")
    if len(upload) > MAX_BYTES:
        raise UploadRefused(
            f"The new version is {len(upload) // 1024} KB: the largest accepted is "
            f"{MAX_BYTES // 1024} KB."
        )
    try:
        text = upload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UploadRefused(
            f"The new version is not UTF-8 text (byte {error.start + 1} cannot be read): "
            "save it as UTF-8 and try again."
        ) from None
    if "\x00" in text:
        raise UploadRefused("The new version holds a NUL character: it is not a text file.")
    # Browsers send a textarea's lines ending in CRLF; a file from Windows may too. The
    # text is kept as the other files are, so that its digest and diff are about words.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def check_version(text: str, file_name: str, directory: Path) -> LoadedQuestionnaire:
    """Validate a new version as the registry would load it from ``directory`` under
    ``file_name``; QuestionnaireError listing every problem."""
    loaded = parse_questionnaire(text, file_name)
    quotas = loaded.questionnaire.quotas
    if quotas is not None:
        try:
            population = load_population(directory / POPULATIONS / quotas.population)
        except QuestionnaireError:
            # Its message would name the server's folders: say which file, not where.
            message = f"the population file '{quotas.population}' is missing or invalid"
            raise QuestionnaireError(
                [Problem(file_name, _line_of(text, "population:"), "quotas", message)]
            ) from None
        missing = check_against(population, quotas.areas, quotas.cells)
        if missing:
            line = _line_of(text, "areas:")
            raise QuestionnaireError(
                [Problem(file_name, line, "quotas", message) for message in missing]
            )
    return loaded


def _line_of(text: str, start: str) -> int:
    return next(
        (n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith(start)), 1
    )


def may_replace(new: LoadedQuestionnaire, current: LoadedQuestionnaire) -> None:
    """Refuse a valid version that must not replace the current one: another survey's,
    the same text, or new text under the current version string."""
    survey, now = current.questionnaire.id, current.questionnaire
    if new.questionnaire.id != survey:
        raise UploadRefused(
            f"This is the questionnaire of survey '{new.questionnaire.id}', not of "
            f"'{survey}': upload it on that survey's page, or change its id."
        )
    if new.sha256 == current.sha256:
        raise UploadRefused(
            "The new version is the same text as the current one: nothing to publish."
        )
    if new.questionnaire.version == now.version:
        raise UploadRefused(
            f"The text differs from the current file but its version is still "
            f"'{now.version}': give it a new version (for example '{now.version}.1')."
        )


def write_atomically(path: Path, text: str) -> None:
    """Replace the file at ``path`` with ``text`` in one step, keeping its permissions."""
    previous = path.stat()
    # In the same folder, so that os.replace is a rename on one file system; the name does
    # not end in .yaml, so that nothing ever loads it as a questionnaire.
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, previous.st_mode & 0o7777)
        # The registry notices a new version by its time of change: make sure it moves
        # even when the clock's tick is coarser than the time since the last edit.
        written = temporary.stat().st_mtime_ns
        if written <= previous.st_mtime_ns:
            later = previous.st_mtime_ns + 1_000_000
            os.utime(temporary, ns=(later, later))
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
