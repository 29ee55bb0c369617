"""The state store's guarantees, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, insert, select
from sqlalchemy.exc import DataError

from mailroom.events import Decision, RawEmail, Route, utcnow
from mailroom.store import Database, MailStatus, ReplyStatus, checkpoints, mails, replies
from mailroom.store.db import insert_ignore_many
from mailroom.store.replies import Claim
from mailroom.store.schema import NAME_CHARS
from mailroom.store.schema import mails as mails_table
from mailroom.store.schema import replies as replies_table

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        pg_url = request.getfixturevalue("pg_url")
        url = pg_url.replace("postgresql://", "postgresql+psycopg://")
    database = Database(url)
    database.create_schema()
    yield database
    database.dispose()


def email(n: int, sender: str = "a@example.com") -> RawEmail:
    return RawEmail(mail_id=f"m{n}", account="acct", folder="INBOX", uid=n,
                    message_id=f"<{n}@x>", subject=f"s{n}", from_addr=sender)


def decision(n: int, route: Route = Route.ACKNOWLEDGE) -> Decision:
    return Decision(mail_id=f"m{n}", category="subscription", route=route, template="subscription")


def test_checkpoint_never_moves_backwards_within_one_uidvalidity(db: Database) -> None:
    with db.begin() as conn:
        checkpoints.save(conn, "acct", "INBOX", 7, 10)
        checkpoints.save(conn, "acct", "INBOX", 7, 4)
        assert checkpoints.load(conn, "acct", "INBOX") == checkpoints.Checkpoint(7, 10)
        checkpoints.save(conn, "acct", "INBOX", 8, 2)  # a new UIDVALIDITY starts over
        assert checkpoints.load(conn, "acct", "INBOX") == checkpoints.Checkpoint(8, 2)


def test_collected_twice_is_recorded_once_and_keeps_its_fate(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1), email(2)])
        mails.record_decisions(conn, [(email(1), decision(1))])
        mails.record_collected(conn, [email(1)])
        assert mails.known_ids(conn, ["m1", "m2", "m3"]) == {"m1", "m2"}
        assert mails.get_mail(conn, "m1")["status"] == MailStatus.AWAITING_REPLY  # type: ignore[index]


def test_a_replied_mail_is_settled_and_not_routed_again(db: Database) -> None:
    with db.begin() as conn:
        mails.record_decisions(conn, [(email(1), decision(1))])
        mails.set_status(conn, "m1", MailStatus.REPLIED)
        settled = mails.record_decisions(conn, [(email(1), decision(1, Route.REVIEW))])
        assert settled == {"m1"}
        assert mails.get_mail(conn, "m1")["status"] == MailStatus.REPLIED  # type: ignore[index]


def claim(db: Database, owner: str, lease: float = 60) -> Claim:
    """One reply (m1) claimed alone."""
    with db.begin() as conn:
        return replies.claim_many(conn, [replies.ClaimRequest("m1", "subscription", "a@example.com",
                                                              "<r@x>")],
                                  owner=owner, lease=timedelta(seconds=lease))[KEY]


KEY = ("m1", "subscription")


def deliver(conn: Connection, keys: list[tuple[str, str]],
            notes: dict[str, str] | None = None) -> None:
    """What the responder records for replies the server took: each attempt started under
    its claim and ended sent (the attempt log), then their mails replied (the settle)."""
    owners = {(r["mail_id"], r["template"]): r["owner"]
              for mail_id in {m for m, _ in keys} for r in replies.get(conn, mail_id)}
    lease = timedelta(seconds=60)
    replies.record_attempts(conn, sent=[], starts=[(*k, owners[k]) for k in keys], lease=lease)
    replies.record_attempts(conn, sent=keys, starts=[], lease=lease)
    replies.mark_mails_replied(conn, sorted({m for m, _ in keys}), notes)


def start(db: Database, owner: str, lease: float = 60, key: tuple[str, str] = KEY) -> bool:
    """Record that the reply's SMTP transaction starts; False when the claim is not ``owner``'s."""
    with db.begin() as conn:
        return bool(replies.record_attempts(conn, sent=[], starts=[(*key, owner)],
                                            lease=timedelta(seconds=lease)))


def park(db: Database, key: tuple[str, str], delay: float) -> None:
    with db.begin() as conn:
        assert replies.park_many(conn, [replies.ParkRequest(*key, "451 busy")],
                                 give_up_after=timedelta(days=5), delay=lambda _n: delay) == []


def test_only_one_of_many_concurrent_claims_wins(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: claim(db, f"owner{i}"), range(16)))
    assert results.count(Claim.CLAIMED) == 1
    assert set(results) == {Claim.CLAIMED, Claim.BUSY}


def test_a_sent_reply_is_never_claimed_again(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
    assert claim(db, "a") is Claim.CLAIMED
    with db.begin() as conn:
        deliver(conn, [KEY])
    assert claim(db, "b") is Claim.ALREADY_SENT


def test_a_send_cut_off_by_a_crash_is_never_sent_again_automatically(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
    assert claim(db, "dead-owner") is Claim.CLAIMED
    assert start(db, "dead-owner", lease=-1)  # on the wire when it died: its lease has run out
    results = [claim(db, f"new-owner{i}") for i in range(3)]
    assert results[0] is Claim.UNCERTAIN  # exactly one responder hands it to a person
    assert results[1:] == [Claim.FINISHED, Claim.FINISHED]


def test_a_claim_never_attempted_is_claimed_again_once_its_lease_ran_out(db: Database) -> None:
    """A responder died before the reply's SMTP transaction: the next one sends it, once."""
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
        mails.record_decisions(conn, [(email(1), decision(1))])
        assert replies.orphaned(conn) == []
    assert claim(db, "dead-owner", lease=-1) is Claim.CLAIMED
    with db.begin() as conn:
        assert replies.orphaned(conn) == ["m1"]  # the reconciler publishes it again
        mails.set_status(conn, "m1", MailStatus.CLOSED)
        assert replies.orphaned(conn) == []  # unless a person closed the mail meanwhile
        mails.set_status(conn, "m1", MailStatus.AWAITING_REPLY)
    assert claim(db, "live-owner") is Claim.CLAIMED
    assert claim(db, "third") is Claim.BUSY
    assert not start(db, "dead-owner")  # had the old holder lived on, its attempt is called off
    assert start(db, "live-owner") and not start(db, "live-owner")  # one attempt at a time


