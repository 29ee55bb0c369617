"""``db.insert_ignore_many``: the batch INSERT that skips known keys, on SQLite and on a real
PostgreSQL (where it is one statement of arrays, whatever the number of rows)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from mailroom.events import RawEmail, utcnow
from mailroom.store import Database, MailStatus, ReplyStatus, mails
from mailroom.store.db import insert_ignore_many
from mailroom.store.schema import mails as mails_table
from mailroom.store.schema import replies as replies_table

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_url").replace("postgresql://", "postgresql+psycopg://")
    database = Database(url)
    database.create_schema()
    yield database
    database.dispose()


def email(n: int, **extra: object) -> RawEmail:
    return RawEmail(mail_id=f"m{n}", account="acct", folder="INBOX", uid=n,
                    message_id=f"<{n}@x>", subject=f"Suscripción ñ {n}", from_addr=f"u{n}@x.example",
                    **extra)  # type: ignore[arg-type]


def test_rows_round_trip_with_json_enums_nulls_and_odd_text(db: Database) -> None:
    hostile = email(1, text="quote ' and \" and \\ and {braces} and NUL-free ümlauts",
                    headers={"x-odd": ["a,b", "{c}"]})
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
