"""Where the state store is, and what a command that reads it says about it.

One rule: the store is ``DATABASE_URL``, else ``$MAILROOM_DATA_DIR/mailroom.db``. The demo
keeps its own store in ``$MAILROOM_DATA_DIR/demo`` so its mails never mix with a real
mailbox's; a command that finds its store empty or missing says where the demo's is.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from mailroom.settings import ConfigError, Settings
from mailroom.store import mails as mail_store
from mailroom.store.db import Database


def demo_data_dir(settings: Settings) -> Path:
    """The data folder `mailroom demo` uses under the configured one."""
    return settings.mailroom_data_dir / "demo"


def shown_url(url: str) -> str:
    """A store URL fit for output: never its password."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not url.startswith("sqlite") or not database or database == ":memory:":
        return None
    return Path(database)


def demo_hint(settings: Settings) -> str:
    """How to read the demo's store instead, when there is one and it is not this one."""
    demo_dir = demo_data_dir(settings)
    if settings.database_url or not (demo_dir / "mailroom.db").exists():
        return ""
    return (f"; `mailroom demo` keeps its mails in {demo_dir}: "
            f"run this with MAILROOM_DATA_DIR={demo_dir}")


def open_existing(settings: Settings) -> tuple[Database, str]:
    """The store, opened without creating it, and one line saying which store and what it holds.

    A SQLite store that is not there is a ``ConfigError`` (reading it would only create an
    empty file); an empty store is said in the line, with the demo's store if there is one.
    """
    url = settings.store_url
    path = sqlite_file(url)
    if path is not None and not path.exists():
        raise ConfigError(f"no state store at {path} (MAILROOM_DATA_DIR="
                          f"{settings.mailroom_data_dir}): nothing was collected with these "
                          f"settings{demo_hint(settings)}")
    db = Database(url)
    try:
        db.create_schema()
        with db.begin() as conn:
            count = mail_store.count_all(conn)
    except Exception:
        db.dispose()
        raise
    line = f"store: {shown_url(url)} ({count} mail(s))"
    if count == 0:
        line += f"; it is empty{demo_hint(settings)}"
    return db, line