def test_one_group_commit_settles_the_sent_and_starts_only_its_own_claims(db: Database) -> None:
    """``record_attempts``: m1 delivered, m2 and m3 start, m4's claim is another's: not started."""
    with db.begin() as conn:
        mails.record_collected(conn, [email(n) for n in range(1, 6)])
    assert claim_batch(db, [1, 2, 3], "a") == dict.fromkeys(["m1", "m2", "m3"], Claim.CLAIMED)
    assert claim_batch(db, [4], "b") == {"m4": Claim.CLAIMED}
    assert claim_batch(db, [5], "a") == {"m5": Claim.CLAIMED}
    assert start(db, "a", key=("m1", "subscription"))
    assert start(db, "a", key=("m5", "subscription"))
    with db.begin() as conn:
        replies.mark_uncertain_many(conn, {("m5", "subscription"): "cut off"}, note="check")
        started = replies.record_attempts(
            conn, sent=[("m1", "subscription"), ("m5", "subscription")],
            starts=[("m2", "subscription", "a"), ("m3", "subscription", "a"),
                    ("m4", "subscription", "a")], lease=timedelta(seconds=60))
        rows = {m: replies.get(conn, m)[0] for m in ("m1", "m2", "m3", "m4", "m5")}
    assert started == {("m2", "subscription", "a"), ("m3", "subscription", "a")}
    assert {m: (r["status"], r["attempts"]) for m, r in rows.items()} == {
        "m1": ("sent", 1), "m2": ("sending", 1), "m3": ("sending", 1), "m4": ("claimed", 0),
        "m5": ("sent", 1)}  # a 250 read after the row was found cut off still counts
    assert rows["m1"]["sent_at"] is not None and rows["m1"]["lease_until"] is None
    with db.begin() as conn:
        assert replies.record_attempts(conn, sent=[], starts=[("m2", "subscription", "a")],
                                       lease=timedelta(seconds=60)) == set()  # once only
        replies.mark_mails_replied(conn, ["m1", "m5"], {"m5": "some recipients refused: x"})
        one, five = mails.get_mail(conn, "m1"), mails.get_mail(conn, "m5")
    assert one is not None and (one["status"], one["error"]) == (MailStatus.REPLIED, None)
    assert five is not None and five["error"] == "some recipients refused: x"


