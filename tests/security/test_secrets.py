"""Issue 16, "Secrets and limits (low)": no credential in a log line, in ``repr(Settings)``
or in a health detail; RFC 2047 decoding bounded before it runs; scrypt at OWASP strength."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from mailroom import logs
from mailroom.api import auth
from mailroom.collector.headers import decode_words
from mailroom.collector.imap import ImapConnection
from mailroom.collector.mailboxes import Account
from mailroom.runtime import Runtime
from mailroom.settings import Security, Settings

IMAP_PASSWORD = "imap-Pa55-word!"
SMTP_PASSWORD = "smtp-pass-secret"
DB_PASSWORD = "db-pw-1234"


@pytest.fixture
def protected() -> Iterator[Settings]:
    """``logs.protect`` as ``mailroom`` installs it; the record factory is restored after."""
    factory = logging.getLogRecordFactory()
    installed, values = logs._installed, list(logs.redact.values)
    settings = Settings(_env_file=None, imap_server="127.0.0.1", imap_email="support@example.com",  # type: ignore[call-arg]
                        imap_password=IMAP_PASSWORD, smtp_password=SMTP_PASSWORD,
                        database_url=f"postgresql://mailroom:{DB_PASSWORD}@db.internal/mailroom")
    logs.protect(settings)
    try:
        yield settings
    finally:
        logging.setLogRecordFactory(factory)
        logs._installed, logs.redact.values = installed, values


# -- a loopback IMAP server that answers LOGIN oddly -------------------------------------

Answer = Callable[[str], bytes]


def continuation_then_no(tag: str) -> bytes:
    """A '+' where a tagged answer belongs: aioimaplib logs the pending LOGIN command."""
    return f"+ go on\r\n{tag} NO [AUTHENTICATIONFAILED] nope\r\n".encode()


def wrong_tag(_tag: str) -> bytes:
    """A tagged answer with another tag: aioimaplib raises Abort quoting the LOGIN command."""
    return b"ZZZZ9 OK done\r\n"


@contextlib.asynccontextmanager
async def odd_imap_server(answer_login: Answer) -> AsyncIterator[int]:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"* OK [CAPABILITY IMAP4rev1] odd server ready\r\n")
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                tag, _, rest = line.decode(errors="replace").strip().partition(" ")
                command = rest.split(" ", 1)[0].upper()
                if command == "LOGIN":
                    writer.write(answer_login(tag))
                elif command == "CAPABILITY":
                    writer.write(f"* CAPABILITY IMAP4rev1\r\n{tag} OK done\r\n".encode())
                else:
                    writer.write(f"{tag} BAD unexpected\r\n".encode())
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def account(port: int) -> Account:
    return Account(name="support@example.com", server="127.0.0.1", port=port,
                   security=Security.NONE, user="support@example.com",
                   password=SecretStr(IMAP_PASSWORD))


@pytest.mark.parametrize("answer", [continuation_then_no, wrong_tag])
async def test_an_odd_login_answer_never_puts_the_imap_password_in_a_log_line(
        answer: Answer, protected: Settings, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aioimaplib")  # `mailroom` quiets it by default
    async with odd_imap_server(answer) as port:
        conn = ImapConnection(account(port), timeout=3)
        with pytest.raises(Exception) as failure:
            await conn.open()
        await conn.close()
    logging.getLogger("mailroom.collector").warning("collector failed: %s", failure.value)
    rt = Runtime.__new__(Runtime)
    rt.health = {}
    rt.report("imap:support@example.com/INBOX", False, str(failure.value))
    assert "LOGIN" in caplog.text, "the LOGIN command was logged (the finding) ..."
    assert logs.MASK in caplog.text, "... and masked"
    assert IMAP_PASSWORD not in caplog.text
    assert IMAP_PASSWORD not in rt.health["imap:support@example.com/INBOX"].detail


def test_known_secrets_and_credential_shapes_are_masked_in_messages_and_tracebacks(
        protected: Settings, caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("mailroom.test")
    with caplog.at_level(logging.DEBUG):
        log.info("smtp says %s", f"535 bad {SMTP_PASSWORD}")
        log.info("C: AUTH PLAIN AGJvYgBzM2NyZXQ=")
        log.info("C: a1 AUTHENTICATE XOAUTH2 dXNlcj1ib2IBYXV0aD1CZWFyZXIgeWEyOS5h")
        log.info('token endpoint said {"access_token": "ya29.abc", "refresh_token": "1//xyz"}')
        log.info("Authorization: Bearer eyJhbGciOi.payload.sig")
        log.info("connecting to postgresql://mailroom:other-pass@db:5432/x")
        try:
            raise RuntimeError(f"connect failed for postgresql://mailroom:{DB_PASSWORD}@db.internal")
        except RuntimeError:
            log.exception("store")
    text = caplog.text
    for secret in (SMTP_PASSWORD, "AGJvYgBzM2NyZXQ=", "dXNlcj1ib2IBYXV0aD1CZWFyZXIgeWEyOS5h",
                   "ya29.abc", "1//xyz", "eyJhbGciOi", "other-pass", DB_PASSWORD):
        assert secret not in text, secret
    assert logs.redact("LOGIN refused for bob@example.com") == "LOGIN refused for bob@example.com"


def test_database_url_is_a_secret_its_password_never_in_repr_of_settings() -> None:
    settings = Settings(_env_file=None,  # type: ignore[call-arg]
                        database_url=f"postgresql://mailroom:{DB_PASSWORD}@db.internal/mailroom")
    assert DB_PASSWORD not in repr(settings) and DB_PASSWORD not in str(settings)
    assert settings.store_url == f"postgresql+psycopg://mailroom:{DB_PASSWORD}@db.internal/mailroom"


def test_forty_thousand_encoded_words_decode_in_bounded_time() -> None:
    """The stdlib decoder is quadratic in the number of words: 40k took 4.7 s before."""
    header = " ".join(["=?utf-8?q?caf=C3=A9?="] * 40_000)
    started = time.perf_counter()
    decoded = decode_words(header)
    assert time.perf_counter() - started < 0.5
    assert decoded.startswith("cafécafé") and len(decoded) >= 2000
    assert decode_words("=?utf-8?q?Caf=C3=A9?= ok") == "Café ok"


async def test_the_mailroom_command_installs_the_redaction(tmp_path: Path) -> None:
    """Through the real CLI at DEBUG: aioimaplib's LOGIN lines are logged, the password not."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "IMAP_SERVER": "127.0.0.1", "IMAP_SECURITY": "none", "IMAP_EMAIL": "a@example.com",
           "IMAP_PASSWORD": IMAP_PASSWORD, "MAILROOM_DATA_DIR": str(tmp_path / "data")}
    async with odd_imap_server(continuation_then_no) as port:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mailroom.cli", "--log-level", "DEBUG", "check",
            env=env | {"IMAP_PORT": str(port)}, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    text = output.decode(errors="replace")
    assert "LOGIN a@example.com ***" in text, text
    assert IMAP_PASSWORD not in text


