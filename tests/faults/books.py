"""Checking the books after a fault: nothing lost, nothing answered twice.

Every fault scenario ends with the same audit of the two independent records of what
happened: the state store (every mail's fate, the dead letters with their reasons) and the
SMTP sink (what was actually sent). ``take_books`` reads both; ``Books.problems`` lists
every broken promise, so an assertion failure shows all of them at once:

* no mail lost: one store row per mail collected, none left in an open status;
* every ``replied`` mail has exactly one reply at the sink threaded to it (DISTINCT and
  TOTAL ``In-Reply-To`` agree; a mail without a Message-ID is matched by the address its
  reply went to), and no reply points at a mail that is not ``replied``;
* every ``failed`` or ``dead`` mail has a dead letter with a non-empty reason;
* the one allowed exception: a reply whose send was cut off (its reply row ``uncertain``)
  leaves its mail ``in_review`` for a person, and may have reached the sink once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import getaddresses

from sqlalchemy import select

from mailroom.store import Database, MailStatus, ReplyStatus
from mailroom.store.schema import OPEN_STATUSES, dead_letters, mails, replies
from servers import SmtpSink

SCENARIO_MAILS = 500  # enough to be mid-stream when a fault hits, few enough for CI
FINAL_STATUSES = frozenset(MailStatus) - frozenset(OPEN_STATUSES)
NEEDS_REASON = frozenset({MailStatus.FAILED, MailStatus.DEAD})


def bare_id(message_id: str) -> str:
    """A Message-ID without angle brackets or surrounding space, for comparing."""
    return message_id.strip().strip("<>").strip()


def unthreaded(address: str) -> str:
    """The key of a reply to a mail that had no Message-ID (so the reply has no
    In-Reply-To): the address it went to, which is the mail's sender in these tests."""
    return f"to:{address.strip().lower()}"


def mail_key(row: dict[str, object]) -> str:
    """How the sink's replies name a mail: its Message-ID, else its sender (``unthreaded``)."""
    return bare_id(str(row["message_id"])) or unthreaded(str(row["from_addr"]))


@dataclass
class Books:
    """One snapshot of the store and the sink."""

    rows: dict[str, dict[str, object]]  # mail_id -> mail row (without the event)
    letters: list[dict[str, object]]  # every dead letter
    replies: Counter[str]  # bare In-Reply-To -> replies received at the sink
    sent_total: int
    uncertain: set[str] = field(default_factory=set)  # mail ids whose send was cut off
    reply_rows: dict[str, str] = field(default_factory=dict)  # mail id -> reply row status
    by_status: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.by_status = Counter(str(r["status"]) for r in self.rows.values())

    @property
    def open(self) -> list[str]:
        return [i for i, r in self.rows.items() if r["status"] not in FINAL_STATUSES]

    @property
    def in_doubt(self) -> set[str]:
        """Message-IDs of mails a person must check: their send was cut off."""
        return {bare_id(str(self.rows[i]["message_id"])) for i in self.uncertain
                if i in self.rows and self.rows[i]["status"] == MailStatus.IN_REVIEW}

    def status_of_message(self, message_id: str) -> str | None:
        wanted = bare_id(message_id)
        for row in self.rows.values():
            if bare_id(str(row["message_id"])) == wanted:
                return str(row["status"])
        return None

    def reasons_for(self, mail_id: str) -> list[str]:
        return [str(d["reason"]) for d in self.letters if d["mail_id"] == mail_id and d["reason"]]

    def letters_from(self, topic: str) -> list[dict[str, object]]:
        return [d for d in self.letters if d["source_topic"] == topic]

    def problems(self, expected_rows: int | None = None) -> list[str]:
        """Every broken promise, as readable lines (empty when the books balance)."""
        found: list[str] = []
        if expected_rows is not None and len(self.rows) != expected_rows:
            found.append(f"store has {len(self.rows)} mails, expected {expected_rows} (lost or extra)")
        if self.open:
            found.append(f"{len(self.open)} mails still open: "
                         f"{Counter(str(self.rows[i]['status']) for i in self.open)}; their reply rows: "
                         f"{Counter(self.reply_rows.get(i, 'none') for i in self.open)}")
        replied = {mail_key(r) for r in self.rows.values() if r["status"] == MailStatus.REPLIED}
        in_doubt = self.in_doubt
        twice = {k: v for k, v in self.replies.items() if v > 1}
        if twice:
            found.append(f"{len(twice)} mails answered more than once, e.g. {next(iter(twice.items()))}")
        if self.sent_total != sum(self.replies.values()):
            found.append(f"{self.sent_total - sum(self.replies.values())} replies without In-Reply-To")
        unanswered = replied - set(self.replies)
        if unanswered:
            found.append(f"{len(unanswered)} mails marked replied with no reply at the sink")
        stray = set(self.replies) - replied - in_doubt
        if stray:
            statuses = Counter(self.status_of_message(m) for m in stray)
            found.append(f"{len(stray)} replies to mails not marked replied: {statuses}")
        silent = [i for i, r in self.rows.items() if r["status"] in NEEDS_REASON and not self.reasons_for(i)]
        if silent:
            found.append(f"{len(silent)} failed/dead mails without a dead letter reason, "
                         f"e.g. {silent[0]} ({self.rows[silent[0]]['status']})")
        empty = [d for d in self.letters if not str(d["reason"] or "").strip()]
        if empty:
            found.append(f"{len(empty)} dead letters without a reason")
        return found

    def summary(self) -> str:
        return (f"statuses={dict(self.by_status)} dead_letters={len(self.letters)} "
                f"replies={self.sent_total} distinct={len(self.replies)} "
                f"uncertain={len(self.uncertain)}")


