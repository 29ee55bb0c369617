"""Reading a message's content: fast-mail-parser first, the stdlib ``email`` as fallback.

Both readers return the same ``Content``. Neither decides what a mail *means*; they only
turn bytes into headers, bodies and attachment metadata, within the limits they are given.
"""

from __future__ import annotations

import email
import email.message
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from typing import Any

import fast_mail_parser

from mailroom.collector import headers as h
from mailroom.events import Attachment


class TooComplex(Exception):
    """The MIME tree is deeper or has more parts than the limits allow."""

    def __init__(self, flag: str) -> None:
        super().__init__(flag)
        self.flag = flag


class CharsetFallback(Exception):
    """fast-mail-parser met an unknown charset: the stdlib reader does better."""


@dataclass
class Content:
    headers: dict[str, list[str]]  # lower-case name -> raw values, in order
    subject: str = ""
    sender: tuple[str, str] | None = None  # (display name, addr-spec)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    reply_to: list[str] = field(default_factory=list)
    date: str | None = None
    text_plain: list[str] = field(default_factory=list)
    text_html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)


def _lower_headers(raw_headers: dict[str, list[str]]) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for name, values in raw_headers.items():
        merged.setdefault(name.strip().lower(), []).extend(values)
    return merged


def _addrs(values: list[str]) -> list[str]:
    return [addr for _name, addr in h.addresses(values)]


def _fill_addresses(content: Content) -> None:
    hdrs = content.headers
    senders = h.addresses(hdrs.get("from", [])[:1])
    content.sender = senders[0] if senders else None
    content.to = _addrs(hdrs.get("to", []))
    content.cc = _addrs(hdrs.get("cc", []))
    content.reply_to = _addrs(hdrs.get("reply-to", []))


def _py_addrs(items: list[fast_mail_parser.PyAddress]) -> list[tuple[str, str]]:
    found = []
    for item in items:
        addr = (item.address or "").strip().strip("<>").lower()
        if addr and "@" in addr:
            found.append((h.to_text(item.display_name or "").strip(), addr))
    return found


def _fill_fast_addresses(content: Content, mail: Any) -> None:
    """Addresses as fast-mail-parser read them; the stdlib reads a header it gave up on."""
    senders = _py_addrs([mail.from_] if mail.from_ is not None else [])
    lists = [_py_addrs(mail.to), _py_addrs(mail.cc), _py_addrs(mail.reply_to)]
    names = ["to", "cc", "reply-to"]
    if (not senders and content.headers.get("from")) or any(
            not found and content.headers.get(name) for found, name in zip(lists, names, strict=True)):
        _fill_addresses(content)
        return
    content.sender = senders[0] if senders else None
    content.to, content.cc, content.reply_to = ([a for _n, a in found] for found in lists)


def check_structure_fast(raw: bytes, max_depth: int, max_parts: int) -> None:
    """Raise ``TooComplex`` when the tree exceeds the limits (metadata parse, decodes nothing)."""
    root = fast_mail_parser.parse_email_tree(raw, mode="metadata")
    parts = 0
    stack = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        parts += 1
        if depth > max_depth:
            raise TooComplex("too_deep")
        if parts > max_parts:
            raise TooComplex("too_many_parts")
        stack.extend((child, depth + 1) for child in node.children)


def read_fast(raw: bytes, *, body: bool) -> Content:
    """fast-mail-parser; raises its ``ParseError`` (or a Rust panic) on what it cannot read."""
    if not body:
        meta = fast_mail_parser.parse_email(raw, mode="metadata")
        content = Content(headers=_lower_headers(meta.headers), subject=meta.subject)
        content.date = h.iso(meta.date_parsed)
        _fill_fast_addresses(content, meta)
        return content
    mail = fast_mail_parser.parse_email(raw, mode="lazy")
    content = Content(
        headers=_lower_headers(mail.headers), subject=mail.subject, date=h.iso(mail.date_parsed),
        text_plain=list(mail.text_plain), text_html=list(mail.text_html),
        attachments=[
            Attachment(name=a.filename, content_type=a.mimetype or "application/octet-stream",
                       size=a.encoded_size)
            for a in mail.attachments
        ],
    )
    if any(w.kind == "charset-fallback" for w in mail.warnings):
        # it decodes an unknown charset as ASCII; the stdlib reader decodes it as UTF-8
        raise CharsetFallback("unknown charset")
    _fill_fast_addresses(content, mail)
    return content


def _walk(msg: email.message.Message, max_depth: int, max_parts: int,
          ) -> Iterator[email.message.Message]:
    count = 0
    stack = [(msg, 0)]
    while stack:
        part, depth = stack.pop()
        count += 1
        if depth > max_depth:
            raise TooComplex("too_deep")
        if count > max_parts:
            raise TooComplex("too_many_parts")
        payload = part.get_payload()
        if part.is_multipart() and isinstance(payload, list):
            stack.extend((child, depth + 1) for child in reversed(payload)
                         if isinstance(child, email.message.Message))
        else:
            yield part


def _is_attachment(part: email.message.Message) -> bool:
    disposition = str(part.get("content-disposition", "")).lower()
    return disposition.startswith("attachment")


def _filename(part: email.message.Message) -> str:
    try:
        return h.decode_words(part.get_filename() or "")
    except Exception:
        return ""


def _charset(part: email.message.Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def read_stdlib(raw: bytes, *, body: bool, max_depth: int, max_parts: int) -> Content:
    """The stdlib parser: slower, but reads what fast-mail-parser refuses."""
    msg: email.message.Message
    try:
        msg = email.message_from_bytes(raw, policy=policy.default)
        items = list(msg.raw_items())
    except Exception:  # header parsing bugs on hostile input; compat32 parses lazily
        msg = email.message_from_bytes(raw, policy=policy.compat32)
        items = list(msg.raw_items())
    hdrs: dict[str, list[str]] = {}
    for name, value in items:
        hdrs.setdefault(str(name).strip().lower(), []).append(h.to_text(str(value)))
    content = Content(headers=hdrs, subject=h.decode_words(hdrs.get("subject", [""])[0]),
                      date=h.iso_date(hdrs.get("date", [])))
    _fill_addresses(content)
    if not body:
        return content
    for part in _walk(msg, max_depth, max_parts):
        ctype = part.get_content_type()
        if ctype.startswith("message/"):
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = str(part.get_payload()).encode("utf-8", "surrogateescape")
        if ctype.startswith("multipart/"):  # a broken boundary left the parts as text
            ctype = "text/plain"
        if ctype in ("text/plain", "text/html") and not _is_attachment(part):
            text, replaced = h.decode_bytes(data, _charset(part))
            if replaced:
                content.flags.add("charset_replaced")
            (content.text_plain if ctype == "text/plain" else content.text_html).append(text)
        else:
            content.attachments.append(Attachment(name=_filename(part), content_type=ctype,
                                                  size=len(data)))
    return content
