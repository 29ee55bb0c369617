"""Who may use the API: users, password hashes, signed session cookies, CSRF, tokens.

Passwords are hashed with scrypt and a random salt; the stored form is
``scrypt.<n>.<r>.<p>.<salt>.<hash>`` (url-safe base64, no ``:`` ``,`` or ``$``, so it fits
in ``API_USERS=name:hash,...`` and in a ``.env`` file unquoted). The parameters travel in
the hash, so a hash made with older parameters still verifies (and a store user's is
replaced at the next login). A session is a row in the store plus a signed cookie (HMAC-
SHA256 over a small JSON payload) holding the session id, an expiry and the CSRF token
that every form post must echo; logout and a password change delete the row.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from mailroom.events import utcnow
from mailroom.store import sessions
from mailroom.store import users as user_store

# OWASP Password Storage Cheat Sheet: scrypt N=2^14, r=8, p=5 is one of its equivalent
# minimum settings (the same work as N=2^17, p=1) and needs 16 MiB per hash, not 128
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 5
# a stored hash asking for more than this is refused, not computed (memory and CPU bound)
MAX_SCRYPT_N, MAX_SCRYPT_R, MAX_SCRYPT_P = 2**20, 16, 16
SCRYPT_MAXMEM = 1100 * 1024 * 1024
SESSION_COOKIE = "mailroom_session"
SESSION_SECONDS = 12 * 3600
ROLES = ("reviewer", "operator", "admin")
MAX_CREDENTIAL = 4096  # longer cookies, tokens and CSRF tokens are malformed


class MalformedCredential(Exception):
    """A credential that cannot even be compared (not ASCII, far too long): answered 401."""


@dataclass(frozen=True)
class User:
    name: str
    role: str = "reviewer"
    via: str = "session"  # session | token
    csrf: str = ""
    session: str = ""  # the session id (sessions only)

    @property
    def operates(self) -> bool:
        """Operators and admins may act on dead letters; reviewers work on mails only."""
        return self.role in ("operator", "admin")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def credential_bytes(value: str) -> bytes:
    """A presented credential as bytes for ``compare_digest``; ``MalformedCredential`` when
    it is not printable ASCII or absurdly long (``compare_digest`` raises on non-ASCII str)."""
    if len(value) > MAX_CREDENTIAL or not value.isascii() or not value.isprintable():
        raise MalformedCredential("malformed credential")
    return value.encode("ascii")


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time comparison of a presented credential with the expected one."""
    return hmac.compare_digest(credential_bytes(presented), expected.encode())


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            maxmem=SCRYPT_MAXMEM, dklen=32)
    return f"scrypt.{SCRYPT_N}.{SCRYPT_R}.{SCRYPT_P}.{_b64(salt)}.{_b64(digest)}"


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user is unknown, so timing does not reveal names."""
    return hash_password("not-a-user", salt=b"\0" * 16)


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a stored hash; malformed hashes fail."""
    try:
        scheme, n_text, r_text, p_text, salt, expected = stored.split(".")
        n, r, p = int(n_text), int(r_text), int(p_text)
        if scheme != "scrypt" or not (1 < n <= MAX_SCRYPT_N and 0 < r <= MAX_SCRYPT_R
                                      and 0 < p <= MAX_SCRYPT_P):
            return False
        want = _unb64(expected)
        digest = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=n, r=r, p=p,
                                maxmem=SCRYPT_MAXMEM, dklen=len(want) or 32)
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(digest, want)


def needs_rehash(stored: str) -> bool:
    """True for a hash made with other parameters than today's."""
    return not stored.startswith(f"scrypt.{SCRYPT_N}.{SCRYPT_R}.{SCRYPT_P}.")


def password_tag(stored: str) -> str:
    """A short fingerprint of a password hash: a session remembers which password opened
    it, so changing the password (in the store or in API_USERS) ends the session."""
    return hashlib.sha256(b"mailroom-password\0" + stored.encode()).hexdigest()[:32]


def parse_api_users(value: str) -> dict[str, str]:
    """``"alice:<hash>,bob:<hash>"`` -> ``{"alice": "<hash>", ...}`` (blank entries skipped)."""
    found: dict[str, str] = {}
    for entry in value.split(","):
        name, sep, hashed = entry.strip().partition(":")
        if sep and name.strip() and hashed.strip():
            found[name.strip()] = hashed.strip()
    return found


