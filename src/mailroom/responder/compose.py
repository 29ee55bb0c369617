"""Building a reply: pure, from an event and a decision to its checked values
(``reply_fields``), then to an ``EmailMessage`` (``reply_message``) or straight to the bytes
SMTP sends (``reply_bytes``, the same bytes without building the message).

Every header is made by the stdlib's header classes and folded by its policy; only a
per-reply value that is ASCII, one short line and free of encoded words is written as
``Name: value``, which is what that folding gives, and a per-reply Subject, In-Reply-To,
References or To of the shapes ``mailroom.responder.folding`` follows is folded there,
from its text, as the stdlib folds it (``test_compose`` checks every byte against
``policy.SMTP``). Any value
that would carry a control character into a header is refused with ``ComposeRefused``
(the message goes to ``dead_letter``). Only the subject is repaired instead of refused:
it is the one header whose content we rewrite anyway (``Re:``), and a mail with a strange
subject still deserves its reply.

A reply goes to exactly one address, ``mailroom.autoreply.reply_target``'s. Text the
sender chose (subject, display name) reaches the reply only through ``echo_safe``: capped,
and without anything a reader could follow (URLs, domains, addresses, phone numbers), so
nobody can have us mail their link to someone else (docs/responder.md, "Echoed text").
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import re
import secrets
import sys
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from email.errors import HeaderParseError
from email.headerregistry import (
    Address,
    BaseHeader,
    Group,
    HeaderRegistry,
    MessageIDHeader,
    UniqueAddressHeader,
    UniqueUnstructuredHeader,
    UnstructuredHeader,
)
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses
from typing import TYPE_CHECKING, Any, TypeVar, cast

from jinja2 import TemplateError

from mailroom.autoreply import Refusal, own_addresses, reply_target
from mailroom.errors import DeadLetterError
from mailroom.events import ComposedReply, Decision, RawEmail, as_utc, utcnow
from mailroom.responder.folding import fold_mailbox, fold_unstructured
from mailroom.responder.templates import Templates

if TYPE_CHECKING:
    from mailroom.settings import Settings

MANUAL_TEMPLATE = "manual"
SUBJECT_MAX_BYTES = 200
MAX_REFERENCES = 20
# sender-chosen text echoed into a reply: enough for a real subject or name, too little
# for a message of its own
SUBJECT_ECHO_CHARS = 80
NAME_ECHO_CHARS = 40
MAX_MSG_ID_CHARS = 250  # a longer id could not be folded into a 998-byte header line
MAX_ADDRESS_CHARS = 254  # RFC 5321's path limit, less the angle brackets
# C0, DEL, C1 and the Unicode line/paragraph separators: all can end a header line somewhere
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_RE_PREFIX = re.compile(r"^\s*re\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.IGNORECASE)
_MSG_ID = re.compile(rf"^<[^<>\s]{{1,{MAX_MSG_ID_CHARS - 2}}}>$")
# what a reader (or a mail client's linkifier) could follow: URLs, www., addresses, domains
# (also written with [.], (dot) or an ideographic full stop), and phone-like digit runs
_DOT = r"(?:\.|\s*[\[({]\s*(?:\.|dot)\s*[\])}]\s*|[\u3002\uff0e\uff61])"
# each alternative starts only where its run starts (the look-behinds), so a long word is
# scanned once, not once per character
_FOLLOWABLE = re.compile(
    r"(?<![a-z0-9+.-])(?:[a-z][a-z0-9+.-]*://|(?:mailto|tel|sms|callto|data|javascript|file):)\S*"
    r"|(?<!\S)[^\s@]*@\S+"  # an address
    rf"|(?<![\w.-])(?:[\w-]+{_DOT})+(?:[^\W\d_]{{2,}}|xn--[\w-]+)\b\S*"  # a domain
    r"|(?<![\d+])\+?\d(?:[\s().-]*\d){6,}",  # a phone number
    re.IGNORECASE)
# what each of those needs to match at all: a ":" (URLs), an "@" (addresses), a dot or
# bracket (domains, _DOT) or seven digits (phone numbers); text with none of them, most
# subjects and names, is not scanned for them
_MAY_FOLLOW = re.compile(r"[:@.\[({\u3002\uff0e\uff61]")
_SEVEN_DIGITS = re.compile(r"(?:\D*+\d){7}")
_T = TypeVar("_T")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_NEWLINE = re.compile(r"\r\n|\r|\n")  # the generator's NLCRE


# headers whose value is new in every reply: parsing or folding them once is all they need
_PER_REPLY = frozenset({"to", "subject", "message-id", "in-reply-to", "references"})
_MEMO_SIZE = 512


class _Memo:
    """A bounded memo (emptied when full): a header value seen again is not parsed again."""

    def __init__(self, size: int = _MEMO_SIZE) -> None:
        self.size = size
        self.data: dict[Hashable, Any] = {}

    def get(self, key: Hashable, make: Callable[[], _T]) -> _T:
        try:
            return cast(_T, self.data[key])
        except KeyError:
            pass
        value = make()
        if len(self.data) >= self.size:
            self.data.clear()
        self.data[key] = value
        return value


class _CachedHeaderRegistry(HeaderRegistry):
    """Header objects made once per class and, for values that repeat, once per value.

    The stdlib builds a new header class on every lookup and parses every value it is
    given; most of a reply's headers (From, Date within a second, the MIME headers,
    Auto-Submitted) are the same in every reply. Header objects are immutable, so one
    object can sit in many messages.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._values = _Memo()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is not str or name.lower() in _PER_REPLY:
            return super().__call__(name, value)
        make = super().__call__
        return self._values.get((name, value), lambda: make(name, value))


