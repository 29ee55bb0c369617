"""The auto-reply loop guard (RFC 3834 and Dovecot Pigeonhole's vacation rules).

``loop_reason`` answers one question about a collected mail: must it never get an
automatic reply? It returns a short, stable reason code (stored with the suppression and
used as a metric label) or ``None``. It is pure and checked twice: by the processor and,
as defence in depth, by the responder just before sending.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from email.utils import getaddresses

from mailroom.events import RawEmail

AUTO_SUBMITTED = "auto_submitted"
PRECEDENCE = "precedence"
LIST_HEADER = "list_header"
AUTO_RESPONSE_SUPPRESS = "auto_response_suppress"
NULL_RETURN_PATH = "null_return_path"
SYSTEM_SENDER = "system_sender"  # MAILER-DAEMON, postmaster, LISTSERV, majordomo, -request, owner-
NOREPLY_SENDER = "noreply_sender"
DELIVERY_REPORT = "delivery_report"
OWN_ADDRESS = "own_address"

REASONS = (AUTO_SUBMITTED, PRECEDENCE, LIST_HEADER, AUTO_RESPONSE_SUPPRESS, NULL_RETURN_PATH,
           SYSTEM_SENDER, NOREPLY_SENDER, DELIVERY_REPORT, OWN_ADDRESS)

LIST_HEADERS = ("list-id", "list-help", "list-subscribe", "list-unsubscribe", "list-post",
                "list-owner", "list-archive")
# "auto_reply" is not in RFC 3834's list, but Exchange and many vacation tools send it
BULK_PRECEDENCE = frozenset({"bulk", "list", "junk", "auto_reply"})
SYSTEM_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "listserv", "majordomo"})
NOREPLY = re.compile(r"no[-_.]?reply|do[-_.]?not[-_.]?reply")
_COMMENT = re.compile(r"\([^()]*\)")
_FOLD = re.compile(r"\r?\n[ \t]*")


def unfold(value: str) -> str:
    """Undo header folding and drop RFC 5322 comments (nested ones too)."""
    value = _FOLD.sub(" ", value)
    while True:
        stripped = _COMMENT.sub(" ", value)
        if stripped == value:
            return " ".join(value.split())
        value = stripped


def _values(email: RawEmail, name: str) -> list[str]:
    return [unfold(v) for v in email.headers.get(name, [])]


def _first_token(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _addresses(values: Iterable[str]) -> list[str]:
    return [addr.lower() for _name, addr in getaddresses([v for v in values if v]) if addr]


def _localpart(address: str) -> str:
    return address.rsplit("@", 1)[0] if "@" in address else address


def _null_return_path(email: RawEmail) -> bool:
    paths = _values(email, "return-path")
    if email.return_path is not None:
        paths.append(unfold(email.return_path))
    return any(p.strip().strip("<>").strip() == "" for p in paths)


def _sender_reason(addresses: list[str], own: set[str]) -> str | None:
    for address in addresses:
        if address in own:
            return OWN_ADDRESS
    for address in addresses:
        local = _localpart(address)
        if local in SYSTEM_LOCALPARTS or local.endswith("-request") or local.startswith("owner-"):
            return SYSTEM_SENDER
        if NOREPLY.search(local):
            return NOREPLY_SENDER
    return None


def loop_reason(email: RawEmail, own_addresses: Collection[str] = ()) -> str | None:
    """Why this mail must not be auto-answered, or ``None`` when a reply is allowed."""
    if any(_first_token(v) != "no" for v in _values(email, "auto-submitted")):
        return AUTO_SUBMITTED
    if any(_first_token(v) in BULK_PRECEDENCE for v in _values(email, "precedence")):
        return PRECEDENCE
    if any(name in email.headers for name in LIST_HEADERS):
        return LIST_HEADER
    for value in _values(email, "x-auto-response-suppress"):
        tokens = {t.lower() for t in re.split(r"[\s,;]+", value) if t}
        if tokens & {"all", "oof"}:
            return AUTO_RESPONSE_SUPPRESS
    if _null_return_path(email):
        return NULL_RETURN_PATH
    content_type = _first_token(unfold(email.content_type))
    if content_type in ("multipart/report", "message/delivery-status"):
        return DELIVERY_REPORT
    senders = _addresses([email.from_addr, *(_values(email, "from")), *(_values(email, "sender")),
                          *(_values(email, "return-path")), email.return_path or ""])
    own = {a.strip().lower() for a in own_addresses if a and a.strip()}
    return _sender_reason(senders, own)
