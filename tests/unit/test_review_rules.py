"""The pure rules of review at volume: who holds a mail, how a queue filter becomes a store
query, and which bulk requests may run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailroom.api.auth import User
from mailroom.api.bulk import check_request
from mailroom.api.models import BulkFilter, BulkRequest
from mailroom.api.review import MailFilter, ReviewError, filter_query
from mailroom.store.assignments import holder

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(minutes=30)
REVIEWER = User("rita")
OPERATOR = User("olga", role="operator")


def test_a_hold_counts_until_it_lapses_and_only_in_review() -> None:
    row = {"status": "in_review", "assignee": "rita", "assigned_at": NOW - timedelta(minutes=5)}
    assert holder(row, CUTOFF) == "rita"
    assert holder(row | {"assigned_at": NOW - timedelta(minutes=31)}, CUTOFF) is None
    assert holder(row | {"assigned_at": None}, CUTOFF) is None, "taken before holds had a time"
    assert holder(row | {"status": "replied"}, CUTOFF) is None, "who answered is not a hold"
    naive = (NOW - timedelta(minutes=5)).replace(tzinfo=None)  # as SQLite returns it
    assert holder(row | {"assigned_at": naive}, CUTOFF) == "rita"


def test_filter_query_reads_me_none_a_mailbox_and_an_age() -> None:
    q = filter_query(MailFilter(assignee="me", mailbox="support@example.com/Ventas",
                                older_than_minutes=60), "rita", CUTOFF)
    assert (q["holder"], q["unassigned"], q["account"], q["folder"]) == (
        "rita", False, "support@example.com", "Ventas")
    assert q["collected_before"] is not None
    nobody = filter_query(MailFilter(assignee="none", mailbox="support@example.com"), "rita", CUTOFF)
    assert (nobody["holder"], nobody["unassigned"], nobody["folder"]) == (None, True, None)
    assert filter_query(MailFilter(assignee="bob"), "rita", CUTOFF)["holder"] == "bob"
    assert filter_query(MailFilter(), "rita", CUTOFF)["collected_before"] is None


@pytest.mark.parametrize(("request_body", "status"), [
    ({"action": "close"}, 422),  # neither ids nor a filter
    ({"action": "close", "ids": ["a"], "filter": {}}, 422),  # both
    ({"action": "reply", "ids": ["a"]}, 422),  # nothing to send
    ({"action": "reply", "ids": ["a"], "template": "manual"}, 422),  # the wrapper alone
    ({"action": "reclassify", "ids": ["a"], "category": " "}, 422),
    ({"action": "assign", "ids": ["a"], "to": "bob"}, 403),  # a reviewer assigning others
])
def test_bulk_requests_that_cannot_run_are_refused(request_body: dict[str, object], status: int) -> None:
    with pytest.raises(ReviewError) as refused:
        check_request(BulkRequest.model_validate(request_body), REVIEWER)
    assert refused.value.status == status


def test_bulk_parameters_are_what_the_runner_needs() -> None:
    reply = BulkRequest(action="reply", filter=BulkFilter(category="subscription"),
                        template=" subscription ")
    assert check_request(reply, REVIEWER) == {"template": "subscription", "body": None}
    assign = BulkRequest(action="assign", ids=["a"], to="bob")
    assert check_request(assign, OPERATOR) == {"to": "bob", "force": True}
    assert check_request(BulkRequest(action="assign", ids=["a"]), REVIEWER) == {"to": "rita", "force": False}