def add_user(conn: Connection, name: str, password: str, role: str = "reviewer") -> bool:
    """Create a user in the store; False when the name is taken."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return user_store.add(conn, name, hash_password(password), role)


def has_store_users(conn: Connection) -> bool:
    return user_store.any_exist(conn)


def change_password(conn: Connection, name: str, password: str) -> bool:
    """Set a store user's password and end all of that user's sessions."""
    return user_store.set_password_hash(conn, name, hash_password(password))


def known_hash(config_users: dict[str, str], conn: Connection, name: str) -> tuple[str, str] | None:
    """(password hash, role) of a user; API_USERS users (admins) win over store users."""
    if name in config_users:
        return config_users[name], "admin"
    return user_store.find(conn, name)


def authenticate(config_users: dict[str, str], conn: Connection, name: str,
                 password: str) -> tuple[User, str] | None:
    """The user and its password hash when ``password`` is right."""
    found = known_hash(config_users, conn, name)
    if found is None:
        verify_password(password, _dummy_hash())
        return None
    stored, role = found
    if not verify_password(password, stored):
        return None
    if name not in config_users and needs_rehash(stored):
        stored = hash_password(password)
        user_store.set_password_hash(conn, name, stored)
    return User(name, role), stored


def check_token(tokens: list[str], presented: str) -> bool:
    """Compare a bearer token against every configured one without short-circuiting."""
    given = credential_bytes(presented)
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(token.encode(), given)
    return ok and bool(presented)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


@dataclass(frozen=True)
class SessionCookie:
    session_id: str
    csrf: str
    expires: int


class SessionSigner:
    """Signs and reads session cookies: ``base64(json).base64(hmac)``."""

    def __init__(self, secret: bytes) -> None:
        self.key = hashlib.sha256(b"mailroom-session\0" + secret).digest()

    def _mac(self, body: str) -> bytes:
        return _b64(hmac.new(self.key, body.encode(), hashlib.sha256).digest()).encode()

    def issue(self, *, now: float | None = None, ttl: int = SESSION_SECONDS) -> tuple[str, SessionCookie]:
        """A new cookie value and what it carries."""
        cookie = SessionCookie(secrets.token_urlsafe(32), secrets.token_urlsafe(24),
                               int((now or time.time()) + ttl))
        payload = {"s": cookie.session_id, "c": cookie.csrf, "e": cookie.expires}
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body).decode()}", cookie

    def read(self, value: str, *, now: float | None = None) -> SessionCookie | None:
        """What a genuine, unexpired cookie carries; ``MalformedCredential`` for garbage."""
        raw = credential_bytes(value)
        body, sep, mac = raw.partition(b".")
        if not sep or not hmac.compare_digest(mac, self._mac(body.decode())):
            return None
        try:
            payload = json.loads(_unb64(body.decode()))
            cookie = SessionCookie(str(payload["s"]), str(payload["c"]), int(payload["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return cookie if cookie.expires >= (now or time.time()) else None


def open_session(conn: Connection, signer: SessionSigner, user: User, stored_hash: str,
                 ttl: int = SESSION_SECONDS) -> str:
    """Record a new session for ``user``; returns the cookie value."""
    value, cookie = signer.issue(ttl=ttl)
    now = utcnow()
    sessions.open_session(conn, session_hash(cookie.session_id), user.name,
                          password_tag(stored_hash), now, now + timedelta(seconds=ttl))
    return value


def session_user(conn: Connection, config_users: dict[str, str], cookie: SessionCookie,
                 now: datetime | None = None) -> User | None:
    """The user of a live session whose password is still the one it was opened with."""
    found = sessions.find(conn, session_hash(cookie.session_id), now or utcnow())
    if found is None:
        return None
    name, tag = found
    current = known_hash(config_users, conn, name)
    if current is None or not hmac.compare_digest(password_tag(current[0]), tag):
        return None
    return User(name, current[1], "session", cookie.csrf, cookie.session_id)


def end_session(conn: Connection, user: User) -> None:
    if user.session:
        sessions.end(conn, session_hash(user.session))


class _Window:
    """Failure times per key within a sliding window, for at most ``capacity`` keys."""

    def __init__(self, capacity: int, window: float) -> None:
        self.capacity = capacity
        self.window = window
        self.times: OrderedDict[str, deque[float]] = OrderedDict()

    def count(self, key: str, now: float) -> int:
        found = self.times.get(key)
        if found is None:
            return 0
        while found and now - found[0] >= self.window:
            found.popleft()
        if not found:
            del self.times[key]
            return 0
        return len(found)

    def add(self, key: str, now: float, limit: int) -> None:
        found = self.times.get(key)
        if found is None:
            found = self.times[key] = deque(maxlen=limit)
        found.append(now)
        self.times.move_to_end(key)
        while len(self.times) > self.capacity:
            # the oldest entry: the global limit keeps the keys with failures inside the
            # window below capacity, so what goes here has no live failure left
            self.times.popitem(last=False)


class LoginThrottle:
    """Refuse logins after repeated failures: per user name, per client and overall.

    Memory is bounded: at most ``global_limit`` failures count inside the window, so no more
    than that many names or clients have live entries, and each holds at most its limit of
    timestamps. Nothing is ever cleared wholesale: spraying names cannot unblock one.
    """

    def __init__(self, per_name: int = 5, per_client: int = 20, global_limit: int = 200,
                 window: float = 300.0) -> None:
        self.per_name, self.per_client, self.global_limit = per_name, per_client, global_limit
        self.window = window
        # twice the global limit: room for the failures of logins already past the check
        self.names = _Window(2 * global_limit, window)
        self.clients = _Window(2 * global_limit, window)
        self.overall: deque[float] = deque(maxlen=global_limit)
        self.lock = threading.Lock()

    def blocked(self, name: str, client: str = "", now: float | None = None) -> str | None:
        """Why a login is refused now (``"name"``, ``"client"``, ``"global"``) or None."""
        now = time.monotonic() if now is None else now
        with self.lock:
            while self.overall and now - self.overall[0] >= self.window:
                self.overall.popleft()
            if self.names.count(name, now) >= self.per_name:
                return "name"
            if client and self.clients.count(client, now) >= self.per_client:
                return "client"
            if len(self.overall) >= self.global_limit:
                return "global"
        return None

    def failed(self, name: str, client: str = "", now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            self.names.add(name, now, self.per_name)
            if client:
                self.clients.add(client, now, self.per_client)
            self.overall.append(now)

    def succeeded(self, name: str) -> None:
        with self.lock:
            self.names.times.pop(name, None)


class HashingGate:
    """At most ``limit`` password hashes at once; a login that cannot get a turn within
    ``wait`` seconds is answered 503 instead of queueing CPU work without bound."""

    def __init__(self, limit: int = 2, wait: float = 5.0) -> None:
        self.semaphore = threading.BoundedSemaphore(limit)
        self.wait = wait

    def acquire(self) -> bool:
        return self.semaphore.acquire(timeout=self.wait)

    def release(self) -> None:
        self.semaphore.release()