def take_books(db: Database, sink: SmtpSink) -> Books:
    columns = [c for c in mails.c if c.name != "event"]
    with db.begin() as conn:
        rows = {r["mail_id"]: dict(r) for r in conn.execute(select(*columns)).mappings()}
        letters = [dict(r) for r in conn.execute(
            select(dead_letters.c.source_topic, dead_letters.c.mail_id, dead_letters.c.uid,
                   dead_letters.c.reason, dead_letters.c.error_type)).mappings()]
        reply_rows = {str(m): str(st) for m, st in conn.execute(
            select(replies.c.mail_id, replies.c.status))}
    uncertain = {m for m, st in reply_rows.items() if st == ReplyStatus.UNCERTAIN}
    messages = sink.messages()
    answered = Counter(bare_id(str(m["In-Reply-To"])) if m["In-Reply-To"]
                       else unthreaded(getaddresses([str(m["To"])])[0][1]) for m in messages)
    return Books(rows, letters, answered, len(messages), uncertain, reply_rows)


def wait_for_books(db: Database, sink: SmtpSink, *, settled: Callable[[Books], bool],
                   timeout: float, quiet: float = 3.0) -> Books:
    """Poll until ``settled(books)`` holds, then wait ``quiet`` s for late duplicates.

    Returns the last snapshot either way; the caller asserts on ``problems()``.
    """
    deadline = time.monotonic() + timeout
    books = _safe_take(db, sink)
    while time.monotonic() < deadline:
        books = _safe_take(db, sink) or books
        if books is not None and settled(books):
            time.sleep(quiet)
            return take_books(db, sink)
        time.sleep(0.5)
    return books or take_books(db, sink)


def _safe_take(db: Database, sink: SmtpSink) -> Books | None:
    """A snapshot, or None while the store itself is away (the PostgreSQL restart)."""
    try:
        return take_books(db, sink)
    except Exception:
        return None


def all_settled(expected_rows: int) -> Callable[[Books], bool]:
    """Settled: the store holds ``expected_rows`` mails and none is open."""
    return lambda b: len(b.rows) >= expected_rows and not b.open


def assert_books(books: Books, *, expected_rows: int | None, wanted_replies: Iterable[str] = (),
                 must_fail: Iterable[str] = ()) -> None:
    """The shared end-of-scenario check.

    ``wanted_replies``: Message-IDs that must have exactly one reply; ``must_fail``:
    Message-IDs that must end failed or dead (with a reason, checked in ``problems``).
    """
    found = books.problems(expected_rows)
    must_fail = {bare_id(m) for m in must_fail}
    excused = must_fail | books.in_doubt  # in review for a person: 0 or 1 reply, never 2
    missing = [m for m in wanted_replies if books.replies.get(bare_id(m), 0) != 1
               and bare_id(m) not in excused]
    if missing:
        found.append(f"{len(missing)} mails owed a reply did not get exactly one, e.g. {missing[0]} "
                     f"({books.status_of_message(missing[0])})")
    not_failed = [m for m in must_fail if books.status_of_message(m) not in NEEDS_REASON]
    if not_failed:
        found.append(f"{len(not_failed)} mails that must fail did not, e.g. {not_failed[0]} "
                     f"({books.status_of_message(not_failed[0])})")
    assert not found, "books do not balance:\n  " + "\n  ".join(found) + "\n" + books.summary()


def slow_relay(sink: SmtpSink, seconds: float = 0.01) -> None:
    """Make the sink take ``seconds`` per message (all its connections share one thread, so
    about 100 messages/s), as a real relay is slower than the local one: the responder,
    once its group has joined, sends faster than a poll can catch it "mid-stream"."""
    def pause(_envelope: object) -> None:
        time.sleep(seconds)
    sink.behaviour.on_data = pause


def poll(condition: Callable[[], bool], timeout: float, step: float = 0.2) -> bool:
    """Wait (blocking) until ``condition()`` holds; False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
