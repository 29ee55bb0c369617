"""A TCP proxy between the collector and Dovecot that cuts connections on cue.

It runs its own asyncio loop in a thread, so it works the same whether the services run
in the test's loop or as separate processes. Cuts are aborts (RST, no IMAP LOGOUT), as
when a NAT box or the server drops the connection:

* ``cut_during_fetch(n)``: the next ``n`` server answers carrying a FETCH literal are cut
  half-way through the literal;
* ``cut_during_idle(n)``: the next ``n`` connections that enter IDLE are cut shortly after;
* ``cut_all()``: every live connection now.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from dataclasses import dataclass, field

FETCH_LITERAL = re.compile(rb"\* \d+ FETCH \(.*\{\d+\}\r\n", re.DOTALL)
IDLE_COMMAND = re.compile(rb"^\S+ IDLE\r\n", re.IGNORECASE | re.MULTILINE)


@dataclass(eq=False)  # identity: links live in a set
class Link:
    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    idling: bool = False

    def abort(self) -> None:
        for writer in (self.client, self.server):
            with contextlib.suppress(Exception):
                writer.transport.abort()


@dataclass
class CuttingProxy:
    target_host: str
    target_port: int
    host: str = "127.0.0.1"
    port: int = 0
    connections: int = 0  # accepted so far: grows with every reconnect
    fetch_cuts: int = 0  # cuts made in the middle of a FETCH literal
    idle_cuts: int = 0  # cuts made during IDLE
    idle_seen: int = 0  # IDLE commands seen
    _armed_fetch: int = 0
    _armed_idle: int = 0
    _idle_delay: float = 0.5
    _links: set[Link] = field(default_factory=lambda: set())
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: asyncio.Server | None = None

    # -- control (from any thread) --------------------------------------------------
    def start(self) -> CuttingProxy:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._accept, self.host, self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="cutting-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def close() -> None:
            for link in list(self._links):
                link.abort()
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        loop.close()
        self._loop = None

    def cut_during_fetch(self, times: int = 1) -> None:
        self._call(lambda: setattr(self, "_armed_fetch", self._armed_fetch + times))

    def cut_during_idle(self, times: int = 1, after: float = 0.5) -> None:
        def arm() -> None:
            self._armed_idle += times
            self._idle_delay = after
            for link in self._links:  # a connection already idling is cut too
                if link.idling and self._armed_idle > 0:
                    self._armed_idle -= 1
                    self._cut_idle(link)

        self._call(arm)

    def cut_all(self) -> None:
        def cut() -> None:
            for link in list(self._links):
                link.abort()

        self._call(cut)

    @property
    def live(self) -> int:
        return len(self._links)

    def _call(self, fn: object) -> None:
        assert self._loop is not None and callable(fn)
        self._loop.call_soon_threadsafe(fn)

    # -- the proxy (in its own loop) -------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        link = Link(writer, up_writer)
        self._links.add(link)
        try:
            await asyncio.gather(self._pump_up(reader, link), self._pump_down(up_reader, link),
                                 return_exceptions=True)
        finally:
            self._links.discard(link)
            link.abort()

    async def _pump_up(self, reader: asyncio.StreamReader, link: Link) -> None:
        """Client to server: watch for IDLE."""
        while chunk := await reader.read(65536):
            link.server.write(chunk)
            await link.server.drain()
            if IDLE_COMMAND.search(chunk):
                link.idling = True
                self.idle_seen += 1
                if self._armed_idle > 0:
                    self._armed_idle -= 1
                    self._cut_idle(link)
            elif link.idling and chunk.strip().upper() == b"DONE":
                link.idling = False
        link.abort()

    def _cut_idle(self, link: Link) -> None:
        def cut() -> None:
            if link in self._links:
                self.idle_cuts += 1
                link.abort()

        assert self._loop is not None
        self._loop.call_later(self._idle_delay, cut)

    async def _pump_down(self, reader: asyncio.StreamReader, link: Link) -> None:
        """Server to client: cut in the middle of a FETCH literal when armed."""
        while chunk := await reader.read(65536):
            if self._armed_fetch > 0 and FETCH_LITERAL.search(chunk):
                self._armed_fetch -= 1
                self.fetch_cuts += 1
                match = FETCH_LITERAL.search(chunk)
                assert match is not None
                link.client.write(chunk[: match.end() + 200])  # the literal begins, then nothing
                with contextlib.suppress(Exception):
                    await link.client.drain()
                link.abort()
                return
            link.client.write(chunk)
            await link.client.drain()
        link.abort()
