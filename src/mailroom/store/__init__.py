"""The state store: tables, queries and the engine (SQLite file or PostgreSQL)."""

from mailroom.store.db import Database
from mailroom.store.schema import MailStatus, ReplyStatus

__all__ = ["Database", "MailStatus", "ReplyStatus"]
