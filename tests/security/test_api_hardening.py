"""Issue 16, "API (medium)": each finding reproduced against a running API (uvicorn), and
the login throttle's memory bound as a pure unit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_server import TOKEN, SettingsApi, api_settings

from mailroom.api import auth
from mailroom.api.auth import HashingGate, LoginThrottle
from mailroom.store import mails as mail_store

pytestmark = pytest.mark.integration

PASSWORD = "rita-password-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[SettingsApi]:
    with SettingsApi(api_settings(tmp_path, api_max_body_bytes=64 * 1024)) as running:
        with running.rt.db.begin() as conn:
            auth.add_user(conn, "rita", PASSWORD)
        yield running


def login(client: httpx.Client, user: str = "rita", password: str = PASSWORD,
          token: str | None = None) -> httpx.Response:
    page = client.get("/login")
    found = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert found, page.text
    return client.post("/login", data={"username": user, "password": password,
                                       "login_token": token or found.group(1), "next": "/review"})


def login_secure(client: httpx.Client) -> httpx.Response:
    """Log in where every cookie is Secure over plain http (as the proxy's https would)."""
    page = client.get("/login")
    assert "secure" in page.headers["set-cookie"].lower()
    found = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert found
    return client.post("/login", headers={"Cookie": f"mailroom_login={found.group(1)}"},
                       data={"username": "rita", "password": PASSWORD,
                             "login_token": found.group(1), "next": "/review"})


def csrf_of(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/review").text)
    assert found
    return found.group(1)


# -- body limit and authentication before parsing ---------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_on_every_route(api: SettingsApi) -> None:
    big = b"x" * (65 * 1024)
    with api.client() as client:
        for path in ("/api/mails/m1/reply", "/login", "/mails/m1/close"):
            resp = client.post(path, content=big, headers={**AUTH, "content-type": "application/json"})
            assert resp.status_code == 413, (path, resp.status_code)

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
            for _ in range(70):
                yield b"y" * 1024

        chunked = client.post("/api/mails/m1/reply", content=chunks(),
                              headers={**AUTH, "content-type": "application/json"})
        assert chunked.status_code == 413
        small = client.post("/api/mails/m1/reply", json={"template": "default"}, headers=AUTH)
        assert small.status_code == 404, "a body within the limit reaches the route"


def test_unauthenticated_bad_json_gets_401_not_422(api: SettingsApi) -> None:
    with api.client() as client:
        anonymous = client.post("/api/mails/m1/reply", content=b"{not json",
                                headers={"content-type": "application/json"})
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        page = client.post("/mails/m1/close", content=b"%%%garbage",
                           headers={"content-type": "application/x-www-form-urlencoded"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        signed = client.post("/api/mails/m1/reply", content=b"{not json",
                             headers={**AUTH, "content-type": "application/json"})
        assert signed.status_code == 422, "with a credential the body is parsed and judged"


# -- malformed credentials ---------------------------------------------------------------


def test_non_ascii_csrf_header_with_a_valid_session_is_401_not_500(api: SettingsApi) -> None:
    with api.client() as client:
        assert login(client).status_code == 303
        resp = client.post("/api/mails/m1/close", headers={b"X-CSRF-Token": "é€".encode()})
        assert resp.status_code == 401, resp.text
        form = client.post("/mails/m1/close", data={"csrf": "é€"})
        assert form.status_code == 401


def test_non_ascii_login_token_cookie_or_bearer_is_401_not_500(api: SettingsApi) -> None:
    with api.client() as client:
        assert login(client, token="é€ü").status_code == 401
    with api.client(headers={"Cookie": f"{auth.SESSION_COOKIE}=é€".encode()}) as client:
        assert client.get("/api/mails").status_code == 401
        assert client.post("/api/mails/m1/close").status_code == 401
    with api.client(headers={"Authorization": "Bearer é€".encode()}) as client:
        assert client.get("/api/mails").status_code == 401


# -- login limits ------------------------------------------------------------------------


def test_one_client_is_blocked_after_repeated_failures_whatever_names_it_tries(api: SettingsApi) -> None:
    api.state.throttle = LoginThrottle(per_name=5, per_client=3, global_limit=200)
    with api.client() as client:
        for n in range(3):
            assert login(client, f"sprayed-{n}", "wrong-password").status_code == 401
        assert login(client, "rita", PASSWORD).status_code == 429, "the client is blocked"


def test_every_login_is_refused_while_the_global_limit_is_reached(api: SettingsApi) -> None:
    """Failures from many clients together: the global limit stops them (tokens still work)."""
    api.state.throttle = LoginThrottle(per_name=5, per_client=100, global_limit=4)
    with api.client() as client:
        for n in range(4):
            assert login(client, f"n{n}", "wrong-password").status_code == 401
        assert login(client, "rita", PASSWORD).status_code == 429
        assert client.get("/api/mails", headers=AUTH).status_code == 200


def test_logins_wait_for_a_hashing_turn_and_get_503_when_none_comes(api: SettingsApi) -> None:
    gate = HashingGate(limit=1, wait=0.2)
    api.state.hashing = gate
    assert gate.acquire()  # every turn taken, as by a flood of logins
    try:
        with api.client() as client:
            assert login(client).status_code == 503
    finally:
        gate.release()
    with api.client() as client:
        assert login(client).status_code == 303


def test_spraying_names_never_unblocks_a_user_and_memory_stays_bounded() -> None:
    """10,001 failed names used to clear the table wholesale and unblock ``admin``."""
    throttle = LoginThrottle(per_name=5, per_client=20, global_limit=200, window=300)
    for t in range(5):
        throttle.failed("admin", "10.0.0.1", now=float(t))
    assert throttle.blocked("admin", now=5.0) == "name"
    now = 5.0
    for n in range(10_001):
        now += 0.001
        client = f"10.1.{n // 250}.{n % 250}"
        if throttle.blocked(f"user{n}", client, now=now) is None:
            throttle.failed(f"user{n}", client, now=now)
    assert throttle.blocked("admin", now=now) == "name", "admin is still blocked"
    assert len(throttle.names.times) <= 400 and len(throttle.clients.times) <= 400
    assert throttle.blocked("admin", now=now + 301) is None, "the block ends with its window"


# -- cookies, HSTS and sessions ------------------------------------------------------------


def test_api_cookie_secure_marks_the_cookie_secure_and_sends_hsts(tmp_path: Path) -> None:
    with SettingsApi(api_settings(tmp_path, api_cookie_secure=True)) as api:
        with api.rt.db.begin() as conn:
            auth.add_user(conn, "rita", PASSWORD)
        with api.client() as client:
            resp = login_secure(client)
    assert resp.status_code == 303
    assert "secure" in resp.headers["set-cookie"].lower()
    assert resp.headers["strict-transport-security"].startswith("max-age=")


def test_https_behind_a_trusted_proxy_counts_and_an_untrusted_one_does_not(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    with SettingsApi(api_settings(tmp_path / "a")) as api:  # API_TRUSTED_PROXIES=127.0.0.1
        with api.rt.db.begin() as conn:
            auth.add_user(conn, "rita", PASSWORD)
        with api.client(headers=forwarded) as client:
            trusted = login_secure(client)
        with api.client() as client:
            plain = login(client)
    assert "secure" in trusted.headers["set-cookie"].lower()
    assert "strict-transport-security" in trusted.headers
    assert "secure" not in plain.headers["set-cookie"].lower()
    assert "strict-transport-security" not in plain.headers
    with SettingsApi(api_settings(tmp_path / "b", api_trusted_proxies="10.9.9.9")) as api:
        with api.rt.db.begin() as conn:
            auth.add_user(conn, "rita", PASSWORD)
        with api.client(headers=forwarded) as client:
            untrusted = login(client)
    assert untrusted.status_code == 303
    assert "secure" not in untrusted.headers["set-cookie"].lower()


def test_logout_ends_the_session_on_the_server(api: SettingsApi) -> None:
    with api.client() as client:
        assert login(client).status_code == 303
        stolen = client.cookies[auth.SESSION_COOKIE]
        assert client.post("/logout", data={"csrf": csrf_of(client)}).status_code == 303
    with api.client(cookies={auth.SESSION_COOKIE: stolen}) as replay:
        assert replay.get("/api/mails").status_code == 401, "the old cookie no longer works"


def test_a_password_change_ends_every_session_of_that_user(api: SettingsApi) -> None:
    with api.client() as first, api.client() as second:
        assert login(first).status_code == 303 and login(second).status_code == 303
        assert first.get("/api/mails").status_code == 200
        with api.rt.db.begin() as conn:
            assert auth.change_password(conn, "rita", "a-new-password-2")
        assert first.get("/api/mails").status_code == 401
        assert second.get("/api/mails").status_code == 401
        assert login(first, password="a-new-password-2").status_code == 303


def test_a_config_users_new_hash_in_api_users_ends_their_sessions(tmp_path: Path) -> None:
    """API_USERS changed and the API restarted: a cookie opened with the old password fails."""
    old = auth.hash_password("config-pass-1")
    with SettingsApi(api_settings(tmp_path, api_users=f"carol:{old}")) as api, api.client() as client:
        assert login(client, "carol", "config-pass-1").status_code == 303
        cookie = client.cookies[auth.SESSION_COOKIE]
        assert client.get("/api/mails").status_code == 200
    new = auth.hash_password("config-pass-2")
    with SettingsApi(api_settings(tmp_path, api_users=f"carol:{new}")) as api, \
            api.client(cookies={auth.SESSION_COOKIE: cookie}) as client:
        assert client.get("/api/mails").status_code == 401


def test_a_store_down_answers_anonymous_callers_503_without_the_database_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The database error's repr (host, user) goes to the log only, never to the caller."""
    from mailroom.store.db import make_engine

    with SettingsApi(api_settings(tmp_path)) as api:
        api.rt.db.engine = make_engine(
            "postgresql+psycopg://dbuser-xyz:db-secret-xyz@127.0.0.1:1/mailroom")
        with api.client() as client:
            stats = client.get("/stats")
            page = client.get("/login")
            with_token = client.get("/api/mails", headers=AUTH)
    for resp in (stats, page, with_token):
        assert resp.status_code == 503, resp.text
        for leak in ("dbuser-xyz", "db-secret-xyz", "127.0.0.1", "psycopg", "OperationalError"):
            assert leak not in resp.text
    assert "port 1 failed" in caplog.text, "the details are in the log"
    assert "db-secret-xyz" not in caplog.text


def test_mails_list_still_works_with_a_session_and_its_csrf(api: SettingsApi) -> None:
    """The hardening leaves the ordinary path alone: sign in, read, act with the CSRF token."""
    from mailroom.events import Decision, RawEmail, Route

    email = RawEmail(mail_id="m1", account="a", folder="INBOX", uid=1, message_id="<m1@x>",
                     subject="Hello", from_addr="c@example.org", to=["a@example.com"], text="hi")
    with api.rt.db.begin() as conn:
        mail_store.record_collected(conn, [email])
        mail_store.record_decisions(conn, [(email, Decision(mail_id="m1", category="other",
                                                            route=Route.REVIEW, confidence=0.4))])
    with api.client() as client:
        assert login(client).status_code == 303
        assert client.get("/api/mails").json()["total"] == 1
        closed = client.post("/api/mails/m1/close", headers={"X-CSRF-Token": csrf_of(client)})
        assert closed.status_code == 200, closed.text
