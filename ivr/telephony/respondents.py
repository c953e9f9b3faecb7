"""Scripted callers for the Twilio simulator: prompts, caller actions and respondents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, TypeAlias

__all__ = [
    "Action",
    "HangUp",
    "Press",
    "Prompt",
    "RecordAudio",
    "Respondent",
    "Scripted",
    "Silence",
    "Speak",
    "hang_up",
    "press",
    "record",
    "say",
    "silence",
]


@dataclass(frozen=True)
class Prompt:
    """What the caller is being asked for at a Gather or Record verb."""

    kind: Literal["gather", "record"]
    input: tuple[str, ...] = ("dtmf",)
    num_digits: int | None = None
    finish_on_key: str = "#"
    hints: tuple[str, ...] = ()


@dataclass(frozen=True)
class Press:
    """The caller presses keys on the keypad (may include the finish key)."""

    digits: str


@dataclass(frozen=True)
class Speak:
    """The caller says something that speech recognition transcribes as `text`."""

    text: str
    confidence: float = 0.92


@dataclass(frozen=True)
class Silence:
    """The caller does nothing until the verb times out."""


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up."""


@dataclass(frozen=True)
class RecordAudio:
    """The caller leaves a recording lasting `seconds`; `text` is what a transcription of
    it reads (None: Twilio could not transcribe it)."""

    seconds: int = 8
    text: str | None = None


Action: TypeAlias = Press | Speak | Silence | HangUp | RecordAudio


class Respondent(Protocol):
    """Anything that can answer a prompt after hearing what the app played."""

    def respond(self, heard: str, prompt: Prompt) -> Action:
        """Return the caller's reaction to `prompt`, given the text heard since the last input."""
        ...


class Scripted:
    """A respondent that plays a fixed list of actions, one per prompt, then `then` forever."""

    def __init__(self, *actions: Action, then: Action | None = None) -> None:
        self.actions: list[Action] = list(actions)
        # Defaulting to HangUp() stops a script that runs short from looping a survey forever.
        self.then: Action = then if then is not None else HangUp()
        self.heard: list[tuple[str, Prompt]] = []

    def __repr__(self) -> str:
        return f"Scripted({', '.join(map(repr, self.actions))}, then={self.then!r})"

    def respond(self, heard: str, prompt: Prompt) -> Action:
        """Record what was heard and return the next scripted action."""
        index = len(self.heard)
        self.heard.append((heard, prompt))
        if index < len(self.actions):
            return self.actions[index]
        return self.then


def press(digits: str) -> Press:
    """Build a key-press action."""
    return Press(digits)


def say(text: str, confidence: float = 0.92) -> Speak:
    """Build a speech action recognised as `text` with the given confidence."""
    return Speak(text, confidence)


def silence() -> Silence:
    """Build a no-input action."""
    return Silence()


def hang_up() -> HangUp:
    """Build a hang-up action."""
    return HangUp()


def record(seconds: int = 8, text: str | None = None) -> RecordAudio:
    """Build a recording action of the given length, transcribed as ``text``."""
    return RecordAudio(seconds, text)
