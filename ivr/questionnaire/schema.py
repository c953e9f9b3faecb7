"""Typed, immutable model of a questionnaire as written in YAML.

Unknown keys are rejected everywhere (``extra="forbid"``) so that a typo in a
questionnaire is an error at load time, not a silently skipped branch mid-call.
"""

from __future__ import annotations

import re
from enum import Enum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from ivr.questionnaire.calling import CallingSettings

ID_PATTERN = r"^[a-z][a-z0-9_]*$"
#: Keys the keypad reserves for itself: ``*`` repeats the question, ``#`` ends input.
RESERVED_KEYS = frozenset({"*", "#"})


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _key_as_text(value: object) -> object:
    # YAML reads `key: 1` as an int; keys are keypad characters.
    return str(value) if isinstance(value, int) else value


def _one_key(value: str) -> str:
    if len(value) != 1 or value not in "0123456789*#":
        raise ValueError(f"key {value!r} must be a single keypad key 0-9")
    return value


#: One keypad key; ``*`` and ``#`` pass here, and the checks refuse them as answers.
KeypadKey = Annotated[str, BeforeValidator(_key_as_text), AfterValidator(_one_key)]


#: What a question may ask about the respondent (the groups are in demographics.py).
Demographic = Literal["age_band", "sex", "ethnicity", "disability"]


class QuestionType(str, Enum):
    SCALE7 = "scale7"
    YES_NO = "yes_no"
    CHOICE = "choice"
    NUMBER = "number"
    RECORDING = "recording"
    STATEMENT = "statement"


class Sentiment(str, Enum):
    SATISFIED = "satisfied"
    NEUTRAL = "neutral"
    DISSATISFIED = "dissatisfied"


class NotCounted(str, Enum):
    """An answer that is not an opinion: stored and shown as a count, kept out of the base."""

    DONT_KNOW = "dont_know"
    DOES_NOT_APPLY = "does_not_apply"
    PREFER_NOT_TO_SAY = "prefer_not_to_say"


class Option(Model):
    """One answer a respondent can give: a keypad key, a label and spoken synonyms."""

    key: KeypadKey
    label: str
    synonyms: tuple[str, ...] = ()
    sentiment: Sentiment | None = None
    goto: str | None = None
    #: Set on don't know, does not apply and prefer not to say: not counted in the base.
    not_counted: NotCounted | None = None
    #: On a demographic question: the group this answer puts the respondent in (e.g.
    #: "16-24", "female", "asian"), as quotas and weighting count it.
    group: str | None = None
    #: The finer answers an interviewer may choose instead, each coded as this option (the
    #: ONS 2021 ethnic groups under their high-level group); the phone offers the option.
    details: tuple[str, ...] = ()

    @property
    def substantive(self) -> bool:
        """Whether the answer is an opinion that counts in a percentage's base."""
        return self.not_counted is None


class NonSubstantive(Model):
    """A question's don't know, does not apply or prefer not to say answer and its key.

    The label, spoken synonyms and keypad help default to the answer's usual words.
    """

    key: KeypadKey
    answer: NotCounted
    label: str | None = None
    synonyms: tuple[str, ...] | None = None
    help: str | None = None


