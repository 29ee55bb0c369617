"""One IMAP connection for one watched folder (the network edge, built on aioimaplib).

Every command is bounded by a timeout and raced against the connection's loss, so a
dead or cut connection surfaces as ``ImapError`` within seconds instead of a hang; the
caller then reconnects with backoff. Messages are read with ``BODY.PEEK`` so collecting
never changes their flags.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioimaplib

from mailroom.collector import imap_responses as r
from mailroom.collector.imap_responses import FolderState
from mailroom.collector.mailboxes import Account
from mailroom.collector.oauth import TokenSource
from mailroom.errors import RetryLater
from mailroom.settings import Security

log = logging.getLogger(__name__)
T = TypeVar("T")


class ImapError(RetryLater):
    """The connection failed, timed out or the server refused a command: reconnect."""


class AuthFailed(ImapError):
    """The server refused the credentials."""


@dataclass(frozen=True)
class Fetched:
    uid: int
    size: int
    raw: bytes
    headers_only: bool  # over the size limit: ``raw`` holds only the header section


def _keepalive(sock: socket.socket) -> None:
    """TCP keep-alive: the kernel ends a silently dead connection in about two minutes,
    which aioimaplib reports as lost even in the middle of a long IDLE."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


class ImapConnection:
    def __init__(self, account: Account, *, timeout: float = 30.0,
                 tokens: TokenSource | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.account = account
        self.timeout = timeout
        self.tokens = tokens
        self.ssl_context = ssl_context
        self.client: aioimaplib.IMAP4 | None = None
        self._lost = asyncio.Event()

    # -- plumbing ----------------------------------------------------------------------
    def _on_lost(self, _exc: Exception | None) -> None:
        self._lost.set()

    @property
    def alive(self) -> bool:
        return self.client is not None and not self._lost.is_set()

    def _client(self) -> aioimaplib.IMAP4:
        if self.client is None or self._lost.is_set():
            raise ImapError("connection lost")
        return self.client

    async def _call(self, what: str, awaitable: Awaitable[T], timeout: float | None = None) -> T:
        """Run one command; the connection's loss or a timeout becomes ``ImapError``."""
        task = asyncio.ensure_future(awaitable)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait({task, lost}, timeout=timeout or self.timeout,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if task not in done:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise ImapError(f"{what}: connection lost" if self._lost.is_set() else
                            f"{what}: no answer in {timeout or self.timeout:.0f}s")
        try:
            return task.result()
        except (aioimaplib.AioImapException, OSError, TimeoutError, ssl.SSLError) as exc:
            raise ImapError(f"{what}: {type(exc).__name__}: {exc}") from None

    async def _ok(self, what: str, awaitable: Awaitable[Any], timeout: float | None = None) -> Any:
        response = await self._call(what, awaitable, timeout)
        if response.result != "OK":
            text = b" ".join(bytes(x) for x in response.lines[-1:]).decode(errors="replace")
            raise ImapError(f"{what} refused: {response.result} {text[:200]}")
        return response

    # -- session -----------------------------------------------------------------------
    async def open(self) -> None:
        """Connect, secure, authenticate and read the capabilities."""
        acc = self.account
        context = self.ssl_context or ssl.create_default_context()
        self.client = aioimaplib.IMAP4(
            acc.server, acc.port, timeout=self.timeout, conn_lost_cb=self._on_lost,
            ssl_context=context if acc.security is Security.SSL else None,
        )
        _feed_in_slices(self.client.protocol)
        await self._call("connect", self.client.wait_hello_from_server())
        if acc.security is Security.STARTTLS:
            await self._starttls(context)
        sock = self.client.protocol.transport.get_extra_info("socket")
        if sock is not None:
            _keepalive(sock)
        await self._authenticate()
        await self._call("CAPABILITY", self.client.protocol.capability())

    async def _starttls(self, context: ssl.SSLContext) -> None:
        client = self._client()
        protocol = client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("server does not offer STARTTLS")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        await self._ok("STARTTLS", protocol.execute(command))
        loop = asyncio.get_running_loop()
        transport = await self._call("TLS handshake", loop.start_tls(
            protocol.transport, protocol, context, server_hostname=self.account.server))
        protocol.transport = transport
        await self._call("CAPABILITY", protocol.capability())

    async def _authenticate(self) -> None:
        client = self._client()
        acc = self.account
        if self.tokens is not None:
            for force in (False, True):  # a refused token is refreshed once
                token = await self.tokens.token(force=force)
                response = await self._call("AUTHENTICATE XOAUTH2", client.xoauth2(acc.user, token))
                if response.result == "OK":
                    return
                if not self.alive:
                    break
            raise AuthFailed(f"XOAUTH2 refused for {acc.user}")
        assert acc.password is not None
        response = await self._call("LOGIN", client.login(acc.user, acc.password.get_secret_value()))
        if response.result != "OK":
            raise AuthFailed(f"LOGIN refused for {acc.user}")

    @property
    def has_idle(self) -> bool:
        return self.client is not None and self.client.has_capability("IDLE")

    async def select(self, folder: str, *, read_only: bool = False) -> FolderState:
        """SELECT the folder, or EXAMINE it (read-only: the server changes no flag)."""
        client = self._client()
        verb = "EXAMINE" if read_only else "SELECT"
        opening = (client.examine if read_only else client.select)(r.quote_mailbox(folder))
        response = await self._ok(f"{verb} {folder}", opening)
        if read_only:  # aioimaplib's examine() leaves its state machine in AUTH; EXAMINE selects
            client.protocol.state = aioimaplib.SELECTED
        state = r.parse_select(response.lines)
        if not state.uidvalidity:
            raise ImapError(f"{verb} {folder}: server sent no UIDVALIDITY")
        return state

    async def search_after(self, last_uid: int) -> list[int]:
        """UIDs above ``last_uid`` (``n:*`` also matches the highest UID, so filter)."""
        response = await self._ok("UID SEARCH", self._client().uid_search(
            f"UID {last_uid + 1}:*", charset=None))
        return sorted(u for u in set(r.parse_search(response.lines)) if u > last_uid)

    async def search_range(self, first: int, last: int) -> list[int]:
        """UIDs from ``first`` to ``last``, both included."""
        response = await self._ok("UID SEARCH", self._client().uid_search(
            f"UID {first}:{last}", charset=None))
        return sorted(u for u in set(r.parse_search(response.lines)) if first <= u <= last)

    async def search_uids(self, uids: list[int]) -> list[int]:
        """Which of ``uids`` the server still lists."""
        response = await self._ok("UID SEARCH", self._client().uid_search(
            f"UID {r.uid_set(uids)}", charset=None))
        return sorted(set(r.parse_search(response.lines)) & set(uids))

    async def sizes(self, uids: list[int]) -> dict[int, int | None]:
        """``RFC822.SIZE`` of each UID still there (an expunged one is missing)."""
        found = r.parse_fetch((await self._ok("UID FETCH sizes", self._client().uid(
            "fetch", r.uid_set(uids), "(UID RFC822.SIZE)"))).lines)
        return {uid: item.size for uid, item in found.items()}

    async def fetch(self, uids: list[int], max_bytes: int,
                    sizes: dict[int, int | None] | None = None) -> list[Fetched]:
        """Whole mails within ``max_bytes``, only the headers of bigger ones.

        ``sizes`` (from ``sizes()``) saves asking for them again.
        """
        client = self._client()
        if sizes is None:
            sizes = await self.sizes(uids)
        small = [u for u in uids if u in sizes and (sizes[u] or 0) <= max_bytes]
        large = [u for u in uids if u in sizes and (sizes[u] or 0) > max_bytes]
        out: list[Fetched] = []
        for chosen, item, headers_only in ((small, "BODY.PEEK[]", False),
                                           (large, "BODY.PEEK[HEADER]", True)):
            if not chosen:
                continue
            # aioimaplib's own timer ends a FETCH that stalls between data; this bounds the
            # whole answer, allowing for a link as slow as 256 KB/s
            total = sum(sizes[u] or 0 for u in chosen) if not headers_only else 0
            response = await self._ok("UID FETCH", client.uid(
                "fetch", r.uid_set(chosen), f"(UID RFC822.SIZE {item})"),
                timeout=self.timeout * 2 + total / 262_144)
            for uid, got in r.parse_fetch(response.lines).items():
                if uid in chosen and got.body is not None:
                    size = got.size if got.size is not None else (sizes[uid] or len(got.body))
                    out.append(Fetched(uid, size, got.body, headers_only))
        return sorted(out, key=lambda f: f.uid)

    async def noop(self) -> None:
        await self._ok("NOOP", self._client().noop())

    async def wait_for_news(self, seconds: float, stop: asyncio.Event) -> bool:
        """IDLE up to ``seconds``; True when the server announced a new message.

        Returns early (False) when ``stop`` is set. Without IDLE, just waits.
        """
        client = self._client()
        if not self.has_idle:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)
            return False
        # the library's own renew timer stays out of the way: we end IDLE ourselves
        idle = await self._call("IDLE", client.idle_start(timeout=seconds + 3600))
        news = False
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            while not news and not stop.is_set() and loop.time() < deadline:
                push = asyncio.ensure_future(client.wait_server_push(timeout=deadline - loop.time()))
                stopper = asyncio.ensure_future(stop.wait())
                lost = asyncio.ensure_future(self._lost.wait())
                done, _ = await asyncio.wait({push, stopper, lost},
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in (push, stopper, lost):
                    task.cancel()
                if lost in done and push not in done:
                    raise ImapError("IDLE: connection lost")
                if push in done and not push.cancelled() and push.exception() is None:
                    if (reason := r.alarm(push.result())) is not None:
                        raise ImapError(f"IDLE: server said {reason}")
                    news = r.is_news(push.result())
                elif push in done:
                    break  # timed out: time to renew
        finally:
            if self.alive and client.has_pending_idle():
                client.idle_done()
                with contextlib.suppress(Exception):
                    await self._call("IDLE DONE", asyncio.shield(idle))
        return news

    async def mark_seen(self, uids: list[int]) -> None:
        await self._ok("UID STORE", self._client().uid(
            "store", r.uid_set(uids), "+FLAGS.SILENT", r"(\Seen)"))

    async def move(self, uids: list[int], folder: str) -> None:
        """Move to ``folder``, creating it when the server says it does not exist."""
        try:
            await self._move(uids, folder)
        except ImapError as exc:
            if "TRYCREATE" not in str(exc):
                raise
            await self._ok("CREATE", self._client().create(r.quote_mailbox(folder)))
            await self._move(uids, folder)

    async def _move(self, uids: list[int], folder: str) -> None:
        client = self._client()
        target, uid_set = r.quote_mailbox(folder), r.uid_set(uids)
        if client.has_capability("MOVE"):
            await self._ok("UID MOVE", client.uid("move", uid_set, target))
            return
        await self._ok("UID COPY", client.uid("copy", uid_set, target))
        await self._ok("UID STORE", client.uid("store", uid_set, "+FLAGS.SILENT", r"(\Deleted)"))
        if client.has_capability("UIDPLUS"):
            await self._ok("UID EXPUNGE", client.uid("expunge", uid_set))
        else:
            await self._ok("EXPUNGE", client.expunge())

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        if not self._lost.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), timeout=3)
        transport = getattr(client.protocol, "transport", None)
        if transport is not None:
            transport.close()
        for task in list(getattr(client, "tasks", ())) + list(client.protocol.tasks):
            task.cancel()