def test_hashes_use_owasp_scrypt_parameters_and_old_hashes_still_verify() -> None:
    """N=2^14, r=8, p=5 (OWASP's 16 MiB setting); an N=2^14 p=1 hash of the old code verifies."""
    stored = auth.hash_password("pw-123456")
    assert stored.startswith("scrypt.16384.8.5.") and not auth.needs_rehash(stored)
    salt = b"s" * 16
    old_digest = hashlib.scrypt(b"pw-123456", salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt.16384.8.1.{auth._b64(salt)}.{auth._b64(old_digest)}"
    assert auth.verify_password("pw-123456", old) and auth.needs_rehash(old)
    assert not auth.verify_password("pw-1234567", old)


def test_a_hash_asking_for_absurd_parameters_is_refused_not_computed() -> None:
    assert not auth.verify_password("x", f"scrypt.{2**24}.8.1.AAAA.BBBB")
    assert not auth.verify_password("x", "scrypt.16384.8.1000.AAAA.BBBB")


def test_a_store_users_old_hash_is_replaced_at_the_next_login(tmp_path: Path) -> None:
    from mailroom.store import Database
    from mailroom.store import users as user_store

    salt = b"s" * 16
    digest = hashlib.scrypt(b"pw-123456", salt=salt, n=2**14, r=8, p=1, dklen=32)
    old = f"scrypt.16384.8.1.{auth._b64(salt)}.{auth._b64(digest)}"
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    db.create_schema()
    try:
        with db.begin() as conn:
            user_store.add(conn, "rita", old, "reviewer")
            assert auth.authenticate({}, conn, "rita", "pw-123456") is not None
            found = user_store.find(conn, "rita")
        assert found is not None and found[0].startswith("scrypt.16384.8.5.")
        with db.begin() as conn:
            assert auth.authenticate({}, conn, "rita", "pw-123456") is not None, "the new hash verifies"
    finally:
        db.dispose()
