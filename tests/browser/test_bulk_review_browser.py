"""Review at volume in Debian's Chromium (Playwright, headless) with the real responder and
SMTP sink: a reviewer filters 500 subscription mails, bulk-replies with a template and
watches the job's progress; the sink receives exactly 500 replies and the same bulk action
again sends none; two reviewers answering one mail get one reply out and one clear refusal;
a customer's answer to a bulk reply goes to review and shows in its thread."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pytest
import test_dashboard
from test_dashboard import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Background

from mailroom import topics
from mailroom.api import auth
from mailroom.api.service import ApiService
from mailroom.events import Decision, RawEmail, Route
from mailroom.kafka import Outgoing, produce_all
from mailroom.runtime import Runtime
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from servers import SmtpSink

pytestmark = [*test_dashboard.pytestmark, pytest.mark.slow]
runtime = test_dashboard.runtime  # the dashboard test's store, broker, sink and user "rita"
MANY = 500


def review_mails(rt: Runtime, category: str, count: int, subject: str) -> list[str]:
    """``count`` mails in review, each from its own customer (one reply per customer)."""
    decided = []
    for i in range(count):
        mail_id = uuid.uuid4().hex
        email = RawEmail(mail_id=mail_id, account="support@example.com", folder="INBOX", uid=i + 1,
                         message_id=f"<{mail_id}@example.org>", subject=f"{subject} {i}",
                         from_addr=f"customer{mail_id[:10]}@example.org", to=["support@example.com"],
                         text="Please sign me up for the newsletter.", language="en")
        decided.append((email, Decision(mail_id=mail_id, category=category, route=Route.REVIEW,
                                        confidence=0.4)))
    with rt.db.begin() as conn:
        mail_store.record_collected(conn, [e for e, _ in decided])
        mail_store.record_decisions(conn, decided)
    return [e.mail_id for e, _ in decided]


def wait_replied(rt: Runtime, ids: list[str], timeout: float) -> None:
    """Until the store says every mail's reply is sent (the positive end signal)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.db.begin() as conn:
            statuses = [(mail_store.get_mail(conn, m) or {}).get("status") for m in ids]
        if all(s == MailStatus.REPLIED for s in statuses):
            return
        time.sleep(0.5)
    raise AssertionError(f"{sum(s != MailStatus.REPLIED for s in statuses)} mails not replied")


