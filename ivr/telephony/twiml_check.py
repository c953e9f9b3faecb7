"""Check TwiML against Twilio's documented voice verbs and attributes, as Twilio would."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any


class SimulatorError(Exception):
    """The simulated call could not proceed; `record` holds the call up to the failure."""

    #: The simulator's CallRecord so far (typed loosely: the simulator imports this module).
    record: Any = None


class TwimlError(SimulatorError):
    """The app returned TwiML that Twilio would reject or that the simulator does not support."""


#: A phone number as Twilio dials it: + and up to 15 digits.
_E164 = re.compile(r"\+[1-9]\d{6,14}")


def _ints(low: int) -> Callable[[str], bool]:
    return lambda v: v.strip().isdigit() and int(v) >= low


def _one_of(*allowed: str) -> Callable[[str], bool]:
    return lambda v: v.lower() in allowed


_NESTABLE = {"Say", "Play", "Pause"}
_CHILDREN = {
    "Gather": _NESTABLE,
    "Dial": {"Number"},
    "Response": _NESTABLE | {"Gather", "Record", "Redirect", "Hangup", "Reject", "Dial"},
}
_SSML = {"break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub", "w"}
_ATTRS: dict[str, set[str]] = {
    "Say": {"voice", "language", "loop"},
    "Play": {"loop", "digits"},
    "Pause": {"length"},
    "Gather": {
        "action",
        "method",
        "input",
        "numDigits",
        "timeout",
        "finishOnKey",
        "speechTimeout",
        "hints",
        "language",
        "actionOnEmptyResult",
        "speechModel",
        "profanityFilter",
        "enhanced",
        "bargeIn",
        "partialResultCallback",
        "partialResultCallbackMethod",
    },
    "Record": {
        "action",
        "method",
        "timeout",
        "finishOnKey",
        "maxLength",
        "playBeep",
        "trim",
        "recordingStatusCallback",
        "recordingStatusCallbackMethod",
        "recordingStatusCallbackEvent",
        "transcribe",
        "transcribeCallback",
    },
    "Dial": {
        "action",
        "method",
        "timeout",
        "callerId",
        "hangupOnStar",
        "timeLimit",
        "answerOnBridge",
        "ringTone",
    },
    "Number": {"sendDigits", "url", "method"},
    "Redirect": {"method"},
    "Hangup": set(),
    "Reject": {"reason"},
}
_BOOL = (_one_of("true", "false"), "'true' or 'false'")
_VALUES: dict[str, tuple[Callable[[str], bool], str]] = {
    **dict.fromkeys(("loop", "length", "timeout"), (_ints(0), "a non-negative integer")),
    "timeLimit": (_ints(1), "a positive integer"),
    "callerId": (lambda v: _E164.fullmatch(v) is not None, "a number in E.164"),
    **dict.fromkeys(("numDigits", "maxLength"), (_ints(1), "a positive integer")),
    **dict.fromkeys(
        (
            "actionOnEmptyResult",
            "profanityFilter",
            "enhanced",
            "bargeIn",
            "playBeep",
            "transcribe",
            "hangupOnStar",
            "answerOnBridge",
        ),
        _BOOL,
    ),
    "speechTimeout": (lambda v: v == "auto" or _ints(0)(v), "'auto' or a non-negative integer"),
    "digits": (lambda v: bool(v) and set(v) <= set("0123456789*#wW"), "DTMF digits, w or W"),
    "finishOnKey": (lambda v: set(v) <= set("0123456789*#"), "keys from 0-9, * and #"),
    "input": (
        lambda v: bool(v.split()) and set(v.split()) <= {"dtmf", "speech"},
        "'dtmf', 'speech' or 'dtmf speech'",
    ),
    "trim": (_one_of("trim-silence", "do-not-trim"), "'trim-silence' or 'do-not-trim'"),
    "reason": (_one_of("rejected", "busy"), "'rejected' or 'busy'"),
}


def _check_verb(el: ET.Element, parent: str) -> None:
    where = f"<{el.tag}> in <{parent}>"
    if el.tag not in _CHILDREN[parent]:
        known = "is not allowed here" if el.tag in _ATTRS else "is not a supported verb"
        raise TwimlError(f"{where} {known}; <{parent}> accepts {sorted(_CHILDREN[parent])}")
    for name, value in el.attrib.items():
        if name not in _ATTRS[el.tag]:
            raise TwimlError(
                f"{where}: unsupported attribute {name!r}; allowed: {sorted(_ATTRS[el.tag])}"
            )
        if name.endswith(("Method", "method")) and value.upper() not in ("GET", "POST"):
            raise TwimlError(f"{where}: {name}={value!r} must be GET or POST")
        if name == "method" and value.upper() == "GET":
            raise TwimlError(f"{where}: method=GET is not supported by the simulator, use POST")
        check = _VALUES.get(name)
        if check and not check[0](value):
            raise TwimlError(f"{where}: {name}={value!r} must be {check[1]}")
    if el.tag == "Gather" and len(el.get("finishOnKey", "#")) > 1:
        raise TwimlError(f"{where}: finishOnKey must be a single key or empty")
    if el.tag == "Say":
        for node in el.iter():
            if node is not el and node.tag not in _SSML:
                raise TwimlError(f"{where}: <{node.tag}> is not allowed inside <Say>")
        return
    for child in el:
        if el.tag not in ("Gather", "Dial"):
            raise TwimlError(f"{where}: <{child.tag}> cannot be nested in <{el.tag}>")
        _check_verb(child, el.tag)
    text = (el.text or "").strip()
    if el.tag == "Number":
        if _E164.fullmatch(text) is None:
            raise TwimlError(f"{where}: {text!r} is not a number in E.164")
        return
    if el.tag == "Dial":
        if text and _E164.fullmatch(text) is None:
            raise TwimlError(f"{where}: {text!r} is not a number in E.164")
        if not text and not len(el):
            raise TwimlError(f"{where}: a number to dial is required")
        if text and len(el):
            raise TwimlError(f"{where}: give the number as text or as <Number>, not both")
        return
    if el.tag in ("Redirect", "Play"):
        if not text and not el.get("digits"):
            raise TwimlError(f"{where}: a URL is required")
    elif text or any((child.tail or "").strip() for child in el):
        raise TwimlError(f"{where}: unexpected text {text!r}")


def parse_twiml(body: str) -> list[ET.Element]:
    """Parse and validate a TwiML voice document, returning its top-level verbs."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise TwimlError(f"response is not well-formed XML ({exc}): {body[:200]!r}") from None
    if root.tag != "Response" or root.attrib:
        raise TwimlError(f"root element must be a bare <Response>, got <{root.tag}> {root.attrib}")
    if (root.text or "").strip() or any((verb.tail or "").strip() for verb in root):
        raise TwimlError("<Response> must contain only verbs, not bare text")
    for verb in root:
        _check_verb(verb, "Response")
    return list(root)
