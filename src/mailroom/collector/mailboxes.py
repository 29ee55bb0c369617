"""The accounts and folders the collector watches.

From ``MAILROOM_MAILBOXES`` (a YAML file) when set, else from the single-account
settings (``IMAP_SERVER``, ``IMAP_EMAIL``, ...). A bad file stops start-up with one line
naming the file and the field. Example::

    accounts:
      - name: support
        server: imap.example.com
        port: 993                  # default: 993 for ssl, 143 otherwise
        security: ssl              # ssl | starttls | none
        user: support@example.com
        password: "..."            # or oauth2: {token_url, client_id, client_secret,
                                   #             refresh_token, scope}
        folders: [INBOX, Sales]
        post_action: seen          # none | seen | move:<folder>
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from mailroom.settings import ConfigError, Security, Settings
from mailroom.store.schema import NAME_CHARS


class OAuth2Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token_url: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr = SecretStr("")
    refresh_token: SecretStr
    scope: str = ""

    @field_validator("token_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


HEALTH_PREFIX = "imap:"  # what every watched folder's health component starts with


def health_component(account: str, folder: str) -> str:
    """A watched folder's name in the health reports (and its store row)."""
    return f"{HEALTH_PREFIX}{account}/{folder}"


def lease_name(account: str, folder: str) -> str:
    """The store lease that lets one collector at a time read a folder."""
    return f"collector:{account}/{folder}"


class Account(BaseModel):
    """One IMAP login and the folders watched with it (one connection per folder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    server: str = Field(min_length=1)
    port: int = Field(0, ge=0, le=65535)
    security: Security = Security.SSL
    user: str = Field(min_length=1)
    password: SecretStr | None = None
    oauth2: OAuth2Config | None = None
    folders: tuple[str, ...] = ("INBOX",)
    post_action: str = "none"

    @field_validator("security", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("folders")
    @classmethod
    def _folders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not f.strip() for f in value):
            raise ValueError("must list at least one non-empty folder name")
        if len(set(value)) != len(value):
            raise ValueError("lists a folder twice")
        return value

    @field_validator("post_action")
    @classmethod
    def _post_action(cls, value: str) -> str:
        if value in ("none", "seen") or (value.startswith("move:") and value[5:].strip()):
            return value
        raise ValueError("must be none, seen or move:<folder>")

    @model_validator(mode="after")
    def _complete(self) -> Account:
        if (self.password is None) == (self.oauth2 is None):
            raise ValueError("give exactly one of password or oauth2")
        if not self.name:
            object.__setattr__(self, "name", self.user)
        if not self.port:
            object.__setattr__(self, "port", 993 if self.security is Security.SSL else 143)
        longest = max(len(name(self.name, f)) for f in self.folders
                      for name in (health_component, lease_name))
        if longest > NAME_CHARS:  # the store keeps each folder's lease and health by these names
            raise ValueError(f"the account's name and a folder's name together are longer than "
                             f"the store's {NAME_CHARS - len(lease_name('', ''))} characters")
        return self

    @property
    def move_to(self) -> str | None:
        return self.post_action[5:].strip() if self.post_action.startswith("move:") else None


class _MailboxesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accounts: list[Account] = Field(min_length=1)


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_mailboxes(data: Any, source: str) -> list[Account]:
    """Validate the parsed YAML document; ``ConfigError`` names the file and the field."""
    try:
        accounts = _MailboxesFile.model_validate(data).accounts
    except ValidationError as exc:
        first = exc.errors()[0]
        # the message never includes the input value, so passwords are never echoed
        raise ConfigError(f"{source}: {_where(tuple(first['loc']))}: {first['msg']}") from None
    names = [a.name for a in accounts]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(f"{source}: accounts: the name {duplicate!r} is used twice")
    return accounts


def load_accounts(settings: Settings) -> list[Account]:
    """The watched accounts: the mailboxes file if given, else the single-account settings."""
    path: Path | None = settings.mailroom_mailboxes
    if path is not None:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"MAILROOM_MAILBOXES: cannot read {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{path}:{where} not valid YAML") from None
        return parse_mailboxes(data, str(path))
    settings.require("imap_server", "imap_email", "imap_password")
    try:
        return [Account(
            name=settings.imap_email, server=settings.imap_server, port=settings.imap_port,
            security=settings.imap_security, user=settings.imap_email,
            password=settings.imap_password, folders=(settings.imap_mailbox,),
        )]
    except ValidationError as exc:
        # the message never includes the input value, so the password is never echoed
        message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"IMAP_EMAIL and IMAP_MAILBOX: {message}") from None