def wait_decided(rt: Runtime, mail_id: str, timeout: float) -> None:
    """Until the store has the processor's decision for the mail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.db.begin() as conn:
            row = mail_store.get_mail(conn, mail_id)
        if row is not None and row["status"] != MailStatus.COLLECTED:
            return
        time.sleep(0.5)
    raise AssertionError(f"the processor did not decide {mail_id} within {timeout}s")


def test_bulk_reply_to_500_filtered_mails_sends_500_once_and_two_reviewers_one_reply(
        runtime: Runtime, smtp_sink: SmtpSink, artifacts: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from mailroom.processor.service import ProcessorService
    from mailroom.responder.service import ResponderService

    subscriptions = review_mails(runtime, "subscription", MANY, "Subscribe me")
    others = review_mails(runtime, "billing", 20, "Invoice question")
    with runtime.db.begin() as conn:
        auth.add_user(conn, "bob", PASSWORD)
    with Background(lambda: ApiService(runtime), lambda: ResponderService(runtime),
                    lambda: ProcessorService(runtime)) as bg:
        api = bg.api()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                rita = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
                bob = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
                for page, name in ((rita, "rita"), (bob, "bob")):
                    page.set_default_timeout(60_000)
                    page.goto(api.url + "/login?next=/review")
                    page.fill("#username", name)
                    page.fill("#password", PASSWORD)
                    page.keyboard.press("Enter")
                    expect(page.locator("#match-count")).to_contain_text(f"{MANY + 20} mails")

                # filter, tick two rows with a shift-click range, then "all N matching"
                rita.select_option("#f-category", "subscription")
                rita.select_option("#f-sort", "oldest")
                rita.click("#filters button[type=submit]")
                expect(rita.locator("#match-count")).to_have_text(f"{MANY} mails")
                assert "category=subscription" in rita.url, "the filter is in the address"
                rita.locator("input.pick").nth(1).click()
                rita.locator("input.pick").nth(4).click(modifiers=["Shift"])
                expect(rita.locator("#selected-count")).to_have_text("4 selected")
                rita.check("#b-all")
                expect(rita.locator("#selected-count")).to_have_text(f"{MANY} selected")
                rita.select_option("#b-action", "reply")
                rita.select_option("#b-template", "subscription")
                rita.screenshot(path=str(artifacts / "review-queue-bulk.png"), full_page=False)
                rita.click("#b-run")
                expect(rita).to_have_url(re.compile(r"/bulk/[0-9a-f]{32}$"))
                expect(rita.locator("#job-status")).to_have_text("done", timeout=120_000)
                expect(rita.locator("#job-done")).to_have_text(str(MANY))
                expect(rita.locator("#job-progress")).to_have_attribute("value", str(MANY))
                rita.screenshot(path=str(artifacts / "review-bulk-job.png"), full_page=True)

                wait_replied(runtime, subscriptions, 240)
                assert len(smtp_sink.messages()) == MANY

                # the same bulk action again: nothing matches any more, nothing is sent
                csrf = rita.locator("input[name=csrf]").first.get_attribute("value")
                again = rita.request.post(api.url + "/api/mails/bulk", headers={"X-CSRF-Token": csrf or ""},
                                          data={"action": "reply", "template": "subscription",
                                                "filter": {"category": "subscription"}})
                assert again.status == 202, again.text()
                job_id = again.json()["id"]
                rita.goto(f"{api.url}/bulk/{job_id}")
                expect(rita.locator("#job-status")).to_have_text("done")
                expect(rita.locator("#job-total")).to_have_text("0")

                # two reviewers answer the same mail: one reply, one refusal naming the first
                target = others[0]
                for page, name in ((rita, "rita"), (bob, "bob")):
                    page.goto(f"{api.url}/mails/{target}")
                    page.fill("#r-body", f"Hello, {name} here: fixed.")
                rita.click("text=Send reply")
                expect(rita.locator(".notice")).to_contain_text("Reply queued")
                bob.click("text=Send reply")
                expect(bob.locator("p.error")).to_have_text(
                    re.compile(r"^mail is (awaiting_reply|replied) by rita, not in review$"))
                wait_replied(runtime, [target], 60)
                rita.goto(f"{api.url}/mails/{target}")
                expect(rita.locator("#history")).to_contain_text("rita reply")
                rita.screenshot(path=str(artifacts / "review-mail-history.png"), full_page=True)

                # a customer answers our bulk reply: it joins the thread and waits for a person
                first_id = f"<{subscriptions[0]}@example.org>"
                ours = next(m for m in smtp_sink.messages() if m["In-Reply-To"] == first_id)
                answer_id = uuid.uuid4().hex
                answer = RawEmail(
                    mail_id=answer_id, account="support@example.com", folder="INBOX", uid=9999,
                    message_id=f"<{answer_id}@example.org>", subject="Re: Subscribe me 0",
                    from_addr=str(ours["To"]), to=["support@example.com"], language="en",
                    in_reply_to=str(ours["Message-ID"]),
                    references=[f"<{subscriptions[0]}@example.org>", str(ours["Message-ID"])],
                    text="Thanks! Could you also send me last month's issue?")
                producer = runtime.kafka.producer()
                produce_all(producer, [Outgoing(topics.RAW_EMAILS, answer_id, answer.to_bytes())])
                wait_decided(runtime, answer_id, 120)
                rita.goto(f"{api.url}/review")
                expect(rita.locator(f"a[href='/mails/{answer_id}']")).to_be_visible(timeout=60_000)
                rita.click(f"a[href='/mails/{answer_id}']")
                thread = rita.locator("#thread li")
                expect(thread).to_have_count(3)
                expect(thread.nth(0)).to_contain_text("Subscribe me 0")
                expect(thread.nth(1)).to_contain_text("our reply (subscription)")
                expect(thread.nth(2)).to_contain_text("this mail")
                rita.screenshot(path=str(artifacts / "review-thread.png"), full_page=True)
            finally:
                browser.close()
    sent = smtp_sink.messages()
    assert len(sent) == MANY + 1, "500 bulk replies, one answer to the shared mail, nothing twice"
    with runtime.db.begin() as conn:
        row = mail_store.get_mail(conn, answer_id)
    assert row is not None and row["status"] == MailStatus.IN_REVIEW, "no automatic reply to an answer"
    recipients = [m["To"] for m in sent]
    assert len(set(recipients)) == len(recipients)
