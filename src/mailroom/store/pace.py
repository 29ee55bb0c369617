"""The relay's pace, shared by every responder: a send budget per second and per day.

Real submission servers cap a sender (so many messages per second, per day) and suspend
an account that goes over. Every responder replica takes its send slots from ONE row
(``send_pace``), a group of slots per conditional UPDATE, so the replicas together keep
the pace whatever their number, on SQLite and PostgreSQL alike (the UPDATE holds the
row's lock; PostgreSQL re-checks its condition on the row it waited for). Times are
epoch seconds.

- Per second, a virtual clock (GCRA, the token bucket's time form): ``next_at`` is the
  next free slot; a group of ``n`` sends starts at ``max(now, next_at)`` and takes ``n``
  intervals of ``1 / (rate * factor)``, so the sends are evenly spaced, never in a burst.
- Per day, a count per UTC day (``day``, ``day_count``), the day most providers' daily
  quotas reset on: a group is granted only while the day's count stays within the budget.

A group is granted only if it starts within ``horizon`` seconds, so a replica holds few
slots ahead (its claims stay short); otherwise the caller learns when to ask again, and
how many of the group the day's budget would still grant.

``factor`` is the adaptive slowdown: a server's "too many" (421, 451) halves it (at most
once per ``cooldown`` for all replicas together, since one burst of refusals reaches every
connection at once), and it grows back by ``recovery`` per second (additive increase,
multiplicative decrease, as TCP does): slowing down is fast, speeding up is slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, literal, select, update

from mailroom.store.db import insert_ignore
from mailroom.store.replies import waiting_to_send
from mailroom.store.schema import send_pace

DAY = 86400.0
SMTP = "smtp"  # the row of the one relay mailroom sends through
RECOVERY = 0.01  # factor regained per second after a slowdown: 0.5 -> 1 in 50 s
MIN_FACTOR = 1 / 64  # halving stops here (a pace never reaches zero)


@dataclass(frozen=True)
class Budget:
    """The set pace: 0 means unlimited."""

    per_second: float = 0.0
    per_day: int = 0
    recovery: float = RECOVERY
    min_factor: float = MIN_FACTOR

    @property
    def limited(self) -> bool:
        return self.per_second > 0 or self.per_day > 0


@dataclass(frozen=True)
class Reservation:
    """Start times (epoch seconds) of the granted sends; none: ask again at ``not_before``."""

    slots: list[float]
    not_before: float
    pace: float  # the per-second pace now (0: no per-second limit)
    fits: int = 0  # refused: how many of the group the day's budget would grant now


@dataclass(frozen=True)
class PaceState:
    pace: float  # sends per second allowed now (0: no per-second limit)
    factor: float  # share of the set pace (1: full speed; below 1 after a "too many")
    day_left: float  # sends the per-day budget allows right now (inf: no day limit)


def factor_at(factor: float, slowed_at: float, now: float, recovery: float) -> float:
    """The slowdown's factor at ``now``: what it was set to, plus what it regained since."""
    return min(1.0, factor + recovery * max(0.0, now - slowed_at))


def _greatest(a: ColumnElement[float], b: ColumnElement[float]) -> ColumnElement[float]:
    # GREATEST is PostgreSQL's, MAX(a, b) SQLite's: a CASE is both
    return case((a > b, a), else_=b)


def _factor_expr(budget: Budget, now: float) -> ColumnElement[float]:
    grown = send_pace.c.factor + literal(budget.recovery) * (literal(now) - send_pace.c.slowed_at)
    return case((grown > 1.0, literal(1.0)), else_=grown)