def test_a_refused_attempt_is_a_claim_again_not_an_attempt_in_doubt(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
    assert claim(db, "a") is Claim.CLAIMED and start(db, "a", lease=-1)
    with db.begin() as conn:
        replies.end_attempts(conn, [KEY], lease=timedelta(seconds=-1))  # 451: not delivered
        assert replies.get(conn, "m1")[0]["status"] == ReplyStatus.CLAIMED
    assert claim(db, "b") is Claim.CLAIMED  # its holder died after the 451: sent again


def test_an_attempt_with_an_unknown_outcome_goes_to_review(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
        mails.record_decisions(conn, [(email(1), decision(1))])
    assert claim(db, "a") is Claim.CLAIMED and start(db, "a")
    with db.begin() as conn:
        replies.mark_uncertain_many(conn, {KEY: "connection lost after DATA"}, note="check it")
        (row,) = replies.get(conn, "m1")
        mail = mails.get_mail(conn, "m1")
    assert (row["status"], row["last_error"]) == (ReplyStatus.UNCERTAIN,
                                                  "connection lost after DATA")
    assert mail is not None and (mail["status"], mail["error"]) == (MailStatus.IN_REVIEW,
                                                                    "check it")
    assert claim(db, "b") is Claim.FINISHED


def test_a_parked_retry_waits_for_its_time(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
    assert claim(db, "a") is Claim.CLAIMED
    park(db, KEY, 3600)
    assert claim(db, "b") is Claim.PARKED
    with db.begin() as conn:
        assert replies.due_retries(conn) == []
    assert claim(db, "b") is Claim.PARKED
    park(db, KEY, -1)
    with db.begin() as conn:
        assert replies.due_retries(conn) == ["m1"]
    assert claim(db, "b") is Claim.CLAIMED


def test_a_reply_parked_too_long_is_given_up_not_parked(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
    assert claim(db, "a") is Claim.CLAIMED
    request = replies.ParkRequest("m1", "subscription", "451 busy")
    with db.begin() as conn:
        assert replies.park_many(conn, [request], give_up_after=timedelta(seconds=-1),
                                 delay=lambda _n: 1.0) == [request]
        replies.fail_many(conn, {KEY: "gave up: 451 busy"})
        (row,) = replies.get(conn, "m1")
    assert (row["status"], row["last_error"]) == (ReplyStatus.FAILED, "gave up: 451 busy")


def test_rate_slot_allows_one_reply_per_address_and_period(db: Database) -> None:
    period = timedelta(days=1)

    def take(address: str, mail_id: str, period: timedelta = period) -> bool:
        return bool(replies.take_rate_slots(
            conn, [replies.SlotRequest(address, mail_id)], period=period))

    with db.begin() as conn:
        assert take("a@x", "m1")
        # the same mail may retake its own slot (a retry); another mail may not, whatever
        # its template (issue 16: one automatic reply per address and period)
        assert take("a@x", "m1")
        assert not take("a@x", "m2")
        assert take("b@x", "m2")
        assert take("a@x", "m3", period=timedelta(seconds=-1))


def test_a_folder_lease_has_one_owner_until_it_expires(db: Database) -> None:
    from mailroom.store import leases

    ttl = timedelta(seconds=30)
    with db.begin() as conn:
        assert leases.acquire(conn, "acct/INBOX", "a", ttl)
        assert not leases.acquire(conn, "acct/INBOX", "b", ttl)
        assert leases.acquire(conn, "acct/INBOX", "a", ttl)  # renewal
        assert leases.acquire(conn, "acct/INBOX", "a", timedelta(seconds=-1))  # expires now
        assert leases.acquire(conn, "acct/INBOX", "b", ttl)  # taken over after expiry
        leases.release(conn, "acct/INBOX", "b")
        assert leases.acquire(conn, "acct/INBOX", "c", ttl)


def test_the_longest_account_and_folder_names_the_settings_accept_fit_the_store(db: Database) -> None:
    """``Account`` refuses names whose lease name would pass ``NAME_CHARS``; the longest it
    accepts must fit every row the collector keeps by them (PostgreSQL enforces the lengths)."""
    from mailroom.collector.mailboxes import health_component, lease_name
    from mailroom.store import leases, mailbox_health

    account = "u@example.com"
    folder = "F" * (NAME_CHARS - len(lease_name(account, "")))
    with db.begin() as conn:
        assert leases.acquire(conn, lease_name(account, folder), "a", timedelta(seconds=30))
        mailbox_health.round_ok(conn, health_component(account, folder), utcnow())
        checkpoints.save(conn, account, folder, 7, 10)
        mails.record_collected(conn, [email(1).model_copy(update={"account": account,
                                                                  "folder": folder})])
    with db.begin() as conn:
        assert checkpoints.load(conn, account, folder) == checkpoints.Checkpoint(7, 10)
        row = mails.get_mail(conn, "m1")
        assert row is not None and row["folder"] == folder


def request(n: int, template: str = "subscription") -> replies.ClaimRequest:
    return replies.ClaimRequest(mail_id=f"m{n}", template=template, recipient=f"a{n}@example.com",
                                message_id=f"<r{n}@x>")


def claim_batch(db: Database, numbers: list[int], owner: str, lease: float = 60) -> dict[str, Claim]:
    with db.begin() as conn:
        found = replies.claim_many(conn, [request(n) for n in numbers], owner=owner,
                                   lease=timedelta(seconds=lease))
    return {mail_id: result for (mail_id, _), result in found.items()}


def test_a_batch_claim_gives_each_reply_the_answer_a_single_claim_would(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(n) for n in range(1, 7)])
    assert claim_batch(db, [1, 2, 3, 4, 5], "a", lease=60) == dict.fromkeys(
        ["m1", "m2", "m3", "m4", "m5"], Claim.CLAIMED)
    assert start(db, "a", key=("m2", "subscription"))
    with db.begin() as conn:
        deliver(conn, [("m1", "subscription")])
        replies.fail_many(conn, {("m5", "subscription"): "550"})
    park(db, ("m2", "subscription"), -1)
    park(db, ("m3", "subscription"), 3600)
    assert claim_batch(db, [1, 2, 3, 4, 5, 6], "b") == {
        "m1": Claim.ALREADY_SENT, "m2": Claim.CLAIMED, "m3": Claim.PARKED, "m4": Claim.BUSY,
        "m5": Claim.FINISHED, "m6": Claim.CLAIMED}
    with db.begin() as conn:
        assert mails.get_mail(conn, "m1")["status"] == MailStatus.REPLIED  # type: ignore[index]
        assert replies.get(conn, "m2")[0]["attempts"] == 1  # SMTP attempts, not claims


def test_a_batch_claim_hands_a_cut_off_send_to_a_person_once(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1), email(2)])
    assert claim_batch(db, [1], "dead-owner") == {"m1": Claim.CLAIMED}
    assert start(db, "dead-owner", lease=-1)
    assert claim_batch(db, [1, 2], "b") == {"m1": Claim.UNCERTAIN, "m2": Claim.CLAIMED}
    assert claim_batch(db, [1], "c") == {"m1": Claim.FINISHED}


def test_a_reply_asked_for_twice_in_one_batch_is_claimed_once(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1)])
        found = replies.claim_many(conn, [request(1), request(1)], owner="a",
                                   lease=timedelta(seconds=60))
    assert found == {("m1", "subscription"): Claim.CLAIMED}


