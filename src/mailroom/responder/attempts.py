"""The durable record of what is on the wire: SMTP attempts, group-committed.

Before a pool connection sends a reply's DATA, the reply's row must be ``sending`` in the
store (the commit runs while MAIL and RCPT go); just after the transaction, it must say how
it ended. A durable commit per reply would bound the responder by the store's commit time
(docs/responder.md, "Measured here"), so the ``AttemptLog`` gathers what every connection
asks for while the previous commit runs and commits it together (a group commit): a
connection's "ended" is always queued before its next "start", so whatever instant the
responder dies at, each connection has at most one ``sending`` row.

How an attempt ended decides the row: delivered -> ``sent`` (the responder marks the mail
``replied`` with the rest of its batch; a crash before that is healed when the mail comes
again and its reply is found sent);
refused (4xx, 5xx) -> ``claimed`` again, for the responder to retry, park or fail it; the
answer lost after DATA -> ``uncertain`` and the mail to review, or ``claimed`` again when
``UNCERTAIN_REPLY_POLICY=resend``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from mailroom.errors import RetryLater
from mailroom.responder.smtp import Delivery, SmtpUnknown
from mailroom.settings import UncertainReplyPolicy
from mailroom.store import Database
from mailroom.store import replies as reply_store
from mailroom.store.replies import Key

log = logging.getLogger(__name__)

UNCERTAIN_NOTE = ("the connection was lost after this reply was sent and before the server "
                  "answered, so it may have been delivered; check the sent mail before "
                  "answering")


@dataclass
class _Op:
    kind: Literal["start", "sent", "refused", "uncertain"]
    key: Key
    owner: str = ""
    note: str = ""  # uncertain: why
    done: asyncio.Future[bool] | None = None  # start: whether it may go


@dataclass
class AttemptLog:
    db: Database
    lease: timedelta  # how long one SMTP transaction may take before it counts as cut off
    claim_lease: timedelta  # how long a claim is held: when taken, and after a refused attempt
    policy: UncertainReplyPolicy = UncertainReplyPolicy.REVIEW
    patience: float = 120.0  # seconds to wait out a store outage before giving up
    # a commit waits up to ``linger`` seconds for this many starts (one per pool connection),
    # so a fast SMTP server does not cost a transaction per reply
    group: int = 1
    linger: float = 0.002
    _pending: list[_Op] = field(default_factory=list)
    _writer: asyncio.Task[None] | None = None
    _failure: BaseException | None = None
    # the log's own store connection, kept between the commits of a batch (one writer at a
    # time): a connection from the pool per commit cost a checkout and its liveness ping,
    # one more round trip to the store on the path of every start
    _conn: Connection | None = None
    _autocommitting: bool | None = None  # the mode ``_conn`` is in (None: as the pool gave it)

    async def start(self, key: Key, owner: str) -> bool:
        """Durably ``sending`` before the transaction; False: the claim is no longer ours."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue(_Op("start", key, owner, done=done))
        return await done

    def end(self, key: Key, result: Delivery | BaseException) -> None:
        """Queue how the transaction ended (no await: it is queued before the next start)."""
        if isinstance(result, Delivery):
            self._queue(_Op("sent", key))
        elif isinstance(result, SmtpUnknown) and self.policy is UncertainReplyPolicy.REVIEW:
            self._queue(_Op("uncertain", key, note=result.reason))
        else:
            self._queue(_Op("refused", key))

    async def flush(self) -> None:
        """Wait until everything queued is committed; raises if the store stayed away.

        The log's store connection goes back to the pool here (once per batch): it is not
        held while the responder waits for work."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(_close, conn)
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def _queue(self, op: _Op) -> None:
        self._pending.append(op)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        deadline: float | None = None
        attempt = 0
        while self._pending:
            if sum(op.kind == "start" for op in self._pending) < self.group:
                await asyncio.sleep(self.linger)
            ops, self._pending = self._pending, []
            try:
                started = await asyncio.to_thread(self._commit, ops)
            except Exception as exc:
                # starts are refused (nothing goes on the wire unrecorded); what ended is
                # kept, in order, and written once the store is back
                for op in ops:
                    if op.done is not None and not op.done.done():
                        op.done.set_exception(exc)
                self._pending = [op for op in ops if op.kind != "start"] + self._pending
                reason = exc.reason if isinstance(exc, RetryLater) else repr(exc)
                deadline = deadline or time.monotonic() + self.patience
                if time.monotonic() >= deadline or not self._pending:
                    if self._pending:
                        log.error("responder: attempts not recorded, giving up: %s", reason)
                        self._failure = exc
                        self._pending = []
                    return
                attempt += 1
                log.warning("responder: recording attempts failed, retrying: %s", reason)
                await asyncio.sleep(min(0.5 * 2 ** min(attempt, 6), 10.0))
                continue
            deadline, attempt = None, 0
            for op in ops:
                if op.done is not None and not op.done.done():
                    op.done.set_result((*op.key, op.owner) in started)

    def close(self) -> None:
        """Give the log's store connection back (a later commit opens another)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            _close(conn)

    def _commit(self, ops: list[_Op]) -> set[tuple[str, str, str]]:
        """One transaction: what ended, then what starts (usually one statement for both).

        On the log's kept connection; if the store dropped it while it was idle (a restart),
        the commit is tried once more on a new one, as the pool's ping would have done.
        """
        kept = self._conn is not None
        for last in (not kept, True):
            try:
                return self._commit_on(self._connection(), ops)
            except OperationalError as exc:
                self.close()
                if last:
                    raise RetryLater(f"state store unavailable: {exc.orig!r}") from exc
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable: the last try returns or raises")

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.db.engine.connect()
            self._autocommitting = None
        return self._conn

    def _commit_on(self, conn: Connection, ops: list[_Op]) -> set[tuple[str, str, str]]:
        sent = [op.key for op in ops if op.kind == "sent"]
        refused = [op.key for op in ops if op.kind == "refused"]
        uncertain = {op.key: op.note for op in ops if op.kind == "uncertain"}
        starts = [(*op.key, op.owner) for op in ops if op.kind == "start"]
        # the common commit is record_attempts' one statement: run as a transaction of its
        # own (autocommit), it is durable when its answer is read, and its BEGIN and COMMIT,
        # two more round trips to the store on the path of every start, are not sent
        self._autocommit(conn, not refused and not uncertain)
        with conn.begin():
            # a refused attempt is claimed again before its quick retry may start below
            reply_store.end_attempts(conn, refused, lease=self.claim_lease)
            reply_store.mark_uncertain_many(conn, uncertain, note=UNCERTAIN_NOTE)
            return reply_store.record_attempts(conn, sent=sent, starts=starts,
                                               lease=self.lease)

    def _autocommit(self, conn: Connection, on: bool) -> None:
        if self._autocommitting is not on:
            default = conn.default_isolation_level
            assert default is not None, "the store's isolation level is unknown"
            conn.execution_options(isolation_level="AUTOCOMMIT" if on else default)
            self._autocommitting = on


def _close(conn: Connection) -> None:
    try:
        conn.close()
    except Exception:  # a connection the store already dropped
        conn.invalidate()
