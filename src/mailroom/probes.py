"""The network half of ``mailroom check``: try each server the configuration names.

Nothing here changes anything: IMAP folders are opened with EXAMINE (read-only, no flag
changes), SMTP connects and logs in but sends nothing, the broker is asked for its
metadata, the store is read without creating it. Every probe is bounded by ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from mailroom.check import Result, fail, local_checks, ok, warn
from mailroom.errors import RetryLater
from mailroom.settings import ConfigError, Settings

IMAP_FIX = "check IMAP_SERVER, IMAP_PORT and IMAP_SECURITY (ssl: 993, starttls or none: 143)"
SMTP_FIX = "check SMTP_SERVER, SMTP_PORT and SMTP_SECURITY (starttls: 587, ssl: 465)"


async def probe_imap(settings: Settings, timeout: float) -> list[Result]:
    """Log in to every account and EXAMINE each watched folder."""
    from mailroom.collector.imap import AuthFailed, ImapConnection, ImapError
    from mailroom.collector.mailboxes import load_accounts
    from mailroom.collector.oauth import TokenError, TokenSource

    try:
        accounts = load_accounts(settings)
    except ConfigError:
        return []  # said by the local checks
    results = []
    for account in accounts:
        name = f"IMAP {account.name}"
        where = f"{account.server}:{account.port} ({account.security.value})"
        tokens = TokenSource(account.oauth2) if account.oauth2 is not None else None
        conn = ImapConnection(account, timeout=timeout, tokens=tokens)
        try:
            await asyncio.wait_for(conn.open(), timeout * 2)
        except AuthFailed:
            fix = ("check the account's oauth2 settings in MAILROOM_MAILBOXES" if tokens else
                   "check IMAP_EMAIL and IMAP_PASSWORD (or the account in MAILROOM_MAILBOXES)")
            results.append(fail(name, f"{where}: login refused for {account.user}", fix))
            await conn.close()
            continue
        except TokenError as exc:
            results.append(fail(name, f"{where}: cannot log in: {exc.reason}",
                                "check the account's oauth2 token_url, client_id and "
                                "refresh_token in MAILROOM_MAILBOXES"))
            await conn.close()
            continue
        except (RetryLater, OSError, TimeoutError) as exc:  # ImapError: connect, TLS, greeting
            reason = getattr(exc, "reason", None) or type(exc).__name__
            results.append(fail(name, f"{where}: cannot log in: {reason}", IMAP_FIX))
            await conn.close()
            continue
        try:
            for folder in account.folders:
                try:
                    state = await conn.select(folder, read_only=True)  # EXAMINE: no flag changes
                except ImapError as exc:
                    if " refused: " not in exc.reason:
                        results.append(fail(name, f"{where}: EXAMINE {folder!r} failed: {exc.reason}",
                                            IMAP_FIX))
                        break
                    results.append(fail(f"{name} {folder}", f"{where}: no folder {folder!r}",
                                        "check IMAP_MAILBOX (the folder's name as the server lists "
                                        "it) or the folders in MAILROOM_MAILBOXES"))
                    continue
                results.append(ok(f"{name} {folder}", f"{where}: logged in, folder has "
                                                      f"{state.exists} mail(s)"))
        finally:
            await conn.close()
    return results


async def probe_smtp(settings: Settings, timeout: float) -> list[Result]:
    """Connect, secure and log in as the responder will; no mail is sent."""
    import aiosmtplib

    from mailroom.responder.smtp import SmtpConfig

    if not settings.smtp_server:
        return []  # said by the local checks
    config = SmtpConfig.from_settings(settings)
    where = f"{config.host}:{config.port} ({config.security.value})"
    client = config.client()
    client.timeout = timeout
    try:
        await asyncio.wait_for(client.connect(), timeout * 2)
    except aiosmtplib.SMTPAuthenticationError:
        client.close()
        return [fail("SMTP", f"{where}: login refused for {config.username}",
                     "check SMTP_EMAIL and SMTP_PASSWORD")]
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        client.close()
        reason = str(exc) or type(exc).__name__
        return [fail("SMTP", f"{where}: cannot connect: {reason}", SMTP_FIX)]
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.quit(), timeout)
    login = f"logged in as {config.username}" if config.password else \
        "connected (SMTP_PASSWORD unset: no login tried)"
    return [ok("SMTP", f"{where}: {login}; nothing sent")]


def probe_broker(settings: Settings, timeout: float) -> list[Result]:
    """Embedded: say what will start. External: its metadata and the five topics."""
    from confluent_kafka import KafkaException

    from mailroom import topics
    from mailroom.broker import BrokerError, port_is_free, tansu_binary
    from mailroom.kafka import KafkaClients

    if settings.embedded:
        try:
            tansu_binary()
        except BrokerError as exc:
            return [fail("broker", str(exc), "reinstall mailroom, or set KAFKA_BOOTSTRAP_SERVERS "
                                             "to a shared broker")]
        port = settings.embedded_broker_port
        if port and not port_is_free(port):
            # `mailroom up` never moves to another port: it stops a broker an earlier crash
            # left there (named by its pid file) and refuses anything else
            return [warn("broker", f"KAFKA_BOOTSTRAP_SERVERS unset and 127.0.0.1:{port} is taken: "
                                   "`mailroom up` stops a broker an earlier run of it left there, "
                                   "and refuses to start beside anything else",
                         "stop what holds the port, or set EMBEDDED_BROKER_PORT")]
        where = f"127.0.0.1:{port}" if port else "a free port"
        return [ok("broker", f"KAFKA_BOOTSTRAP_SERVERS unset: `mailroom up` starts the embedded "
                             f"broker on {where} (single services need a shared broker)")]
    servers = settings.kafka_bootstrap_servers
    # librdkafka logs every failed connection attempt itself: the result line says it once
    admin = KafkaClients(servers, extra={"log_level": 0, "error_cb": lambda _err: None}).admin()
    try:
        found = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        return [fail("broker", f"{servers}: unreachable ({exc.args[0].str()})",
                     "check KAFKA_BOOTSTRAP_SERVERS and that the broker runs")]
    missing = [t for t in topics.ALL_TOPICS if t not in found]
    if missing:
        return [fail("broker", f"{servers}: topic(s) missing: {', '.join(missing)}",
                     "run `mailroom topics create`")]
    return [ok("broker", f"{servers}: reachable, all {len(topics.ALL_TOPICS)} topics present")]


def probe_store(settings: Settings) -> list[Result]:
    """Connect and read the schema revision; a store not yet there is created on start."""
    from mailroom.store import Database
    from mailroom.store import mails as mail_store
    from mailroom.store.location import shown_url, sqlite_file
    from mailroom.store.migrations import known_revisions

    url = settings.store_url
    shown = shown_url(url)
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return [ok("store", f"{shown}: not there yet; the first start creates it")]
    db = Database(url)
    try:
        at, head = db.schema_revision()
        if at is None:
            return [ok("store", f"{shown}: empty; the first start creates the schema")]
        with db.begin() as conn:
            count = mail_store.count_all(conn)
    except ConfigError as exc:  # tables that are not mailroom's
        return [fail("store", f"{shown}: {exc}", "point DATABASE_URL at mailroom's own database")]
    except (SQLAlchemyError, OSError, RetryLater) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return [fail("store", f"{shown}: cannot connect: {reason}",
                     "check DATABASE_URL and that the database server runs")]
    finally:
        db.dispose()
    if at not in known_revisions():
        return [fail("store", f"{shown}: schema revision {at} is newer than this release's "
                              f"({head})", "run the newer mailroom, or restore a backup")]
    if at != head:
        return [warn("store", f"{shown}: schema revision {at}, this release has {head}",
                     "run `mailroom db upgrade` (SQLite stores upgrade on start)")]
    return [ok("store", f"{shown}: schema revision {at}, {count} mail(s)")]


def probe_dashboard(settings: Settings) -> list[Result]:
    """Can anybody sign in: users in API_USERS or in the store."""
    from mailroom.api.auth import has_store_users, parse_api_users
    from mailroom.store import Database
    from mailroom.store.location import sqlite_file

    configured = parse_api_users(settings.api_users)  # its format: check.check_api_users
    in_store = False
    path = sqlite_file(settings.store_url)
    if path is None or path.exists():
        db = Database(settings.store_url)
        try:
            at, _head = db.schema_revision()
            if at is not None:
                with db.begin() as conn:
                    in_store = has_store_users(conn)
        except (ConfigError, SQLAlchemyError, OSError, RetryLater):
            pass  # said by the store's line
        finally:
            db.dispose()
    if not configured and not in_store:
        return [warn("dashboard", "nobody can sign in yet",
                     "add a user with `mailroom users add NAME` (or API_USERS)")]
    where = [f"{len(configured)} in API_USERS"] if configured else []
    return [ok("dashboard", "users: " + ", ".join(where + (["some in the store"] if in_store
                                                          else [])))]


async def run_checks(settings: Settings, timeout: float = 5.0) -> list[Result]:
    """Everything ``mailroom up`` needs: local checks first, then each server once."""
    from mailroom.app import SERVICE_CLASSES

    env_file = Path(".env").resolve()
    source = (f"read from {env_file} and the environment" if env_file.is_file() else
              f"from the environment only (no {env_file})")
    results = [ok("settings", source), *local_checks(settings, list(SERVICE_CLASSES))]
    imap, smtp = await asyncio.gather(probe_imap(settings, timeout),
                                      probe_smtp(settings, timeout))
    broker = await asyncio.to_thread(probe_broker, settings, timeout)
    store = await asyncio.to_thread(probe_store, settings)
    dashboard = await asyncio.to_thread(probe_dashboard, settings)
    return results + imap + smtp + broker + store + dashboard


async def service_checks(settings: Settings, services: Sequence[str],
                         timeout: float = 5.0) -> list[Result]:
    """The servers running ``services`` need: what ``mailroom up`` logs once at start."""
    results = []
    if "collector" in services:
        results += await probe_imap(settings, timeout)
    if "responder" in services:
        results += await probe_smtp(settings, timeout)
    if not settings.embedded:
        results += await asyncio.to_thread(probe_broker, settings, timeout)
    if "api" in services:
        results += await asyncio.to_thread(probe_dashboard, settings)
    return results
