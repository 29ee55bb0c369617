"""The processor's and collector's batch statements give what the row-by-row ones gave
(issue 21): each batch statement is checked against the statement it replaced, on the
same rows, in a transaction rolled back after each."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Connection, event, select
from sqlalchemy.exc import DataError, StatementError

from mailroom.events import Decision, RawEmail, Route
from mailroom.store import Database, MailStatus, checkpoints
from mailroom.store import mails as mail_store
from mailroom.store.schema import mails as mails_table

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=UTC)
# every status a mail can be found in when its decision is stored (some not decidable)
STATUSES = [MailStatus.COLLECTED, MailStatus.AWAITING_REPLY, MailStatus.IN_REVIEW,
            MailStatus.ARCHIVED, MailStatus.DEAD, *[s for s in MailStatus
                                                    if s not in mail_store.DECIDABLE]]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = str(request.getfixturevalue("pg_url")).replace("postgresql://", "postgresql+psycopg://")
    database = Database(url)
    database.create_schema()
    yield database
    database.dispose()


def email(n: int, **fields: Any) -> RawEmail:
    return RawEmail.model_validate({
        "mail_id": f"m{n}", "account": "acct", "folder": "INBOX", "uid": n,
        "message_id": f"<{n}@x>", "subject": f"s{n}", "from_addr": f"u{n}@example.org",
        "language": "es" if n % 3 else None, "collected_at": NOW - timedelta(seconds=n), **fields})


def decision(n: int) -> Decision:
    route = [Route.ACKNOWLEDGE, Route.REVIEW, Route.ARCHIVE][n % 3]
    return Decision(
        mail_id=f"m{n}", category=["subscription", "other", "spam"][n % 3], route=route,
        confidence=[1.0, 0.1 + 0.2, 2 / 3][n % 3], rule="subscription" if n % 2 else None,
        template="subscription" if route is Route.ACKNOWLEDGE else None,
        language=[None, "en", "es"][n % 3],
        reasons=[] if n % 4 == 0 else [f"rule {n}: «quoted» \"text\" \\ ünïcode", "two"],
        would_reply="subscription" if n % 5 == 0 else None,
        decided_at=NOW - timedelta(microseconds=n))


def seed(conn: Connection, count: int) -> list[tuple[RawEmail, Decision]]:
    """``count`` mails, each in one of STATUSES, and a decision for each."""
    decided = [(email(n), decision(n)) for n in range(count)]
    mail_store.record_collected(conn, [e for e, _ in decided])
    for n, (e, _) in enumerate(decided):
        conn.execute(mails_table.update().where(mails_table.c.mail_id == e.mail_id)
                     .values(status=STATUSES[n % len(STATUSES)], updated_at=NOW))
    return decided


def rows(conn: Connection) -> list[dict[str, Any]]:
    found = conn.execute(select(mails_table).order_by(mails_table.c.mail_id)).mappings()
    return [{k: v for k, v in r.items() if k != "event"} for r in found]


T = TypeVar("T")


def in_rolled_back(db: Database, work: Callable[[Connection], T]) -> T:
    with db.engine.connect() as conn:
        transaction = conn.begin()
        try:
            return work(conn)
        finally:
            transaction.rollback()


def params_for(decided: list[tuple[RawEmail, Decision]]) -> list[dict[str, Any]]:
    """``record_decisions``'s parameters for these decisions, at NOW."""
    return [{
        "b_mail_id": e.mail_id, "b_status": mail_store.ROUTE_STATUS[d.route],
        "b_category": d.category, "b_rule": d.rule, "b_confidence": d.confidence,
        "b_route": d.route.value, "b_template": d.template,
        "b_language": d.language or e.language, "b_decided_at": d.decided_at, "b_now": NOW,
        "b_finished_at": NOW if d.route is Route.ARCHIVE else None, "b_reasons": d.reasons,
        "b_would_reply": d.would_reply,
        "b_would_category": d.category if d.would_reply else None,
    } for e, d in decided]


