"""Pure parts of the API: HTML sanitising, reply events, statistics, health summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailroom.api.health import summarise
from mailroom.api.models import CheckResult
from mailroom.api.review import (
    MANUAL_TEMPLATE,
    ReviewError,
    build_reply,
    reply_templates,
    sanitize_html,
    template_names,
)
from mailroom.api.stats import StatsCache, latency_percentiles, per_minute, percentile, sum_counts
from mailroom.events import RawEmail, Route
from mailroom.settings import Settings

EVIL_HTML = (
    '<p onclick="alert(1)">Hi <b>there</b></p><script>alert(2)</script>'
    '<img src="x" onerror="alert(3)"><a href="javascript:alert(4)">link</a>'
    '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>'
    '<form action="https://evil.example"><input name=p></form>'
)


def test_sanitize_html_keeps_text_and_drops_every_active_part() -> None:
    clean = sanitize_html(EVIL_HTML)
    assert "<b>there</b>" in clean
    lowered = clean.lower()
    for bad in ("<script", "onclick", "onerror", "javascript:", "<iframe", "<style", "<form", "<input"):
        assert bad not in lowered, bad


def _row(**over: object) -> dict[str, object]:
    email = RawEmail(mail_id="m1", account="a@example.com", folder="INBOX", subject="Hola",
                     from_addr="x@example.org")
    return {"event": email.model_dump(mode="json"), "category": "billing", "language": "es", **over}


def test_free_text_reply_is_a_manual_acknowledgement_by_the_reviewer() -> None:
    routed = build_reply(_row(), "alice", None, "  Gracias  ")
    d = routed.decision
    assert (d.route, d.template, d.reply_body, d.requested_by, d.category) == (
        Route.ACKNOWLEDGE, MANUAL_TEMPLATE, "Gracias", "alice", "billing")
    assert routed.email.mail_id == "m1"


def test_template_reply_keeps_the_template_and_unknown_category_is_named() -> None:
    d = build_reply(_row(category=None), "bob", "subscription_es", None).decision
    assert (d.template, d.reply_body, d.category) == ("subscription_es", None, "unknown")


@pytest.mark.parametrize("template", [None, " ", MANUAL_TEMPLATE])
def test_reply_without_text_needs_a_real_template(template: str | None) -> None:
    """The manual template only wraps a person's text: alone it would send an empty reply."""
    with pytest.raises(ReviewError) as err:
        build_reply(_row(), "alice", template, "   ")
    assert err.value.status == 422


def test_written_text_is_sent_in_the_manual_template_whatever_was_picked() -> None:
    d = build_reply(_row(), "alice", "subscription", "Our answer").decision
    assert (d.template, d.reply_body) == (MANUAL_TEMPLATE, "Our answer")


def test_template_names_come_from_the_override_and_packaged_folders(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    for name in ("refund.en.txt", "refund.en.html", "manual.en.txt", "notes.md"):
        (own / name).write_text("x")
    names = template_names([own, tmp_path / "missing", None])
    assert names == ["refund"]
    assert "subscription" in reply_templates(Settings(_env_file=None))  # type: ignore[call-arg]


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 90), percentile(values, 99)) == (50.0, 90.0, 99.0)
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0


def test_latency_percentiles_mix_naive_and_aware_times() -> None:
    """SQLite returns naive UTC datetimes; PostgreSQL aware ones: both measure the same."""
    start = datetime(2026, 1, 1, 12, 0, 0)
    pairs = [(start, start.replace(tzinfo=UTC) + timedelta(seconds=s)) for s in (1, 2, 3, 4)]
    lat = latency_percentiles(pairs)
    assert (lat.count, lat.p50, lat.max) == (4, 2.0, 4.0)
    assert latency_percentiles([]).count == 0


def test_per_minute_buckets_oldest_first_and_ignores_outside_window() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    times = [now - timedelta(seconds=10), now - timedelta(seconds=70), now - timedelta(minutes=5),
             now + timedelta(seconds=5), now - timedelta(minutes=3, seconds=1)]
    assert per_minute(times, now, 3) == [0, 1, 1]


def _check(name: str, ok: bool, detail: str = "") -> CheckResult:
    return CheckResult(name=name, ok=ok, detail=detail)


def test_one_grouped_count_gives_totals_per_status_category_and_mailbox() -> None:
    counted = sum_counts([
        ("a@x", "INBOX", "replied", "subscription", 5),
        ("a@x", "INBOX", "in_review", "other", 2),
        ("a@x", "INBOX", "in_review", None, 1),
        ("b@x", "Support", "replied", "subscription", 3),
    ])
    assert counted.by_status == {"replied": 8, "in_review": 3}
    assert counted.by_category == {"subscription": 8, "other": 2}
    assert [(m.account, m.folder, m.total, m.by_status) for m in counted.mailboxes] == [
        ("a@x", "INBOX", 8, {"replied": 5, "in_review": 3}),
        ("b@x", "Support", 3, {"replied": 3})]


def test_stats_are_computed_at_most_once_per_period_and_a_failure_is_not_kept() -> None:
    now = [100.0]
    cache: StatsCache[int] = StatsCache(2.0, clock=lambda: now[0])
    calls = [0]

    def compute() -> int:
        calls[0] += 1
        return calls[0]

    assert cache.get(compute) == 1
    now[0] += 1.9
    assert cache.get(compute) == 1  # still fresh: every dashboard gets the same reading
    now[0] += 0.1
    assert cache.get(compute) == 2

    def fail() -> int:
        raise RuntimeError("store down")

    now[0] += 5
    with pytest.raises(RuntimeError):
        cache.get(fail)
    assert cache.get(compute) == 3  # the stale reading was not served after the failure


def test_health_is_ok_only_when_every_check_is() -> None:
    ok = summarise(_check("kafka", True), _check("smtp", True), _check("store", True),
                   [_check("imap:a/INBOX", True)])
    assert ok.status == "OK" and ok.details == ""
    bad = summarise(_check("kafka", True), _check("smtp", False, "refused"), _check("store", True),
                    [_check("imap:a/INBOX", True), _check("imap:b/INBOX", False, "login refused")])
    assert bad.status == "DEGRADED"
    assert bad.services.model_dump() == {"kafka": True, "smtp": False, "imap": False}
    assert bad.details == "smtp: refused; imap:b/INBOX: login refused"
    store_down = summarise(_check("kafka", True), _check("smtp", True), _check("store", False, "x"),
                           [_check("imap:a/INBOX", True)])
    assert store_down.status == "DEGRADED" and not store_down.store
