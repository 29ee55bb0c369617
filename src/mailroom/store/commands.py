"""``mailroom db upgrade`` and ``mailroom db current`` (registered by mailroom.cli)."""

from __future__ import annotations

import argparse
from typing import Any

from mailroom.settings import Settings
from mailroom.store import migrations
from mailroom.store.db import Database


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    """Create or upgrade the store's schema to this release's (under the schema lock)."""
    db = Database(settings.store_url)
    try:
        before, _ = db.schema_revision()
        after = db.create_schema(upgrade=True)
    finally:
        db.dispose()
    if before == after:
        print(f"the state store is at {after} (head): nothing to do")
    else:
        print(f"the state store was at {before or 'nothing (new store)'}, now at {after} (head)")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    """Print the store's schema revision; exit 1 when it needs `mailroom db upgrade`."""
    db = Database(settings.store_url)
    try:
        at, head = db.schema_revision()
    finally:
        db.dispose()
    if at == head:
        print(f"{at} (head)")
        return 0
    print(f"{at or 'no schema yet'}; this release needs {head}: "
          f"run `{migrations.UPGRADE_COMMAND}`")
    return 1


def register(sub: Any) -> None:
    db = sub.add_parser("db", help="see or upgrade the state store's schema after a new "
                                    "release")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="create or upgrade the schema to this release's").set_defaults(
        func=cmd_db_upgrade)
    db_sub.add_parser("current", help="the schema revision of the store").set_defaults(
        func=cmd_db_current)
