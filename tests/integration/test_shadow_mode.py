"""AUTOREPLY_MODE=shadow on real parts: Dovecot -> broker -> stages -> aiosmtpd, and the API.

Shadow mode decides every mail, sends nothing, leaves the mailbox exactly as it was (the
collector EXAMINEs the folder and runs no post-action, although this mailbox asks for
``post_action: seen``), and the dashboard/API list the would-be replies with the
reviewers' precision.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailgen import make_batch
from mailroom.broker import free_port
from mailroom.events import RawEmail
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from mailroom.store import shadow as shadow_store
from pipeline import running, statuses, wait_until
from servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

USER = "support@example.com"
TOKEN = "shadow-test-token-0123456789abcdef"
FLAGS = re.compile(rb"UID (\d+) FLAGS \(([^)]*)\)")


def mailbox_flags(dovecot: Dovecot) -> dict[int, set[str]]:
    """Every message's flags, read with EXAMINE so this look changes nothing either."""
    imap = dovecot.connect(USER)
    try:
        typ, _ = imap.select("INBOX", readonly=True)
        assert typ == "OK"
        typ, data = imap.uid("FETCH", "1:*", "(UID FLAGS)")
        assert typ == "OK"
        found: dict[int, set[str]] = {}
        for line in data:
            raw = line[0] if isinstance(line, tuple) else line
            if isinstance(raw, bytes) and (match := FLAGS.search(raw)):
                found[int(match[1])] = set(match[2].decode().split())
        return found
    finally:
        imap.logout()


async def test_shadow_mode_sends_nothing_changes_no_flag_and_lists_the_would_be_replies(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings: Any, tmp_path: Path,
) -> None:
    mails = make_batch(12, automated_every=6)
    early, late = mails[:10], mails[10:]  # late ones arrive while it runs (IDLE on EXAMINE)
    dovecot.preload(USER, [m.raw for m in early])
    # one message already read and flagged by a person: it must stay exactly so
    imap = dovecot.connect(USER)
    imap.select("INBOX")
    imap.uid("STORE", "1", "+FLAGS", r"(\Seen \Flagged)")
    imap.logout()
    before = mailbox_flags(dovecot)
    assert len(before) == len(early) and before[1] >= {r"\Seen", r"\Flagged"}

    config = tmp_path / "mailboxes.yaml"
    config.write_text(f"""\
accounts:
  - name: support
    server: {dovecot.host}
    port: {dovecot.port}
    security: none
    user: {USER}
    password: {dovecot.users[USER]}
    folders: [INBOX]
    post_action: seen
""", encoding="utf-8")
    port = free_port()
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, api_port=port, api_tokens=TOKEN,
                             mailroom_mailboxes=config, autoreply_mode="shadow")
    wanted = {m.message_id for m in mails if m.wants_reply}

    async with running(settings) as supervisor:
        assert supervisor.runtime is not None
        db = supervisor.runtime.db
        def decided(n: int) -> bool:
            counts = statuses(supervisor)
            return bool(sum(counts.values()) == n and counts.get(MailStatus.COLLECTED, 0) == 0)

        # the positive end signal: the store says every mail is decided
        assert await wait_until(lambda: decided(len(early)), 90)
        for m in late:
            await asyncio.to_thread(dovecot.append, m.raw, USER)
        assert await wait_until(lambda: decided(len(mails)), 60)
        counts = statuses(supervisor)
        assert counts.get(MailStatus.AWAITING_REPLY, 0) == 0
        assert counts.get(MailStatus.REPLIED, 0) == 0
        with db.begin() as conn:
            would = shadow_store.would_be_replies(conn, 100)
            summary = shadow_store.summary(conn)
            rows = {w.mail_id: w for w in would}
            would_ids = {RawEmail.model_validate((mail_store.get_mail(conn, i) or {})["event"])
                         .message_id for i in rows}
        assert would_ids == wanted, "every request the seed rule and model accept, nothing else"
        assert all(w.template == "subscription" and w.status == MailStatus.IN_REVIEW
                   for w in rows.values())
        assert (summary.total, summary.agree, summary.disagree) == (len(wanted), 0, 0)

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert (await client.get("/api/shadow")).status_code == 401
            report = (await client.get("/api/shadow",
                                       headers={"Authorization": f"Bearer {TOKEN}"})).json()
            assert report["mode"] == "shadow" and report["total"] == len(wanted)
            assert report["precision"] is None and report["pending"] == len(wanted)
            assert {i["mail_id"] for i in report["items"]} == set(rows)
            one = next(iter(rows))
            detail = (await client.get(f"/api/mails/{one}",
                                       headers={"Authorization": f"Bearer {TOKEN}"})).json()
            assert detail["would_reply"] == "subscription"
            assert any("AUTOREPLY_MODE=shadow" in r for r in detail["reasons"])
            mail_page = await client.get(f"/mails/{one}",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
            assert 'id="decision-reasons"' in mail_page.text and 'id="would-reply"' in mail_page.text
            page = await client.get("/shadow", headers={"Authorization": f"Bearer {TOKEN}"})
            assert page.status_code == 200, page.text
            assert 'id="shadow-precision"' in page.text and page.text.count("<tr>") == len(wanted) + 1

    assert smtp_sink.received == [], "shadow mode sent mail"
    after = mailbox_flags(dovecot)
    assert {uid: after[uid] for uid in before} == before, "shadow mode changed the mailbox"
    assert len(after) == len(mails)
    assert all(not flags - {r"\Recent"} for uid, flags in after.items() if uid not in before)


def test_imaplib_readonly_fetch_of_flags_parses(dovecot: Dovecot) -> None:
    """The flag reader itself sees a flag a client set (so the comparison above can fail)."""
    dovecot.preload(USER, [m.raw for m in make_batch(2)])
    imap = dovecot.connect(USER)
    imap.select("INBOX")
    imap.uid("STORE", "2", "+FLAGS", r"(\Answered)")
    imap.logout()
    assert r"\Answered" in mailbox_flags(dovecot)[2]
