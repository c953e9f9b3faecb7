"""Where an interview and a call attempt stand: the words the store keeps, defined once."""

from __future__ import annotations

from ivr.engine.model import Status

#: Interview statuses after which a case needs no more calls for its survey (a wrong
#: number is not the victim's: whoever rings from it is not taken through the survey).
#: "wrong_person" is how interviews stored before the wrong-number split spell it.
CLOSED_INTERVIEW = (
    Status.COMPLETED.value,
    Status.REFUSED.value,
    Status.WRONG_NUMBER.value,
    "wrong_person",
    Status.SCREENED_OUT.value,
    Status.QUOTA_FULL.value,
)

#: Twilio's final ``CallStatus`` values: the call is over and no later callback changes it.
FINAL_CALL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})

#: The statuses of an attempt that may still ring or be under way, in the order a call
#: goes through them: a callback never moves an attempt back to an earlier one.
LIVE_ATTEMPT_RANK = {
    "queued": 0,
    "dialing": 1,
    "initiated": 2,
    "ringing": 3,
    "in-progress": 4,
    "answered": 4,
}
LIVE_ATTEMPT = tuple(LIVE_ATTEMPT_RANK)
