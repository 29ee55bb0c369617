"""Who may use the API: users, password hashes, signed session cookies, CSRF, tokens.

Passwords are hashed with scrypt and a random salt; the stored form is
``scrypt.<n>.<r>.<p>.<salt>.<hash>`` (url-safe base64, no ``:`` ``,`` or ``$``, so it fits
in ``API_USERS=name:hash,...`` and in a ``.env`` file unquoted). Sessions are a signed
cookie (HMAC-SHA256 over a small JSON payload) holding the user name, an expiry and the
CSRF token that every form post must echo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select

from mailroom.events import utcnow
from mailroom.store.db import insert_ignore
from mailroom.store.schema import users

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_COOKIE = "mailroom_session"
SESSION_SECONDS = 12 * 3600
ROLES = ("reviewer", "operator", "admin")


@dataclass(frozen=True)
class User:
    name: str
    role: str = "reviewer"
    via: str = "session"  # session | token
    csrf: str = ""

    @property
    def operates(self) -> bool:
        """Operators and admins may act on dead letters; reviewers work on mails only."""
        return self.role in ("operator", "admin")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=64 * 1024 * 1024, dklen=32)
    return f"scrypt.{SCRYPT_N}.{SCRYPT_R}.{SCRYPT_P}.{_b64(salt)}.{_b64(digest)}"


# a hash to check against when the user is unknown, so timing does not reveal names
_DUMMY_HASH = hash_password("not-a-user", salt=b"\0" * 16)


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; malformed hashes fail."""
    try:
        scheme, n, r, p, salt, expected = stored.split(".")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                maxmem=64 * 1024 * 1024, dklen=len(_unb64(expected)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, _unb64(expected))


def parse_api_users(value: str) -> dict[str, str]:
    """``"alice:<hash>,bob:<hash>"`` -> ``{"alice": "<hash>", ...}`` (blank entries skipped)."""
    found: dict[str, str] = {}
    for entry in value.split(","):
        name, sep, hashed = entry.strip().partition(":")
        if sep and name.strip() and hashed.strip():
            found[name.strip()] = hashed.strip()
    return found


def store_user(conn: Connection, name: str) -> tuple[str, str] | None:
    row = conn.execute(select(users.c.password_hash, users.c.role)
                       .where(users.c.username == name)).first()
    return (str(row[0]), str(row[1])) if row else None


def add_user(conn: Connection, name: str, password: str, role: str = "reviewer") -> bool:
    """Create a user in the store; False when the name is taken."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    result = conn.execute(insert_ignore(conn, users).values(
        username=name, password_hash=hash_password(password), role=role, created_at=utcnow()))
    return bool(result.rowcount)


def count_store_users(conn: Connection) -> int:
    return len(list(conn.execute(select(users.c.username).limit(1)).scalars()))


def authenticate(config_users: dict[str, str], conn: Connection, name: str, password: str) -> User | None:
    """The user when ``password`` is right; config users win over store users."""
    if name in config_users:
        return User(name, "admin") if verify_password(password, config_users[name]) else None
    found = store_user(conn, name)
    if found is None:
        verify_password(password, _DUMMY_HASH)
        return None
    return User(name, found[1]) if verify_password(password, found[0]) else None


def check_token(tokens: list[str], presented: str) -> bool:
    """Compare a bearer token against every configured one without short-circuiting."""
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(token.encode(), presented.encode())
    return ok and bool(presented)


class SessionSigner:
    """Signs and reads session cookies: ``base64(json).base64(hmac)``."""

    def __init__(self, secret: bytes) -> None:
        self.key = hashlib.sha256(b"mailroom-session\0" + secret).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest())

    def issue(self, user: User, *, now: float | None = None, ttl: int = SESSION_SECONDS) -> str:
        payload = {"u": user.name, "r": user.role, "c": secrets.token_urlsafe(24),
                   "e": int((now or time.time()) + ttl)}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def read(self, cookie: str, *, now: float | None = None) -> User | None:
        body, sep, mac = cookie.partition(".")
        if not sep or not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
            if int(payload["e"]) < (now or time.time()):
                return None
            return User(str(payload["u"]), str(payload["r"]), "session", str(payload["c"]))
        except (ValueError, KeyError, TypeError):
            return None


class LoginThrottle:
    """Refuse logins for a name after repeated failures (in memory, per process)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self.failures: dict[str, list[float]] = {}

    def blocked(self, name: str, now: float | None = None) -> bool:
        now = now or time.monotonic()
        recent = [t for t in self.failures.get(name, []) if now - t < self.window]
        self.failures[name] = recent
        return len(recent) >= self.limit

    def failed(self, name: str, now: float | None = None) -> None:
        self.failures.setdefault(name, []).append(now or time.monotonic())
        if len(self.failures) > 10_000:  # bound memory against name spraying
            self.failures.clear()

    def succeeded(self, name: str) -> None:
        self.failures.pop(name, None)
