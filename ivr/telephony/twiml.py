"""Render engine steps as TwiML, through the twilio library only."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from twilio.twiml.voice_response import Dial, Gather, Say, VoiceResponse

from ivr.config import Settings
from ivr.engine.model import Offer, Step, Wait

VOICE = "Polly.Amy"
LANGUAGE = "en-GB"
#: Seconds of silence before a Gather gives up; generous for elderly or distressed callers.
GATHER_TIMEOUT = 7
RECORD_SILENCE_TIMEOUT = 5
#: The slower, clearer reading a caller or their case asks for (SSML prosody).
SLOW_RATE = "85%"
#: Seconds the hand-over number rings before the caller is told someone will call back.
HANDOVER_RING_SECONDS = 25


class Voice(NamedTuple):
    """Who speaks a call's words, and in what language (also what speech is heard in)."""

    name: str = VOICE
    language: str = LANGUAGE


ENGLISH = Voice()


def voice_of(step: Step) -> Voice:
    """The voice of a step: its questionnaire's, in the language the call is in."""
    return Voice(step.voice or VOICE, step.state.language or LANGUAGE)


def _say(
    verb: VoiceResponse | Gather, text: str, *, slow: bool = False, voice: Voice = ENGLISH
) -> None:
    if not text:
        return
    if slow:
        said = Say(voice=voice.name, language=voice.language)
        said.prosody(text, rate=SLOW_RATE)
        verb.append(said)
    else:
        verb.say(text, voice=voice.name, language=voice.language)


def _offer(verb: VoiceResponse | Gather, offers: tuple[Offer, ...], slow: bool) -> None:
    for offer in offers:
        _say(verb, offer.text, slow=slow, voice=Voice(offer.voice or VOICE, offer.language))


def step_twiml(step: Step, next_url: str, *, transcribe_url: str | None = None) -> str:
    """TwiML for a step: prompts inside the wait, a no-input fallback, or a hang-up.

    With ``transcribe_url``, a recording is also transcribed by Twilio, which posts the text
    there.
    """
    text = " ".join(p for p in step.prompts if p)
    slow = step.state.slow
    voice = voice_of(step)
    if transcribe_url is not None or step.offers or not _plain(text) or not _plain(next_url):
        return _render(
            text, step.wait, next_url, transcribe_url, slow=slow, voice=voice, offers=step.offers
        )
    # Rendering through the twilio library is one of a turn's larger costs, and a step's
    # shape (what it waits for) repeats across calls: the library renders each shape once
    # with slots that the text and URL then fill. The shapes hold no words of a prompt,
    # so nothing said to a victim (a first name) is kept between calls.
    return _shape(step.wait, slow, voice).replace(TEXT_SLOT, text).replace(URL_SLOT, next_url)


#: Stand in for the words and the next turn's URL in a rendered shape.
TEXT_SLOT, URL_SLOT = "ivr0text0slot", "ivr0url0slot"
#: Characters XML escaping would change, in element text or attribute values.
_ESCAPED = frozenset('&<>"\r\n\t')


def _plain(text: str) -> bool:
    """Whether ``text`` goes into TwiML as it is, and holds no slot."""
    return _ESCAPED.isdisjoint(text) and TEXT_SLOT not in text and URL_SLOT not in text


@lru_cache(maxsize=256)
def _shape(wait: Wait | None, slow: bool = False, voice: Voice = ENGLISH) -> str:
    return _render(TEXT_SLOT, wait, URL_SLOT, slow=slow, voice=voice)


