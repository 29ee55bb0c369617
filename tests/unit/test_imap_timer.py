"""An IMAP command's timeout with one timer per command (collector/imap.py) fires exactly
when aioimaplib's, which makes a new timer for every line received (pure: a fake clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aioimaplib
from hypothesis import given, settings
from hypothesis import strategies as st

import mailroom.collector.imap  # noqa: F401  (installs the replacement)


class Clock:
    """Just enough of an event loop for a Command's timers, with time moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.handles: list[asyncio.TimerHandle] = []

    def time(self) -> float:
        return self.now

    def get_debug(self) -> bool:
        return False

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,
                context: Any = None) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(when, callback, args, self)  # type: ignore[arg-type]
        self.handles.append(handle)
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,
                   context: Any = None) -> asyncio.TimerHandle:
        return self.call_at(self.now + delay, callback, *args)

    def _timer_handle_cancelled(self, _handle: asyncio.TimerHandle) -> None:
        pass

    def pending(self) -> int:
        return sum(1 for h in self.handles if not h.cancelled())

    def advance(self, to: float) -> None:
        """Run every timer due up to ``to``, in time order, then stand at ``to``."""
        while True:
            due = [h for h in self.handles if not h.cancelled() and h.when() <= to]
            if not due:
                break
            handle = min(due, key=lambda h: h.when())
            self.handles.remove(handle)
            self.now = handle.when()
            handle._run()
        self.now = to


class AsAioimaplib(aioimaplib.Command):
    """aioimaplib 2.0's own timer: cancelled and made anew on every line."""

    def _set_timer(self) -> None:
        if self._timeout is not None:
            self._timer = self._loop.call_later(self._timeout, self._timeout_callback)

    def _reset_timer(self) -> None:
        self._timer.cancel()
        self._set_timer()


STEP = st.tuples(st.floats(min_value=0, max_value=3, allow_nan=False),
                 st.sampled_from(["line", "literal", "close", "wait"]))


def play(kind: type[aioimaplib.Command], timeout: float | None,
         steps: list[tuple[float, str]]) -> list[tuple[float, str, bool, int]]:
    """What the command looks like after each step: (time, result, timed out, timers)."""
    clock = Clock()
    command = kind("FETCH", "A1", "1:*", "(UID)", loop=clock, timeout=timeout)  # type: ignore[arg-type]
    seen = []
    for pause, action in steps:
        clock.advance(clock.now + pause)
        if action == "line":
            command.append_to_resp(b"* 1 FETCH (UID 1)")
        elif action == "literal":
            command.begin_literal_data(4, b"ab")
            command.append_literal_data(b"cd")
        elif action == "close":
            command.close(b"A1 OK done", "OK")
        seen.append((clock.now, command.response.result,
                     isinstance(command._exception, aioimaplib.CommandTimeout), clock.pending()))
    clock.advance(clock.now + 10)
    seen.append((clock.now, command.response.result,
                 isinstance(command._exception, aioimaplib.CommandTimeout), clock.pending()))
    return seen


def test_the_replacement_is_installed() -> None:
    assert aioimaplib.Command._reset_timer.__module__ == "mailroom.collector.imap"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([None, 0.5, 1.0, 2.0]), st.lists(STEP, max_size=30))
def test_a_command_times_out_exactly_when_aioimaplibs_would(
        timeout: float | None, steps: list[tuple[float, str]]) -> None:
    ours = play(aioimaplib.Command, timeout, steps)
    theirs = play(AsAioimaplib, timeout, steps)
    # the same result and timeout after every step; at most one live timer, where
    # aioimaplib has one too (it never has more either)
    assert [s[:3] for s in ours] == [s[:3] for s in theirs]
    assert [min(s[3], 1) for s in ours] == [min(s[3], 1) for s in theirs]


def test_lines_that_keep_coming_hold_the_timeout_off() -> None:
    steps = [(0.9, "line")] * 20 + [(0.0, "wait")]
    seen = play(aioimaplib.Command, 1.0, steps)
    assert not any(timed_out for _t, _r, timed_out, _n in seen[:-1])
    assert seen[-1][2]  # and 1 s after the last one it times out
