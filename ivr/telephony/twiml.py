"""Render engine steps as TwiML, through the twilio library only."""

from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from ivr.engine.model import Step

VOICE = "Polly.Amy"
LANGUAGE = "en-GB"
#: Seconds of silence before a Gather gives up; generous for elderly or distressed callers.
GATHER_TIMEOUT = 7
RECORD_SILENCE_TIMEOUT = 5


def _say(verb: VoiceResponse | Gather, text: str) -> None:
    if text:
        verb.say(text, voice=VOICE, language=LANGUAGE)


def step_twiml(step: Step, next_url: str) -> str:
    """TwiML for a step: prompts inside the wait, a no-input fallback, or a hang-up."""
    response = VoiceResponse()
    text = " ".join(p for p in step.prompts if p)
    wait = step.wait
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


def farewell_twiml(text: str | None) -> str:
    """Say a short message (if any) and hang up."""
    response = VoiceResponse()
    if text:
        _say(response, text)
    response.hangup()
    return str(response)
