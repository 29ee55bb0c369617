"""Pure parts of the API: HTML sanitising, reply events, statistics, health summary and
the judgement of the collector's stamped rounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailroom.api.health import down_here, judge_mailboxes, probe_body, public_view, summarise
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
from mailroom.runtime import ComponentHealth
from mailroom.settings import Settings
from mailroom.store.mailbox_health import MailboxRound

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


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _round(ok_ago: float | None, failed_ago: float | None = None, detail: str = "") -> MailboxRound:
    def at(ago: float | None) -> datetime | None:
        return None if ago is None else NOW - timedelta(seconds=ago)

    return MailboxRound(at(ok_ago), at(failed_ago), detail)


def test_a_folder_is_up_while_its_last_round_is_recent_and_no_failure_came_after() -> None:
    rounds = {"imap:a/INBOX": _round(10), "imap:b/INBOX": _round(900),
              "imap:c/INBOX": _round(30, failed_ago=5, detail="LOGIN refused for c"),
              "imap:d/INBOX": _round(5, failed_ago=30, detail="old failure")}
    names = ["imap:a/INBOX", "imap:b/INBOX", "imap:c/INBOX", "imap:d/INBOX", "imap:e/INBOX"]
    found = {c.name: c for c in judge_mailboxes(names, rounds, {}, NOW, 640)}
    assert found["imap:a/INBOX"].ok and found["imap:a/INBOX"].last_round_seconds_ago == 10
    assert not found["imap:b/INBOX"].ok and "no successful round for 900 s" in found["imap:b/INBOX"].detail
    assert not found["imap:c/INBOX"].ok and found["imap:c/INBOX"].detail == "LOGIN refused for c"
    assert found["imap:d/INBOX"].ok, "a round after the failure: recovered"
    assert not found["imap:e/INBOX"].ok and found["imap:e/INBOX"].detail == "no successful round yet"


def test_what_a_stage_here_reports_counts_before_the_stamps() -> None:
    reports = {"imap:a/INBOX": ComponentHealth(False, "connection lost"),
               "imap:b/INBOX": ComponentHealth(True, "connected, UIDVALIDITY 7")}
    found = {c.name: c for c in judge_mailboxes(["imap:a/INBOX", "imap:b/INBOX"],
                                                {"imap:a/INBOX": _round(1)}, reports, NOW, 640)}
    assert not found["imap:a/INBOX"].ok and found["imap:a/INBOX"].detail == "connection lost"
    assert found["imap:b/INBOX"].ok, "connected, its first round under way"


def test_anonymous_callers_see_verdicts_only() -> None:
    bad = summarise(_check("kafka", True), _check("smtp", False, "10.0.0.5:25: refused"),
                    _check("store", True), [_check("imap:ops@example.com/INBOX", True)])
    public = public_view(bad)
    assert public.status == "DEGRADED" and public.services == bad.services
    assert public.details == "" and public.checks == []


def test_readiness_lists_what_is_down_here_with_hosts_only_when_detailed() -> None:
    down = down_here({"smtp": ComponentHealth(False, "10.0.0.5:25: refused"),
                      "imap:a/INBOX": ComponentHealth(True)})
    checks = [_check("store", True), _check("kafka", True), *down]
    assert probe_body(checks, detailed=True).details == "smtp: 10.0.0.5:25: refused"
    assert probe_body(checks, detailed=False).details == "down: smtp"
    assert probe_body(checks[:2], detailed=False).status == "OK"
