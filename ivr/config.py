"""Settings from the environment, validated once at start-up and injected everywhere."""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

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
    """``./questionnaires`` if the working folder has one (a force's own), else the ones
    shipped: the checkout's in a source install, the package's in an installed wheel."""
    for folder in (
        Path.cwd() / "questionnaires",
        Path(__file__).resolve().parent.parent / "questionnaires",
        Path(__file__).resolve().parent / "bundled_questionnaires",
    ):
        if folder.is_dir():
            return folder
    return Path.cwd() / "questionnaires"


_Num = TypeVar("_Num", int, float)


def _number(env: Mapping[str, str], name: str, default: _Num, kind: type[_Num]) -> _Num:
    text = env.get(name)
    if not text:
        return default
    try:
        return kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None


#: The bytes of a data key (AES-256), written as URL-safe base64: `ivr keys new` makes one.
DATA_KEY_BYTES = 32


def _check_data_key(name: str, text: str) -> None:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        key = b""
    if len(key) != DATA_KEY_BYTES:
        raise ConfigError(
            f"{name} must be {DATA_KEY_BYTES} random bytes in URL-safe base64 "
            "(`ivr keys new` prints one)"
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = (env.get(name) or "").strip().lower()
    if text in ("", "false", "no", "0", "off"):
        return False
    if text in ("true", "yes", "1", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, not {text!r}")


def _is_e164(text: str) -> bool:
    """Whether ``text`` is a valid phone number written exactly in E.164."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == text
    )


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a running app."""

    database_url: str = "sqlite:///ivr.db"
    redis_url: str | None = None
    secret_key: str = field(default="", repr=False)
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_from_number: str = ""
    #: Where a caller who presses 0 is put through to (E.164), inside calling hours while
    #: an interviewer is signed in; unset: every such caller is booked a call-back.
    handover_number: str = ""
    twilio_api_base_url: str | None = None
    public_base_url: str = "http://localhost:5000"
    questionnaires_dir: Path = field(default_factory=_default_questionnaires)
    production: bool = False
    #: Outbound calls started per second across every worker (Twilio's default is 1).
    calls_per_second: float = 1.0
    #: Outbound calls dialling, ringing or under way at once, across every worker.
    max_concurrent_calls: int = 30
    #: Who the information message says is calling, when a call cannot go on.
    organisation_name: str = "the police victim satisfaction team"
    #: Working days within which a referral's first contact is due.
    referral_due_working_days: int = 2
    #: Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust (0: none).
    #: Without it, behind a proxy every user has the proxy's address, and so shares one
    #: sign-in limit.
    proxy_count: int = 0
    #: Where notification emails go out; without it, notifications are only logged.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "ivr@localhost"
    #: Ask Twilio to transcribe recorded answers; its callback keeps the text beside them.
    transcribe: bool = False
    #: Results: a figure on a base under this is held back in anything that can leave the
    #: building (a victim could be identified from it).
    results_suppress_below: int = 10
    #: Results: a figure on a base under this is shown, marked "low base".
    results_low_base_below: int = 30
    #: Results: points by which a group's share of interviews may fall short of its share
    #: of the eligible sample before the report names it as under-represented.
    results_representation_margin: float = 5.0
    #: Days the audit trail is kept (``ivr retention run`` deletes older entries).
    audit_retention_days: int = 2190
    #: Staff sessions: minutes without a request after which a session is signed out.
    session_idle_minutes: int = 30
    #: Staff sessions: hours after signing in after which a session is signed out, busy or not.
    session_max_hours: int = 12
    #: The key personal data is sealed with at rest; empty: stored in clear (demo, tests).
    data_key: str = field(default="", repr=False)
    #: Older keys, only to open what they sealed until `ivr keys rotate` reseals it.
    data_keys_previous: tuple[str, ...] = field(default=(), repr=False)
    #: Administrators and supervisors must sign in with a second factor (a TOTP app).
    require_2fa: bool = False

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
            handover_number=(env.get("HANDOVER_NUMBER") or "").strip(),
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            public_base_url=env.get("PUBLIC_BASE_URL") or cls.public_base_url,
            questionnaires_dir=Path(env["IVR_QUESTIONNAIRES"])
            if env.get("IVR_QUESTIONNAIRES")
            else _default_questionnaires(),
            production=production,
            calls_per_second=_number(env, "CALLS_PER_SECOND", cls.calls_per_second, float),
            max_concurrent_calls=_number(
                env, "MAX_CONCURRENT_CALLS", cls.max_concurrent_calls, int
            ),
            organisation_name=env.get("ORGANISATION_NAME") or cls.organisation_name,
            referral_due_working_days=_number(
                env, "REFERRAL_DUE_WORKING_DAYS", cls.referral_due_working_days, int
            ),
            proxy_count=_number(env, "PROXY_COUNT", cls.proxy_count, int),
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_number(env, "SMTP_PORT", cls.smtp_port, int),
            smtp_from=env.get("SMTP_FROM") or cls.smtp_from,
            transcribe=_flag(env, "TRANSCRIBE"),
            results_suppress_below=_number(
                env, "RESULTS_SUPPRESS_BELOW", cls.results_suppress_below, int
            ),
            results_low_base_below=_number(
                env, "RESULTS_LOW_BASE_BELOW", cls.results_low_base_below, int
            ),
            results_representation_margin=_number(
                env, "RESULTS_REPRESENTATION_MARGIN", cls.results_representation_margin, float
            ),
            audit_retention_days=_number(
                env, "AUDIT_RETENTION_DAYS", cls.audit_retention_days, int
            ),
            session_idle_minutes=_number(
                env, "SESSION_IDLE_MINUTES", cls.session_idle_minutes, int
            ),
            session_max_hours=_number(env, "SESSION_MAX_HOURS", cls.session_max_hours, int),
            data_key=(env.get("IVR_DATA_KEY") or "").strip(),
            data_keys_previous=tuple(
                k.strip() for k in (env.get("IVR_DATA_KEY_PREVIOUS") or "").split(",") if k.strip()
            ),
            require_2fa=_flag(env, "REQUIRE_2FA"),
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
        for name, number in (
            ("TWILIO_FROM_NUMBER", self.twilio_from_number),
            ("HANDOVER_NUMBER", self.handover_number),
        ):
            if number and not _is_e164(number):
                raise ConfigError(f"{name} must be a valid number in E.164, e.g. +441134960999")
        if self.calls_per_second <= 0:
            raise ConfigError("CALLS_PER_SECOND must be more than 0")
        if not 0 <= self.proxy_count <= 5:
            raise ConfigError("PROXY_COUNT must be between 0 and 5")
        if self.referral_due_working_days < 1:
            raise ConfigError("REFERRAL_DUE_WORKING_DAYS must be at least 1")
        if not 0 < self.smtp_port < 65536:
            raise ConfigError("SMTP_PORT must be between 1 and 65535")
        if "@" not in self.smtp_from:
            raise ConfigError("SMTP_FROM must be an email address")
        if self.max_concurrent_calls < 1:
            raise ConfigError("MAX_CONCURRENT_CALLS must be at least 1")
        if self.results_suppress_below < 1:
            raise ConfigError("RESULTS_SUPPRESS_BELOW must be at least 1")
        if self.results_low_base_below < self.results_suppress_below:
            raise ConfigError(
                "RESULTS_LOW_BASE_BELOW must be at least RESULTS_SUPPRESS_BELOW "
                f"({self.results_suppress_below})"
            )
        if not 0 <= self.results_representation_margin <= 100:
            raise ConfigError("RESULTS_REPRESENTATION_MARGIN must be between 0 and 100 points")
        if self.audit_retention_days < 1:
            raise ConfigError("AUDIT_RETENTION_DAYS must be at least 1")
        if not 1 <= self.session_max_hours <= 168:
            # A week at most: the sign-ins kept to know an account's usual addresses are
            # kept for 30 days, and a session outliving them could not be checked.
            raise ConfigError("SESSION_MAX_HOURS must be between 1 and 168 (a week)")
        if not 1 <= self.session_idle_minutes <= self.session_max_hours * 60:
            raise ConfigError(
                "SESSION_IDLE_MINUTES must be at least 1 and at most SESSION_MAX_HOURS "
                f"({self.session_max_hours}) in minutes"
            )
        if self.data_key:
            _check_data_key("IVR_DATA_KEY", self.data_key)
        for key in self.data_keys_previous:
            _check_data_key("IVR_DATA_KEY_PREVIOUS", key)
        if not self.questionnaires_dir.is_dir():
            raise ConfigError(f"IVR_QUESTIONNAIRES: no such directory {self.questionnaires_dir}")

    def but(self, **changes: object) -> Settings:
        """A copy with some settings changed (tests and the demo inject settings this way)."""
        return replace(self, **changes)  # type: ignore[arg-type]
