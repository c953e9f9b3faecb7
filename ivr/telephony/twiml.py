"""Render engine steps as TwiML, through the twilio library only."""

from __future__ import annotations

from functools import lru_cache

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.engine.model import Step, Wait

VOICE = "Polly.Amy"
LANGUAGE = "en-GB"
#: Seconds of silence before a Gather gives up; generous for elderly or distressed callers.
GATHER_TIMEOUT = 7
RECORD_SILENCE_TIMEOUT = 5
#: Stands for the next turn's URL in cached renderings; XML escaping leaves it unchanged.
URL_SLOT = "ivr0next0turn0url0slot"
#: Characters XML escaping would change, in element text or attribute values.
_ESCAPED = frozenset('&<>"\r\n\t')
#: Distinct (prompt text, wait) renderings kept: a turn's prompts repeat across calls, but
#: those that name the respondent make the set unbounded.
TEMPLATES_KEPT = 512


def _say(verb: VoiceResponse | Gather, text: str) -> None:
    if text:
        verb.say(text, voice=VOICE, language=LANGUAGE)


def step_twiml(step: Step, next_url: str) -> str:
    """TwiML for a step: prompts inside the wait, a no-input fallback, or a hang-up."""
    text = " ".join(p for p in step.prompts if p)
    # Rendering through the twilio library is one of a turn's larger costs, and only the
    # URL differs between interviews at the same step: the library renders each (text,
    # wait) once with a slot that the URL then fills. A URL that XML escaping would
    # change, or a text or URL holding the slot, is rendered whole instead.
    if URL_SLOT in text or URL_SLOT in next_url or not _ESCAPED.isdisjoint(next_url):
        return _render(text, step.wait, next_url)
    return _template(text, step.wait).replace(URL_SLOT, next_url)


@lru_cache(maxsize=TEMPLATES_KEPT)
def _template(text: str, wait: Wait | None) -> str:
    return _render(text, wait, URL_SLOT)


def _render(text: str, wait: Wait | None, next_url: str) -> str:
    response = VoiceResponse()
    if wait is None:
        _say(response, text)
        response.hangup()
        return str(response)
    if wait.kind == "recording":
        _say(response, text)
        response.record(
            action=next_url, method="POST", max_length=wait.max_seconds,
            timeout=RECORD_SILENCE_TIMEOUT, finish_on_key="#", play_beep=True,
            trim="trim-silence",
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
            options.update(language=LANGUAGE, speech_timeout="auto")
            if wait.hints:
                options["hints"] = ", ".join(wait.hints)
        gather = Gather(**options)
        _say(gather, text)
        response.append(gather)
    # Reached only on no input: the same turn URL without Digits means silence.
    response.redirect(next_url, method="POST")
    return str(response)


@lru_cache(maxsize=16)
def farewell_twiml(text: str | None) -> str:
    """Say a short message (if any) and hang up."""
    response = VoiceResponse()
    if text:
        _say(response, text)
    response.hangup()
    return str(response)
