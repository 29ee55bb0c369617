"""A .eml file as a ``RawEmail``, for ``mailroom rules test``, training folders and replays.

The collector has its own hardened parser for mail from IMAP; this one serves the
processor's command-line tools with the standard library only, and never raises on a
broken message (what cannot be decoded is skipped).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import TypeVar

from mailroom import topics
from mailroom.autoreply import HEADERS_READ
from mailroom.events import Attachment, RawEmail

HEADERS_KEPT = ("x-spam-flag", "x-spam-status", "content-language", *HEADERS_READ)


def _text(part: Message) -> str:
    """Decode a text part: its declared charset, else UTF-8, else Latin-1 (never fails)."""
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, AssertionError, LookupError, TypeError):
        return ""
    if not isinstance(payload, bytes):
        return ""
    for charset in (_safe(part.get_content_charset, None), "utf-8"):
        if charset:
            try:
                return payload.decode(charset)
            except (LookupError, UnicodeDecodeError):
                continue
    return payload.decode("latin-1")


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
        return str(value).replace("\x00", "") if value is not None else ""
    except (ValueError, IndexError, LookupError, AttributeError, TypeError):
        return ""


_BROKEN = (ValueError, IndexError, LookupError, KeyError, AttributeError, TypeError, AssertionError)
T = TypeVar("T")


def _safe(read: Callable[[], T], default: T) -> T:
    """Run one accessor of a possibly broken message; a broken field reads as ``default``."""
    try:
        return read()
    except _BROKEN:
        return default


def parse_eml(data: bytes, *, account: str = "file", folder: str = "eml") -> RawEmail:
    """Parse a message into the event the processor classifies (never raises on bad mail)."""
    try:
        msg: Message = email.message_from_bytes(data, policy=email.policy.default)
    except _BROKEN:
        msg = email.message_from_bytes(data, policy=email.policy.compat32)
    message_id = _header(msg, "message-id").strip()
    headers: dict[str, list[str]] = {}
    no_names: list[str] = []
    for name in _safe(lambda: [str(k) for k in msg.keys()], no_names):  # noqa: SIM118 - a Message, not a dict
        lower = name.lower()
        if lower in HEADERS_KEPT or lower.startswith("list-"):
            headers.setdefault(lower, []).extend(_header_values(msg, name))
    text = html = ""
    attachments: list[Attachment] = []
    for part in _safe(lambda: list(msg.walk()), [msg]):
        if part.is_multipart():
            continue
        ctype = _safe(part.get_content_type, "text/plain")
        filename = _safe(part.get_filename, None)
        if filename or _safe(part.get_content_disposition, None) == "attachment":
            attachments.append(Attachment(name=str(filename or ""), content_type=ctype))
        elif ctype == "text/plain" and not text:
            text = _text(part)
        elif ctype == "text/html" and not html:
            html = _text(part)
    return_path = _header(msg, "return-path") if _safe(lambda: "return-path" in msg, False) else None
    language = _header(msg, "content-language").split(",")[0].strip()[:2].lower() or None
    from_name, from_addr = _safe(lambda: parseaddr(_header(msg, "from")), ("", ""))
    return RawEmail(
        mail_id=topics.mail_id(account, folder, message_id, data),
        account=account, folder=folder, message_id=message_id, subject=_header(msg, "subject"),
        from_addr=from_addr, from_name=from_name,
        to=_addresses(msg, "to"), cc=_addresses(msg, "cc"), reply_to=_addresses(msg, "reply-to"),
        return_path=return_path.strip() if return_path is not None else None,
        headers=headers, content_type=_safe(msg.get_content_type, "text/plain"), text=text,
        html=html, attachments=attachments, language=language, size=len(data),
    )


def _header_values(msg: Message, name: str) -> list[str]:
    try:
        return [str(v).replace("\x00", "") for v in msg.get_all(name, [])]
    except _BROKEN:
        return []


def _addresses(msg: Message, name: str) -> list[str]:
    try:
        return [a for _, a in getaddresses([_header(msg, name)]) if a]
    except _BROKEN:
        return []
