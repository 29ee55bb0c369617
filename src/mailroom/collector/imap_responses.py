"""Reading IMAP server responses as aioimaplib hands them over (pure).

aioimaplib returns a command's untagged lines as ``bytes`` and each literal (a message
body) as a ``bytearray`` right after the line that announced it; the last line is the
tagged status text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_FETCH = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_EXISTS = re.compile(rb"^(\d+) EXISTS")


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int
    exists: int


@dataclass(frozen=True)
class FetchedItem:
    uid: int
    size: int | None
    body: bytes | None  # None when the response carried no BODY[...] item


def parse_select(lines: Sequence[bytes | bytearray]) -> FolderState:
    uidvalidity = uidnext = exists = 0
    for line in lines:
        line = bytes(line)
        if m := _UIDVALIDITY.search(line):
            uidvalidity = int(m.group(1))
        if m := _UIDNEXT.search(line):
            uidnext = int(m.group(1))
        if m := _EXISTS.match(line):
            exists = int(m.group(1))
    return FolderState(uidvalidity, uidnext, exists)


def parse_search(lines: Sequence[bytes | bytearray]) -> list[int]:
    """UIDs from a (UID) SEARCH answer; the last line is the status text, not results."""
    uids: list[int] = []
    for line in lines[:-1]:
        words = bytes(line).split()
        if words and words[0].upper() == b"SEARCH":
            words = words[1:]
        uids.extend(int(w) for w in words if w.isdigit())
    return uids


def parse_fetch(lines: Sequence[bytes | bytearray]) -> dict[int, FetchedItem]:
    """Items of a UID FETCH answer by UID; an item with a body wins over one without."""
    items: dict[int, FetchedItem] = {}
    meta: bytes | None = None
    literal: bytes | None = None

    def flush() -> None:
        if meta is None:
            return
        uid = _UID.search(meta)
        if uid is None:
            return
        size = _SIZE.search(meta)
        body = literal if literal is not None else (b"" if b"BODY[" in meta else None)
        item = FetchedItem(int(uid.group(1)), int(size.group(1)) if size else None, body)
        if item.uid not in items or items[item.uid].body is None:
            items[item.uid] = item

    for line in lines[:-1] if lines and not isinstance(lines[-1], bytearray) else lines:
        if isinstance(line, bytearray):
            literal = bytes(line)
        elif _FETCH.match(line):
            flush()
            meta, literal = bytes(line), None
        elif meta is not None:
            meta += b" " + bytes(line)
    flush()
    return items


def uid_set(uids: Iterable[int]) -> str:
    """A compact IMAP sequence set: ``1:3,7,9:10``."""
    ordered = sorted(set(uids))
    ranges: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        ranges.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(ranges)


def quote_mailbox(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def is_news(lines: Iterable[bytes | bytearray]) -> bool:
    """True when an IDLE push says a message arrived (EXISTS/RECENT)."""
    return any(_EXISTS.match(bytes(line)) or bytes(line).endswith(b" RECENT") for line in lines)


def alarm(lines: Iterable[bytes | bytearray]) -> str | None:
    """The line of an IDLE push that means the selected folder is no longer what it was.

    A deleted folder (Dovecot answers ``NO Internal error``), ``BYE``, or a new
    UIDVALIDITY: the caller reconnects and selects again.
    """
    for line in lines:
        text = bytes(line)
        if text.startswith((b"NO ", b"BAD ", b"BYE")) or b"[UIDVALIDITY " in text:
            return text.decode(errors="replace")[:200]
    return None