class Condition(Model):
    """A `when:` test on earlier answers and case fields.

    Exactly one form is used: ``answer``/``case`` with ``in``; ``dissatisfied``
    (any of the listed questions, or ``core``, answered dissatisfied);
    ``satisfied``; or ``all``/``any``/``not`` combining other conditions.
    """

    answer: str | None = None
    case: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")
    dissatisfied: Literal["core"] | tuple[str, ...] | None = None
    satisfied: Literal["core"] | tuple[str, ...] | None = None
    all: tuple[Condition, ...] | None = None
    any: tuple[Condition, ...] | None = None
    not_: Condition | None = Field(default=None, alias="not")

    @field_validator("in_", mode="before")
    @classmethod
    def _values_as_text(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(str(v) if isinstance(v, int | bool) else v for v in value)
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Condition:
        forms = [
            name
            for name in ("answer", "case", "dissatisfied", "satisfied", "all", "any", "not_")
            if getattr(self, name) is not None
        ]
        if len(forms) != 1:
            raise ValueError(
                "a condition needs exactly one of answer, case, dissatisfied, satisfied, "
                f"all, any, not (found {', '.join(f.rstrip('_') for f in forms) or 'none'})"
            )
        if forms[0] in ("answer", "case") and not self.in_:
            raise ValueError(f"'{forms[0]}:' needs 'in:' with the values that match")
        if forms[0] not in ("answer", "case") and self.in_ is not None:
            raise ValueError("'in:' only goes with 'answer:' or 'case:'")
        return self


class Question(Model):
    """A question of the questionnaire proper (these are what results report).

    ``prompt`` is the question's words, read the same by the phone and by an interviewer;
    ``instructions`` are for the interviewer alone and are never read out.
    """

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    type: QuestionType
    prompt: str
    #: Kept so that interviews pinned to older versions still load; the loader rejects one
    #: that differs from ``prompt`` (both modes must ask the same words).
    interviewer: str | None = None
    instructions: str | None = None
    options: tuple[Option, ...] = ()
    #: Don't know, does not apply, prefer not to say. None: the type's default (the scale
    #: has don't know on 8); an empty list: none at all.
    non_substantive: tuple[NonSubstantive, ...] | None = None
    #: The option keys counted as the positive answer in results (e.g. [1, 2, 3] for
    #: satisfied); None: the type's default (scale 1-3, else options marked satisfied).
    positive: tuple[str, ...] | None = None
    when: Condition | None = None
    core: bool = False
    #: Silence, the hash key or an empty recording means "nothing to add" and moves on.
    optional: bool = False
    minimum: int | None = None
    maximum: int | None = None
    max_seconds: int = Field(default=60, ge=5, le=300)
    goto: str | None = None
    #: The demographic this question asks (a survey of the public asks, a sample of victims
    #: knows): each substantive option names its ``group`` in that demographic's words.
    demographic: Demographic | None = None
    #: Answer keys that put the respondent outside the survey's population (not living in
    #: the area, under 16): the interview ends politely, AAPOR 4.70.
    screens_out: tuple[str, ...] = ()

    @field_validator("positive", "screens_out", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(str(v) if isinstance(v, int) else v for v in value)
        return value

    @model_validator(mode="after")
    def _options_fit_type(self) -> Question:
        if self.type is QuestionType.CHOICE and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if self.type is not QuestionType.CHOICE and self.options:
            raise ValueError(
                f"a {self.type.value} question takes no options "
                "(scale7 and yes_no options are built in)"
            )
        if self.type is not QuestionType.NUMBER and (
            self.minimum is not None or self.maximum is not None
        ):
            raise ValueError("minimum/maximum only apply to number questions")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        return self


class ControlStep(Model):
    """The identity, safety, convenience and consent steps (not reported as answers).

    ``prompt`` is what both the phone and the interviewer say; ``keypad`` is the phone's
    key instructions, spoken after it; ``instructions`` are for the interviewer alone.
    """

    prompt: str
    keypad: str | None = None
    instructions: str | None = None
    #: Kept so that interviews pinned to older versions still load (see Question).
    interviewer: str | None = None
    when: Condition | None = None
    #: Safety and convenience: asked of sensitive cases only, or of everyone.
    asked_of: Literal["sensitive", "everyone"] = "sensitive"


class CaseField(Model):
    """A case column the survey needs from the sample file."""

    type: Literal["text", "date", "choice", "yes_no", "integer"] = "text"
    required: bool = True
    choices: dict[str, str] = Field(default_factory=dict)
    label: str | None = None

    @model_validator(mode="after")
    def _choices_for_choice(self) -> CaseField:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs 'choices:' (value: spoken label)")
        return self


class ReferralRule(Model):
    """When an interview raises a service-recovery referral or an action alert.

    Rules are weighed when the interview ends. ``consent``, when given, decides whether the
    referral carries the victim's personal details: without it the district learns of the
    dissatisfaction and its reasons, but not who said it.
    """

    kind: Literal["service_recovery", "action_alert"]
    when: Condition
    reasons: Literal["dissatisfied"] | tuple[str, ...] = "dissatisfied"
    consent: Condition | None = None
    #: A survey of the public knows no name, and the number rung may not be the best one:
    #: the questions whose answers give the name, and the number to call instead.
    contact_name: str | None = None
    contact_number: str | None = None


class Routing(Model):
    """Where referrals go: the case's police district, or a named service."""

    to: Literal["district", "service"] = "district"
    service: str | None = None

    @model_validator(mode="after")
    def _service_named(self) -> Routing:
        if self.to == "service" and not self.service:
            raise ValueError("routing to a service needs 'service:' naming it")
        return self


class Closing(Model):
    """What is said before the call ends, by how the interview ended.

    Everything but ``completed`` and ``refused`` may be heard by someone other than the
    victim, before identity and safety are confirmed: the loader keeps them neutral.
    """

    completed: str
    refused: str
    callback: str
    #: Said to whoever answered a number where nobody has the victim's name.
    wrong_person: str
    no_response: str
    unsafe: str = "Thank you for your time. Goodbye."
    #: A survey of the public: nobody at the number (or not this respondent) is in the
    #: population it asks.
    screened_out: str = (
        "Thank you for your help. This survey is for people aged 16 or over who live in "
        "the area, so we need not take any more of your time. Goodbye."
    )
    #: A survey of the public: enough people like this respondent have already answered.
    quota_full: str = (
        "Thank you. We have already heard from enough people like you this time, so we "
        "need not take any more of your time. Goodbye."
    )
    #: Said when a call that dropped part way is not carried on now.
    partial: str = "Thank you for your time. Goodbye."


class Messages(Model):
    """Stock phrases the engine uses around questions."""

    no_input: str = "Sorry, I didn't hear an answer."
    invalid: str = "Sorry, that is not one of the choices."
    confirm: str = (
        "I think you said {label}. If that is right, press 1 or say yes. If not, press 2 or say no."
    )
    moving_on: str = "Let's move on."
    #: Consent on a later call of an interview that stopped part way.
    resume_consent: str = (
        "Last time we spoke, the call ended before the end of the survey. To carry on from "
        "where we stopped, press 1 or say yes. To be called back at another time, press 2. "
        "If you do not want to go on, press 3."
    )
    scale_help: str = (
        "Press 1 for completely satisfied, 2 for very satisfied, 3 for fairly satisfied, "
        "4 for neither satisfied nor dissatisfied, 5 for fairly dissatisfied, "
        "6 for very dissatisfied, or 7 for completely dissatisfied."
    )
    scale_reminder: str = (
        "Please press a key from 1, completely satisfied, to 7, completely dissatisfied."
    )
    yes_no_help: str = "Press 1 for yes or 2 for no."
    repeat_help: str = (
        "You can press star at any time to hear a question again, or press 0 to speak to a person."
    )
    #: Said before the call is put through to a member of the team (neutral words: a
    #: sensitive case may ask before its identity and safety are confirmed).
    putting_through: str = "Putting you through to a member of the team. Please hold."
    #: Said when nobody can take the call now: an interviewer rings back instead.
    nobody_free: str = (
        "Nobody is available just now. An interviewer will call you back. Thank you, goodbye."
    )
    #: Said once, when the caller asks for a slower reading (or repeats a question twice).
    slower: str = "I'll speak more slowly."
    record_help: str = "Please speak after the tone, and press the hash key when you have finished."
    optional_record_help: str = (
        "Please speak after the tone, and press the hash key when you have finished. "
        "If there is nothing you want to add, just press the hash key."
    )
    number_help: str = "Please key in the number, then press the hash key."


class Words(Model):
    """A built-in answer's words in a questionnaire's language: its label and what a
    respondent may say for it."""

    label: str
    synonyms: tuple[str, ...] = ()


class NotCountedWords(Words):
    """Don't know (and the like) in a questionnaire's language, with its keypad help."""

    #: "If you don't know, press {key}."
    help: str


#: Per keypad key, a built-in answer's words.
KeyedWords = dict[KeypadKey, Words]


class Choices(Model):
    """The built-in answers' words in the questionnaire's language (see options.py for
    the keys); an absent set keeps its English words."""

    scale7: KeyedWords | None = None
    yes_no: KeyedWords | None = None
    identity: KeyedWords | None = None
    selection: KeyedWords | None = None
    safety: KeyedWords | None = None
    convenience: KeyedWords | None = None
    consent: KeyedWords | None = None
    callback_time: KeyedWords | None = None
    dont_know: NotCountedWords | None = None
    does_not_apply: NotCountedWords | None = None
    prefer_not_to_say: NotCountedWords | None = None


class SpokenDates(Model):
    """How a date is said in the questionnaire's language (English when absent)."""

    #: Monday first.
    weekdays: Annotated[tuple[str, ...], Field(min_length=7, max_length=7)]
    #: January first.
    months: Annotated[tuple[str, ...], Field(min_length=12, max_length=12)]
    #: With {weekday}, {day}, {month} and {year}: "{weekday} {day} {month} {year}".
    pattern: str = "{weekday} {day} {month} {year}"


#: A language tag as Twilio takes it: en-GB, cy-GB.
LANGUAGE_TAG = r"^[a-z]{2,3}-[A-Z]{2}$"


DURATION = re.compile(r"(\d+)\s*([dw])")


def days_in(text: str) -> int:
    """'6w' -> 42, '10d' -> 10: the whole days a duration in days or weeks stands for."""
    match = DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a duration such as 10d or 6w")
    number, unit = int(match[1]), match[2]
    return number * 7 if unit == "w" else number


class Eligibility(Model):
    """Which sampled cases an outbound campaign may ring, and from when until when."""

    #: The case's date field the calling period counts from (reported_on, closed_on...).
    from_field: str
    #: Ring from this long after that date...
    after: str = "0d"
    #: ...and no later than this long after it (no limit when absent).
    before: str | None = None
    #: Case fields that must hold one of the listed values (e.g. the crime types covered).
    field_in: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: Case fields that must hold exactly this value (e.g. consent: "yes").
    required: dict[str, str] = Field(default_factory=dict)
    #: Never ring anyone younger, when the case has an ``age`` field.
    min_age: int | None = None
    #: Cases matching these values are rung only if the questionnaire's safety check
    #: applies to them (domestic abuse: "is it safe for you to talk now?").
    needs_safety_check: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("after", "before")
    @classmethod
    def _a_duration(cls, value: str | None) -> str | None:
        if value is not None:
            days_in(value)
        return value

    @property
    def after_days(self) -> int:
        return days_in(self.after)

    @property
    def before_days(self) -> int | None:
        return None if self.before is None else days_in(self.before)


class CampaignSettings(Model):
    """How a survey is rung: who is eligible and the calling policy's settings."""

    eligibility: Eligibility
    #: The calling policy's settings: windows, attempts, retry intervals, bank holidays.
    calling: CallingSettings = Field(default_factory=CallingSettings)


class Retention(Model):
    """How long a survey keeps what it holds, in days (``ivr retention run`` applies it).

    A case's personal details (reference, number, name, sample fields but the reported
    groups, the call's saved state and TwiML, staff's notes) go ``personal_details_days``
    after its calling closed, or after its import if calling never closed; a recording
    (and its transcription) ``recordings_days`` after it was made; the coded answers,
    pseudonymous by then, ``answers_days`` after the interview started (None: kept).
    """

    personal_details_days: int = Field(default=365, ge=1)
    recordings_days: int = Field(default=90, ge=1)
    answers_days: int | None = Field(default=2190, ge=1)


class Quotas(Model):
    """A survey of the public's targets: interviews a year per area, spread evenly over the
    quarters, and within each area by the population's shares (a file of ONS figures)."""

    #: The population file, in the questionnaires' ``populations/`` folder.
    population: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*\.ya?ml$")]
    #: Interviews a year per area (the area is the sample's district).
    areas: dict[str, Annotated[int, Field(ge=1)]]
    #: The quota cells within an area: age band by sex, and ethnicity.
    cells: tuple[Literal["age_sex", "ethnicity"], ...] = ("age_sex", "ethnicity")
    quarters: int = Field(default=4, ge=1, le=12)
    #: An area or cell is "behind" when short of the calendar's expected count by more
    #: than this fraction of it.
    tolerance: float = Field(default=0.1, ge=0.0, le=1.0)
    #: Per area, its places in words (towns, postcode districts), said by ``{places}`` in
    #: the screening question so that a respondent knows whether they live there.
    places: dict[str, str] = Field(default_factory=dict)
    #: Random digit dialling: per area, the number ranges numbers are drawn in, written as
    #: dialled with x for each random digit ("01642 2xxxxx").
    number_ranges: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: The survey year's first day, as month-day ("04-01": April to March).
    year_starts: Annotated[str, Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")] = (
        "04-01"
    )

    @field_validator("areas")
    @classmethod
    def _some_areas(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("quotas need at least one area")
        return value

    @property
    def demographics(self) -> tuple[str, ...]:
        """The demographic questions the cells need, in the order they are named."""
        needed: list[str] = []
        for cell in self.cells:
            needed += ["age_band", "sex"] if cell == "age_sex" else [cell]
        return tuple(dict.fromkeys(needed))


class Questionnaire(Model):
    """A whole survey script: its steps, questions, referral rules and closing."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    version: Annotated[str, Field(min_length=1)]
    title: str
    #: Who is rung: named victims from a force's sample, or members of the public at
    #: telephone numbers drawn for an area (no name: the identity step selects a resident).
    sample: Literal["victims", "public"] = "victims"
    case_fields: dict[str, CaseField] = Field(default_factory=dict)
    opening: str
    #: Said instead of ``opening`` to a sensitive case until identity and safety are
    #: confirmed: who is calling, with nothing about the police, a crime or victims.
    sensitive_opening: str = "Hello, this is an automated call."
    #: Which cases are sensitive besides those the sample marks ``domestic_abuse: yes`` or
    #: of crime type domestic abuse (always sensitive).
    sensitive: Condition | None = None
    identity: ControlStep
    safety: ControlStep | None = None
    #: "Is now a good time?", asked after the safety check; no books a call-back.
    convenience: ControlStep | None = None
    consent: ControlStep
    #: Asked after "not available now" at identity, "not now" or "call me back later".
    callback_time: ControlStep = Field(
        default_factory=lambda: ControlStep(
            prompt="When would be a better time to call?",
            keypad="For this evening, press 1. For tomorrow during the day, press 2. "
            "For tomorrow evening, press 3.",
            instructions="Ask when would suit better: this evening, tomorrow during the day, "
            "or tomorrow evening.",
        )
    )
    questions: tuple[Question, ...]
    referrals: tuple[ReferralRule, ...] = ()
    routing: Routing = Field(default_factory=Routing)
    closing: Closing
    messages: Messages = Field(default_factory=Messages)
    speech: bool = True
    speech_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    #: An interview that stops early counts as a partial (AAPOR 1.2) once this many core
    #: questions have an answer, and as a break-off (2.12) below it. None: more than half.
    partial_core_answers: int | None = Field(default=None, ge=1)
    campaign: CampaignSettings | None = None
    retention: Retention = Field(default_factory=Retention)
    #: A survey of the public's quotas; the interview ends (AAPOR 4.80) after the last
    #: quota question when one of the respondent's cells is full.
    quotas: Quotas | None = None
    #: The language the questionnaire is written in, and its name in that language.
    language: Annotated[str, Field(pattern=LANGUAGE_TAG)] = "en-GB"
    language_name: str = "English"
    #: The text-to-speech voice (a Twilio voice name); None: the platform's default.
    voice: str | None = None
    #: Said, in this language's voice, at the opening of a call in another language:
    #: "For English, press 9." Pressing ``offer_key`` at the first step switches to it.
    offer: str | None = None
    offer_key: KeypadKey = "9"
    #: Why this language's text is not yet ready for use (awaiting a native speaker's
    #: review); shown wherever the script is.
    review: str | None = None
    choices: Choices = Field(default_factory=Choices)
    dates: SpokenDates | None = None
    #: The same questionnaire in other languages, by language tag (see translations.py).
    translations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Set by the loader: each translation built as a whole questionnaire of its own.
    _languages: dict[str, Questionnaire] = PrivateAttr(default_factory=dict)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("questions")
    @classmethod
    def _some_questions(cls, value: tuple[Question, ...]) -> tuple[Question, ...]:
        if not value:
            raise ValueError("a questionnaire needs at least one question")
        return value

    @property
    def languages(self) -> tuple[str, ...]:
        """The language tags a call may be in: this questionnaire's, then its translations'."""
        return (self.language, *self._languages)

    def in_language(self, tag: str | None) -> Questionnaire:
        """This questionnaire in the language ``tag`` (itself for None or its own language).
        KeyError for a language it does not offer."""
        if tag is None or tag == self.language:
            return self
        return self._languages[tag]

    def with_translations(self, built: dict[str, Questionnaire]) -> None:
        """Attach the translations the loader built (once, before the questionnaire is
        shared)."""
        self._languages = dict(built)

    def question(self, question_id: str) -> Question:
        """The question with this id (KeyError if there is none)."""
        return self._questions_by_id[question_id]

    # Cached: the model is frozen, and conditions ask for these on every webhook turn.
    @cached_property
    def _questions_by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @cached_property
    def derived(self) -> dict[str, Any]:
        """What other layers work out once from this questionnaire, which never changes:
        the engine's script, the campaign's calling policy. Keyed by the deriving module."""
        return {}

    @cached_property
    def core_ids(self) -> tuple[str, ...]:
        """Ids of the questions flagged ``core:`` for reporting."""
        return tuple(q.id for q in self.questions if q.core)

    @property
    def partial_threshold(self) -> int:
        """Core questions an early-ending interview must have answered to count (1.2)."""
        if self.partial_core_answers is not None:
            return self.partial_core_answers
        return len(self.core_ids) // 2 + 1


Condition.model_rebuild()

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

__all__ = [
    "RESERVED_KEYS",
    "CampaignSettings",
    "CaseField",
    "Choices",
    "Closing",
    "Condition",
    "Eligibility",
    "ControlStep",
    "Messages",
    "NonSubstantive",
    "NotCounted",
    "NotCountedWords",
    "Option",
    "Question",
    "QuestionType",
    "Questionnaire",
    "Quotas",
    "ReferralRule",
    "Routing",
    "Sentiment",
    "SpokenDates",
    "Words",
]
