"""Settings from the environment, validated once at start-up and injected everywhere."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import phonenumbers

#: Settings production cannot run without; named in the start-up error when missing.
REQUIRED_IN_PRODUCTION = (
    "DATABASE_URL",
    "SECRET_KEY",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "PUBLIC_BASE_URL",
)


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _default_questionnaires() -> Path:
    here = Path.cwd() / "questionnaires"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parent.parent / "questionnaires"


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a running app."""

    database_url: str = "sqlite:///ivr.db"
    redis_url: str | None = None
    secret_key: str = field(default="", repr=False)
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from_number: str = ""
    twilio_api_base_url: str | None = None
    public_base_url: str = "http://localhost:5000"
    questionnaires_dir: Path = field(default_factory=_default_questionnaires)
    production: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read settings from the environment; in production every required one must be set."""
        env = os.environ if environ is None else environ
        production = env.get("IVR_ENV", "development").lower() == "production"
        if production:
            missing = [name for name in REQUIRED_IN_PRODUCTION if not env.get(name)]
            if missing:
                raise ConfigError(
                    "missing required setting(s) for production: " + ", ".join(missing)
                )
        settings = cls(
            database_url=env.get("DATABASE_URL") or cls.database_url,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or "",
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", ""),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            twilio_from_number=env.get("TWILIO_FROM_NUMBER", ""),
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            public_base_url=env.get("PUBLIC_BASE_URL") or cls.public_base_url,
            questionnaires_dir=Path(env["IVR_QUESTIONNAIRES"])
            if env.get("IVR_QUESTIONNAIRES")
            else _default_questionnaires(),
            production=production,
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Reject malformed values with a message naming the setting."""
        if self.public_base_url.endswith("/"):
            raise ConfigError("PUBLIC_BASE_URL must not end with '/'")
        if not self.public_base_url.startswith(("http://", "https://")):
            raise ConfigError("PUBLIC_BASE_URL must start with http:// or https://")
        if self.production and not self.public_base_url.startswith("https://"):
            raise ConfigError("PUBLIC_BASE_URL must be https:// in production")
        if self.twilio_from_number:
            try:
                number = phonenumbers.parse(self.twilio_from_number, None)
            except phonenumbers.NumberParseException:
                number = None
            if number is None or not phonenumbers.is_valid_number(number) or (
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                != self.twilio_from_number
            ):
                raise ConfigError("TWILIO_FROM_NUMBER must be a valid number in E.164, "
                                  "e.g. +441134960999")
        if not self.questionnaires_dir.is_dir():
            raise ConfigError(f"IVR_QUESTIONNAIRES: no such directory {self.questionnaires_dir}")

    def but(self, **changes: object) -> Settings:
        """A copy with some settings changed (tests and the demo inject settings this way)."""
        return replace(self, **changes)  # type: ignore[arg-type]
