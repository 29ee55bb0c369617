"""Named leases in the store: several collectors never read the same folder at once.

A lease is held by one owner until it expires; the owner renews it well before then. A
collector that dies stops renewing, and another takes the folder over after expiry.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, delete, or_, select, update

from mailroom.events import utcnow
from mailroom.store.db import insert_ignore
from mailroom.store.schema import leases


def acquire(conn: Connection, name: str, owner: str, ttl: timedelta) -> bool:
    """Take or renew the lease; False while another owner holds a live one."""
    now = utcnow()
    inserted = conn.execute(
        insert_ignore(conn, leases).values(name=name, owner=owner, expires_at=now + ttl)
        .returning(leases.c.name)
    ).first()
    if inserted is not None:
        return True
    return bool(conn.execute(
        update(leases)
        .where(leases.c.name == name, or_(leases.c.owner == owner, leases.c.expires_at < now))
        .values(owner=owner, expires_at=now + ttl)
    ).rowcount)


def release(conn: Connection, name: str, owner: str) -> None:
    conn.execute(delete(leases).where(leases.c.name == name, leases.c.owner == owner))


def holder(conn: Connection, name: str) -> str | None:
    """Who holds the lease now (expired or not), or None."""
    return conn.execute(select(leases.c.owner).where(leases.c.name == name)).scalar()