def test_concurrent_batch_claims_of_overlapping_mails_claim_each_mail_once(db: Database) -> None:
    numbers = list(range(1, 41))
    with db.begin() as conn:
        mails.record_collected(conn, [email(n) for n in numbers])
    batches = [numbers[i % 3:: 1 + i % 2] for i in range(8)]  # overlapping, different orders
    batches = [b if i % 2 else list(reversed(b)) for i, b in enumerate(batches)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda ib: claim_batch(db, ib[1], f"owner{ib[0]}"),
                                enumerate(batches)))
    for n in numbers:
        answers = [r[f"m{n}"] for r in results if f"m{n}" in r]
        assert answers.count(Claim.CLAIMED) == 1, (n, answers)
        assert set(answers) <= {Claim.CLAIMED, Claim.BUSY}
    with db.begin() as conn:
        assert replies.counts(conn) == {"claimed": len(numbers)}


def test_batch_rate_slots_allow_one_reply_per_recipient_and_period(db: Database) -> None:
    period, slot = timedelta(days=1), replies.SlotRequest
    with db.begin() as conn:
        assert replies.take_rate_slots(conn, [slot("held@x", "m9")], period=period)
        granted = replies.take_rate_slots(conn, [
            slot("a@x", "m1"), slot("a@x", "m2"),  # the first asking mail wins
            slot("a@x", "m1"),  # a redelivery of the winner passes too
            slot("b@x", "m2"),
            slot("held@x", "m3"), slot("held@x", "m9"),  # the holder keeps its slot
        ], period=period)
        assert granted == {("a@x", "m1"), ("b@x", "m2"), ("held@x", "m9")}
        assert replies.take_rate_slots(conn, [slot("a@x", "m4")], period=period) == set()
        assert replies.take_rate_slots(conn, [slot("a@x", "m4")],
                                       period=timedelta(seconds=-1)) == {("a@x", "m4")}