def _day_of(now: float) -> float:
    return float(int(now // DAY) * DAY)


def _ensure_row(conn: Connection) -> None:
    conn.execute(insert_ignore(conn, send_pace),
                 [dict(name=SMTP, next_at=0.0, day=0.0, day_count=0, factor=1.0,
                       slowed_at=0.0)])


def reserve(conn: Connection, budget: Budget, n: int, *, now: float,
            horizon: float) -> Reservation:
    """Take ``n`` send slots in one conditional UPDATE, or learn when to ask again.

    The slots start within ``horizon`` seconds of ``now``, one interval apart.
    """
    assert n >= 1 and budget.limited
    start = _greatest(literal(now), send_pace.c.next_at)
    today = _day_of(now)
    # the day's count so far (0 once the day changed)
    counted = case((send_pace.c.day == today, send_pace.c.day_count), else_=0)
    conditions = [send_pace.c.name == SMTP, start <= now + horizon]
    values: dict[str, Any] = {}
    if budget.per_second:
        values["next_at"] = start + literal(n / budget.per_second) / _factor_expr(budget, now)
    if budget.per_day:
        conditions.append(counted + n <= budget.per_day)
        values |= {"day": today, "day_count": counted + n}
    statement = (update(send_pace).where(*conditions).values(**values)
                 .returning(send_pace.c.next_at, send_pace.c.factor, send_pace.c.slowed_at))
    row = conn.execute(statement).first()
    if row is None:
        # the first send ever (the row is created, or another replica just created it:
        # the UPDATE did not see it), or a refusal: ask once more, then see why
        _ensure_row(conn)
        row = conn.execute(statement).first()
        if row is None:
            current = conn.execute(select(send_pace).where(send_pace.c.name == SMTP)).one()
            return _refused(budget, n, now, horizon, current)
    next_at, factor, slowed_at = float(row.next_at), float(row.factor), float(row.slowed_at)
    pace = _pace(budget, factor, slowed_at, now)
    if not budget.per_second:
        return Reservation([now] * n, now, pace)
    interval = 1.0 / pace
    first = next_at - n * interval
    return Reservation([first + k * interval for k in range(n)], first, pace)


def _refused(budget: Budget, n: int, now: float, horizon: float, row: Any) -> Reservation:
    """When to ask again, and how many of the group the day's budget grants now."""
    pace = _pace(budget, float(row.factor), float(row.slowed_at), now)
    start = max(now, float(row.next_at)) if budget.per_second else now
    if not budget.per_day:
        return Reservation([], start - horizon, pace)
    left = budget.per_day - (int(row.day_count) if float(row.day) == _day_of(now) else 0)
    if left <= 0:  # the day is spent: tomorrow
        return Reservation([], max(start, _day_of(now) + DAY) - horizon, pace)
    fits = min(n - 1, left) if start <= now + horizon else 0
    return Reservation([], start - horizon, pace, fits)


def _pace(budget: Budget, factor: float, slowed_at: float, now: float) -> float:
    if not budget.per_second:
        return 0.0
    return budget.per_second * factor_at(factor, slowed_at, now, budget.recovery)


def slow_down(conn: Connection, budget: Budget, *, now: float,
              cooldown: float) -> float | None:
    """Halve the pace after a "too many"; returns the new pace, or None if another
    refusal already halved it less than ``cooldown`` seconds ago (or no per-second pace
    is set: there is nothing to halve)."""
    if not budget.per_second:
        return None
    _ensure_row(conn)
    halved = _factor_expr(budget, now) / 2.0
    row = conn.execute(
        update(send_pace)
        .where(send_pace.c.name == SMTP, send_pace.c.slowed_at <= now - cooldown)
        .values(factor=case((halved < budget.min_factor, literal(budget.min_factor)),
                            else_=halved),
                slowed_at=now)
        .returning(send_pace.c.factor)
    ).first()
    return None if row is None else budget.per_second * float(row.factor)


def shown(conn: Connection, budget: Budget, *, now: float) -> tuple[PaceState | None, int]:
    """What /metrics and the dashboard show: the pace (None when no limit is set) and the
    replies waiting for it."""
    return (state(conn, budget, now=now) if budget.limited else None), waiting_to_send(conn)


def state(conn: Connection, budget: Budget, *, now: float) -> PaceState:
    """The pace now, for /metrics and the dashboard (full speed before the first send)."""
    row = conn.execute(select(send_pace).where(send_pace.c.name == SMTP)).first()
    factor, slowed_at = (1.0, 0.0) if row is None else (float(row.factor), float(row.slowed_at))
    day_left = float("inf")
    if budget.per_day:
        spent = int(row.day_count) if row is not None and float(row.day) == _day_of(now) else 0
        day_left = float(max(0, budget.per_day - spent))
    return PaceState(_pace(budget, factor, slowed_at, now),
                     factor_at(factor, slowed_at, now, budget.recovery), day_left)
