"""A TCP proxy in front of the SMTP sink that loses the server's answer to DATA on cue.

``lose_answer_after_data(n)``: the next ``n`` transactions reach the server whole (it
stores the message and answers 250), then the proxy drops that answer and aborts both
sides: what a client sees when a connection dies between the end of DATA and the reply
code. The outcome is unknown to the client although the message was delivered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tcp_proxy import CuttingProxy, Link

END_OF_DATA = b"\r\n.\r\n"


@dataclass
class SmtpCuttingProxy(CuttingProxy):
    answers_lost: int = 0  # transactions whose answer to DATA was dropped so far
    _armed_answer: int = 0
    _after_data: set[int] = field(default_factory=lambda: set())  # links awaiting that answer

    def lose_answer_after_data(self, times: int = 1) -> None:
        self._call(lambda: setattr(self, "_armed_answer", self._armed_answer + times))

    async def _pump_up(self, reader: asyncio.StreamReader, link: Link) -> None:
        """Client to server: note when a message's end-of-data goes by while armed."""
        tail = b""
        while chunk := await reader.read(65536):
            seen = tail + chunk
            if self._armed_answer > 0 and END_OF_DATA in seen:
                self._armed_answer -= 1
                self._after_data.add(id(link))
            tail = seen[-(len(END_OF_DATA) - 1):]
            link.server.write(chunk)
            await link.server.drain()
        link.abort()

    async def _pump_down(self, reader: asyncio.StreamReader, link: Link) -> None:
        """Server to client: the answer to an armed DATA never arrives; the link dies."""
        while chunk := await reader.read(65536):
            if id(link) in self._after_data:
                self._after_data.discard(id(link))
                self.answers_lost += 1
                link.abort()
                return
            link.client.write(chunk)
            await link.client.drain()
        link.abort()
