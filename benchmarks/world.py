"""The real servers a benchmark run needs, on free ports, and the mails it feeds them.

The helpers come from the test suite (tests/servers.py, tests/mailgen.py) so the benchmark
drives exactly what the integration tests drive. Two Dovecot users and two SMTP sinks keep
mailroom's and the naive loop's mail apart in the same run.
"""

from __future__ import annotations

import contextlib
import imaplib
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from benchmarks.stats import rate  # noqa: E402
from mailgen import TestMail, make_batch  # noqa: E402
from servers import NOBODY_UID, NOGROUP_GID, Dovecot, SmtpSink  # noqa: E402

MAILROOM_USER = "support@example.com"
NAIVE_USER = "naive@example.com"
PASSWORD = "support-pass"


@dataclass
class World:
    dovecot: Dovecot
    sink: SmtpSink  # mailroom's replies
    naive_sink: SmtpSink  # the naive loop's replies
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def close(self) -> None:
        self.stack.close()


@contextlib.contextmanager
def store_url(kind: str, workdir: Path) -> Iterator[str]:
    """A state store for one run: an SQLite file in ``workdir``, or a fresh PostgreSQL database
    (``MAILROOM_TEST_PG``, as the tests use), dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'data' / 'mailroom.db'}"
        return
    from servers import postgres_database

    with postgres_database() as url:
        yield url


def start_world() -> World:
    stack = contextlib.ExitStack()
    try:
        dovecot = Dovecot({MAILROOM_USER: PASSWORD, NAIVE_USER: PASSWORD}).start()
        stack.callback(dovecot.stop)
        sink = SmtpSink().start()
        stack.callback(sink.stop)
        naive_sink = SmtpSink().start()
        stack.callback(naive_sink.stop)
    except BaseException:
        stack.close()
        raise
    return World(dovecot, sink, naive_sink, stack)


def dovecot_master_pid(dovecot: Dovecot) -> int | None:
    path = dovecot.base / "run" / "master.pid"
    with contextlib.suppress(OSError, ValueError):
        return int(path.read_text().strip())
    return None


def workload(n: int, start: int) -> list[TestMail]:
    """n mails from the test generator, half subscription requests, unique senders."""
    batch: list[TestMail] = make_batch(n, start=start)
    return batch


class StagedBacklog:
    """Mails written ahead of time into a directory beside the mailboxes, released by swapping
    that directory in as the Maildir's new/ (two renames), so the whole backlog appears in
    one instant, as after an outage.

    Writing 10,000 files takes seconds; renaming 100,000 of them one by one into new/ took
    seconds too, and the server's IDLE sessions began to report them part-way through, so the
    clock would have charged that renaming to the reader (docs/benchmarks.md). The server
    finds swapped-in files at the next command of any session (its IDLE watch is on the old
    directory): ``release`` sends one, a NOOP on a session of its own, so the server's
    indexing of the backlog stays on the clock.
    """

    def __init__(self, dovecot: Dovecot, user: str, mails: list[TestMail], tag: str) -> None:
        self.folder = dovecot.maildir(user)
        self.staging = dovecot.base / f"staged-{tag}"  # the same file system as the Maildir
        self.staging.mkdir()
        os.chown(self.staging, NOBODY_UID, NOGROUP_GID)
        stamp = int(time.time())
        for i, mail in enumerate(mails):
            path = self.staging / f"{stamp}.B{tag}{i}P{os.getpid()}.mailroom-bench"
            path.write_bytes(mail.raw)
            os.chown(path, NOBODY_UID, NOGROUP_GID)
        self.session = dovecot.connect(user)
        self.session.select("INBOX")

    def release(self) -> float:
        """Swap the backlog in and have the server index it; returns the seconds it took."""
        started = time.monotonic()
        new, old = self.folder / "new", self.folder / "new.released"
        new.rename(old)
        self.staging.rename(new)
        self.session.noop()  # the server finds the backlog (and indexes it) now
        for left in old.iterdir():  # mail the server had not moved to cur/ yet: keep it
            left.rename(new / left.name)
        old.rmdir()
        took = time.monotonic() - started
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            self.session.logout()
        return took


@dataclass
class Appended:
    sent_at: dict[str, float] = field(default_factory=dict)  # Message-ID -> monotonic
    behind: float = 0.0  # the most the appender fell behind its schedule (s)

    def achieved_rate(self) -> float:
        times = sorted(self.sent_at.values())
        return rate(len(times) - 1, times[-1] - times[0]) if len(times) > 1 else math.nan


class Appender(threading.Thread):
    """APPENDs mails over one IMAP connection at a fixed rate (mails per second)."""

    def __init__(self, dovecot: Dovecot, user: str, mails: list[TestMail], rate: float) -> None:
        super().__init__(name="bench-appender", daemon=True)
        self.dovecot, self.user, self.mails, self.rate = dovecot, user, mails, rate
        self.result = Appended()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            imap = imaplib.IMAP4(self.dovecot.host, self.dovecot.port)
            imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            imap.login(self.user, self.dovecot.users[self.user])
            start = time.monotonic()
            for i, mail in enumerate(self.mails):
                due = start + i / self.rate
                now = time.monotonic()
                if due > now:
                    time.sleep(due - now)
                else:
                    self.result.behind = max(self.result.behind, now - due)
                imap.append("INBOX", None, None, mail.raw)
                # the mail is in the mailbox once the server answered the APPEND
                self.result.sent_at[mail.message_id] = time.monotonic()
            imap.logout()
        except BaseException as exc:  # reported by the caller after join()
            self.error = exc


def replies_by_target(sink: SmtpSink, since: int = 0) -> dict[str, float]:
    """In-Reply-To -> arrival (monotonic) of the first reply to each mail, from index since."""
    with sink._lock:  # the sink appends from its own thread
        received = list(sink.received[since:])
    out: dict[str, float] = {}
    for item in received:
        target = item.in_reply_to
        if target and target not in out:
            out[target] = item.at
    return out


def wait(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())

