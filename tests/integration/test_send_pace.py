"""The relay's pace (issue 21) and one automatic reply per address (issue 16), for real.

The shared budget (``store/pace.py``) on SQLite and PostgreSQL: slots one interval apart
across threads, the per-day budget, the slowdown and its recovery. Then responders on
the embedded broker, a shared store and aiosmtpd: three of them at 50 messages/s, and a
burst of 421 "too many" that slows the pace without losing or doubling a reply.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope
from sqlalchemy import select, text

from mailroom.api.models import SendPace
from mailroom.api.stats import read_stats
from mailroom.broker import EmbeddedBroker
from mailroom.responder.pace import LATE, LEAD, Pacer
from mailroom.responder.service import ResponderService
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import Database, MailStatus, ReplyStatus
from mailroom.store import mails as mail_store
from mailroom.store import pace as pace_store
from mailroom.store import replies as reply_store
from mailroom.store.pace import Budget
from mailroom.store.schema import send_pace
from pipeline import wait_until
from responders import publish, queued, responding, routed, seed
from servers import SmtpBehaviour, SmtpSink

# serial: it counts the sink's arrivals per second, which CPU taken by tests running beside
# it (`pytest -n`) would bunch; the README's test command runs it alone, after the rest
pytestmark = [
    pytest.mark.integration,
    pytest.mark.serial,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

DRAIN = int(os.environ.get("MAILROOM_PACE_REPLIES", "750"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return ""  # the default: a file under MAILROOM_DATA_DIR
    pg_url: str = request.getfixturevalue("pg_url")
    return pg_url.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture
def db(db_url: str, tmp_path: Path) -> Iterator[Database]:
    database = Database(db_url or f"sqlite:///{tmp_path / 'pace.db'}")
    database.create_schema()
    yield database
    database.dispose()


# -- the shared budget -------------------------------------------------------------------

def test_slots_are_one_interval_apart_across_concurrent_replicas(db: Database) -> None:
    """Six threads take groups of slots at 50/s: no two slots closer than 1/50 s."""
    budget = Budget(per_second=50)

    def take(_n: int) -> list[float]:
        slots: list[float] = []
        for _ in range(5):
            with db.begin() as conn:
                got = pace_store.reserve(conn, budget, 10, now=time.time(), horizon=60)
            assert len(got.slots) == 10
            slots += got.slots
        return slots

    with ThreadPoolExecutor(6) as pool:
        slots = sorted(s for group in pool.map(take, range(6)) for s in group)
    assert len(slots) == 300
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 1 / 50 - 1e-6
    assert 299 / 50 - 1e-6 <= slots[-1] - slots[0] < 299 / 50 + 1


def test_a_group_beyond_the_horizon_is_told_when_to_ask_again(db: Database) -> None:
    """Slots start at most ``horizon`` ahead; further, the caller learns when to come back."""
    budget, now = Budget(per_second=10), time.time()
    with db.begin() as conn:
        first = pace_store.reserve(conn, budget, 20, now=now, horizon=1)  # 2 s of slots
        later = pace_store.reserve(conn, budget, 5, now=now, horizon=1)
    assert first.slots[0] == pytest.approx(now) and len(first.slots) == 20
    assert later.slots == [] and later.not_before == pytest.approx(now + 2 - 1)


def test_the_day_budget_stops_sends_until_the_next_utc_day(db: Database) -> None:
    """SMTP_RATE_PER_DAY=5: a group of 7 learns that 5 fit; once they went, the next send
    waits for the next UTC day, which has the whole budget again."""
    budget = Budget(per_day=5)
    midnight = (time.time() // pace_store.DAY + 1) * pace_store.DAY
    now = midnight - 3600  # an hour before it, whatever the time of the test
    with db.begin() as conn:
        too_many = pace_store.reserve(conn, budget, 7, now=now, horizon=1)
        granted = [pace_store.reserve(conn, budget, n, now=now + k, horizon=1).slots
                   for k, n in enumerate((2, 3))]
        refused = pace_store.reserve(conn, budget, 1, now=now + 10, horizon=1)
        left = pace_store.state(conn, budget, now=now + 10).day_left
        tomorrow = pace_store.reserve(conn, budget, 5, now=midnight, horizon=1)
    assert too_many.slots == [] and too_many.fits == 5
    assert granted == [[now] * 2, [now + 1] * 3]
    assert refused.slots == [] and refused.not_before == pytest.approx(midnight - 1)
    assert left == 0 and tomorrow.slots == [midnight] * 5


def test_too_many_halves_the_pace_once_per_burst_and_it_recovers_slowly(db: Database) -> None:
    """One halving per cooldown for all replicas; the factor grows back by ``recovery``/s."""
    budget, now = Budget(per_second=50, recovery=0.01), time.time()
    with db.begin() as conn:
        assert pace_store.slow_down(conn, budget, now=now, cooldown=2) == pytest.approx(25)
        assert pace_store.slow_down(conn, budget, now=now + 1, cooldown=2) is None  # same burst
        assert pace_store.slow_down(conn, budget, now=now + 3, cooldown=2) == \
            pytest.approx(50 * (0.5 + 0.03) / 2)
        assert pace_store.state(conn, budget, now=now + 13).pace == pytest.approx(
            50 * ((0.5 + 0.03) / 2 + 0.1))
        slots = pace_store.reserve(conn, budget, 2, now=now + 13, horizon=1).slots
        assert pace_store.state(conn, budget, now=now + 1000).factor == 1.0
    assert slots[1] - slots[0] == pytest.approx(1 / (50 * ((0.5 + 0.03) / 2 + 0.1)))


async def test_a_slot_missed_by_a_little_is_kept_one_missed_by_more_is_exchanged(
        db: Database) -> None:
    """A send with its slot 0.2 s ahead keeps it (no store trip); one a second late takes a
    new slot (its old one passed: sending on it would crowd the next second); a day's
    budget alone has no spacing to keep."""
    now = time.time()
    pacer = Pacer(db, Budget(per_second=50))
    assert await pacer.hold(now + 0.2) == now + 0.2
    with db.begin() as conn:
        assert pace_store.state(conn, Budget(per_second=50), now=now).factor == 1.0
        assert conn.execute(select(send_pace)).first() is None  # no slot was taken
    exchanged = await pacer.hold(now - 1.0)
    assert exchanged >= now + LEAD - LATE
    with db.begin() as conn:
        assert conn.execute(select(send_pace.c.next_at)).scalar_one() > exchanged
    assert await Pacer(db, Budget(per_day=5)).hold(now - 5) == now - 5


async def test_data_whose_slot_passed_while_it_waited_goes_on_a_new_slot(db: Database) -> None:
    """Just before DATA (``Pacer.keep``): a slot still ahead is waited for and kept; one that
    passed while the send waited for its commit is exchanged for a new one, which is waited
    for; a day's budget alone has no spacing to keep, and a spent day leaves the old slot."""
    pacer = Pacer(db, Budget(per_second=50))
    ahead = time.time() + 0.2
    await pacer.keep(ahead)
    assert time.time() >= ahead
    with db.begin() as conn:
        assert conn.execute(select(send_pace)).first() is None  # no slot was taken
    await pacer.keep(time.time() - 1.0)
    with db.begin() as conn:
        taken = conn.execute(select(send_pace.c.next_at)).scalar_one()
    assert time.time() >= taken - 1 / 50  # the new slot (the one before next_at) was waited for
    started = time.time()
    await Pacer(db, Budget(per_day=5)).keep(started - 5)
    spent = Pacer(db, Budget(per_second=50, per_day=1))
    with db.begin() as conn:  # the day's one send is taken
        assert pace_store.reserve(conn, spent.budget, 1, now=time.time(), horizon=1).slots
    await spent.keep(time.time() - 1.0)
    assert time.time() - started < 0.5