class _LazyTree:
    """A header whose parse tree is made only when the stdlib's folding asks for it.

    The reply's To (set from an ``Address``) and Message-ID (``reply_message_id``'s plain
    ``<id@domain>``) are new in every reply, and parsing them was a third of composing
    (py-spy, ``python -m benchmarks.responder``). Nothing else reads their tree: the
    reply policy writes such a header as ``Name: value`` when it fits on one line, or
    folds it from its text (``mailroom.responder.folding``) when it has a shape that
    module follows, and for anything else the tree is made here, from the same text the
    stdlib would parse, so the stdlib's own folding (``policy.SMTP``, the byte-for-byte
    test) sees the tree it would have made.
    """

    _tree: Any = None
    # the tree is (or will be) parsed from str(self): what folding from the text assumes
    _from_text = False

    @property
    def _parse_tree(self) -> Any:
        if self._tree is None:
            self._tree = self.value_parser(str(self))  # type: ignore[attr-defined]
        return self._tree

    @_parse_tree.setter
    def _parse_tree(self, tree: Any) -> None:
        self._tree = tree
        self._from_text = tree is None


class _ReplyToHeader(_LazyTree, UniqueAddressHeader):
    """To set from one ``Address``: its group and text need no parsing (the stdlib makes
    them the same way from the object, and gives no defects in that case)."""

    @classmethod
    def parse(cls, value: Any, kwds: dict[str, Any]) -> None:
        if isinstance(value, Address):
            groups = [Group(None, [value])]
            decoded = ", ".join([str(item) for item in groups])
            if _encodable(decoded):  # (else the stdlib sanitises it: parsed as usual)
                kwds.update(groups=groups, defects=[], decoded=decoded, parse_tree=None)
                return
        super().parse(value, kwds)


