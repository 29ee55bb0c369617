"""The collector's checkpoint never passes a UID without an outcome (real Dovecot, the embedded
broker, a SQLite store): a UID whose FETCH comes back without a body is fetched again, then
dead-lettered with its account, folder and UID, once; a UID the server fails on every time
is dead-lettered too, so the folder is neither skipped nor stuck."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mailroom.broker import EmbeddedBroker
from mailroom.collector.folder import FETCH_RETRIES, UNREADABLE_AFTER, FolderWatcher
from mailroom.collector.imap import ImapConnection
from mailroom.collector.imap_responses import FolderState
from mailroom.collector.service import CollectorService
from mailroom.runtime import Runtime, build_runtime
from mailroom.store import checkpoints
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from pipeline import running, wait_until
from servers import Dovecot

pytestmark = pytest.mark.integration
USER = "support@example.com"


def mail(i: int) -> bytes:
    return (f"From: Customer {i} <customer{i}@example.org>\r\nTo: {USER}\r\n"
            f"Subject: Question {i}\r\nMessage-ID: <nobody{i}@test.example>\r\n\r\n"
            f"Hello {i}\r\n").encode()


@contextlib.asynccontextmanager
async def watching(rt: Runtime) -> AsyncIterator[tuple[FolderWatcher, ImapConnection, FolderState]]:
    """A folder watcher with its own producer and an open, selected IMAP connection."""
    service = CollectorService(rt)
    service.producer = rt.kafka.producer()
    account = service.accounts[0]
    conn = service.connection(account)
    await conn.open()
    try:
        yield FolderWatcher(service, account, "INBOX"), conn, await conn.select("INBOX")
    finally:
        await conn.close()
        service.producer.flush(10)


def message_files(dovecot: Dovecot) -> list[Path]:
    """The folder's mail files in UID order (preload names them in sequence)."""
    root = dovecot.maildir(USER)
    return sorted([*root.joinpath("cur").iterdir(), *root.joinpath("new").iterdir()],
                  key=lambda p: int(p.name.split(".M")[1].split("P")[0]))


@pytest.mark.timeout(60)
async def test_a_uid_fetched_without_a_body_is_retried_then_dead_lettered_not_skipped(
    dovecot: Dovecot, broker: EmbeddedBroker, make_settings,  # type: ignore[no-untyped-def]
) -> None:
    dovecot.preload(USER, [mail(i) for i in range(1, 4)])
    rt = build_runtime(make_settings(dovecot=dovecot, bootstrap=broker.bootstrap_servers),
                       broker.bootstrap_servers)
    rt.kafka.create_topics(1, 1)
    try:
        for attempt in range(2):  # the second run is a re-read, as after a crash
            async with watching(rt) as (watcher, conn, state):
                uids = [1, 2, 3]
                if attempt == 0:
                    assert await conn.search_after(0) == uids
                    # the mail behind UID 2 vanishes after Dovecot listed it: its FETCH
                    # answers "BODY[] NIL" (and a later SEARCH no longer lists it)
                    message_files(dovecot)[1].unlink()
                assert await watcher.collect_batch(conn, state, uids) == 3
            with rt.db.begin() as db:
                assert checkpoints.load(db, USER, "INBOX") == checkpoints.Checkpoint(
                    state.uidvalidity, 3)
                collected = mail_store.count_all(db)
                letters = dead_letter_store.list_open(db)
            assert collected == 2, "UIDs 1 and 3 are collected"
            assert len(letters) == 1, f"run {attempt}: one dead letter for UID 2, {letters}"
            letter = letters[0]
            assert (letter["source_topic"], letter["account"], letter["folder"], letter["uid"]) == \
                ("imap", USER, "INBOX", 2)
            assert f"without a body {FETCH_RETRIES + 1} times" in str(letter["reason"])
            assert "no longer lists" in str(letter["reason"])
    finally:
        rt.db.dispose()


@pytest.mark.timeout(120)
async def test_a_mail_the_server_cannot_read_is_dead_lettered_and_the_folder_moves_on(
    dovecot: Dovecot, broker: EmbeddedBroker, make_settings,  # type: ignore[no-untyped-def]
) -> None:
    """Dovecot drops the connection on every FETCH of an unreadable mail file: the batch is
    halved down to that UID alone, which after UNREADABLE_AFTER failures becomes a dead letter;
    the mails around it are collected and the checkpoint reaches the last UID."""
    dovecot.preload(USER, [mail(i) for i in range(1, 6)])
    message_files(dovecot)[2].chmod(0)  # UID 3: Dovecot's "FETCH failed: Internal error"
    settings = make_settings(dovecot=dovecot, bootstrap=broker.bootstrap_servers)
    async with running(settings, ["collector"]) as supervisor:
        assert supervisor.runtime is not None
        db = supervisor.runtime.db

        def settled() -> bool:
            with db.begin() as conn:
                done = checkpoints.load(conn, USER, "INBOX")
                return done is not None and done.last_uid == 5

        assert await wait_until(settled, 90), "the checkpoint never passed the unreadable mail"
        with db.begin() as conn:
            collected = mail_store.count_all(conn)
            letters = dead_letter_store.list_open(conn)
    assert collected == 4
    assert [(d["account"], d["folder"], d["uid"], d["error_type"]) for d in letters] == \
        [(USER, "INBOX", 3, "Unreadable")]
    assert f"failed {UNREADABLE_AFTER} times alone" in str(letters[0]["reason"])
