"""``mailroom users add`` and ``mailroom users hash`` (password from MAILROOM_NEW_PASSWORD)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailroom.api import auth
from mailroom.cli import main
from mailroom.store import Database


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    monkeypatch.setenv("MAILROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MAILROOM_NEW_PASSWORD", "a-long-password")
    return tmp_path


def test_users_hash_prints_a_hash_that_verifies(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "hash"]) == 0
    printed = capsys.readouterr().out.strip()
    assert auth.verify_password("a-long-password", printed)
    assert "a-long-password" not in printed


def test_users_add_creates_a_store_user_once(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["users", "add", "alice", "--role", "operator"]) == 0
    assert main(["users", "add", "alice"]) == 1, "a second user with the same name is refused"
    db = Database(f"sqlite:///{env / 'data' / 'mailroom.db'}")
    with db.begin() as conn:
        user = auth.authenticate({}, conn, "alice", "a-long-password")
        wrong = auth.authenticate({}, conn, "alice", "other-password")
    db.dispose()
    assert user is not None and user[0].role == "operator"
    assert wrong is None


def test_users_passwd_changes_the_password_and_ends_that_users_sessions(
        env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["users", "add", "alice"]) == 0
    db = Database(f"sqlite:///{env / 'data' / 'mailroom.db'}")
    signer = auth.SessionSigner(b"k" * 32)
    with db.begin() as conn:
        found = auth.authenticate({}, conn, "alice", "a-long-password")
        assert found is not None
        cookie = signer.read(auth.open_session(conn, signer, *found))
        assert cookie is not None and auth.session_user(conn, {}, cookie) is not None
    monkeypatch.setenv("MAILROOM_NEW_PASSWORD", "another-long-password")
    assert main(["users", "passwd", "alice"]) == 0
    assert main(["users", "passwd", "nobody"]) == 1
    with db.begin() as conn:
        assert auth.session_user(conn, {}, cookie) is None, "the old session ended"
        assert auth.authenticate({}, conn, "alice", "another-long-password") is not None
    db.dispose()


def test_short_password_is_refused(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILROOM_NEW_PASSWORD", "short")
    assert main(["users", "hash"]) == 2