def test_concurrent_batch_rate_slots_give_each_slot_once(db: Database) -> None:
    period = timedelta(days=1)

    def take(owner: int) -> set[tuple[str, str]]:
        with db.begin() as conn:
            return replies.take_rate_slots(conn, [
                replies.SlotRequest(f"r{n}@x", f"m{owner}-{n}") for n in range(20)
            ], period=period)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(take, range(6)))
    for n in range(20):
        assert sum(1 for r in results for rcpt, _ in r if rcpt == f"r{n}@x") == 1


def test_marking_a_batch_sent_settles_replies_and_mails_with_notes(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(1), email(2)])
    claim_batch(db, [1, 2], "a")
    with db.begin() as conn:
        deliver(conn, [("m1", "subscription"), ("m2", "subscription")],
                {"m2": "some recipients refused: b@x: 550"})
        assert replies.counts(conn) == {"sent": 2}
        one, two = mails.get_mail(conn, "m1"), mails.get_mail(conn, "m2")
        assert one is not None and two is not None
        assert (one["status"], one["error"]) == (MailStatus.REPLIED, None)
        assert (two["status"], two["error"]) == (MailStatus.REPLIED,
                                                 "some recipients refused: b@x: 550")


def test_stage_progress_moves_forward_and_survives_concurrent_marks(db: Database) -> None:
    """One row per stage, updated in place by every process of the stage at once."""
    from mailroom.store import progress

    with db.begin() as conn:
        assert progress.last(conn) == {}
        progress.mark(conn, progress.PROCESSOR)
    with db.begin() as conn:
        first = progress.last(conn)
    assert set(first) == {progress.PROCESSOR}

    def mark(stage: str) -> None:
        for _ in range(10):
            with db.begin() as conn:
                progress.mark(conn, stage)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(mark, [progress.PROCESSOR, progress.RESPONDER] * 2))
    with db.begin() as conn:
        after = progress.last(conn)
    assert set(after) == {progress.PROCESSOR, progress.RESPONDER}
    assert after[progress.PROCESSOR] >= first[progress.PROCESSOR]


