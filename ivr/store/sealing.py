"""Personal data sealed at rest: the keyring, the keyed phone hash, and the column types.

With ``IVR_DATA_KEY`` set, names, numbers, notes and transcripts are written sealed
(AES-256-GCM, authenticated) as ``ivr1:<key id>:<base64>``; they are opened with whichever
configured key sealed them, so values written in clear before a key was set, or under a
previous key, still read until ``ivr keys rotate`` seals them under the primary key.

Numbers are found by a keyed hash (HMAC-SHA256) instead of by their sealed value, which
differs every time it is written. Without a key the hash key is :data:`CLEAR_HASH_KEY`, a
fixed and public one: such hashes hide nothing, and are recomputed by rotation.

The keyring belongs to one :class:`~ivr.store.db.Database` (its engine's dialect), never
to the process, so databases with and without a key can live side by side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Dialect, Text, TypeDecorator
from sqlalchemy.sql import operators
from sqlalchemy.sql.type_api import TypeEngine

#: The hash key used without IVR_DATA_KEY: documented, so it protects nothing.
CLEAR_HASH_KEY = b"ivr phone hash: no IVR_DATA_KEY set"
#: A sealed value: version, key id, base64url(nonce + ciphertext + tag). Anything else is
#: a value written in clear.
SEALED = re.compile(r"ivr1:([0-9a-f]{8}):([A-Za-z0-9_-]{38,})")
KEY_BYTES = 32
NONCE_BYTES = 12
#: The attribute of an engine's dialect that holds its Database's keyring.
DIALECT_ATTRIBUTE = "ivr_keyring"


class SealingError(RuntimeError):
    """A sealed value cannot be opened: no matching key is configured, or it was altered."""


def new_data_key() -> str:
    """A fresh random key, in the form IVR_DATA_KEY takes (URL-safe base64 of 32 bytes)."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def decode_data_key(text: str) -> bytes:
    """The 32 bytes of a key written as IVR_DATA_KEY takes it; ValueError if malformed."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError("not URL-safe base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"{len(key)} bytes, not {KEY_BYTES}")
    return key


def _key_id(key: bytes) -> str:
    # Names the key in each sealed value without revealing anything about it.
    return hmac.new(key, b"ivr key id", hashlib.sha256).hexdigest()[:8]


def _hash_key(key: bytes) -> bytes:
    # A key of its own for hashing, so the sealing key is never used for two purposes.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ivr phone hash").derive(key)


class Keyring:
    """The data keys of one database: seal with the primary, open with any of them."""

    def __init__(self, primary: bytes | None = None, previous: Sequence[bytes] = ()):
        for key in (primary, *previous):
            if key is not None and len(key) != KEY_BYTES:
                raise ValueError(f"a data key must be {KEY_BYTES} bytes, not {len(key)}")
        self._primary_id = None if primary is None else _key_id(primary)
        self._ciphers = {
            _key_id(key): AESGCM(key) for key in (primary, *previous) if key is not None
        }
        hash_keys = [_hash_key(k) for k in (primary, *previous) if k is not None]
        self._hash_key = hash_keys[0] if primary is not None else CLEAR_HASH_KEY
        # Lookups also try the previous keys' hashes and the clear one: a number hashed
        # before the key was set or changed is still found until rotation rehashes it.
        self._lookup_keys = list(dict.fromkeys([self._hash_key, *hash_keys, CLEAR_HASH_KEY]))

    @classmethod
    def from_text(cls, primary: str | None, previous: Iterable[str] = ()) -> Keyring:
        """A keyring from keys written as IVR_DATA_KEY takes them (ValueError if malformed)."""
        return cls(
            decode_data_key(primary) if primary else None,
            [decode_data_key(k) for k in previous if k.strip()],
        )

    @property
    def seals(self) -> bool:
        """Whether values are written sealed (a primary key is set)."""
        return self._primary_id is not None

    def seal(self, text: str) -> str:
        """``text`` sealed under the primary key; unchanged when there is none."""
        if self._primary_id is None:
            return text
        nonce = os.urandom(NONCE_BYTES)
        prefix = f"ivr1:{self._primary_id}"
        sealed = self._ciphers[self._primary_id].encrypt(nonce, text.encode(), prefix.encode())
        return f"{prefix}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, stored: str) -> str:
        """The text of a stored value, sealed or written in clear."""
        match = SEALED.fullmatch(stored)
        if match is None:
            return stored
        key_id, body = match.groups()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise SealingError(
                f"a value is sealed with key {key_id}, which is not configured: set "
                "IVR_DATA_KEY (or IVR_DATA_KEY_PREVIOUS) to the key it was sealed with"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            text = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], stored[:13].encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise SealingError(
                f"a value sealed with key {key_id} fails its integrity check: it was altered"
            ) from None
        return text.decode()

    def is_current(self, stored: str) -> bool:
        """Whether a stored value is as the primary key would write it (sealed under it,
        or in clear when there is no key): rotation leaves such values alone."""
        match = SEALED.fullmatch(stored)
        if self._primary_id is None:
            return match is None
        return match is not None and match.group(1) == self._primary_id

    def phone_hash(self, e164: str) -> str:
        """The keyed hash a number is stored and found by."""
        return hmac.new(self._hash_key, e164.encode(), hashlib.sha256).hexdigest()

    def phone_hashes(self, e164: str) -> list[str]:
        """Every hash the number may be stored under: the primary key's first."""
        return [hmac.new(k, e164.encode(), hashlib.sha256).hexdigest() for k in self._lookup_keys]


#: The keyring of a database that has none: values in clear, numbers under the clear hash.
CLEAR = Keyring()


def keyring_of(dialect: Dialect) -> Keyring:
    """The keyring of the database whose engine has this dialect."""
    keyring = getattr(dialect, DIALECT_ATTRIBUTE, None)
    return keyring if isinstance(keyring, Keyring) else CLEAR


def phone_hash_default(context: Any) -> str:
    """A row's phone hash from its ``phone``, as the column default computes it on insert."""
    return keyring_of(context.dialect).phone_hash(context.get_current_parameters()["phone"])


#: What a sealed column cannot be sorted or searched by: its stored value is ciphertext.
#: (Equality is allowed for the clear mode's tests and tools, but matches nothing once
#: values are sealed: the store finds numbers by their hash.)
_REFUSED = {
    operators.like_op,
    operators.not_like_op,
    operators.ilike_op,
    operators.not_ilike_op,
    operators.lt,
    operators.le,
    operators.gt,
    operators.ge,
    operators.asc_op,
    operators.desc_op,
    operators.startswith_op,
    operators.endswith_op,
    operators.contains_op,
}


class _SealedComparator(TypeDecorator.Comparator[Any]):
    def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
        if op in _REFUSED:
            raise TypeError(f"{self.expr} is sealed at rest: it cannot be sorted or searched")
        return super().operate(op, *other, **kwargs)


class SealedText(TypeDecorator[str]):
    """Text sealed under the database's keyring (in clear without a key)."""

    impl = Text
    cache_ok = True
    comparator_factory = _SealedComparator

    def __init__(self, length: int | None = None):
        super().__init__()
        #: The longest value it takes, in clear (its sealed form is longer): None, no limit.
        self.length = length

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).seal(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).open(value)

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        return self


class SealedJSON(TypeDecorator[Any]):
    """A JSON value (notes, event details) kept as text sealed under the keyring."""

    impl = Text
    cache_ok = True
    comparator_factory = _SealedComparator

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).seal(
            orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        )

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(keyring_of(dialect).open(value))

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        return self
