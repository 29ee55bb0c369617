"""Password hashes, API_USERS parsing, signed sessions, tokens and the login throttle."""

from __future__ import annotations

import pytest

from mailroom.api import auth
from mailroom.api.dashboard import safe_next


def test_hash_verifies_only_the_right_password() -> None:
    stored = auth.hash_password("correct horse")
    assert auth.verify_password("correct horse", stored)
    assert not auth.verify_password("correct hors", stored)
    assert not auth.verify_password("", stored)


def test_hash_is_salted_and_fits_api_users() -> None:
    """Two hashes of one password differ, and contain no ':' ',' or '$'."""
    a, b = auth.hash_password("pw-123456"), auth.hash_password("pw-123456")
    assert a != b
    assert not set(":,$") & set(a)
    assert auth.parse_api_users(f"alice:{a}, bob:{b}") == {"alice": a, "bob": b}


@pytest.mark.parametrize("stored", ["", "plain", "md5.1.2.3.4.5", "scrypt.x.8.1.AAAA.BBBB", "scrypt.16384"])
def test_malformed_hash_never_verifies(stored: str) -> None:
    assert not auth.verify_password("anything", stored)


def test_parse_api_users_skips_blank_and_broken_entries() -> None:
    assert auth.parse_api_users(" , nobody, :hash, carol: ,dave:h1") == {"dave": "h1"}


def test_session_round_trip_and_tamper() -> None:
    signer = auth.SessionSigner(b"k" * 32)
    cookie, issued = signer.issue(now=1000.0, ttl=60)
    read = signer.read(cookie, now=1030.0)
    assert read == issued and read.csrf and read.session_id
    _body, mac = cookie.split(".")
    forged_body = auth._b64(b'{"s":"other","c":"x","e":99999999999}')
    assert signer.read(f"{forged_body}.{mac}", now=1030.0) is None
    assert signer.read(cookie + "x", now=1030.0) is None
    assert signer.read(cookie, now=1061.0) is None, "expired"
    assert auth.SessionSigner(b"other").read(cookie, now=1030.0) is None, "other secret"


@pytest.mark.parametrize("garbage", ["é" * 10, "a\x00b", "x" * 5000])
def test_non_ascii_or_huge_credentials_are_malformed_not_a_crash(garbage: str) -> None:
    """compare_digest raises TypeError on non-ASCII str: each check says malformed instead."""
    with pytest.raises(auth.MalformedCredential):
        auth.SessionSigner(b"k").read(garbage)
    with pytest.raises(auth.MalformedCredential):
        auth.check_token(["t1"], garbage)
    with pytest.raises(auth.MalformedCredential):
        auth.same_secret(garbage, "expected")


def test_token_check() -> None:
    assert auth.check_token(["t1", "t2"], "t2")
    assert not auth.check_token(["t1"], "t2")
    assert not auth.check_token([], "")
    assert not auth.check_token([""], "")


def test_throttle_blocks_after_repeated_failures_and_forgets() -> None:
    throttle = auth.LoginThrottle(per_name=3, window=10)
    for t in (1.0, 2.0, 3.0):
        throttle.failed("bob", now=t)
    assert throttle.blocked("bob", now=4.0) == "name"
    assert throttle.blocked("alice", now=4.0) is None
    assert throttle.blocked("bob", now=20.0) is None, "failures older than the window expire"


@pytest.mark.parametrize(("target", "expected"), [
    ("/review?q=x", "/review?q=x"), ("//evil.example/", "/"), ("https://evil.example", "/"),
    ("/\\evil", "/"), ("", "/"), (None, "/"),
])
def test_safe_next_refuses_open_redirects(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
