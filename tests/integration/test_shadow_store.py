"""Shadow mode's record in a real store (SQLite and PostgreSQL): would-be replies and the
precision computed from what reviewers did through the review functions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.api import review
from mailroom.events import Decision, RawEmail, Route, utcnow
from mailroom.store import Database, MailStatus
from mailroom.store import mails as mail_store
from mailroom.store import shadow as shadow_store
from mailroom.store.schema import replies

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    store = Database(url)
    store.create_schema()
    yield store
    store.dispose()


def shadow_mail(n: int) -> tuple[RawEmail, Decision]:
    email = RawEmail(mail_id=f"s{n}", account="a", folder="INBOX", uid=n, subject=f"Suscripción {n}",
                     from_addr=f"c{n}@example.org")
    return email, Decision(mail_id=email.mail_id, category="subscription", route=Route.REVIEW,
                           template="subscription", would_reply="subscription",
                           reasons=["rule subscription", "AUTOREPLY_MODE=shadow: would have ..."])


def test_reviewers_actions_give_the_live_precision(db: Database) -> None:
    decided = [shadow_mail(n) for n in range(5)]
    plain = RawEmail(mail_id="p", account="a", folder="INBOX", subject="Hola")
    with db.begin() as conn:
        mail_store.record_decisions(conn, [*decided, (plain, Decision(
            mail_id="p", category="other", route=Route.REVIEW))])
        assert shadow_store.summary(conn) == shadow_store.ShadowSummary(5, 0, 0)
        review.reclassify(conn, "s0", "subscription", "alice")      # agrees
        review.reclassify(conn, "s1", "unsubscription", "alice")    # disagrees
        review.close(conn, "s2", "bob")                              # disagrees
        mail_store.set_status(conn, "s3", MailStatus.REPLIED)        # replied with the template
        conn.execute(replies.insert().values(
            mail_id="s3", template="subscription", recipient="c3@example.org", message_id="<r3>",
            status="sent", attempts=1, created_at=utcnow(), sent_at=utcnow()))
    with db.begin() as conn:
        summary = shadow_store.summary(conn)
        listed = {w.mail_id: w.verdict for w in shadow_store.would_be_replies(conn, 50)}
    assert (summary.total, summary.agree, summary.disagree, summary.pending) == (5, 2, 2, 1)
    assert summary.precision == 0.5
    assert listed == {"s0": "agree", "s1": "disagree", "s2": "disagree", "s3": "agree",
                      "s4": "pending"}
    with db.begin() as conn:
        row = mail_store.get_mail(conn, "s4") or {}
    assert row["reasons"][0] == "rule subscription" and row["would_category"] == "subscription"