def _render(
    text: str,
    wait: Wait | None,
    next_url: str,
    transcribe_url: str | None = None,
    *,
    slow: bool = False,
    voice: Voice = ENGLISH,
    offers: tuple[Offer, ...] = (),
) -> str:
    if wait is not None and wait.kind == "person":
        raise ValueError("a step that puts the call through is rendered by handover_twiml")
    response = VoiceResponse()
    if wait is None:
        _say(response, text, slow=slow, voice=voice)
        response.hangup()
        return str(response)
    if wait.kind == "recording":
        _say(response, text, slow=slow, voice=voice)
        transcription: dict[str, object] = {}
        if transcribe_url is not None:
            transcription = {"transcribe": True, "transcribe_callback": transcribe_url}
        response.record(
            action=next_url,
            method="POST",
            max_length=wait.max_seconds,
            timeout=RECORD_SILENCE_TIMEOUT,
            finish_on_key="#",
            play_beep=True,
            trim="trim-silence",
            **transcription,
        )
    else:
        options = {
            "input": "dtmf speech" if wait.speech else "dtmf",
            "action": next_url,
            "method": "POST",
            "timeout": GATHER_TIMEOUT,
            "finish_on_key": "#",
            "action_on_empty_result": False,
        }
        if wait.kind == "keys":
            options["num_digits"] = 1
        if wait.speech:
            options.update(language=voice.language, speech_timeout="auto")
            if wait.hints:
                options["hints"] = ", ".join(wait.hints)
        gather = Gather(**options)
        _say(gather, text, slow=slow, voice=voice)
        # Another language's offer, in its own voice, while the keys are still listened for.
        _offer(gather, offers, slow)
        response.append(gather)
    # Reached only on no input: the same turn URL without Digits means silence.
    response.redirect(next_url, method="POST")
    return str(response)


def handover_twiml(step: Step, *, number: str, caller_id: str, action_url: str) -> str:
    """Say the step's words, then put the call through to ``number`` showing ``caller_id``;
    Twilio then requests ``action_url`` with how the dial went (DialCallStatus)."""
    response = VoiceResponse()
    text = " ".join(p for p in step.prompts if p)
    _say(response, text, slow=step.state.slow, voice=voice_of(step))
    dial = Dial(
        action=action_url,
        method="POST",
        timeout=HANDOVER_RING_SECONDS,
        caller_id=caller_id,
    )
    dial.number(number)
    response.append(dial)
    return str(response)


#: The key that stops further calls, offered in the information message.
OPT_OUT_KEY = "9"
OPTED_OUT_MESSAGE = "Thank you. We will not call this number again. Goodbye."


def information_message(settings: Settings, *, neutral: bool = False) -> str:
    """Who called and how to decline further calls, for a call that cannot go on; for a
    sensitive case's number (``neutral``), without naming the organisation."""
    callback = ""
    if settings.twilio_from_number:
        digits = settings.twilio_from_number.removeprefix("+44")
        spoken = " ".join(
            ("0" + digits)
            if settings.twilio_from_number.startswith("+44")
            else settings.twilio_from_number
        )
        callback = f" You can call us back on {spoken}."
    caller = (
        "This is an automated call"
        if neutral
        else f"This is an automated call from {settings.organisation_name}"
    )
    return (
        f"{caller}. We are sorry, "
        f"we cannot continue this call now, and we will try again another day.{callback} "
        f"If you would rather not be called again, press {OPT_OUT_KEY} now."
    )


def information_twiml(settings: Settings, opt_out_url: str, *, neutral: bool = False) -> str:
    """The information message, listening for the opt-out key, then goodbye."""
    response = VoiceResponse()
    gather = Gather(
        input="dtmf",
        num_digits=1,
        action=opt_out_url,
        method="POST",
        timeout=GATHER_TIMEOUT,
        action_on_empty_result=False,
    )
    _say(gather, information_message(settings, neutral=neutral))
    response.append(gather)
    _say(response, "Goodbye.")
    response.hangup()
    return str(response)


@lru_cache(maxsize=16)
def farewell_twiml(text: str | None) -> str:
    """Say a short message (if any) and hang up."""
    response = VoiceResponse()
    if text:
        _say(response, text)
    response.hangup()
    return str(response)
