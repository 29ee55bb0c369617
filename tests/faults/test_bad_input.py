"""Fault 7: the bad-input corpus and generated monsters, through the whole pipeline.

Every mail in the mailbox (611 corpus files plus generated ones: a 10 MB body, a depth-500
multipart, NUL bytes, invalid base64, unknown charsets, a 200 KB header) must end as an
event with a final status or as a dead letter with a reason; no exception stops a stage,
and a normal mail sent afterwards is still answered.
"""

from __future__ import annotations

import asyncio
import re
from email.utils import make_msgid
from pathlib import Path

import pytest
from books import Books, assert_books, poll, take_books, wait_for_books

from mailgen import make_mail
from mailroom.collector.parse import ParseLimits, UnparseableMail, parse_message
from mailroom.store import Database
from mailroom.store import checkpoints as checkpoint_store
from pipeline import running, wait_until
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"
NOT_MAIL = {"LICENSE", "COPYING", "README.md"}
UID_IN_FETCH = re.compile(rb"UID (\d+)")


def corpus_files(corpora: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(corpora.rglob("*")) if p.is_file() and p.name not in NOT_MAIL]


def head(subject: str, extra: str = "", content_type: str = "text/plain; charset=utf-8") -> str:
    return (f"From: Monster <monster@customers.test>\r\nTo: {USER}\r\nSubject: {subject}\r\n"
            f"Message-ID: {make_msgid(domain='monsters.test')}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\n{extra}")


def monsters() -> dict[str, bytes]:
    """Generated mails each aimed at one weakness of a parser."""
    line = "Quiero la suscripción al boletín, por favor. " * 2 + "\r\n"
    depth = 500
    nested = "".join(f"--b{i}\r\nContent-Type: multipart/mixed; boundary=\"b{i + 1}\"\r\n\r\n"
                     for i in range(depth))
    nested += "--b500\r\nContent-Type: text/plain\r\n\r\ndeep inside\r\n"
    nested += "".join(f"--b{i}--\r\n" for i in range(depth, -1, -1))
    folded_200k = "\r\n ".join(["x" * 998] * 205)
    return {
        "10 MB body": (head("Subscription with a huge body") + "\r\n").encode()
        + line.encode() * (10 * 1024 * 1024 // len(line.encode())),
        "depth-500 multipart": (head("Subscription nested 500 deep", content_type=
                                     'multipart/mixed; boundary="b0"') + "\r\n" + nested).encode(),
        "NUL bytes": (head("Subscription\x00 with NUL", "X-Null: a\x00b\r\n") +
                      "\r\nbody\x00with\x00NULs\r\n").encode(),
        "invalid base64": (head("Subscription base64 broken", "Content-Transfer-Encoding: base64\r\n")
                           + "\r\n!!!!not*base64@@@@\r\nQUJD=RE==\r\n====\r\n").encode(),
        "unknown charsets": (head("=?x-no-such-charset?Q?Suscripci=F3n?= =?bogus?B?////?=",
                                  content_type="text/plain; charset=x-no-such-charset")
                             + "\r\nSuscripci\xf3n por favor\r\n").encode("latin-1"),
        "200 KB header": (head("Subscription " + "y" * 200_000) + f"X-Folded: {folded_200k}\r\n"
                          + "\r\nplease subscribe me\r\n").encode(),
    }


def fetch_all(dovecot: Dovecot) -> dict[int, bytes]:
    """Every message in the mailbox by UID, as the collector saw it over IMAP."""
    imap = dovecot.connect()
    try:
        imap.select("INBOX", readonly=True)
        _typ, data = imap.uid("SEARCH", "ALL")
        uids = [int(u) for u in (data[0] or b"").split()]
        found: dict[int, bytes] = {}
        for start in range(0, len(uids), 50):
            chunk = ",".join(str(u) for u in uids[start : start + 50])
            _typ, parts = imap.uid("FETCH", chunk, "(BODY.PEEK[])")
            for part in parts:
                if isinstance(part, tuple) and (m := UID_IN_FETCH.search(part[0])):
                    found[int(m.group(1))] = part[1]
        return found
    finally:
        imap.logout()


def unaccounted(books: Books, messages: dict[int, bytes], limits: ParseLimits) -> list[int]:
    """UIDs with neither a store row, nor a dead letter, nor a duplicate that has a row."""
    row = next(iter(books.rows.values()))
    by_uid = {int(str(r["uid"])) for r in books.rows.values()}
    lettered = {int(str(d["uid"])) for d in books.letters if d["uid"] is not None}
    missing = []
    for uid, raw in messages.items():
        if uid in by_uid or uid in lettered:
            continue
        try:  # a duplicate Message-ID: the same mail id as a row collected before it
            event = parse_message(raw, account=str(row["account"]), folder=str(row["folder"]),
                                  uid=uid, uidvalidity=0, limits=limits)
        except UnparseableMail:
            missing.append(uid)
            continue
        if event.mail_id not in books.rows:
            missing.append(uid)
    return missing


def last_uid(db: Database) -> int:
    with db.begin() as conn:
        point = checkpoint_store.load(conn, USER, "INBOX")
    return point.last_uid if point else 0


@pytest.mark.timeout(420)
async def test_bad_input_corpus_and_generated_monsters_each_end_settled_or_dead_lettered(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings, corpora: Path,  # type: ignore[no-untyped-def]
) -> None:
    corpus = corpus_files(corpora)
    generated = monsters()
    assert len(corpus) >= 600
    dovecot.preload(USER, corpus + list(generated.values()))
    total = await asyncio.to_thread(dovecot.count)
    assert total == len(corpus) + len(generated)
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, max_emails_per_batch=100)

    async with running(settings, ["collector", "processor", "responder"]) as supervisor:
        assert supervisor.runtime is not None
        db = supervisor.runtime.db
        read_all = await wait_until(lambda: last_uid(db) >= total, 240, step=1)
        books = await asyncio.to_thread(
            wait_for_books, db, smtp_sink, settled=lambda b: not b.open, timeout=120)
        assert read_all, f"the collector stopped at UID {last_uid(db)} of {total}: {books.summary()}"
        assert not [n for n, t in supervisor.tasks.items() if t.done()], "a service stopped"

        # every consumer is still alive: a normal mail after the monsters is answered
        normal = make_mail(900_001, subscription=True)
        await asyncio.to_thread(dovecot.append, normal.raw)
        assert await asyncio.to_thread(poll, lambda: normal.message_id.strip("<>") in
                                       take_books(db, smtp_sink).replies, 60)
        books = await asyncio.to_thread(take_books, db, smtp_sink)

    assert_books(books, expected_rows=None, wanted_replies=[normal.message_id])
    messages = await asyncio.to_thread(fetch_all, dovecot)
    assert len(messages) == total + 1
    missing = unaccounted(books, messages, ParseLimits.from_settings(settings))
    print(f"bad input: {total} mails -> {books.summary()}")  # shown with -s, for the record
    assert not missing, f"{len(missing)} mails neither settled nor dead-lettered: UIDs {missing[:20]}"
