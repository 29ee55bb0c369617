"""The send pace's pure parts: which refusals mean "too fast", and the slowdown's recovery."""

from __future__ import annotations

import pytest

from mailroom.responder.pace import Pacer, too_many
from mailroom.store import Database
from mailroom.store.pace import Budget, factor_at


@pytest.mark.parametrize(("code", "reason", "expected"), [
    (421, "4.7.0 Try again later, closing connection", True),
    (451, "4.7.1 Too many messages, slow down", True),
    (450, "Rate limit exceeded for this sender", True),
    (452, "4.3.1 Insufficient system storage", False),  # the server's disk, not our pace
    (451, "4.3.0 Local error in processing", False),
    (550, "too many recipients", False),  # permanent: never retried, nothing to slow
    (None, "connection refused", False),
])
def test_only_a_421_or_a_4xx_that_says_so_slows_the_pace(
        code: int | None, reason: str, expected: bool) -> None:
    assert too_many(code, reason) is expected


def test_the_factor_grows_back_linearly_up_to_full_speed() -> None:
    """Halved at t=100, regaining 0.01/s: 0.6 ten seconds later, full speed after 50 s."""
    assert factor_at(0.5, 100.0, 110.0, 0.01) == pytest.approx(0.6)
    assert factor_at(0.5, 100.0, 160.0, 0.01) == 1.0
    assert factor_at(0.5, 100.0, 90.0, 0.01) == 0.5  # a clock behind the row's: no change


def test_a_chunk_holds_about_two_seconds_of_the_pace() -> None:
    """Claims wait for their slots at most ~2 s: chunk = 2 x pace (never more than asked)."""
    db = Database("sqlite://")
    try:
        assert Pacer(db, Budget(per_second=5)).chunk(50) == 10
        assert Pacer(db, Budget(per_second=0.2)).chunk(50) == 1
        assert Pacer(db, Budget(per_second=500)).chunk(50) == 50
        assert Pacer(db, Budget(per_day=1000)).chunk(50) == 50
        assert not Pacer(db, Budget()).enabled
    finally:
        db.dispose()
