"""`mailroom check` against Dovecot, aiosmtpd and the embedded broker: all ✓, then one broken at a time."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from clirun import Ran, mailroom
from mailroom.broker import EmbeddedBroker, free_port
from mailroom.check import Status
from mailroom.kafka import KafkaClients
from mailroom.probes import probe_broker
from mailroom.settings import Settings, normalise_database_url
from mailroom.store import Database
from servers import Dovecot, SmtpSink

pytestmark = pytest.mark.integration

MAIL = (b"From: Ana <ana@example.org>\r\nTo: support@example.com\r\nSubject: hello\r\n"
        b"Message-ID: <check-1@example.org>\r\n\r\nA mail the check must not touch.\r\n")


@dataclass
class World:
    dovecot: Dovecot
    smtp: SmtpSink
    broker: EmbeddedBroker

    def settings(self, tmp_path: Path, **overrides: object) -> dict[str, object]:
        user, password = next(iter(self.dovecot.users.items()))
        values: dict[str, object] = {
            "imap_server": self.dovecot.host, "imap_port": self.dovecot.port,
            "imap_security": "none", "imap_email": user, "imap_password": password,
            "smtp_server": "127.0.0.1", "smtp_port": self.smtp.port, "smtp_security": "none",
            "smtp_email": self.smtp.user, "smtp_password": self.smtp.password,
            "kafka_bootstrap_servers": self.broker.bootstrap_servers,
            "mailroom_data_dir": tmp_path / "data",
        }
        return values | overrides


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One Dovecot (one unread mail), one aiosmtpd and one broker with the five topics."""
    dovecot = Dovecot().start()
    smtp = SmtpSink().start()
    broker = EmbeddedBroker(port=0)
    broker.start()
    try:
        dovecot.preload("support@example.com", [MAIL])
        KafkaClients(broker.bootstrap_servers).create_topics(1, 1)
        yield World(dovecot, smtp, broker)
    finally:
        broker.stop()
        smtp.stop()
        dovecot.stop()


def check(tmp_path: Path, world: World, **overrides: object) -> Ran:
    return mailroom(tmp_path, "check", "--timeout", "3", **world.settings(tmp_path, **overrides))


def failed(ran: Ran) -> list[str]:
    return ran.lines("✗")


def test_everything_configured_and_reachable_is_all_ticks(tmp_path: Path, world: World) -> None:
    store = Database(f"sqlite:///{tmp_path}/data/mailroom.db")
    revision = store.create_schema()
    store.dispose()
    ran = check(tmp_path, world)
    assert ran.code == 0, ran.both
    assert failed(ran) == [] and "Traceback" not in ran.both
    ticks = "\n".join(ran.lines("✓"))
    assert "✓ IMAP support@example.com INBOX: " in ticks and "folder has 1 mail(s)" in ticks
    assert "✓ SMTP: 127.0.0.1:" in ticks and "logged in as mailer@example.com; nothing sent" in ticks
    assert f"✓ broker: {world.broker.bootstrap_servers}: reachable, all 5 topics present" in ticks
    assert f"✓ store: sqlite:///{tmp_path}/data/mailroom.db: schema revision {revision}, 0 mail(s)" \
        in ticks
    for name in ("rules", "model", "spam model", "templates"):
        assert f"✓ {name}: " in ticks
    assert ran.lines("!") == ["! dashboard: nobody can sign in yet -> add a user with "
                              "`mailroom users add NAME` (or API_USERS)"]


def test_a_postgresql_store_is_checked_for_its_schema_revision(
        tmp_path: Path, world: World, pg_url: str) -> None:
    fresh = check(tmp_path, world, database_url=pg_url)
    assert fresh.code == 0, fresh.both
    assert any(line.endswith(": empty; the first start creates the schema")
               for line in fresh.lines("✓ store: postgresql+psycopg://"))
    store = Database(normalise_database_url(pg_url))
    revision = store.create_schema()
    store.dispose()
    ran = check(tmp_path, world, database_url=pg_url)
    assert any(line.endswith(f": schema revision {revision}, 0 mail(s)")
               for line in ran.lines("✓ store: postgresql+psycopg://")), ran.both


def test_the_check_examines_the_folder_and_changes_no_flag(tmp_path: Path, world: World) -> None:
    """EXAMINE, not SELECT: the mail stays unseen and still \\Recent for the collector."""
    assert check(tmp_path, world).code == 0
    imap = world.dovecot.connect()
    try:
        imap.select("INBOX")
        assert imap.response("RECENT")[1] == [b"1"]
        _typ, data = imap.fetch("1", "(FLAGS)")
        assert b"\\Seen" not in data[0]
    finally:
        imap.logout()


def test_a_wrong_imap_password_is_the_imap_line_with_its_fix(
        tmp_path: Path, world: World, dovecot: Dovecot) -> None:
    # its own Dovecot: after a refused login Dovecot slows the next logins from this address
    ran = check(tmp_path, world, imap_port=dovecot.port, imap_password="wrong-password")
    assert ran.code == 1
    assert failed(ran) == [
        f"✗ IMAP support@example.com: 127.0.0.1:{dovecot.port} (none): login refused for "
        "support@example.com -> check IMAP_EMAIL and IMAP_PASSWORD (or the account in "
        "MAILROOM_MAILBOXES)"]
    assert "wrong-password" not in ran.both