READ_SLICE = 2048


def _fetch_wait_data(self: aioimaplib.FetchCommand) -> bool:
    """``FetchCommand.wait_data`` without rescanning the whole response on every line.

    aioimaplib's version looks through every line received so far, for every line, to
    find the last ``n FETCH (`` and count parentheses from there: quadratic in the batch,
    and 40 % of the collector's time with 500-mail FETCHes. This keeps the scan position
    and the counts since the last FETCH line on the command and gives the same answer.
    """
    lines = self._resp_lines
    scanned, opened, closed = getattr(self, "_mailroom_scan", (0, 0, 0))
    pattern = self.FETCH_MESSAGE_DATA_RE
    for line in itertools.islice(lines, scanned, None):
        if isinstance(line, bytes):  # literals arrive as bytearray and are not counted
            if pattern.match(line):
                opened = closed = 0
            opened += line.count(b"(")
            closed += line.count(b")")
    self._mailroom_scan = (len(lines), opened, closed)
    return opened != closed


aioimaplib.FetchCommand.wait_data = _fetch_wait_data


def _set_timer(self: aioimaplib.Command) -> None:
    """``Command._set_timer`` with a deadline the timer checks when it fires.

    aioimaplib restarts a command's timeout on every line and literal it receives
    (``_reset_timer``: cancel the timer, schedule a new one): six timers made and cancelled
    per mail of a FETCH, a fifth of the collector's event loop. Here a line only moves the
    deadline; the one timer, when it fires before the deadline, waits again until it. The
    command times out exactly when aioimaplib's would: ``timeout`` seconds after the last
    line (or the start), and never while lines keep coming.
    """
    if self._timeout is not None:
        self._mailroom_deadline = self._loop.time() + self._timeout
        self._timer = self._loop.call_at(self._mailroom_deadline, _timer_due, self)


