"""Dashboard users kept in the store (``mailroom users add``); API_USERS live in settings."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from mailroom.events import utcnow
from mailroom.store import sessions
from mailroom.store.db import insert_ignore
from mailroom.store.schema import users


def find(conn: Connection, name: str) -> tuple[str, str] | None:
    """(password hash, role) of a store user, or None."""
    row = conn.execute(select(users.c.password_hash, users.c.role)
                       .where(users.c.username == name)).first()
    return (str(row[0]), str(row[1])) if row else None


def add(conn: Connection, name: str, password_hash: str, role: str) -> bool:
    """Create a user; False when the name is taken."""
    created = conn.execute(insert_ignore(conn, users).values(
        username=name, password_hash=password_hash, role=role, created_at=utcnow())
        .returning(users.c.username)).first()
    return created is not None


def set_password_hash(conn: Connection, name: str, password_hash: str) -> bool:
    """Replace a user's hash and end every session of that user; False for an unknown name."""
    changed = conn.execute(update(users).where(users.c.username == name)
                           .values(password_hash=password_hash)).rowcount
    if changed:
        sessions.end_all(conn, name)
    return bool(changed)


def any_exist(conn: Connection) -> bool:
    return conn.execute(select(users.c.username).limit(1)).first() is not None
