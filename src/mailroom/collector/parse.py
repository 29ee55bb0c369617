"""From the bytes of one mail to a ``RawEmail`` event (pure: no I/O).

``parse_message`` either returns an event or raises ``UnparseableMail`` with a reason;
it never raises anything else, whatever the input. Mails over the limits (size, MIME
depth, part count) still become events, with headers only and a flag saying why, so
they go to a person instead of blocking the folder.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fast_mail_parser import MimeStructureError

from mailroom import topics
from mailroom.collector import headers as h
from mailroom.collector.html_text import text_or_html
from mailroom.collector.mime import Content, TooComplex, check_structure_fast, read_fast, read_stdlib
from mailroom.events import TEXT_FROM_HTML, RawEmail
from mailroom.language import detect_language
from mailroom.settings import Settings


class UnparseableMail(Exception):
    """This mail cannot become an event: it goes to ``dead_letter`` with the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ParseLimits:
    max_bytes: int = 25 * 1024 * 1024
    max_depth: int = 20
    max_parts: int = 500
    # an event must fit in one Kafka record (8 MiB): bodies are cut beyond this
    max_body_chars: int = 1_000_000
    max_header_chars: int = 2000
    max_attachments: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> ParseLimits:
        return cls(max_bytes=settings.max_email_bytes)


def _clean(raw: bytes) -> bytes:
    """Drop NUL bytes, leading blank lines and an mbox ``From `` line."""
    raw = raw.replace(b"\x00", b"")
    start = 0
    while start < len(raw):
        end = raw.find(b"\n", start)
        line = raw[start:] if end < 0 else raw[start:end]
        if line.strip() and not line.startswith(b"From "):
            break
        if end < 0:
            return b""
        start = end + 1
    return raw[start:]


def _read(raw: bytes, limits: ParseLimits, *, body: bool) -> Content:
    """fast-mail-parser, then the stdlib; ``UnparseableMail`` when both fail."""
    try:
        if body:
            check_structure_fast(raw, limits.max_depth, limits.max_parts)
        return read_fast(raw, body=body)
    except TooComplex:
        raise
    except BaseException as exc:  # pyo3 panics derive from BaseException
        if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
            raise
        if isinstance(exc, MimeStructureError) and "depth" in str(exc):
            raise TooComplex("too_deep") from None  # the stdlib would recurse just as deep
        fast_error = f"{type(exc).__name__}: {exc}"
    try:
        content = read_stdlib(raw, body=body, max_depth=limits.max_depth,
                              max_parts=limits.max_parts)
    except TooComplex:
        raise
    except Exception as exc:
        raise UnparseableMail(
            f"both parsers failed: fast-mail-parser {fast_error[:300]}; "
            f"email {type(exc).__name__}: {str(exc)[:300]}"
        ) from None
    content.flags.add("stdlib_fallback")
    return content


def _headers_only(raw: bytes) -> bytes:
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep)
        if at >= 0:
            return raw[: at + len(sep)]
    return raw


def _relevant_headers(content: Content, limit: int) -> dict[str, list[str]]:
    return {
        name: [h.unfold(h.to_text(v))[:limit] for v in values[: h.MAX_VALUES_PER_HEADER]]
        for name, values in content.headers.items()
        if h.is_relevant(name)
    }


def _cut(text: str, limit: int, flags: set[str]) -> str:
    text = text.replace("\x00", "")
    if len(text) > limit:
        flags.add("body_truncated")
        return text[:limit]
    return text


def parse_message(
    raw: bytes,
    *,
    account: str,
    folder: str,
    uid: int,
    uidvalidity: int,
    limits: ParseLimits,
    own_addresses: Iterable[str] = (),
    full_size: int | None = None,
) -> RawEmail:
    """Parse one mail into the event published to ``raw_emails``.

    ``full_size`` is set by the caller for a mail over ``limits.max_bytes``: ``raw`` then
    holds only its header section, and the event is flagged ``too_large``.
    """
    try:
        return _parse(raw, account=account, folder=folder, uid=uid, uidvalidity=uidvalidity,
                      limits=limits, own=own_addresses, full_size=full_size)
    except UnparseableMail:
        raise
    except RecursionError:
        raise UnparseableMail("message nested too deeply to read") from None
    except Exception as exc:  # the contract: one error type, with a reason
        raise UnparseableMail(f"unexpected {type(exc).__name__}: {str(exc)[:300]}") from None


def _parse(raw: bytes, *, account: str, folder: str, uid: int, uidvalidity: int,
           limits: ParseLimits, own: Iterable[str], full_size: int | None) -> RawEmail:
    size = full_size if full_size is not None else len(raw)
    data = _clean(raw)
    if not data.strip():
        raise UnparseableMail("empty message")
    flags: set[str] = set()
    if full_size is not None or len(data) > limits.max_bytes:
        flags.add("too_large")
        data = _headers_only(data)
    try:
        content = _read(data, limits, body="too_large" not in flags)
    except TooComplex as exc:
        flags.add(exc.flag)
        content = _read(_headers_only(data), limits, body=False)
    if not any(h.is_field_name(name) for name in content.headers):
        raise UnparseableMail("no header fields found")
    flags |= content.flags

    hdrs = content.headers
    message_id = h.message_id(hdrs.get("message-id", []))
    html = _cut("\n".join(content.text_html), limits.max_body_chars, flags)
    text, from_html = text_or_html(
        "\n\n".join(t.strip() for t in content.text_plain if t.strip()), html)
    text = _cut(text, limits.max_body_chars, flags)
    if from_html:
        flags.add(TEXT_FROM_HTML)
    subject = h.one_line(h.decode_words(content.subject))[: limits.max_header_chars]
    from_name, from_addr = content.sender or ("", "")
    from_name = h.one_line(from_name)
    if from_addr and from_addr in {a.lower() for a in own}:
        flags.add("from_own_address")
    in_reply_to = h.message_ids(hdrs.get("in-reply-to", [""])[0])
    content_type = h.to_text(hdrs.get("content-type", ["text/plain"])[0]).split(";")[0]
    return RawEmail(
        mail_id=topics.mail_id(account, folder, message_id, data),
        account=account,
        folder=folder,
        uid=uid,
        uidvalidity=uidvalidity,
        message_id=message_id,
        subject=subject,
        from_addr=from_addr[:512],
        from_name=from_name[: limits.max_header_chars],
        to=content.to[:500],
        cc=content.cc[:500],
        reply_to=content.reply_to[:50],
        return_path=h.return_path(hdrs.get("return-path", [])),
        date=content.date,
        in_reply_to=in_reply_to[0] if in_reply_to else "",
        references=[r for v in hdrs.get("references", []) for r in h.message_ids(v)][:200],
        headers=_relevant_headers(content, limits.max_header_chars),
        content_type=content_type.strip().lower()[:255] or "text/plain",
        text=text,
        html=html,
        attachments=content.attachments[: limits.max_attachments],
        language=detect_language(f"{subject}\n{text}"),
        size=size,
        flags=sorted(flags),
    )