# -- responders on the broker, the store and aiosmtpd ------------------------------------

def replied(rt: Runtime) -> int:
    with rt.db.begin() as conn:
        return mail_store.count_by(conn, "status").get(MailStatus.REPLIED, 0)


def settled(services: list[ResponderService]) -> bool:
    """Each responder holds one of the three partitions (the group stopped rebalancing)."""
    held = [len(s.consumer.assignment()) if s.consumer is not None else 0 for s in services]
    return held == [1, 1, 1]


def per_second(arrivals: list[float]) -> list[int]:
    """Arrivals in every 1-second window that starts at an arrival (the sliding maximum)."""
    arrivals = sorted(arrivals)
    counts, end = [], 0
    for start, at in enumerate(arrivals):
        while end < len(arrivals) and arrivals[end] < at + 1.0:
            end += 1
        counts.append(end - start)
    return counts


def paced_as_set(sink: SmtpSink, what: str) -> float:
    """Assert the sink saw the pace of 50/s: at most 55 in any second of its clock (the
    issue's 10%) and at most 60 in any 1-s window (what the sink's and the responders'
    scheduling jitter adds: three responders and the sink share this process); returns the
    mean rate."""
    arrivals: list[float] = sorted(r.at for r in sink.received)
    seconds = Counter(int(at - arrivals[0]) for at in arrivals)  # the sink's clock seconds
    peak, sliding = max(seconds.values()), max(per_second(arrivals))
    mean = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    print(f"{what}: {mean:.1f}/s on average, peak second {peak}, peak sliding second {sliding}")
    assert peak <= 55, seconds.most_common(3)
    assert sliding <= 60, sliding
    return mean