def _encodable(text: str) -> bool:
    """No lone surrogates (the stdlib's ``_has_surrogates``, negated)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# what reply_message_id writes: a dot-atom on each side, which parses without a defect and
# prints back as itself (test_compose checks both against the stdlib's parse)
SIMPLE_MSG_ID = re.compile(r"<[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*>")


class _ReplyMessageIDHeader(_LazyTree, MessageIDHeader):
    @classmethod
    def parse(cls, value: Any, kwds: dict[str, Any]) -> None:
        if isinstance(value, str) and SIMPLE_MSG_ID.fullmatch(value):
            kwds.update(decoded=value, parse_tree=None)
            return
        super().parse(value, kwds)


class _ReplyUnstructuredHeader(_LazyTree, UnstructuredHeader):
    """In-Reply-To, References (message ids we checked) and Subject: text without an
    encoded word decodes to itself (the parser splits it into its words and blanks, as
    they are), so only its folding may need the tree. (Text with a lone surrogate is
    parsed: the stdlib decodes it sanitised.)"""

    @classmethod
    def parse(cls, value: Any, kwds: dict[str, Any]) -> None:
        if isinstance(value, str) and "=?" not in value and _encodable(value):
            kwds.update(decoded=value, parse_tree=None)
            return
        super().parse(value, kwds)


class _ReplySubjectHeader(_ReplyUnstructuredHeader, UniqueUnstructuredHeader):
    pass


_FOLDED = _Memo()


class _ReplyPolicy(EmailPolicy):
    """``policy.SMTP`` with three shortcuts to folding, all giving the stdlib's bytes.

    A header value that repeats from reply to reply is folded once and then comes from
    memory; one that is new in every reply, if it is ASCII and fits on one line, folds to
    ``Name: value`` (what the stdlib's refolding does in that case, after a walk over the
    whole parse tree), and otherwise, if its tree is the parse of its text and that text
    has a shape ``mailroom.responder.folding`` follows (a Subject in Spanish, a long
    References, a To whose name is not ASCII), is folded there from the text.
    ``test_compose`` checks the output byte for byte against ``policy.SMTP``.
    """

    def fold_binary(self, name: str, value: Any) -> bytes:
        fold = super().fold_binary
        if name.lower() not in _PER_REPLY:
            key = (type(value), name, str(value), self.linesep, self.max_line_length, self.utf8,
                   self.cte_type)
            return _FOLDED.get(key, lambda: fold(name, value))
        # a header object: fold() reads its tree, whose text a lazy one has as its value
        tree = value if isinstance(value, _LazyTree) else getattr(value, "_parse_tree", None)
        if tree:
            text = str(tree)
            if text.isascii() and "\r" not in text and "\n" not in text and \
                    len(value.name) + 2 + len(text) <= (self.max_line_length or sys.maxsize):
                return f"{value.name}: {text}{self.linesep}".encode("ascii")
        if isinstance(value, _LazyTree) and value._from_text:
            folded = _fold_from_text(value, self)
            if folded is not None:
                return folded
        return fold(name, value)


def _fold_from_text(header: _LazyTree, policy: EmailPolicy) -> bytes | None:
    """The header folded by ``mailroom.responder.folding`` from its text (its tree is the
    parse of that text), or ``None`` where that module leaves it to the stdlib."""
    name = cast(BaseHeader, header).name
    if isinstance(header, _ReplyUnstructuredHeader):
        return fold_unstructured(name, str(header), policy)
    if isinstance(header, _ReplyToHeader):
        groups = header.groups
        if len(groups) == 1 and groups[0].display_name is None and len(groups[0].addresses) == 1:
            mailbox = groups[0].addresses[0]
            # (the text the tree is parsed from: an unquoted name and its address)
            if str(header) == f"{mailbox.display_name} <{mailbox.addr_spec}>":
                return fold_mailbox(name, mailbox.display_name, mailbox.addr_spec, policy)
    return None


_HEADERS = _CachedHeaderRegistry()
# (the registry adds BaseHeader as a base when it makes the class: not a subclass yet)
_HEADERS.map_to_type("to", _ReplyToHeader)  # type: ignore[arg-type]
_HEADERS.map_to_type("message-id", _ReplyMessageIDHeader)  # type: ignore[arg-type]
_HEADERS.map_to_type("in-reply-to", _ReplyUnstructuredHeader)  # type: ignore[arg-type]
_HEADERS.map_to_type("references", _ReplyUnstructuredHeader)  # type: ignore[arg-type]
_HEADERS.map_to_type("subject", _ReplySubjectHeader)  # type: ignore[arg-type]
REPLY_POLICY = _ReplyPolicy(linesep="\r\n", header_factory=_HEADERS)
REPLY_POLICY_UTF8 = REPLY_POLICY.clone(utf8=True)  # for internationalised addresses (SMTPUTF8)
# the alternatives' boundary: "=_" never occurs in quoted-printable text, and both parts are
# always quoted-printable, so no body can contain it (RFC 2045, section 6.7)
BOUNDARY = f"=_mailroom_{secrets.token_hex(12)}"


class ComposeRefused(DeadLetterError):
    """The reply cannot be built safely (a header value would carry a control character)."""


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut ``text`` to at most ``max_bytes`` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def clean_subject(original: str, max_bytes: int = SUBJECT_MAX_BYTES) -> str:
    """The original subject without ``Re:`` prefixes, control characters as spaces, bounded."""
    text = " ".join(_CONTROL.sub(" ", original).split())
    while (match := _RE_PREFIX.match(text)) is not None:
        text = text[match.end():]
    return truncate_utf8(text, max_bytes).strip()


def echo_safe(text: str, max_chars: int) -> str:
    """Sender-chosen text fit to echo: nothing to follow (each such run becomes "…"),
    one line, at most ``max_chars`` characters (cut at a word, marked "…")."""
    # what is cut anyway is not scanned (the longest echo is a few dozen characters)
    text = " ".join(_CONTROL.sub(" ", text[:max_chars * 8]).split())
    if _MAY_FOLLOW.search(text) or _SEVEN_DIGITS.match(text):
        text = " ".join(_FOLLOWABLE.sub("…", text).split())
    if len(text) > max_chars:
        cut = text[:max_chars - 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > max_chars // 2 else cut).rstrip() + "…"
    # what is left of a line made only of removed runs says nothing
    return "" if not text.replace("…", "").strip(" .,;:-") else text


def reply_subject(original: str, max_bytes: int = SUBJECT_MAX_BYTES) -> str:
    """``Re: <original>``, never ``Re: Re:``; the original made ``echo_safe``."""
    text = echo_safe(clean_subject(original, max_bytes), SUBJECT_ECHO_CHARS)
    return f"Re: {text}" if text else "Re:"


def reply_key(decision: Decision) -> str:
    """The reply's identity per mail: the template, or ``manual-<hash>`` for a person's text.

    A reviewer's second, different answer to the same mail is a new reply; the same answer
    delivered twice is the same reply.
    """
    if decision.reply_body is not None:
        digest = hashlib.sha256(decision.reply_body.encode("utf-8", "replace")).hexdigest()
        return f"{MANUAL_TEMPLATE}-{digest[:12]}"
    return decision.template or decision.category


def _clean(value: str, what: str) -> str:
    if _CONTROL.search(value):
        raise ComposeRefused(f"{what} contains a control character (header injection refused)")
    return value.strip()


def _address(value: str, what: str, display_name: str = "") -> Address:
    value = _clean(value, what)
    if len(value) > MAX_ADDRESS_CHARS:
        raise ComposeRefused(f"{what} is longer than {MAX_ADDRESS_CHARS} characters")
    # a plain dot-atom address (nearly all of them) is what getaddresses would return
    found = [value] if _PLAIN_ADDRESS.fullmatch(value) else \
        [addr for _name, addr in getaddresses([value]) if addr]
    if len(found) != 1 or found[0].count("@") != 1 or not all(found[0].split("@")):
        raise ComposeRefused(f"{what} is not one valid address: {value[:80]!r}")
    try:
        name = _clean(display_name, f"{what} name")
        if found[0] is value:  # a plain dot-atom: its parts need no parser (the same Address)
            local, domain = value.split("@")
            return Address(display_name=name, username=local, domain=domain)
        return Address(display_name=name, addr_spec=found[0])
    except (ValueError, HeaderParseError) as exc:
        raise ComposeRefused(f"{what} is not a valid address: {exc}") from None


@functools.lru_cache(maxsize=16)
def _our_address(addr: str, name: str) -> Address:
    """Our own From, checked and parsed once (it is the same in every reply)."""
    return _address(addr, "our From", name)


def _msg_id(value: str, what: str) -> str | None:
    """A ``<id>``; a missing or malformed id is dropped, a control character refused."""
    value = _clean(value, what)
    if value and not value.startswith("<"):
        value = f"<{value}>"
    return value if _MSG_ID.match(value) else None


def reply_message_id(email: RawEmail, key: str, from_addr: Address) -> str:
    """Deterministic: a resend after a crash carries the same Message-ID."""
    origin = email.message_id.strip() or f"mail:{email.mail_id}"
    digest = hashlib.sha256(f"{origin}\x00{key}".encode("utf-8", "replace")).hexdigest()
    return f"<{digest[:32]}.reply@{from_addr.domain}>"


def recipient(email: RawEmail, own_addresses: Collection[str] = ()) -> Address:
    """The one address the reply goes to (``reply_target``), its name made ``echo_safe``.

    A refused target (several Reply-To, a system or own address) is ``ComposeRefused``:
    the responder checks it before composing, so this is the last line, never a fallback.
    """
    target = reply_target(email, own_addresses)
    if isinstance(target, Refusal):
        raise ComposeRefused(f"no reply address ({target.code}): {target.detail}")
    return _address(target.address, "Reply-To" if email.reply_to else "From",
                    echo_safe(target.name, NAME_ECHO_CHARS))


@dataclass(frozen=True)
class ReplyFields:
    """Every value of a reply, checked, before it becomes a message (``reply_fields``)."""

    sender: Address
    to: Address
    subject: str
    date: str
    message_id: str
    in_reply_to: str | None
    references: str | None
    language: str
    text: str
    html: str


def reply_fields(
    email: RawEmail,
    decision: Decision,
    *,
    templates: Templates,
    from_addr: str,
    from_name: str,
    default_language: str,
    own_addresses: Collection[str] = (),
    now: datetime | None = None,
) -> ReplyFields:
    """The reply to ``email`` as ``decision`` says; raises ``ComposeRefused`` if unsafe."""
    sender = _our_address(from_addr, from_name)
    to = recipient(email, own_addresses)
    subject = reply_subject(email.subject)  # "Re: " and the original made echo_safe once
    key = reply_key(decision)
    wanted = MANUAL_TEMPLATE if decision.reply_body is not None else key
    if wanted == MANUAL_TEMPLATE and not (decision.reply_body or "").strip():
        raise ComposeRefused("a manual reply without its text (reply_body is empty)")
    try:
        found = templates.find(wanted, decision.language or email.language, default_language)
        language = found.language
        text, html = found.render({
            "sender_name": to.display_name,
            "sender_address": to.addr_spec,
            "subject": subject.removeprefix("Re:").lstrip(),
            "category": decision.category,
            "organisation": from_name,
            "reply_body": decision.reply_body or "",
            "language": language,
        })
    except (LookupError, TemplateError) as exc:
        raise ComposeRefused(f"template {wanted!r}: {exc}") from None

    original = _msg_id(email.message_id, "Message-ID")
    references = [r for r in (_msg_id(v, "References") for v in email.references) if r]
    if original:
        references = [r for r in references if r != original] + [original]
    return ReplyFields(
        sender=sender, to=to, subject=subject, date=_date(now or utcnow()),
        message_id=reply_message_id(email, key, sender), in_reply_to=original,
        references=" ".join(references[-MAX_REFERENCES:]) if references else None,
        language=language, text=text, html=html)


def _date(moment: datetime) -> str:
    """``format_datetime(moment)``, which shows whole seconds: every reply composed in the same
    second (wall time, zone and offset) has the same ``Date``, formatted once."""
    return _format_date(moment.replace(microsecond=0), moment.tzinfo, moment.utcoffset())


@functools.lru_cache(maxsize=4)
def _format_date(moment: datetime, _zone: tzinfo | None, _offset: timedelta | None) -> str:
    # (the zone and offset are in the key: datetimes of the same instant compare equal)
    return format_datetime(moment)


def reply_message(fields: ReplyFields) -> EmailMessage:
    """The reply as an ``EmailMessage``, every header set through the reply policy."""
    msg = EmailMessage(policy=REPLY_POLICY)
    for name, value in _top_headers(fields):
        msg[name] = value
    msg.add_header("Content-Type", "multipart/alternative", boundary=BOUNDARY)
    msg["Content-Language"] = fields.language
    msg.attach(_text_part("plain", fields.text))
    msg.attach(_text_part("html", fields.html))
    return msg


def _top_headers(fields: ReplyFields) -> list[tuple[str, Any]]:
    """The reply's headers before its MIME structure, in order."""
    return [*_reply_headers(fields), *_FIXED_HEADERS]


