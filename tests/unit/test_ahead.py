"""How far the collector may run ahead: how many UIDs its next FETCH may take
(``collector.ahead.batch_size``, pure) and the recycle hold (``AheadGate``, no servers)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from mailroom.collector.ahead import AheadGate, batch_size, recycle_hold_seconds
from mailroom.metrics import Metrics
from mailroom.settings import Settings


def test_no_bound_and_no_quota_take_what_is_wanted() -> None:
    assert batch_size(500, in_flight=10**6, max_ahead=0, quota_left=None) == 500


def test_the_batch_is_cut_to_the_room_left_so_the_bound_is_never_passed() -> None:
    assert batch_size(800, in_flight=1_450, max_ahead=2_000, quota_left=None) == 550
    assert batch_size(50, in_flight=0, max_ahead=40, quota_left=None) == 40
    for in_flight in range(0, 60):
        took = batch_size(50, in_flight=in_flight, max_ahead=40, quota_left=None)
        assert in_flight + took <= max(40, in_flight)


def test_a_full_pipeline_waits() -> None:
    assert batch_size(500, in_flight=2_000, max_ahead=2_000, quota_left=None) == 0
    assert batch_size(500, in_flight=2_600, max_ahead=2_000, quota_left=None) == 0


def test_a_nearly_full_pipeline_waits_for_a_quarter_of_the_bound_not_a_few_mails() -> None:
    assert batch_size(500, in_flight=1_990, max_ahead=2_000, quota_left=None) == 0
    assert batch_size(500, in_flight=1_500, max_ahead=2_000, quota_left=None) == 500
    assert batch_size(500, in_flight=1_501, max_ahead=2_000, quota_left=None) == 0


def test_a_small_want_goes_as_soon_as_it_fits() -> None:
    """A few new mails (a quiet folder) are not held back for a quarter of the bound."""
    assert batch_size(3, in_flight=1_990, max_ahead=2_000, quota_left=None) == 3
    assert batch_size(3, in_flight=1_998, max_ahead=2_000, quota_left=None) == 0
    assert batch_size(1, in_flight=0, max_ahead=1, quota_left=None) == 1


def test_the_recycle_quota_cuts_the_batch_then_holds() -> None:
    assert batch_size(500, in_flight=0, max_ahead=0, quota_left=120) == 120
    assert batch_size(500, in_flight=0, max_ahead=2_000, quota_left=0) == 0
    assert batch_size(500, in_flight=0, max_ahead=2_000, quota_left=-5) == 0
    # the last few of the quota go even into a nearly full pipeline, if they fit
    assert batch_size(500, in_flight=1_990, max_ahead=2_000, quota_left=4) == 4


def gate_for(stop: asyncio.Event, **settings: Any) -> AheadGate:
    """A gate on the embedded broker (the recycle quota applies) with no store: with
    COLLECTOR_MAX_AHEAD 0 it never counts one."""
    values: dict[str, Any] = {"collector_max_ahead": 0, "embedded_recycle_records": 100}
    rt = SimpleNamespace(settings=Settings(_env_file=None, **(values | settings)),  # type: ignore[call-arg]
                         metrics=Metrics(), db=None)
    return AheadGate(rt, stop)  # type: ignore[arg-type]


def sample(gate: AheadGate, name: str) -> float | None:
    return gate.rt.metrics.registry.get_sample_value(name, {"reason": "recycle"})


async def test_a_hold_shows_to_the_supervisor_and_ends_when_the_service_stops() -> None:
    stop = asyncio.Event()
    gate = gate_for(stop)
    assert await gate.take(500) == 100  # cut to what is left before the recycle
    gate.recorded(100)
    gate.release(100)
    waiting = asyncio.create_task(gate.take(50))
    for _ in range(100):
        if gate.holding:
            break
        await asyncio.sleep(0.01)
    assert gate.holding and sample(gate, "mailroom_collector_waiting") == 1
    stop.set()
    assert await asyncio.wait_for(waiting, 2) == 0
    assert not gate.holding and sample(gate, "mailroom_collector_waiting") == 0
    assert (sample(gate, "mailroom_collector_wait_seconds_total") or 0) > 0


async def test_a_hold_that_is_never_ended_times_out_and_collecting_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    """A mail that never settles stops the recycle, not the collector."""
    gate = gate_for(asyncio.Event())
    gate.hold_seconds = 0.3
    gate.recorded(100)
    started = time.monotonic()
    assert await asyncio.wait_for(gate.take(50), 5) == 50
    assert 0.3 <= time.monotonic() - started < 3
    assert not gate.holding
    assert "collecting again without the recycle" in caplog.text


def test_the_hold_lasts_two_reconciler_periods_and_a_minute() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert recycle_hold_seconds(settings) == 2 * settings.reconcile_after_seconds + 60 == 120


async def test_big_mails_hold_for_the_recycle_at_the_byte_quota_before_the_count() -> None:
    """EMBEDDED_RECYCLE_BYTES: 10 mails of 20 kB fill a 200 kB quota though the count (100)
    has room, so the broker's records stay bounded however big the mails; a hold that times
    out starts both counts again."""
    gate = gate_for(asyncio.Event(), embedded_recycle_bytes=200_000)
    assert await gate.take(10) == 10
    gate.recorded(10, 200_000)
    gate.release(10)
    gate.hold_seconds = 0.3
    waiting = asyncio.create_task(gate.take(5))
    for _ in range(100):
        if gate.holding:
            break
        await asyncio.sleep(0.01)
    assert gate.holding  # 90 mails were left by count, none by bytes
    assert await asyncio.wait_for(waiting, 5) == 5
    assert gate.collected == 0 and gate.collected_bytes == 0
