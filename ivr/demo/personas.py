"""Respondents for the demo: victims who answer as a kind of person would.

A persona recognises what it is asked from the prompt's speech hints (the option
labels the app sends to Twilio) and from a few words of what it heard, so the
same persona plays either questionnaire.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ivr.telephony.respondents import (
    Action,
    HangUp,
    Press,
    Prompt,
    RecordAudio,
    Silence,
    Speak,
)

SCALE_LABELS = {
    "1": "completely satisfied",
    "2": "very satisfied",
    "3": "fairly satisfied",
    "4": "neither satisfied nor dissatisfied",
    "5": "fairly dissatisfied",
    "6": "very dissatisfied",
    "7": "completely dissatisfied",
    "8": "don't know",
}
HELPED_LABELS = {
    "1": "a lot",
    "2": "a little",
    "3": "not very much",
    "4": "not at all",
    "8": "I don't know",
    "9": "it doesn't apply",
}

#: Kinds of respondent and how often each turns up in the demo.
KINDS = {
    "satisfied": 28,
    "dissatisfied_consenting": 10,
    "dissatisfied_declining": 8,
    "speech": 10,
    "hesitant_speaker": 4,
    "dont_know": 5,
    "invalid_keys": 6,
    "silent": 4,
    "hang_up_midway": 8,
    "refuses": 5,
    "call_back_later": 4,
    "someone_else_answers": 4,
    "wrong_number": 2,
    "not_safe": 8,
    "wants_police_contact": 5,
}
#: Kinds whose next call goes differently: after the first they answer as another kind.
LATER_KIND = {
    "call_back_later": "satisfied",
    "someone_else_answers": "satisfied",
    "hang_up_midway": "satisfied",
}


@dataclass
class Persona:
    """A victim (or whoever picks up their phone) answering one call in a recognisable way."""

    kind: str
    rng: random.Random
    answered: int = 0
    fumbled: set[str] = field(default_factory=set)
    #: How this victim's quarter and district went (-1 to 1): below zero more of the
    #: not-dissatisfied victims answer "neither" or worse, above zero fewer.
    mood: float = 0.0

    @property
    def by_speech(self) -> bool:
        """Speaks instead of pressing keys."""
        return self.kind in ("speech", "hesitant_speaker")

    def respond(self, heard: str, prompt: Prompt) -> Action:
        """Answer what the app just asked."""
        kind, hints, text = self.kind, set(prompt.hints), heard.lower()
        if kind == "silent":
            return Silence()
        if kind == "hang_up_midway" and self.answered >= 2:
            return HangUp()
        if prompt.kind == "record":
            if "anything else" in text and self.rng.random() < 0.6:
                return Press("#")  # nothing more to say
            return RecordAudio(self.rng.randint(4, 20))
        if "I think you said" in heard:
            return self._key("1", "yes")
        if "nobody of that name here" in hints:
            return self._identity()
        if "yes it is safe" in hints:
            if kind == "not_safe":
                return (
                    Speak("no it is not safe", 0.9)
                    if self.by_speech or self.rng.random() < 0.5
                    else Press("2")
                )
            return self._key("1", "yes it is")
        if "no call another time" in hints:
            return self._key("1", "yes")
        if "take part now" in hints:
            choice = {"refuses": "3", "call_back_later": "2"}.get(kind, "1")
            return self._key(choice, {"1": "yes", "2": "call back", "3": "no thanks"}[choice])
        if "this evening" in hints:
            choice = self.rng.choice("123")
            words = {"1": "this evening", "2": "tomorrow", "3": "tomorrow evening"}[choice]
            return self._key(choice, words)
        if "completely satisfied" in hints:
            return self._scale()
        if "a lot" in hints:
            return self._choice()
        return self._yes_no(text)

    def _key(self, key: str, words: str) -> Action:
        if self.by_speech:
            # Now and then the recogniser is unsure, and the app asks to confirm.
            return Speak(words, 0.4 if self.rng.random() < 0.15 else 0.9)
        return Press(key)

    def _identity(self) -> Action:
        if self.kind == "someone_else_answers":
            return self._key("2", "not here at the moment")
        if self.kind == "wrong_number":
            return self._key("3", "wrong number")
        return self._key("1", "yes speaking")

    def _scale(self) -> Action:
        if self.kind == "invalid_keys" and "scale" not in self.fumbled:
            self.fumbled.add("scale")
            return Press(self.rng.choice("09"))
        if self.kind == "hesitant_speaker" and "scale" not in self.fumbled:
            # Said with a negation the app must not read as its opposite: asked again.
            self.fumbled.add("scale")
            return Speak(self.rng.choice(("not very satisfied", "not really satisfied")), 0.9)
        self.answered += 1
        if self.kind == "dont_know" and self.rng.random() < 0.4:
            return self._key("8", "I don't know")
        dissatisfied = self.kind.startswith("dissatisfied")
        if dissatisfied:
            key = str(self.rng.choice((5, 6, 7)))
            if self.rng.random() < 0.4:
                key = str(self.rng.choice((2, 3, 4)))
        elif self.rng.random() < self._lukewarm():
            key = str(self.rng.choice((4, 4, 5)))
        else:
            key = str(self.rng.choice((1, 2, 2, 3, 3)))
        return self._key(key, SCALE_LABELS[key])

    def _lukewarm(self) -> float:
        """The chance that a victim who is not dissatisfied answers "neither" or worse."""
        return max(0.03, min(0.6, 0.17 - 0.4 * self.mood))

    def _choice(self) -> Action:
        self.answered += 1
        if self.kind.startswith("dissatisfied"):
            key = self.rng.choice("34")
        elif self.kind == "dont_know":
            key = self.rng.choice("189")
        elif self.rng.random() < self._lukewarm():
            key = self.rng.choice("34")
        else:
            key = self.rng.choice("11229")
        return self._key(key, HELPED_LABELS[key])

    def _yes_no(self, text: str) -> Action:
        if "contact you to talk about it" in text:
            yes = self.kind == "dissatisfied_consenting"
            return self._key("1", "yes") if yes else self._key("2", "no")
        if "like the police to contact you" in text:
            yes = self.kind == "wants_police_contact"
            return self._key("1", "yes") if yes else self._key("2", "no thanks")
        if "recommend" in text:
            return (
                self._key("2", "no")
                if self.kind.startswith("dissatisfied")
                else self._key("1", "yes")
            )
        return self._key("1", "yes")


#: The kinds a victim's mood moves: more of the first when things go well, more of the
#: second when they do not.
PLEASED = ("satisfied",)
DISPLEASED = ("dissatisfied_consenting", "dissatisfied_declining")


def pick_kind(rng: random.Random, mood: float = 0.0) -> str:
    """A respondent kind drawn with the demo's mix, tilted by ``mood`` (-1 to 1): above
    zero more satisfied victims and fewer dissatisfied ones, below zero the reverse, so
    that quarters and districts differ as real ones do."""
    mood = max(-0.9, min(0.9, mood))
    kinds = list(KINDS)
    weights = [
        KINDS[k] * (1 + mood if k in PLEASED else 1 - mood if k in DISPLEASED else 1) for k in kinds
    ]
    return rng.choices(kinds, weights=weights)[0]