def _reply_headers(fields: ReplyFields) -> list[tuple[str, Any]]:
    """The first of the reply's headers: those that name this reply."""
    sender = fields.sender
    headers: list[tuple[str, Any]] = [
        # a string repeats from reply to reply: parsed once
        ("From", _address_text(sender.display_name, sender.username, sender.domain)),
        ("To", fields.to),
        ("Subject", fields.subject),
        ("Date", fields.date),
        ("Message-ID", fields.message_id),
    ]
    if fields.in_reply_to:
        headers.append(("In-Reply-To", fields.in_reply_to))
    if fields.references:
        headers.append(("References", fields.references))
    return headers


# the headers after those, the same in every reply
_FIXED_HEADERS: tuple[tuple[str, str], ...] = (
    ("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"), ("MIME-Version", "1.0"))


@functools.lru_cache(maxsize=16)
def _address_text(display_name: str, username: str, domain: str) -> str:
    """``str(Address)``, which reads only these three (our From: the same in every reply)."""
    return str(Address(display_name=display_name, username=username, domain=domain))


# a display name of atoms (no character that needs quoting) and a dot-atom address: what
# Address prints as it is
_PLAIN_NAME = re.compile(rf"(?:{_ATOM}(?: {_ATOM})*)?")


def reply_bytes(fields: ReplyFields) -> bytes:
    """``serialise(reply_message(fields))``, written without building the message.

    Each header is the stdlib's: made by the reply policy's header registry and folded by
    it, remembered for values that repeat (From, the MIME headers, the language); a
    per-reply header whose value is ASCII, one short line and free of encoded words is
    written as ``Name: value``, which is what folding it gives, and one of a shape
    ``mailroom.responder.folding`` follows is folded there from its text, without making
    the header. ``test_compose`` checks the bytes against ``serialise`` and against
    ``policy.SMTP``'s own flattening.
    """
    to = fields.to
    to_spec = to.addr_spec  # (a property that quotes anew on every read)
    utf8 = not to_spec.isascii()
    policy = REPLY_POLICY_UTF8 if utf8 else REPLY_POLICY
    lines: list[bytes] = []
    for name, value in _reply_headers(fields):
        if name == "To":
            plain = not utf8 and _PLAIN_ADDRESS.fullmatch(to_spec) is not None \
                and _PLAIN_NAME.fullmatch(to.display_name) is not None
            # str(to): a name of atoms is not quoted
            text = (f"{to.display_name} <{to_spec}>" if to.display_name else to_spec) \
                if plain else ""
        else:
            text = value if name in _DIRECT else ""
        if text and text.isascii() and "=?" not in text and len(name) + 2 + len(text) <= 78:
            lines.append(f"{name}: {text}\r\n".encode("ascii"))
        elif isinstance(value, str):
            lines.append(_folded_line(name, value, utf8))
        else:
            # the To: what the header made from the Address folds to, when the folding
            # module follows it (a name it takes is unquoted: str(to) is "name <address>")
            folded = fold_mailbox(name, to.display_name, to_spec, policy)
            lines.append(folded or
                         policy.fold_binary(name, REPLY_POLICY.header_store_parse(name, value)[1]))
    return b"".join([
        *lines, _up_to_the_text(fields.language, utf8), _qp_crlf(fields.text),
        _between_the_parts(utf8), _qp_crlf(fields.html),
        f"\r\n--{BOUNDARY}--\r\n".encode("ascii"),
    ])


