"""The engine's inputs, outputs and serialisable interview state."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any


class Via(str, Enum):
    """How an answer reached us."""

    KEYPAD = "keypad"
    SPEECH = "speech"
    INTERVIEWER = "interviewer"


class Status(str, Enum):
    """Where an interview stands; the final ones never change again."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    PARTIAL = "partial"
    REFUSED = "refused"
    CALLBACK_REQUESTED = "callback_requested"
    #: Nobody of the victim's name at the number.
    WRONG_NUMBER = "wrong_number"
    #: Identity never confirmed: silence, unclear answers or a hang-up at the identity check.
    NO_RESPONSE = "no_response"
    #: Anything but an explicit "yes, it is safe" at the safety check.
    UNSAFE = "unsafe"
    #: Outside a survey of the public's population: nobody aged 16 or over at the number,
    #: or the respondent does not live in the area (AAPOR 4.70).
    SCREENED_OUT = "screened_out"
    #: Every quota question asked, and one of the respondent's quota cells was full
    #: (AAPOR 4.80).
    QUOTA_FULL = "quota_full"

    @classmethod
    def _missing_(cls, value: object) -> Status | None:
        # Interviews stored before "not me" was split into "not available" and "wrong number".
        return cls.WRONG_NUMBER if value == "wrong_person" else None


# --- input events -----------------------------------------------------------------


@dataclass(frozen=True)
class Digits:
    """Keys pressed (without the finish key)."""

    value: str


@dataclass(frozen=True)
class Speech:
    """What the speech recogniser heard, with its confidence from 0 to 1."""

    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class Silence:
    """No input before the timeout (or only the finish key)."""


@dataclass(frozen=True)
class Recording:
    """A spoken free answer, kept by the telephony provider at ``url``."""

    url: str
    seconds: int = 0


@dataclass(frozen=True)
class HangUp:
    """The call ended."""


@dataclass(frozen=True)
class InterviewerAnswer:
    """An interviewer chose an option (by key) or typed text for the current step."""

    key: str | None = None
    text: str | None = None


InputEvent = Digits | Speech | Silence | Recording | HangUp | InterviewerAnswer


# --- output events ----------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRecorded:
    """A questionnaire question got its answer (or was given up as unanswered)."""

    question_id: str
    code: str | None
    label: str | None
    via: Via | None
    raw: str | None = None
    confidence: float | None = None
    recording_url: str | None = None
    #: False for don't know, does not apply and prefer not to say.
    substantive: bool = True

    @property
    def unanswered(self) -> bool:
        """True when the respondent gave no usable answer after every attempt."""
        return self.code is None and self.recording_url is None and self.raw is None


@dataclass(frozen=True)
class DissatisfactionDetected:
    """A core question was answered on the dissatisfied side."""

    question_id: str
    code: str
    label: str


@dataclass(frozen=True)
class Reason:
    """One question and answer that triggered a referral."""

    question: str
    code: str | None
    answer: str | None


@dataclass(frozen=True)
class ReferralRequested:
    """A referral rule held when the interview ended: a service-recovery referral or an
    action alert. ``consented``: it may carry the victim's personal details. ``revised``:
    a resumed interview changed what an earlier referral of this kind says."""

    kind: str
    reasons: tuple[Reason, ...]
    consented: bool = True
    revised: bool = False


@dataclass(frozen=True)
class PersonAsked:
    """The respondent pressed 0 (or asked aloud) to speak to a person at ``question_id``:
    the step puts them through (it waits for "person"), or ends the interview as a
    call-back by an interviewer (:func:`ivr.engine.call_back_instead`)."""

    question_id: str


@dataclass(frozen=True)
class InterviewEnded:
    """The interview reached a final status."""

    status: Status


OutputEvent = (
    AnswerRecorded | DissatisfactionDetected | ReferralRequested | PersonAsked | InterviewEnded
)