def _timer_due(command: aioimaplib.Command) -> None:
    deadline: float = command._mailroom_deadline
    if command._loop.time() < deadline:  # lines came since it was scheduled: wait again
        command._timer = command._loop.call_at(deadline, _timer_due, command)
        return
    command._timeout_callback()


def _reset_timer(self: aioimaplib.Command) -> None:
    if self._timeout is None or self._timer.cancelled():
        # no timeout (aioimaplib's placeholder handle), or the command has been closed and
        # its timer cancelled: what aioimaplib does, a new timer when there is a timeout
        self._timer.cancel()
        _set_timer(self)
        return
    self._mailroom_deadline = self._loop.time() + self._timeout


aioimaplib.Command._set_timer = _set_timer
aioimaplib.Command._reset_timer = _reset_timer


def _feed_in_slices(protocol: aioimaplib.IMAP4ClientProtocol) -> None:
    """Hand aioimaplib at most ``READ_SLICE`` bytes at a time.

    aioimaplib parses the lines of one read recursively, one stack frame per line: a
    256 KiB read of a large FETCH of small mails holds thousands of lines and raised
    RecursionError here (measured with 500-mail batches). Its parser keeps partial lines
    and literals between calls, so slicing the read changes nothing else.
    """
    receive = protocol.data_received

    def data_received(data: bytes) -> None:
        for start in range(0, len(data), READ_SLICE):
            receive(data[start:start + READ_SLICE])

    protocol.data_received = data_received