@functools.lru_cache(maxsize=64)
def _up_to_the_text(language: str, utf8: bool) -> bytes:
    """Everything between the reply's own headers and its text, the same in every reply
    in ``language``: the fixed headers, the MIME ones, the first delimiter and the text
    part's headers."""
    return b"".join([
        *(_folded_line(name, value, utf8) for name, value in _FIXED_HEADERS),
        _mime_header_lines(utf8), _folded_line("Content-Language", language, utf8), b"\r\n",
        f"--{BOUNDARY}\r\n".encode("ascii"), _part_head("plain", utf8),
    ])


@functools.lru_cache(maxsize=2)
def _between_the_parts(utf8: bool) -> bytes:
    """The delimiter after the text part and the HTML part's headers."""
    return f"\r\n--{BOUNDARY}\r\n".encode("ascii") + _part_head("html", utf8)


# per-reply headers whose value is written as it is when it is simple (the To is its own case)
_DIRECT = frozenset({"Subject", "Date", "Message-ID", "In-Reply-To", "References"})


# the per-reply headers the registry makes unstructured from text (_ReplyUnstructuredHeader)
_UNSTRUCTURED = frozenset({"Subject", "In-Reply-To", "References"})


@functools.lru_cache(maxsize=1024)
def _folded_line(name: str, value: str, utf8: bool) -> bytes:
    """One header as the reply policy stores and folds it; the same value, the same line
    (From, the MIME headers and the language repeat in every reply, a subject often).
    An unstructured one of a shape ``mailroom.responder.folding`` follows is folded
    there from the text, as the header made from it would be, without making it."""
    policy = REPLY_POLICY_UTF8 if utf8 else REPLY_POLICY
    if name in _UNSTRUCTURED:
        folded = fold_unstructured(name, value, policy)
        if folded is not None:
            return folded
    return policy.fold_binary(name, REPLY_POLICY.header_store_parse(name, value)[1])


