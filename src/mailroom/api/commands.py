"""``mailroom users add|passwd NAME`` and ``mailroom users hash`` (registered by mailroom.cli)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from mailroom.api import auth
from mailroom.settings import Settings

MIN_PASSWORD = 8


def read_password(prompt: str = "Password: ") -> str:
    """MAILROOM_NEW_PASSWORD when set (scripts), else asked twice on the terminal."""
    from_env = os.environ.get("MAILROOM_NEW_PASSWORD")
    if from_env:
        return from_env
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise ValueError("the passwords differ")
    return first


def _password() -> str | None:
    try:
        password = read_password()
    except ValueError as exc:
        print(f"mailroom: {exc}", file=sys.stderr)
        return None
    if len(password) < MIN_PASSWORD:
        print(f"mailroom: a password needs at least {MIN_PASSWORD} characters", file=sys.stderr)
        return None
    return password


def _in_store(settings: Settings, action: Callable[[Connection], bool]) -> bool:
    """Run ``action`` in one transaction on the configured store (created when new)."""
    from mailroom.store import Database

    db = Database(settings.store_url)
    try:
        db.create_schema()
        with db.begin() as conn:
            return action(conn)
    finally:
        db.dispose()


def cmd_users_add(args: argparse.Namespace, settings: Settings) -> int:
    password = _password()
    if password is None:
        return 2
    if not _in_store(settings, lambda conn: auth.add_user(conn, args.name, password, args.role)):
        print(f"mailroom: user {args.name!r} exists", file=sys.stderr)
        return 1
    print(f"user {args.name} ({args.role}) created")
    return 0


def cmd_users_passwd(args: argparse.Namespace, settings: Settings) -> int:
    password = _password()
    if password is None:
        return 2
    if not _in_store(settings, lambda conn: auth.change_password(conn, args.name, password)):
        print(f"mailroom: no user {args.name!r} in the store", file=sys.stderr)
        return 1
    print(f"password of {args.name} changed; their sessions are ended")
    return 0


def cmd_users_hash(args: argparse.Namespace, settings: Settings) -> int:
    del args, settings
    password = _password()
    if password is None:
        return 2
    print(auth.hash_password(password))
    return 0


def register(sub: Any) -> None:
    """Add ``users add`` and ``users hash`` to the ``mailroom`` parser."""
    users = sub.add_parser("users", help="let people sign in to the dashboard")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="create a user in the state store (asks for the "
                               "password or reads MAILROOM_NEW_PASSWORD)")
    add.add_argument("name")
    add.add_argument("--role", default="reviewer", choices=auth.ROLES)
    add.set_defaults(func=cmd_users_add)
    passwd = users_sub.add_parser("passwd", help="change a store user's password and end "
                                  "their sessions (asks, or reads MAILROOM_NEW_PASSWORD)")
    passwd.add_argument("name")
    passwd.set_defaults(func=cmd_users_passwd)
    users_sub.add_parser("hash", help="print a password hash for API_USERS=name:hash").set_defaults(
        func=cmd_users_hash)
