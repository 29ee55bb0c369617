"""Dashboard sessions: opened at login, ended by logout, expiry or a password change.

Rows are keyed by a SHA-256 of the session id the cookie carries, so reading the table
gives nobody a working cookie.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, select

from mailroom.store.schema import sessions


def open_session(conn: Connection, session_hash: str, username: str, password_tag: str,
                 now: datetime, expires_at: datetime) -> None:
    conn.execute(delete(sessions).where(sessions.c.expires_at < now))  # keeps the table small
    conn.execute(sessions.insert().values(
        session_hash=session_hash, username=username, password_tag=password_tag,
        created_at=now, expires_at=expires_at))


def find(conn: Connection, session_hash: str, now: datetime) -> tuple[str, str] | None:
    """(user name, password tag) of a live session, or None."""
    row = conn.execute(select(sessions.c.username, sessions.c.password_tag)
                       .where(sessions.c.session_hash == session_hash,
                              sessions.c.expires_at > now)).first()
    return (str(row[0]), str(row[1])) if row else None


def end(conn: Connection, session_hash: str) -> None:
    conn.execute(delete(sessions).where(sessions.c.session_hash == session_hash))


def end_all(conn: Connection, username: str) -> int:
    """End every session of ``username``; returns how many there were."""
    return int(conn.execute(delete(sessions).where(sessions.c.username == username)).rowcount)