def test_a_missing_folder_is_named(tmp_path: Path, world: World) -> None:
    ran = check(tmp_path, world, imap_mailbox="Nope")
    assert ran.code == 1, ran.both
    assert [line.split(" -> ")[1] for line in failed(ran)] == [
        "check IMAP_MAILBOX (the folder's name as the server lists it) or the folders in "
        "MAILROOM_MAILBOXES"]


def test_a_closed_smtp_port_is_the_smtp_line_with_its_fix(tmp_path: Path, world: World) -> None:
    port = free_port()
    ran = check(tmp_path, world, smtp_port=port)
    assert ran.code == 1
    lines = failed(ran)
    assert len(lines) == 1 and lines[0].startswith(f"✗ SMTP: 127.0.0.1:{port} (none): cannot connect")
    assert lines[0].endswith("-> check SMTP_SERVER, SMTP_PORT and SMTP_SECURITY (starttls: 587, "
                             "ssl: 465)")


def test_a_wrong_smtp_password_says_login_refused(tmp_path: Path, world: World) -> None:
    ran = check(tmp_path, world, smtp_password="wrong-password")
    assert ran.code == 1
    assert [line.split(": ", 2)[2] for line in failed(ran)] == [
        "login refused for mailer@example.com -> check SMTP_EMAIL and SMTP_PASSWORD"]


def test_an_unreachable_broker_is_the_broker_line_with_its_fix(tmp_path: Path, world: World) -> None:
    servers = f"127.0.0.1:{free_port()}"
    ran = check(tmp_path, world, kafka_bootstrap_servers=servers)
    assert ran.code == 1
    lines = failed(ran)
    assert len(lines) == 1 and lines[0].startswith(f"✗ broker: {servers}: unreachable")
    assert lines[0].endswith("-> check KAFKA_BOOTSTRAP_SERVERS and that the broker runs")
    assert "Traceback" not in ran.both and "FAIL|rdkafka" not in ran.both


def test_a_broker_without_the_topics_says_how_to_create_them(
        tmp_path: Path, world: World, broker: EmbeddedBroker) -> None:
    ran = check(tmp_path, world, kafka_bootstrap_servers=broker.bootstrap_servers)
    assert ran.code == 1
    assert failed(ran)[0].endswith("-> run `mailroom topics create`")


def test_the_embedded_broker_is_said_to_start_with_mailroom_up(tmp_path: Path, world: World) -> None:
    ran = check(tmp_path, world, kafka_bootstrap_servers="")
    assert ran.code == 0, ran.both
    assert any("KAFKA_BOOTSTRAP_SERVERS unset: `mailroom up` starts the embedded broker" in line
               for line in ran.lines("✓ broker"))


def test_an_unreachable_database_is_the_store_line(tmp_path: Path, world: World) -> None:
    ran = check(tmp_path, world,
                database_url=f"postgresql://mailroom:s3cret-pw@127.0.0.1:{free_port()}/x")
    assert ran.code == 1
    lines = failed(ran)
    assert len(lines) == 1 and lines[0].startswith("✗ store: postgresql+psycopg://mailroom:***@")
    assert "s3cret-pw" not in ran.both


def test_a_bad_setting_stops_the_check_with_one_line_each(tmp_path: Path, world: World) -> None:
    ran = check(tmp_path, world, imap_port="99999", smtp_security="tls")
    assert ran.code == 2
    assert ran.lines("mailroom:") == [
        "mailroom: invalid setting IMAP_PORT: Input should be less than or equal to 65535",
        "mailroom: invalid setting SMTP_SECURITY: Input should be 'ssl', 'starttls' or 'none'"]


def test_an_oauth2_account_whose_token_endpoint_is_down_is_its_imap_line(
        tmp_path: Path, world: World) -> None:
    mailboxes = tmp_path / "mailboxes.yaml"
    mailboxes.write_text(
        "accounts:\n  - name: sales\n    server: 127.0.0.1\n"
        f"    port: {world.dovecot.port}\n    security: none\n    user: support@example.com\n"
        f"    oauth2: {{token_url: 'http://127.0.0.1:{free_port()}/token', client_id: c,"
        " refresh_token: r-secret-token}\n", encoding="utf-8")
    ran = check(tmp_path, world, mailroom_mailboxes=mailboxes)
    assert ran.code == 1
    assert "Traceback" not in ran.both and "r-secret-token" not in ran.both
    assert failed(ran) == [
        f"✗ IMAP sales: 127.0.0.1:{world.dovecot.port} (none): cannot log in: token endpoint "
        "unreachable: URLError -> check the account's oauth2 token_url, client_id and "
        "refresh_token in MAILROOM_MAILBOXES"]


def test_a_taken_embedded_broker_port_is_said_not_to_be_worked_around() -> None:
    """`mailroom up` refuses a taken port (it never moves to another): the check says so."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        [line] = probe_broker(Settings(embedded_broker_port=port), timeout=1)
    assert line.status is Status.WARN and f"127.0.0.1:{port} is taken" in line.detail
    assert "EMBEDDED_BROKER_PORT" in line.fix
