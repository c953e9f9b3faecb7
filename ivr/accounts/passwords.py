"""What a staff password must be: long, and not one an attacker would guess.

Length alone lets ``password1234`` through. zxcvbn estimates how many guesses a password
would take, knowing the common-password lists, words, names, dates, keyboard patterns and
the account's own email and name; a password must score at least ``MIN_SCORE`` (of 4:
"safely unguessable: moderate protection from offline slow-hash scenario").
"""

from __future__ import annotations

from collections.abc import Iterable

from zxcvbn import zxcvbn

#: Characters a password needs at least.
MIN_PASSWORD_LENGTH = 12
#: zxcvbn's score (0-4) a password needs at least.
MIN_SCORE = 3
#: Characters zxcvbn looks at: its cost grows with length, and nothing is gained beyond.
SCORED_LENGTH = 100
#: Passwords longer than this are refused (argon2 takes any, but a form need not).
MAX_PASSWORD_LENGTH = 1000


def password_problem(password: str, about: Iterable[str] = ()) -> str | None:
    """Why ``password`` will not do, in words for the person choosing it, or None.

    ``about`` is what an attacker would try first: the account's email, its parts, its name.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"passwords need at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"passwords may have at most {MAX_PASSWORD_LENGTH} characters"
    inputs = [part for text in about if text for part in _parts(text)]
    verdict = zxcvbn(password[:SCORED_LENGTH], user_inputs=inputs)
    if verdict["score"] >= MIN_SCORE:
        return None
    feedback = verdict["feedback"]
    said = [feedback.get("warning") or "This password would be easy to guess."]
    said += feedback.get("suggestions") or []
    return "choose a harder password: " + " ".join(s.rstrip(".") + "." for s in said if s)


def _parts(text: str) -> list[str]:
    """An email or name, and its words: ``sam.jones@force.example`` gives sam, jones, force."""
    words = [w for w in text.lower().replace("@", " ").replace(".", " ").split() if w]
    return [text.lower(), *words]
