"""Every setting mailroom reads, its environment name, default and validation.

Settings are built once (``Settings.load()``) at start-up and passed down; no other module
reads the environment. Secrets are ``SecretStr`` so they never print.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "password", "secret", "your-password"})
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# the intent model's confidence an automatic reply needs, unless CLASSIFIER_MIN_CONFIDENCE says
# otherwise (0.65 from the eleventh to the thirteenth rebuild, 0.6 before and since:
# docs/classification.md, "Sixteenth rebuild")
CLASSIFIER_MIN_CONFIDENCE = 0.6
# the spam model's P(spam) at or above which a nominated mail is not answered automatically
# (it goes to a person) though it is below the spam model's own threshold (which archives
# it as spam): the model is in doubt (docs/classification.md, "When mailroom answers")
AUTOREPLY_MAX_SPAM = 0.4
# how far below CLASSIFIER_MIN_CONFIDENCE the intent model's P(subscription) may be, whatever
# label it reads best, when the mail asks to be put on a list it names (cues.asks_to_join):
# the ask confirms the request (docs/classification.md, "When mailroom answers"); 0 turns it off
CLASSIFIER_ASK_MARGIN = 0.3


class AutoreplyMode(StrEnum):
    OFF = "off"
    SHADOW = "shadow"
    ON = "on"


class UncertainReplyPolicy(StrEnum):
    """What to do with a reply whose SMTP answer was lost after its DATA was sent."""

    REVIEW = "review"  # a person decides (no customer gets two replies)
    RESEND = "resend"  # send it again (no customer goes unanswered; maybe a duplicate)


class Security(StrEnum):
    SSL = "ssl"
    STARTTLS = "starttls"
    NONE = "none"


class ConfigError(Exception):
    """A setting is missing or invalid; start-up stops with this one-line message."""


class Settings(BaseSettings):
    """mailroom's configuration, from the environment and ``.env``."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # IMAP (single-account form; MAILROOM_MAILBOXES lists several)
    imap_server: str = ""
    imap_port: int = Field(993, ge=1, le=65535)
    imap_security: Security = Security.SSL
    imap_email: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_mailbox: str = "INBOX"
    mailroom_mailboxes: Path | None = None
    polling_interval: float = Field(60.0, gt=0)
    max_emails_per_batch: int = Field(500, ge=1, le=10_000)
    max_batch_bytes: int = Field(32 * 1024 * 1024, ge=1024)  # one FETCH's mails, at most
    max_email_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    imap_idle: bool = True
    imap_idle_renew_seconds: float = Field(24 * 60, gt=0, le=29 * 60)
    # mails collected and not yet settled (collected or awaiting a reply) at most: a backlog
    # waits in the mailbox, not in the broker (0: no bound); docs/collector.md
    collector_max_ahead: int = Field(2000, ge=0)

    # SMTP
    smtp_server: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Security = Security.STARTTLS
    smtp_email: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_pool_size: int = Field(8, ge=1, le=64)
    smtp_timeout: float = Field(30.0, gt=0)
    uncertain_reply_policy: UncertainReplyPolicy = UncertainReplyPolicy.REVIEW
    reply_from_name: str = "mailroom"
    # the relay's pace, shared by every responder through the store (0: unlimited);
    # docs/responder.md "Send pace"
    smtp_rate_per_second: float = Field(0.0, ge=0)
    smtp_rate_per_day: int = Field(0, ge=0)

    # Kafka
    kafka_bootstrap_servers: str = ""
    kafka_topic_partitions: int = Field(3, ge=1)
    kafka_replication_factor: int = Field(1, ge=1)
    kafka_session_timeout_ms: int = Field(6000, ge=1000)
    kafka_consumer_batch: int = Field(500, ge=1)
    kafka_group_prefix: str = "mailroom"
    embedded_broker_port: int = Field(9092, ge=0, le=65535)
    embedded_recycle_records: int = Field(50_000, ge=100)
    # ... or after so many bytes of raw_emails records, whichever comes first: the broker
    # holds about three times that (each mail's record, its routed copy with the composed
    # reply, its decision), so big mails recycle sooner than the count alone would
    embedded_recycle_bytes: int = Field(24 * 2**20, ge=2**16)
    # `mailroom up`: collector, processor and responder each in a child process (true) or
    # every service in one process (false); docs/deployment.md
    up_processes: bool = True

    # State store
    database_url: SecretStr = SecretStr("")  # its password must never print
    mailroom_data_dir: Path = Path(".mailroom")

    # Processing
    mailroom_rules: Path | None = None
    mailroom_model: Path | None = None
    mailroom_spam_model: Path | None = None  # default: the shipped spam model, if any
    classifier_min_confidence: float = Field(CLASSIFIER_MIN_CONFIDENCE, ge=0, le=1)
    classifier_ask_margin: float = Field(CLASSIFIER_ASK_MARGIN, ge=0, le=1)
    autoreply_max_spam: float = Field(AUTOREPLY_MAX_SPAM, ge=0, le=1)
    mailroom_templates: Path | None = None
    default_language: str = "en"
    autoreply_period: float = Field(86400.0, ge=0)
    # on: acknowledgements are sent; shadow: decided and recorded, nothing sent, the mailbox
    # opened read-only; off: every would-be acknowledgement goes to review
    autoreply_mode: AutoreplyMode = AutoreplyMode.ON
    reconcile_after_seconds: float = Field(30.0, gt=0)

    # API
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=0, le=65535)
    api_users: str = ""  # "alice:<pbkdf2 hash>,bob:<hash>"
    api_tokens: SecretStr = SecretStr("")  # comma-separated bearer tokens for automation
    api_open_metrics: bool = True
    api_open_health: bool = True
    api_session_secret: SecretStr = SecretStr("")
    api_stats_cache_seconds: float = Field(2.0, ge=0)  # /stats is read at most this often
    api_health_cache_seconds: float = Field(5.0, ge=0)  # /health's checks run at most this often
    api_max_body_bytes: int = Field(2 * 1024 * 1024, ge=1024)  # larger request bodies: 413
    api_cookie_secure: bool | None = None  # unset: Secure when the request came over https
    api_trusted_proxies: str = "127.0.0.1"  # whose X-Forwarded-Proto/-For uvicorn believes
    review_take_minutes: float = Field(30.0, gt=0)  # a reviewer's hold on a mail lapses after this
    review_bulk_max: int = Field(10_000, ge=1)  # mails one bulk action may touch
    dependency_probe_seconds: float = Field(30.0, gt=0)  # how often an idle responder tries SMTP

    mailroom_demo: bool = False
    log_level: str = "INFO"

    @field_validator("imap_security", "smtp_security", "autoreply_mode",
                     "uncertain_reply_policy", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("default_language", mode="before")
    @classmethod
    def _language_code(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        code = value.strip().lower().replace("_", "-")
        if not LANGUAGE_CODE.match(code):
            raise ValueError("must be a language code such as en, es or pt-br")
        return code

    @model_validator(mode="after")
    def _check_database_url(self) -> Settings:
        url = self.database_url.get_secret_value()
        if url and not url.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must start with sqlite:// or postgresql://")
        return self

    @model_validator(mode="after")
    def _check_ask_margin(self) -> Settings:
        # at or past the threshold itself the ask would answer with no evidence from the model
        if 0 < self.classifier_ask_margin >= self.classifier_min_confidence:
            raise ValueError("CLASSIFIER_ASK_MARGIN must be below CLASSIFIER_MIN_CONFIDENCE "
                             "(an ask only makes up for a model in doubt; 0 turns it off)")
        return self

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings or raise ``ConfigError`` with one line naming the bad setting."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None

    # derived values ---------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        """True when no external Kafka is configured and mailroom runs its own broker."""
        return not self.kafka_bootstrap_servers

    @property
    def store_url(self) -> str:
        if self.database_url.get_secret_value():
            return normalise_database_url(self.database_url.get_secret_value())
        return f"sqlite:///{(self.mailroom_data_dir / 'mailroom.db').resolve()}"

    def is_unset(self, name: str) -> bool:
        """True when the setting ``name`` is empty (a secret by its value)."""
        value = getattr(self, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        return value in ("", None)

    def require(self, *names: str) -> None:
        """Fail with a clear line when a service needs a setting that is empty."""
        for name in names:
            if self.is_unset(name):
                raise ConfigError(f"{name.upper()} is not set (needed by this service)")

    def missing_for(self, services: Sequence[str]) -> list[str]:
        """One line per setting the given services need and lack (all of them, not the first)."""
        needed: list[tuple[str, str]] = []
        if "collector" in services and self.mailroom_mailboxes is None:
            needed += [(n, "the collector reads mail with it (or set MAILROOM_MAILBOXES)")
                       for n in ("imap_server", "imap_email", "imap_password")]
        if "responder" in services:
            needed += [(n, "the responder sends replies with it")
                       for n in ("smtp_server", "smtp_email")]
        return [f"{name.upper()} is not set: {why}" for name, why in needed if self.is_unset(name)]

    def require_real_secret(self, name: str) -> None:
        """Outside demo mode a placeholder password is refused."""
        value = getattr(self, name)
        secret = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not self.mailroom_demo and secret.lower() in PLACEHOLDER_SECRETS:
            raise ConfigError(f"{name.upper()} is empty or a placeholder; set a real secret")


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def describe_validation_error(exc: ValidationError) -> str:
    """Every invalid setting, one line each, named by its environment variable."""
    lines = []
    for error in exc.errors():
        loc = error.get("loc") or ()
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        # the message never includes the input value, so passwords are never echoed
        lines.append(f"invalid setting {str(loc[0]).upper()}: {message}" if loc else message)
    return "\n".join(lines)