def decided_both_ways(db: Database, make: Callable[[Connection], list[tuple[RawEmail, Decision]]]
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows after the row-by-row ``_DECIDE`` and after ``_decide`` of what ``make``
    seeds, each in a transaction rolled back."""
    def run(batch: bool) -> list[dict[str, Any]]:
        def work(conn: Connection) -> list[dict[str, Any]]:
            params = params_for(make(conn))
            if batch:
                mail_store._decide(conn, params)
            else:
                conn.execute(mail_store._DECIDE, params)
            return rows(conn)
        return in_rolled_back(db, work)
    return run(batch=False), run(batch=True)


def test_one_decide_statement_writes_what_the_row_by_row_update_wrote(db: Database) -> None:
    old, new = decided_both_ways(db, lambda conn: seed(conn, 60))
    assert new == old
    assert {r["status"] for r in new} >= {MailStatus.AWAITING_REPLY, MailStatus.REPLIED}


def test_a_batch_naming_a_mail_twice_keeps_the_last_decision(db: Database) -> None:
    def twice(conn: Connection) -> list[tuple[RawEmail, Decision]]:
        decided = seed(conn, 6)
        return [*decided, (decided[0][0], decision(3).model_copy(update={"mail_id": "m0"}))]

    old, new = decided_both_ways(db, twice)
    assert new == old


def test_a_value_too_long_for_its_column_fails_as_before(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce VARCHAR lengths")

    def run(batch: bool) -> None:
        def work(conn: Connection) -> None:
            decided = seed(conn, 3)
            params = params_for(decided)
            params[1]["b_category"] = "c" * 65  # category is VARCHAR(64): never cut silently
            if batch:
                mail_store._decide(conn, params)
            else:
                conn.execute(mail_store._DECIDE, params)
        in_rolled_back(db, work)

    for batch in (False, True):
        with pytest.raises((DataError, StatementError)):
            run(batch)


def test_record_decisions_settles_the_same_mails_in_one_statement(db: Database) -> None:
    statements: list[tuple[str, bool]] = []

    def note(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        statements.append((statement, many))

    def work(conn: Connection) -> tuple[set[str], list[dict[str, Any]]]:
        decided = seed(conn, 40)
        decided.append((email(99), decision(99)))  # not collected yet: inserted, then decided
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            settled = mail_store.record_decisions(conn, decided)
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        return settled, rows(conn)

    settled, after = in_rolled_back(db, work)
    by_id = {r["mail_id"]: r for r in after}
    for e, d in [(email(n), decision(n)) for n in [*range(40), 99]]:
        moved = by_id[e.mail_id]["status"] == mail_store.ROUTE_STATUS[d.route]
        assert (e.mail_id in settled) is not moved
        if moved:
            assert by_id[e.mail_id]["category"] == d.category
    assert settled == {f"m{n}" for n in range(40) if STATUSES[n % len(STATUSES)]
                       not in mail_store.DECIDABLE}
    updates = [s for s in statements if s[0].lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 1
    if db.engine.dialect.name == "postgresql":
        assert not updates[0][1]  # one statement, not an executemany of one per mail
        assert all("mail_id IN (" not in s for s, _ in statements)  # the ids: one array


@pytest.mark.parametrize("count", [0, 1, 7, 1200])
def test_known_ids_as_one_array_finds_what_the_in_list_found(db: Database, count: int) -> None:
    def work(conn: Connection) -> None:
        mail_store.record_collected(conn, [email(n) for n in range(0, count, 2)])
        wanted = [f"m{n}" for n in range(count)] + ["nope", "", "m'; --"]
        expected = {f"m{n}" for n in range(0, count, 2)}
        assert mail_store.known_ids(conn, wanted) == expected
        assert mail_store._statuses(conn, wanted) == dict.fromkeys(expected, "collected")
    in_rolled_back(db, work)


def _save_as_before(conn: Connection, account: str, folder: str, uidvalidity: int,
                    last_uid: int) -> None:
    """``checkpoints.save`` before it was one statement: insert, read, update."""
    from mailroom.store.db import insert_ignore
    from mailroom.store.schema import checkpoints as table

    now = datetime.now(UTC)
    conn.execute(insert_ignore(conn, table).values(
        account=account, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid,
        updated_at=now))
    current = checkpoints.load(conn, account, folder)
    if current is None:
        return
    if current.uidvalidity != uidvalidity or current.last_uid < last_uid:
        conn.execute(table.update().where(table.c.account == account, table.c.folder == folder)
                     .values(uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now))


def test_a_checkpoint_saved_in_one_statement_moves_as_it_did_in_three(db: Database) -> None:
    import random

    from mailroom.store.schema import checkpoints as table

    rng = random.Random(21)
    saves = [(rng.choice(["a", "b"]), rng.choice(["INBOX", "Spam"]), rng.choice([7, 8]),
              rng.randrange(0, 40)) for _ in range(300)]

    def run(save: Callable[..., None]) -> list[tuple[Any, ...]]:
        def work(conn: Connection) -> list[tuple[Any, ...]]:
            seen: list[tuple[Any, ...]] = []
            before: dict[tuple[str, str], Any] = {}
            for account, folder, uidvalidity, uid in saves:
                save(conn, account, folder, uidvalidity, uid)
                row = conn.execute(select(table.c.uidvalidity, table.c.last_uid, table.c.updated_at)
                                   .where(table.c.account == account,
                                          table.c.folder == folder)).one()
                moved = before.get((account, folder)) != row[2]
                before[(account, folder)] = row[2]
                seen.append((row[0], row[1], moved))
            return seen
        return in_rolled_back(db, work)

    assert run(checkpoints.save) == run(_save_as_before)