# --- state and step ---------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """Everything the engine needs between turns; serialises to plain JSON."""

    case: dict[str, Any]
    node: str | None = None
    tries: int = 0
    confirming: str | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: Status = Status.IN_PROGRESS
    raised: tuple[str, ...] = ()
    heard_help: tuple[str, ...] = ()
    #: When a victim who asked to be called back would like the call (calling policy's name).
    callback: str | None = None
    #: The checks passed on this call: identity, then safety for a sensitive case. Nothing
    #: about the case is said before they are.
    passed: tuple[str, ...] = ()
    #: A later call of an interview that stopped part way: consent asks to carry on.
    resumed: bool = False
    #: What each raised referral said, so a resumed interview can revise it; "manual" for
    #: one an interviewer raised, which the rules never change.
    referred: dict[str, str] = field(default_factory=dict)
    #: Read more slowly for the rest of the call: the case asks for it, or the caller did.
    slow: bool = False
    #: Times the current question was repeated on request (the second one slows reading).
    repeats: int = 0
    #: The language the call is in (a tag the questionnaire offers); None: its own.
    language: str | None = None
    #: For this turn only (never saved): the quota cells that are full, which the caller
    #: reads when :func:`ivr.engine.quota_check_due` says the quota gate may be reached.
    quota_full: frozenset[tuple[str, str, str]] | None = field(default=None, compare=False)

    @property
    def ended(self) -> bool:
        """True once the interview has a final status."""
        return self.status is not Status.IN_PROGRESS

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of this state."""
        # Built field by field: dataclasses.asdict deep-copies every value recursively,
        # which is slow for something saved on every turn. The engine replaces these
        # containers rather than changing them, so copying the dicts the state owns is enough.
        return {
            "case": dict(self.case),
            "node": self.node,
            "tries": self.tries,
            "confirming": self.confirming,
            "answers": {k: dict(v) for k, v in self.answers.items()},
            "status": self.status.value,
            "raised": list(self.raised),
            "heard_help": list(self.heard_help),
            "callback": self.callback,
            "passed": list(self.passed),
            "resumed": self.resumed,
            "referred": dict(self.referred),
            "slow": self.slow,
            "repeats": self.repeats,
            "language": self.language,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        """Rebuild a state saved with :meth:`to_json`."""
        return cls(
            case=dict(data["case"]),
            node=data.get("node"),
            tries=int(data.get("tries", 0)),
            confirming=data.get("confirming"),
            answers=dict(data.get("answers", {})),
            status=Status(data.get("status", Status.IN_PROGRESS.value)),
            raised=tuple(data.get("raised", ())),
            heard_help=tuple(data.get("heard_help", ())),
            callback=data.get("callback"),
            passed=tuple(data.get("passed", ())),
            resumed=bool(data.get("resumed", False)),
            referred=dict(data.get("referred") or {}),
            # States kept before slower reading existed read at the normal speed.
            slow=bool(data.get("slow", False)),
            repeats=int(data.get("repeats", 0)),
            # States kept before translations existed were in the questionnaire's language.
            language=data.get("language"),
        )

    def but(self, **changes: Any) -> State:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class Wait:
    """What the engine waits for next."""

    #: "keys", "number", "recording", or "person": put the call through to a person.
    kind: str
    speech: bool = False
    hints: tuple[str, ...] = ()
    max_seconds: int = 60


@dataclass(frozen=True)
class Offer:
    """Another language's offer, said in that language's own voice: "I siarad Cymraeg,
    pwyswch 9." (``voice`` None: the platform's default)."""

    text: str
    language: str
    voice: str | None = None


@dataclass(frozen=True)
class Step:
    """The engine's answer to one input: what to say, what to wait for, what happened."""

    prompts: tuple[str, ...]
    wait: Wait | None
    state: State
    events: tuple[OutputEvent, ...] = ()
    node: str | None = None
    #: Said after the prompts, each in its own language's voice.
    offers: tuple[Offer, ...] = ()
    #: The voice the prompts are said in (the questionnaire's; None: the default).
    voice: str | None = None
