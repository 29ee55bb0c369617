"""No secret reaches a log line: every record is redacted as it is made.

Libraries log what they send and receive (aioimaplib logs a LOGIN command, password
included, when a server answers it oddly; an exception's text may carry a database URL).
``protect(settings)`` installs a log-record factory, so the redaction applies to every
logger and every handler, including ones added later: the configured secrets (IMAP, SMTP,
API tokens, session secret, the database password, mailbox-file passwords) are replaced
wherever they appear, and so is anything in the shape of a credential (IMAP ``LOGIN`` and
``AUTHENTICATE`` arguments, SMTP ``AUTH`` data, bearer and OAuth tokens, ``password=``
pairs, the password in a URL), whatever its value.
"""

from __future__ import annotations

import logging
import re
import threading
import traceback
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

from mailroom.settings import Settings

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words

_PATTERNS = [
    # IMAP LOGIN user password (quoted or atom), as aioimaplib prints its commands
    # (not our own "LOGIN refused for <user>")
    re.compile(r'(\bLOGIN\s+(?!refused\b)(?:"(?:[^"\\]|\\.)*"|\S+)\s+)("(?:[^"\\]|\\.)*"|\S+)'),
    # IMAP AUTHENTICATE <mechanism> <initial response>, SMTP AUTH <mechanism> <data>
    re.compile(r"(\b(?:AUTHENTICATE|AUTH)\s+[A-Z0-9_-]+\s+)([A-Za-z0-9+/=._-]{4,})"),
    re.compile(r"(\bBearer\s+)([A-Za-z0-9._~+/-]+=*)", re.IGNORECASE),
    re.compile(r"(\bauth=Bearer\s+)([^\s\x01]+)", re.IGNORECASE),
    # key=value and "key": "value" pairs whose key names a secret
    re.compile(r"""((?:access_token|refresh_token|id_token|client_secret|password|passwd|"""
               r"""secret|api_key|apikey|token)["']?\s*[:=]\s*["']?)([^"'&\s,;}]+)""",
               re.IGNORECASE),
    # the password of a URL: scheme://user:password@host
    re.compile(r"(://[^/\s:@]*:)([^@\s/]+)(?=@)"),
]


class Redactor:
    """Replaces known secret values and credential-shaped text in a string."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.lock = threading.Lock()

    def add(self, values: Iterable[str]) -> None:
        with self.lock:
            found = set(self.values) | {v for v in values if len(v) >= MIN_SECRET_LENGTH}
            # the longest first, so a secret containing another is masked whole
            self.values = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        return text


redact = Redactor()
_installed = False
_lock = threading.Lock()


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value the settings hold, and the passwords of the mailboxes file."""
    found = [v.get_secret_value() for v in settings.__dict__.values() if isinstance(v, SecretStr)]
    found += [t.strip() for t in settings.api_tokens.get_secret_value().split(",")]
    url = settings.database_url.get_secret_value()
    match = _PATTERNS[-1].search(url)
    if match:
        found.append(match.group(2))
    if settings.mailroom_mailboxes is not None:
        try:
            from mailroom.collector.mailboxes import load_accounts

            for account in load_accounts(settings):
                if account.password is not None:
                    found.append(account.password.get_secret_value())
        except Exception:  # noqa: S110 - start-up reports a bad mailboxes file itself
            pass
    return [v for v in found if v]


def _redacted_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it at emit time as before
        return record
    cleaned = redact(message)
    if cleaned != message or record.args:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        # format the traceback now, redacted; formatters use exc_text when it is set
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
    return record


def protect(settings: Settings | None = None) -> None:
    """Redact every log record made from now on (idempotent; adds the settings' secrets)."""
    global _installed
    if settings is not None:
        redact.add(secrets_of(settings))
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return _redacted_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
