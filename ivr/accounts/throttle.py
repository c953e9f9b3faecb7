"""Sign-in throttling: failed attempts only, counted so that strangers cannot lock out a
known user.

Three counts of failures, each a moving window with a back-off (a short window, then a
day's):

- per account and address: someone mistyping from their own desk, or one address
  guessing one account's password;
- per account, from addresses it has not signed in from lately: many addresses guessing
  one password. These failures refuse only other such addresses, never the account's
  usual ones, so five strangers' failures do not lock the real user out;
- per address, whatever the account: one address trying many accounts. Successful
  sign-ins count nowhere, so a station's officers sharing one address at shift change
  never limit each other.

A failure is a wrong password at sign-in, a wrong or replayed second-factor code after
a right password, or a wrong current password given again on a signed-in page (changing
the password, setting up a second factor): all count alike, so neither the code step
nor a session left open is a way round the limits.

Counts live in Redis when ``REDIS_URL`` is set (shared by every web process), otherwise
in this process. If Redis cannot be reached, this process counts on its own for the
while and says so in the log, rather than refusing every sign-in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

#: Failures one address may make on one account.
PAIR_LIMITS = parse_many("5 per 15 minutes; 20 per day")
#: Failures on one account from all the addresses it has not signed in from lately.
STRANGER_LIMITS = parse_many("5 per 15 minutes; 20 per day")
#: Failures from one address on any accounts (a station of officers shares one address).
ADDRESS_LIMITS = parse_many("30 per 15 minutes; 100 per day")
_UNREACHABLE = (RedisError, StorageError, OSError)
_Action = Callable[[MovingWindowRateLimiter], bool]


@dataclass(frozen=True)
class Attempt:
    """Who a sign-in attempt was for and where it came from."""

    #: The email as typed, normalised (trimmed, lower case, cut to the column's width).
    account: str
    address: str
    #: Whether the account has signed in from this address lately.
    usual_address: bool


class SignInThrottle:
    """Counts failed sign-ins and says when an attempt must be refused without a try."""

    def __init__(self, storage_uri: str):
        shared = storage_from_string(storage_uri)
        if not isinstance(shared, Storage):
            raise ValueError("the sign-in throttle needs a synchronous storage")
        self._shared = shared
        self._local = MemoryStorage()
        self._uri_is_local = storage_uri.startswith("memory://")

    def _counts(self, attempt: Attempt) -> list[tuple[list[RateLimitItem], tuple[str, ...]]]:
        counts = [
            (PAIR_LIMITS, ("sign-in-pair", attempt.account, attempt.address)),
            (ADDRESS_LIMITS, ("sign-in-address", attempt.address)),
        ]
        if not attempt.usual_address:
            counts.append((STRANGER_LIMITS, ("sign-in-strangers", attempt.account)))
        return counts

    def refuses(self, attempt: Attempt) -> bool:
        """Whether this attempt must be refused before its password is tried."""
        return self._run(lambda counter: self._refuses(counter, attempt))

    def failed(self, attempt: Attempt) -> None:
        """Count a failed attempt."""
        self._run(lambda counter: self._failed(counter, attempt))

    def _refuses(self, counter: MovingWindowRateLimiter, attempt: Attempt) -> bool:
        counts = self._counts(attempt)
        return any(not counter.test(item, *key) for items, key in counts for item in items)

    def _failed(self, counter: MovingWindowRateLimiter, attempt: Attempt) -> bool:
        for items, key in self._counts(attempt):
            for item in items:
                counter.hit(item, *key)
        return False

    def _run(self, action: _Action) -> bool:
        try:
            return action(MovingWindowRateLimiter(self._shared))
        except _UNREACHABLE as error:
            if self._uri_is_local:
                raise
            log.warning(
                "sign-in counts kept in this process only: storage unreachable (%s)",
                type(error).__name__,
            )
            return action(MovingWindowRateLimiter(self._local))