@functools.lru_cache(maxsize=4)
def _mime_header_lines(utf8: bool) -> bytes:
    """The multipart Content-Type with its boundary, the same in every reply."""
    msg = EmailMessage(policy=REPLY_POLICY)
    msg.add_header("Content-Type", "multipart/alternative", boundary=BOUNDARY)
    return _header_block(msg, REPLY_POLICY_UTF8 if utf8 else REPLY_POLICY)[:-2]


@functools.lru_cache(maxsize=8)
def _part_head(subtype: str, utf8: bool) -> bytes:
    """A text part's headers and the blank line after them, the same in every reply."""
    return _header_block(_text_part(subtype, ""), REPLY_POLICY_UTF8 if utf8 else REPLY_POLICY)


def _text_part(subtype: str, text: str) -> EmailMessage:
    """A UTF-8 quoted-printable part, as ``set_content`` makes it, at a fraction of its cost.

    ``set_content`` re-parses its own Content-Type header several times and encodes with
    the pure-Python ``quoprimime``; ``binascii`` does the same encoding in C. Always
    quoted-printable keeps ``BOUNDARY`` out of every body.
    """
    part = EmailMessage(policy=REPLY_POLICY)
    part.add_header("Content-Type", f"text/{subtype}", charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(_qp(text))
    return part


def _qp(text: str) -> str:
    """``text`` as UTF-8 quoted-printable, one LF-ended line per line of it."""
    return _qp_lines(text).decode("ascii")


def _qp_lines(text: str) -> bytes:
    lines = text.encode("utf-8").splitlines()  # bytes: splits on CR and LF only
    return binascii.b2a_qp(b"\n".join(lines) + b"\n", istext=True)


def _qp_crlf(text: str) -> bytes:
    """``_crlf_lines(_qp(text))`` without the round trip through ``str``: the encoder's
    input has no CR (``_qp_lines`` split it at every one), so its output's only line ends
    are its LFs."""
    return _qp_lines(text).replace(b"\n", b"\r\n")


def serialise(msg: EmailMessage) -> bytes:
    """The bytes to send: CRLF lines; UTF-8 headers only when an address needs them.

    A reply as ``reply_message`` builds it is written here directly: every header folded
    by the reply policy, as the stdlib generator does, and the MIME framing around its
    quoted-printable parts (the generator's buffers, clones and boundary checks cost as
    much as composing). Anything else goes through the generator. ``test_compose``
    checks both ways give the same bytes.
    """
    ascii_only = all(address.isascii() for address in envelope_recipients(msg))
    policy = REPLY_POLICY if ascii_only else REPLY_POLICY_UTF8
    payload = msg.get_payload()
    boundary = msg.get_boundary()
    parts = [(p, p.get_payload()) for p in payload if isinstance(p, EmailMessage)] \
        if isinstance(payload, list) else []
    if not (boundary and parts and len(parts) == len(payload) and msg.preamble is None
            and msg.epilogue is None
            and all(isinstance(text, str) and text.isascii() for _, text in parts)):
        return msg.as_bytes(policy=policy)
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join([
        _header_block(msg, policy), delimiter[2:],
        delimiter.join(_header_block(part, policy) + _crlf_lines(str(text)) for part, text in parts),
        f"\r\n--{boundary}--\r\n".encode("ascii"),
    ])


def _header_block(msg: EmailMessage, policy: EmailPolicy) -> bytes:
    return b"".join([*(policy.fold_binary(name, value) for name, value in msg.raw_items()),
                     b"\r\n"])


def _crlf_lines(text: str) -> bytes:
    """An ASCII payload with CRLF line ends, as the generator writes it (no final CRLF
    added when the text has none)."""
    return "\r\n".join(_NEWLINE.split(text)).encode("ascii")


@dataclass(frozen=True)
class Rendered:
    """A reply ready for SMTP: its bytes, its one envelope recipient and its Message-ID."""

    data: bytes
    recipients: list[str]
    message_id: str


# how old a reply composed ahead may be when it is sent: its Date is its composition time
PRECOMPOSED_MAX_AGE = timedelta(seconds=60)


@dataclass(frozen=True)
class Composer:
    """``reply_fields`` with the settings every reply of a service shares.

    The processor composes an automatic reply ahead (``ahead``), so the responder, whose
    one event loop also carries every SMTP conversation, only checks it (``usable``) and
    sends it; anything else (a person's reply, a reply republished from the store, one
    composed too long ago) the responder composes itself.
    """

    templates: Templates
    from_addr: str
    from_name: str
    default_language: str
    own_addresses: frozenset[str] = frozenset()
    templates_dir: str = ""  # (for ``fingerprint``: the folder ``templates`` searches first)

    @classmethod
    def from_settings(cls, settings: Settings, own: frozenset[str] | None = None) -> Composer:
        """``own``: the service's own addresses when it has them already (building them
        reads the mailboxes file)."""
        folder = settings.mailroom_templates
        return cls(Templates(folder), settings.smtp_email, settings.reply_from_name,
                   settings.default_language, own if own is not None else own_addresses(settings),
                   str(folder.resolve()) if folder is not None else "")

    @functools.cached_property
    def fingerprint(self) -> str:
        """The settings a reply is composed with: a processor and a responder configured
        apart (another templates folder, From or default language) do not take each
        other's replies."""
        seen = "\x00".join([self.templates_dir, self.from_addr, self.from_name,
                            self.default_language])
        return hashlib.sha256(seen.encode("utf-8", "replace")).hexdigest()[:16]

    def compose(self, email: RawEmail, decision: Decision, *,
                now: datetime | None = None) -> EmailMessage:
        return reply_message(self.fields(email, decision, now=now))

    def fields(self, email: RawEmail, decision: Decision, *,
               now: datetime | None = None) -> ReplyFields:
        return reply_fields(email, decision, templates=self.templates,
                            from_addr=self.from_addr, from_name=self.from_name,
                            default_language=self.default_language,
                            own_addresses=self.own_addresses, now=now)

    def render(self, email: RawEmail, decision: Decision, *,
               now: datetime | None = None) -> Rendered:
        """The reply as it goes over SMTP (``reply_bytes``), without an ``EmailMessage``."""
        fields = self.fields(email, decision, now=now)
        return Rendered(reply_bytes(fields), [fields.to.addr_spec], fields.message_id)

    def ahead(self, email: RawEmail, decision: Decision) -> ComposedReply | None:
        """The automatic reply, ready to send; ``None`` where the responder must decide
        (a person's text, a refused address, a template it cannot fill): it refuses or
        composes there, as for any reply. The loop guard is not asked here: the processor
        routed the mail past it, and the responder asks it again before sending anything."""
        if decision.reply_body is not None:
            return None
        try:
            reply = self.render(email, decision)
            data = reply.data.decode("utf-8")
        except (ComposeRefused, UnicodeDecodeError):
            return None
        return ComposedReply(key=reply_key(decision), message_id=reply.message_id,
                             recipients=reply.recipients, data=data, composer=self.fingerprint)

    def usable(self, composed: ComposedReply, email: RawEmail, decision: Decision,
               now: datetime | None = None) -> bool:
        """A reply composed ahead is sent as it is only if it is what ``compose`` would
        give now but for its Date: the same settings, reply key and Message-ID (the claim
        records it), the one recipient ``recipient`` names, and composed at most
        ``PRECOMPOSED_MAX_AGE`` ago."""
        if decision.reply_body is not None or composed.key != reply_key(decision) \
                or composed.composer != self.fingerprint:
            return False
        if (now or utcnow()) - as_utc(composed.composed_at) > PRECOMPOSED_MAX_AGE:
            return False
        to = recipient(email, self.own_addresses)  # (raises ComposeRefused, as compose)
        sender = _our_address(self.from_addr, self.from_name)
        return composed.recipients == [to.addr_spec] and \
            composed.message_id == reply_message_id(email, composed.key, sender)


def envelope_recipients(msg: EmailMessage) -> list[str]:
    """The addresses a composed reply goes to (for RCPT TO and the rate limit)."""
    header = msg["To"]
    return [a.addr_spec for a in header.addresses] if header is not None else []
