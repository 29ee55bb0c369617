"""The dashboard in Debian's Chromium (Playwright, headless): log in, open a mail in review
with the keyboard, reply, and see the reply sent by the real responder and counted."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailroom.api import auth
from mailroom.api.service import ApiService
from mailroom.broker import EmbeddedBroker
from mailroom.events import Attachment, Decision, RawEmail, Route
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from servers import SmtpSink

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
    # the responder's tenacity call uses a deprecated argument (theirs to fix; not this test's subject)
    pytest.mark.filterwarnings("ignore:The 'initial' parameter is deprecated:DeprecationWarning"),
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
PASSWORD = "browser-pass-1"


class Background:
    """Services built and run on one event loop in a thread (Playwright's sync API
    must not share a thread with a running loop)."""

    def __init__(self, *factories: Callable[[], Any]) -> None:
        self.factories = factories
        self.services: list[Any] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.services = [make() for make in self.factories]
        self.ready.set()
        await asyncio.gather(*(s.run() for s in self.services))

    def __enter__(self) -> Background:
        self.thread.start()
        assert self.ready.wait(20)
        return self

    def api(self, timeout: float = 20) -> ApiService:
        """The first service, the API, once it listens (its URL is known then)."""
        api: ApiService = self.services[0]
        deadline = time.monotonic() + timeout
        while not api.started:
            assert time.monotonic() < deadline, "API did not start"
            time.sleep(0.05)
        return api

    def __exit__(self, *_exc: object) -> None:
        for service in self.services:
            service.stop()
        self.thread.join(40)


def seed_review(rt: Runtime) -> tuple[str, str]:
    def mail(subject: str, **kw: Any) -> tuple[RawEmail, Decision]:
        mail_id = uuid.uuid4().hex
        email = RawEmail(mail_id=mail_id, account="support@example.com", folder="INBOX", uid=1,
                         message_id=f"<{mail_id}@example.org>", subject=subject,
                         from_addr="customer@example.org", from_name="Ana Cliente",
                         to=["support@example.com"], language="en", **kw)
        return email, Decision(mail_id=mail_id, category="other", route=Route.REVIEW, confidence=0.35)

    evil = mail('<script>alert("subject")</script> Invoice', text='<img src=x onerror=alert(1)>',
                html='<p>Hi</p><script>alert("html")</script><img src=x onerror=alert(2)>',
                attachments=[Attachment(name='"><svg onload=alert(3)>.pdf', size=10)])
    time.sleep(0.01)
    good = mail("Can I change the delivery address?",
                text="Hello,\n\nI moved last week. Can you send my next order to the new address?\n\nAna")
    with rt.db.begin() as conn:
        mail_store.record_collected(conn, [evil[0], good[0]])
        mail_store.record_decisions(conn, [evil, good])
    return good[0].mail_id, evil[0].mail_id


@pytest.fixture
def runtime(tmp_path: Path, broker: EmbeddedBroker, smtp_sink: SmtpSink) -> Iterator[Runtime]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, mailroom_data_dir=tmp_path / "data",
        kafka_bootstrap_servers=broker.bootstrap_servers, api_port=0,
        smtp_server="127.0.0.1", smtp_port=smtp_sink.port, smtp_security="none",
        smtp_email=smtp_sink.user, smtp_password=smtp_sink.password, default_language="en",
    )
    rt = build_runtime(settings)
    rt.kafka.create_topics(1, 1)
    with rt.db.begin() as conn:
        auth.add_user(conn, "rita", PASSWORD)
    yield rt
    rt.db.dispose()


def test_log_in_open_with_keyboard_reply_and_see_it_counted(
        runtime: Runtime, smtp_sink: SmtpSink, artifacts: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from mailroom.responder.service import ResponderService

    good_id, evil_id = seed_review(runtime)
    dialogs: list[str] = []
    csp_errors: list[str] = []
    with Background(lambda: ApiService(runtime), lambda: ResponderService(runtime)) as bg:
        api = bg.api()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1366, "height": 800})
                page.set_default_timeout(30_000)
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                page.on("console", lambda m: csp_errors.append(m.text)
                        if "Content Security Policy" in m.text else None)

                page.goto(api.url + "/")
                expect(page).to_have_url(f"{api.url}/login?next=/")
                page.fill("#username", "rita")
                page.fill("#password", PASSWORD)
                page.keyboard.press("Enter")
                expect(page.locator("#s-review")).to_have_text("2")

                page.click("nav >> text=Review")
                expect(page.locator("table.list tbody tr")).to_have_count(2)
                page.keyboard.press("j")
                expect(page.locator("table.list tbody tr.current")).to_have_count(1)
                page.screenshot(path=str(artifacts / "dashboard-review.png"), full_page=True)
                page.keyboard.press("Enter")
                expect(page).to_have_url(f"{api.url}/mails/{good_id}")
                page.fill("#r-body", "Hello Ana, done: your next order goes to the new address.")
                page.click("text=Send reply")
                expect(page.locator(".notice")).to_contain_text("Reply queued")

                assert smtp_sink.wait_for(1, 60), "the responder did not send the reply"
                page.goto(api.url + "/")
                expect(page.locator("#s-sent")).to_have_text("1", timeout=30_000)
                expect(page.locator("#s-review")).to_have_text("1")
                page.wait_for_timeout(300)
                page.screenshot(path=str(artifacts / "dashboard-overview.png"), full_page=True)
                assert not csp_errors, csp_errors

                page.goto(f"{api.url}/mails/{evil_id}")
                expect(page.locator("h1")).to_contain_text('<script>alert("subject")</script>')
                expect(page.frame_locator("iframe.html").locator("p")).to_have_text("Hi")
                page.wait_for_timeout(300)
                page.screenshot(path=str(artifacts / "dashboard-mail-xss.png"), full_page=True)
                page.goto(f"{api.url}/mails/{good_id}")
                page.screenshot(path=str(artifacts / "dashboard-mail.png"), full_page=True)
            finally:
                browser.close()
    assert dialogs == [], "a script from the mail ran"
    sent = smtp_sink.messages()[0]
    assert sent["In-Reply-To"] == f"<{good_id}@example.org>"
    assert "new address" in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    with runtime.db.begin() as conn:
        row = mail_store.get_mail(conn, good_id)
    assert row is not None and row["status"] == MailStatus.REPLIED
