"""The keyring that seals personal data at rest, its settings and its commands."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import main
from ivr.config import ConfigError, Settings
from ivr.services import build_services
from ivr.store.sealing import (
    CLEAR,
    Keyring,
    SealingError,
    decode_data_key,
    new_data_key,
)
from tests.conftest import make_settings

KEY_1, KEY_2 = new_data_key(), new_data_key()
NUMBER = "+441134960001"


def test_a_sealed_value_opens_to_the_text_and_never_shows_it() -> None:
    keyring = Keyring.from_text(KEY_1)
    once, twice = keyring.seal("Alex"), keyring.seal("Alex")
    assert once.startswith("ivr1:") and "Alex" not in once
    assert once != twice  # a fresh nonce every time
    assert keyring.open(once) == keyring.open(twice) == "Alex"
    assert keyring.is_current(once) and not keyring.is_current("Alex")


def test_a_value_written_in_clear_still_reads_once_a_key_is_set() -> None:
    assert Keyring.from_text(KEY_1).open("Alex") == "Alex"
    assert CLEAR.seal("Alex") == "Alex" and CLEAR.is_current("Alex")


def test_a_previous_key_opens_what_it_sealed_but_the_primary_seals() -> None:
    old = Keyring.from_text(KEY_1).seal("Alex")
    rotating = Keyring.from_text(KEY_2, [KEY_1])
    assert rotating.open(old) == "Alex" and not rotating.is_current(old)
    assert rotating.is_current(rotating.seal("Alex"))


@pytest.mark.parametrize("reader", [CLEAR, Keyring.from_text(KEY_2)])
def test_a_sealed_value_without_its_key_is_refused_naming_the_setting(reader: Keyring) -> None:
    sealed = Keyring.from_text(KEY_1).seal("Alex")
    with pytest.raises(SealingError, match="IVR_DATA_KEY"):
        reader.open(sealed)


def test_an_altered_sealed_value_is_refused() -> None:
    keyring = Keyring.from_text(KEY_1)
    sealed = keyring.seal("Alex")
    body = sealed[-10:]
    altered = sealed[:-10] + body[::-1] if body[::-1] != body else sealed[:-1] + "A"
    with pytest.raises(SealingError, match="altered"):
        keyring.open(altered)
    # The key id is bound to the value too: moving it under another key's id fails.
    other = Keyring.from_text(KEY_2, [KEY_1])
    moved = other.seal("x")[:13] + sealed[13:]
    with pytest.raises(SealingError, match="altered"):
        other.open(moved)


def test_numbers_are_found_by_a_hash_that_depends_on_the_key() -> None:
    first, second = Keyring.from_text(KEY_1), Keyring.from_text(KEY_2, [KEY_1])
    assert first.phone_hash(NUMBER) != CLEAR.phone_hash(NUMBER)
    assert first.phone_hash(NUMBER) != second.phone_hash(NUMBER)
    assert NUMBER.removeprefix("+") not in first.phone_hash(NUMBER)
    # While rotating, lookups try the new key's hash, the old one's, and the clear one.
    assert second.phone_hashes(NUMBER) == [
        second.phone_hash(NUMBER),
        first.phone_hash(NUMBER),
        CLEAR.phone_hash(NUMBER),
    ]


@pytest.mark.parametrize("bad", ["not a key", base64.urlsafe_b64encode(b"short").decode(), "é"])
def test_a_malformed_key_is_a_clear_start_up_error(bad: str, tmp_path: Path) -> None:
    env = {"IVR_QUESTIONNAIRES": str(tmp_path)}
    with pytest.raises(ConfigError, match="IVR_DATA_KEY must be 32 random bytes"):
        Settings.from_env({**env, "IVR_DATA_KEY": bad})
    with pytest.raises(ConfigError, match="IVR_DATA_KEY_PREVIOUS"):
        Settings.from_env({**env, "IVR_DATA_KEY": KEY_1, "IVR_DATA_KEY_PREVIOUS": f"{KEY_2},{bad}"})
    with pytest.raises(ValueError):
        decode_data_key(bad)


def test_keys_are_read_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "IVR_QUESTIONNAIRES": str(tmp_path),
            "IVR_DATA_KEY": KEY_1,
            "IVR_DATA_KEY_PREVIOUS": f" {KEY_2} ,",
        }
    )
    assert (settings.data_key, settings.data_keys_previous) == (KEY_1, (KEY_2,))
    assert KEY_1 not in repr(settings)


def test_keys_new_prints_a_usable_key() -> None:
    result = CliRunner().invoke(main, ["keys", "new"])
    assert result.exit_code == 0
    key = result.stdout.strip()
    assert len(decode_data_key(key)) == 32 and key != new_data_key()
    Keyring.from_text(key).seal("usable")


def test_production_without_a_key_says_personal_data_is_in_clear(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ivr.services"):
        build_services(make_settings(sqlite_url, production=True)).db.dispose()
    assert "personal data is stored in clear: set IVR_DATA_KEY" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ivr.services"):
        build_services(make_settings(sqlite_url, production=True, data_key=KEY_1)).db.dispose()
        build_services(make_settings(sqlite_url)).db.dispose()
    assert "stored in clear" not in caplog.text