# the connections of each responder (SMTP_POOL_SIZE's default was 4 when these were written)
POOL = 4


@pytest.fixture
def paced(make_settings: Callable[..., Settings], broker: EmbeddedBroker, smtp_sink: SmtpSink,
          db_url: str) -> Iterator[list[Runtime]]:
    """Three responders' runtimes (each its own store connections) at 50 messages/s, each
    with ``POOL`` SMTP connections."""
    settings = make_settings(smtp=smtp_sink, bootstrap=broker.bootstrap_servers,
                             database_url=db_url, smtp_rate_per_second=50.0,
                             smtp_pool_size=POOL)
    runtimes = [build_runtime(settings, broker.bootstrap_servers) for _ in range(3)]
    runtimes[0].kafka.create_topics(3, 1)
    yield runtimes
    for rt in runtimes:
        rt.db.dispose()


async def drain(paced: list[Runtime], sink: SmtpSink, total: int,
                meanwhile: Callable[[], Awaitable[None]] | None = None) -> None:
    """``total`` mails routed to the three responders once their group settled, ``meanwhile``
    run as they send; returns when every mail is replied to, each exactly once."""
    rt = paced[0]
    events = [routed(n, f"client{n}@example.org") for n in range(total)]
    seed(rt, events)
    services = [ResponderService(r) for r in paced]
    async with responding(*services):
        assert await wait_until(lambda: settled(services), 60)
        publish(rt, events)
        if meanwhile is not None:
            await meanwhile()
        assert await wait_until(lambda: replied(rt) == total, total / 50 * 2 + 60, step=0.5)
    assert Counter(r.in_reply_to for r in sink.received) == Counter(
        e.email.message_id for e in events)


def drain_params() -> list[Any]:
    return [DRAIN, pytest.param(5000, marks=pytest.mark.slow, id="5000")]


@pytest.mark.parametrize("replies", drain_params())
async def test_three_responders_keep_the_relay_at_fifty_per_second(
        db_url: str, paced: list[Runtime], smtp_sink: SmtpSink, replies: int) -> None:
    """SMTP_RATE_PER_SECOND=50 shared by three responders: the sink never counts more than 55
    in a second of the drain, the drain runs near the pace, and every mail gets one reply."""
    if replies == 5000 and db_url:
        # two minutes of CI for what the shorter drain already shows on PostgreSQL
        pytest.skip("the 5,000-reply drain runs on the default store (SQLite)")
    await drain(paced, smtp_sink, replies)
    mean = paced_as_set(smtp_sink, f"{replies} replies at 50/s")
    assert mean >= 45, mean  # the pace is what bounds it, not something slower


