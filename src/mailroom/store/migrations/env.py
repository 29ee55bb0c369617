"""Alembic's entry point, run from code: the connection comes from ``migrations.config``.

There is no ``alembic.ini`` at run time; ``mailroom db upgrade`` and a starting service call
``mailroom.store.migrations`` with a connection already in a transaction, which commits or
rolls back the whole upgrade (on SQLite too: ``Database.create_schema`` begins it explicitly,
under the store's file lock).
"""

from __future__ import annotations

from alembic import context

from mailroom.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