def test_settling_touches_exactly_the_mail_and_template_pairs_asked_for(db: Database) -> None:
    """Two mails with two replies each; the batch names one reply of each, crossed."""
    with db.begin() as conn:
        mails.record_collected(conn, [email(1), email(2)])
    pairs = [request(1), request(1, "manual-x"), request(2), request(2, "manual-x")]
    with db.begin() as conn:
        replies.claim_many(conn, pairs, owner="a", lease=timedelta(seconds=60))
        deliver(conn, [("m1", "subscription"), ("m2", "manual-x")])
        found = {(r["mail_id"], r["template"]): r["status"]
                 for mail_id in ("m1", "m2") for r in replies.get(conn, mail_id)}
        again = replies.claim_many(conn, pairs, owner="b", lease=timedelta(seconds=60))
    assert found == {("m1", "subscription"): "sent", ("m1", "manual-x"): "claimed",
                     ("m2", "subscription"): "claimed", ("m2", "manual-x"): "sent"}
    assert again == {("m1", "subscription"): Claim.ALREADY_SENT, ("m1", "manual-x"): Claim.BUSY,
                     ("m2", "subscription"): Claim.BUSY, ("m2", "manual-x"): Claim.ALREADY_SENT}


def test_per_minute_counts_from_the_store_match_the_pure_count(db: Database) -> None:
    from mailroom.api.stats import per_minute, per_minute_in_store
    from mailroom.events import utcnow
    from mailroom.store.schema import mails as mails_table

    now = utcnow()
    ages = [0.5, 1, 30, 59.5, 60.5, 61, 119.5, 1800.25, 3599.5, 3700, 86400, -5]
    times = [now - timedelta(seconds=age) for age in ages]
    with db.begin() as conn:
        mails.record_collected(conn, [email(n).model_copy(update={"collected_at": t})
                                      for n, t in enumerate(times)])
        counted = per_minute_in_store(conn, mails_table.c.collected_at, now, 60)
    assert counted == per_minute(times, now, 60)
    assert sum(counted) == 9


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_several_processes_creating_a_new_store_at_once_all_start(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Services started together on an empty store: each checks, then creates; some lose."""
    import threading

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = str(request.getfixturevalue("pg_url")).replace("postgresql://", "postgresql+psycopg://")
    databases = [Database(url) for _ in range(6)]
    start = threading.Barrier(len(databases))

    def create(database: Database) -> None:
        start.wait()
        database.create_schema()

    try:
        with ThreadPoolExecutor(len(databases)) as pool:
            list(pool.map(create, databases))  # re-raises the first failure
        with databases[0].begin() as conn:
            assert mails.count_all(conn) == 0
    finally:
        for database in databases:
            database.dispose()


# -- db.insert_ignore_many: the batch INSERT that skips known keys (on PostgreSQL one
# statement of arrays, whatever the number of rows)


def test_rows_round_trip_with_json_enums_nulls_and_odd_text(db: Database) -> None:
    odd = "quote ' and \" and \\ and {braces} and NUL-free ümlauts"
    hostile = email(1).model_copy(update={"subject": "Suscripción ñ 1", "text": odd,
                                          "headers": {"x-odd": ["a,b", "{c}"]}})
    with db.begin() as conn:
        mails.record_collected(conn, [hostile, email(2)])
    with db.begin() as conn:
        row = mails.get_mail(conn, "m1")
        assert row is not None
        assert row["status"] == MailStatus.COLLECTED
        assert row["subject"] == "Suscripción ñ 1"
        assert RawEmail.model_validate(row["event"]) == hostile  # the JSON column, whole
        assert "{braces}" in hostile.text
        assert row["language"] is None


def test_known_keys_are_skipped_and_only_new_rows_are_returned(db: Database) -> None:
    with db.begin() as conn:
        mails.record_collected(conn, [email(n) for n in range(3)])
    now = utcnow()

    def reply(n: int, body: str | None) -> dict[str, object]:
        return dict(mail_id=f"m{n}", template="subscription", recipient=f"u{n}@x.example",
                    message_id=f"<r{n}@x>", status=ReplyStatus.CLAIMED, attempts=0, owner="o",
                    lease_until=now + timedelta(seconds=30), created_at=now, body=body)

    with db.begin() as conn:
        first = insert_ignore_many(conn, replies_table, [reply(0, None), reply(1, "hola")],
                                   returning=("mail_id", "template"))
    assert sorted(tuple(r) for r in first) == [("m0", "subscription"), ("m1", "subscription")]
    with db.begin() as conn:
        again = insert_ignore_many(conn, replies_table, [reply(1, "otro"), reply(2, None)],
                                   returning=("mail_id",))
        assert [tuple(r) for r in again] == [("m2",)]
        bodies = dict(conn.execute(select(replies_table.c.mail_id, replies_table.c.body)).all())
        statuses = set(conn.execute(select(replies_table.c.status)).scalars())
    assert bodies == {"m0": None, "m1": "hola", "m2": None}  # the known row kept its body
    assert statuses == {ReplyStatus.CLAIMED.value}
    with db.begin() as conn:
        assert insert_ignore_many(conn, replies_table, [], returning=("mail_id",)) == []


def test_a_value_too_long_for_its_column_fails_rather_than_being_stored_cut(pg_url: str) -> None:
    """PostgreSQL enforces VARCHAR(n): the batch statement of arrays must fail on a value too
    long for its column as a row-by-row INSERT does, never store it cut (a cut key could merge
    two replies' rows or two recipients' rate slots)."""
    db = Database(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    db.create_schema()
    now = utcnow()
    with db.begin() as conn:
        mails.record_collected(conn, [email(0)])
    long_address = "a" * 600 + "@x.example"  # the recipient column holds 512
    row = dict(mail_id="m0", template="subscription", recipient=long_address,
               message_id="<r0@x>", status=ReplyStatus.CLAIMED, attempts=0, owner="o",
               lease_until=now + timedelta(seconds=30), created_at=now, body=None)
    with pytest.raises(DataError, match="too long"), db.begin() as conn:
        conn.execute(insert(replies_table), [row])  # row by row: PostgreSQL refuses it
    with pytest.raises(DataError, match="too long"), db.begin() as conn:
        insert_ignore_many(conn, replies_table, [row], returning=("mail_id",))
    with db.begin() as conn:
        assert conn.execute(select(replies_table.c.recipient)).all() == []


def test_postgresql_sends_one_statement_text_for_any_number_of_rows(pg_url: str) -> None:
    db = Database(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    db.create_schema()
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO mails"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for start, count in ((0, 1), (1, 7), (8, 300)):
            with db.begin() as conn:
                mails.record_collected(conn, [email(n) for n in range(start, start + count)])
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(seen) == 3 and len(set(seen)) == 1, seen
    with db.begin() as conn:
        assert len(conn.execute(select(mails_table.c.mail_id)).all()) == 308
    db.dispose()