def stall(rt: Runtime, seconds: float) -> None:
    """Hold up every write of the attempt log for ``seconds`` (what a checkpoint, a vacuum or
    another writer does to a commit): SQLite's write lock, PostgreSQL's lock on ``replies``."""
    url = rt.db.engine.url
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(str(url.database), isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(seconds)
            conn.execute("COMMIT")
        finally:
            conn.close()
        return
    with rt.db.engine.begin() as locked:
        locked.execute(text("LOCK TABLE replies IN EXCLUSIVE MODE"))
        time.sleep(seconds)


async def test_a_store_that_stalls_mid_drain_does_not_bunch_the_sends(
        paced: list[Runtime], smtp_sink: SmtpSink) -> None:
    """The store holds every commit of the attempt log up for 1.5 s in the middle of a drain
    at 50/s: the replies whose slots passed meanwhile take new ones, so no second of the
    sink's counts more than the pace allows (their starts would otherwise go out together
    as the commit lands, with the replies queued behind their connections)."""
    async def stalled() -> None:
        assert await wait_until(lambda: len(smtp_sink.received) >= 150, 60, step=0.05)
        await asyncio.to_thread(stall, paced[0], 1.5)

    await drain(paced, smtp_sink, 400, meanwhile=stalled)
    paced_as_set(smtp_sink, "400 replies at 50/s, the store stalled 1.5 s")


async def test_a_burst_of_421_slows_the_pace_and_loses_or_doubles_nothing(
        paced: list[Runtime], smtp_sink: SmtpSink) -> None:
    """The sink answers "421 too many" to 12 messages after the 150th: the shared pace halves
    (the sink sees about 25/s afterwards), every refused reply is retried and every mail
    answered exactly once."""
    rt, total = paced[0], 500
    state: dict[str, Any] = {"accepted": 0, "refused": 0, "at": 0.0}

    def on_data(_envelope: Envelope) -> str | None:
        if state["accepted"] >= 150 and state["refused"] < 12:
            state["refused"] += 1
            state["at"] = time.monotonic()
            return "421 4.7.0 Too many messages, slow down"
        state["accepted"] += 1
        return None

    smtp_sink.behaviour = SmtpBehaviour(on_data=on_data)
    await drain(paced, smtp_sink, total)
    with rt.db.begin() as conn:  # (the slowdown grows back by 0.01 a second: still under 0.8)
        factor = pace_store.state(conn, Budget(per_second=50), now=time.time()).factor
    assert state["refused"] == 12 and factor < 0.8
    # slots taken before the slowdown go at the old pace (about a second ahead); after them
    after = [r.at for r in smtp_sink.received if state["at"] + 2.5 <= r.at < state["at"] + 5.5]
    assert len(after) / 3.0 <= 50 * 0.6, len(after)
    sample = rt.metrics.registry.get_sample_value("email_send_pace_per_second")
    assert sample is not None and sample < 50 * 0.8
    overview = read_stats(rt).send_pace  # what /stats and the dashboard show
    assert overview is not None and overview.per_second == 50
    assert overview.pace_per_second is not None and overview.pace_per_second < 50 * 0.8
    with rt.db.begin() as conn:
        assert reply_store.counts(conn) == {ReplyStatus.SENT: total}


async def test_one_automatic_reply_per_address_whatever_the_template(
        make_settings: Callable[..., Settings], broker: EmbeddedBroker, smtp_sink: SmtpSink,
        db_url: str) -> None:
    """Issue 16: a subscription and an unsubscription from one address in one period get
    one reply; another address still gets its own (SQLite and PostgreSQL)."""
    rt = build_runtime(make_settings(smtp=smtp_sink, bootstrap=broker.bootstrap_servers,
                                     database_url=db_url), broker.bootstrap_servers)
    events = [routed(1, "ana@example.org"), routed(2, "ANA@example.org", "unsubscription"),
              routed(3, "luis@example.org", "unsubscription")]
    seed(rt, events)
    service = ResponderService(rt)
    try:
        for event in events:  # one batch each: the slot is the store's, not the batch's
            await service.handle_batch(queued([event]))
        with rt.db.begin() as conn:
            status = {e.email.mail_id: mail_store.get_mail(conn, e.email.mail_id)["status"]  # type: ignore[index]
                      for e in events}
    finally:
        await service.pool.close()
        rt.db.dispose()
    assert sorted(r.in_reply_to for r in smtp_sink.received) == [
        "<orig-1@client.example.org>", "<orig-3@client.example.org>"]
    assert status == {"mail-1": MailStatus.REPLIED, "mail-2": MailStatus.SUPPRESSED,
                      "mail-3": MailStatus.REPLIED}


async def test_a_spent_day_budget_parks_replies_until_it_has_room(
        make_settings: Callable[..., Settings], broker: EmbeddedBroker, smtp_sink: SmtpSink,
        tmp_path: Path) -> None:
    """SMTP_RATE_PER_DAY=3 and five mails: three replies go, two are parked until the next
    UTC day (still owed: the mails wait, the replies are neither failed nor sent)."""
    rt = build_runtime(make_settings(smtp=smtp_sink, bootstrap=broker.bootstrap_servers,
                                     smtp_rate_per_day=3), broker.bootstrap_servers)
    events = [routed(n, f"c{n}@example.org") for n in range(5)]
    seed(rt, events)
    service = ResponderService(rt)
    try:
        await service.handle_batch(queued(events))
        with rt.db.begin() as conn:
            rows = [reply_store.get(conn, e.email.mail_id)[0] for e in events]
            statuses = Counter(mail_store.count_by(conn, "status"))
        overview = read_stats(rt).send_pace  # what /stats and the dashboard show
    finally:
        await service.pool.close()
        rt.db.dispose()
    assert len(smtp_sink.received) == 3
    parked = [r for r in rows if r["status"] == ReplyStatus.RETRY]
    assert len(parked) == 2 and all("send pace" in r["last_error"] for r in parked)
    midnight = (time.time() // pace_store.DAY + 1) * pace_store.DAY
    due = [r["next_attempt_at"].replace(tzinfo=UTC).timestamp() for r in parked]
    assert all(abs(d - midnight) < 60 for d in due), (due, midnight)
    assert statuses == {MailStatus.REPLIED: 3, MailStatus.AWAITING_REPLY: 2}
    assert overview == SendPace(per_second=0, pace_per_second=None, per_day=3, day_left=0,
                                waiting=0)
