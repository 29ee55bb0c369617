"""The watched accounts: from mailboxes.yaml or the single-account settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mailroom.collector.mailboxes import lease_name, load_accounts, parse_mailboxes
from mailroom.settings import ConfigError, Security, Settings
from mailroom.store.schema import NAME_CHARS


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def doc(text: str) -> Any:
    return yaml.safe_load(text)


FULL = """
accounts:
  - name: support
    server: imap.example.com
    security: SSL
    user: support@example.com
    password: s3cret-value
    folders: [INBOX, Sales]
    post_action: seen
  - server: outlook.office365.com
    security: starttls
    user: helpdesk@example.com
    oauth2:
      token_url: https://login.example.com/token
      client_id: app
      client_secret: cs
      refresh_token: rt
    post_action: move:Archive/Done
"""


def test_full_file_gives_accounts_with_defaults_filled() -> None:
    """Ports follow the security, the name defaults to the user, folders to INBOX."""
    first, second = parse_mailboxes(doc(FULL), "m.yaml")
    assert (first.name, first.port, first.security, first.folders) == \
        ("support", 993, Security.SSL, ("INBOX", "Sales"))
    assert first.password is not None and first.password.get_secret_value() == "s3cret-value"
    assert first.post_action == "seen" and first.move_to is None
    assert (second.name, second.port, second.folders) == ("helpdesk@example.com", 143, ("INBOX",))
    assert second.oauth2 is not None and second.oauth2.refresh_token.get_secret_value() == "rt"
    assert second.move_to == "Archive/Done"


def test_passwords_never_print() -> None:
    accounts = parse_mailboxes(doc(FULL), "m.yaml")
    assert "s3cret-value" not in repr(accounts) and "s3cret-value" not in str(accounts)


@pytest.mark.parametrize(("change", "message"), [
    ({"port": 70000}, "m.yaml: accounts[0].port: Input should be less than or equal to 65535"),
    ({"security": "tls"}, "m.yaml: accounts[0].security: Input should be 'ssl', 'starttls' or 'none'"),
    ({"post_action": "delete"}, "m.yaml: accounts[0].post_action: Value error, must be none, seen or "
                                "move:<folder>"),
    ({"folders": []}, "m.yaml: accounts[0].folders: Value error, must list at least one non-empty "
                      "folder name"),
    ({"password": None}, "m.yaml: accounts[0]: Value error, give exactly one of password or oauth2"),
    ({"colour": "red"}, "m.yaml: accounts[0].colour: Extra inputs are not permitted"),
    ({"server": None}, "m.yaml: accounts[0].server: Input should be a valid string"),
    ({"folders": ["INBOX", "F" * 232]}, "m.yaml: accounts[0]: Value error, the account's name "
     "and a folder's name together are longer than the store's 244 characters"),
])
def test_invalid_field_names_file_and_field(change: dict[str, Any], message: str) -> None:
    account = {"server": "imap.example.com", "user": "u@example.com", "password": "p"}
    account.update(change)
    account = {k: v for k, v in account.items() if v is not None or k == "server"}
    with pytest.raises(ConfigError) as caught:
        parse_mailboxes({"accounts": [account]}, "m.yaml")
    assert str(caught.value) == message


def test_invalid_password_value_is_not_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_mailboxes({"accounts": [{"server": "s", "user": "u", "password": ["hunter2"]}]}, "f")
    assert "hunter2" not in str(caught.value)


def test_duplicate_names_and_empty_file_are_refused() -> None:
    one = {"name": "x", "server": "s", "user": "u", "password": "p"}
    with pytest.raises(ConfigError, match="the name 'x' is used twice"):
        parse_mailboxes({"accounts": [one, one]}, "f")
    with pytest.raises(ConfigError, match="f: accounts: Field required"):
        parse_mailboxes({}, "f")
    with pytest.raises(ConfigError, match=r"f: .*valid dictionary"):
        parse_mailboxes(None, "f")


def test_oauth2_needs_an_http_token_url() -> None:
    account = {"server": "s", "user": "u", "oauth2": {
        "token_url": "file:///etc/passwd", "client_id": "c", "refresh_token": "r"}}
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.oauth2\.token_url: .*http"):
        parse_mailboxes({"accounts": [account]}, "f")


def test_single_account_settings_are_used_without_a_file() -> None:
    (account,) = load_accounts(settings(
        imap_server="imap.example.com", imap_email="me@example.com", imap_password="pw",
        imap_port=1143, imap_security="none", imap_mailbox="Support"))
    assert (account.name, account.server, account.port, account.security, account.folders) == \
        ("me@example.com", "imap.example.com", 1143, Security.NONE, ("Support",))
    assert account.post_action == "none"


def test_missing_single_account_setting_is_named() -> None:
    with pytest.raises(ConfigError, match="IMAP_PASSWORD is not set"):
        load_accounts(settings(imap_server="imap.example.com", imap_email="me@example.com"))


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.yaml"
    with pytest.raises(ConfigError, match=r"MAILROOM_MAILBOXES: cannot read .*none.yaml"):
        load_accounts(settings(mailroom_mailboxes=missing))
    broken = tmp_path / "broken.yaml"
    broken.write_text("accounts:\n  - server: [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+ not valid YAML"):
        load_accounts(settings(mailroom_mailboxes=broken))
    good = tmp_path / "good.yaml"
    good.write_text(FULL)
    assert [a.name for a in load_accounts(settings(mailroom_mailboxes=good))] == \
        ["support", "helpdesk@example.com"]


def test_names_fit_the_store_up_to_its_column_length_and_no_further() -> None:
    """The store keeps a folder's lease as ``collector:<account>/<folder>`` in a column of
    ``NAME_CHARS``: the longest names that fit are accepted, one character more is a clear
    error at start-up (not a failed statement on PostgreSQL once the collector runs)."""
    user = "u@example.com"  # 13 characters; the account is named after it
    fits = "F" * (NAME_CHARS - len(lease_name(user, "")))
    [account] = parse_mailboxes({"accounts": [
        {"server": "s", "user": user, "password": "p", "folders": [fits]}]}, "m.yaml")
    assert len(lease_name(account.name, fits)) == NAME_CHARS
    with pytest.raises(ConfigError, match="longer than the store's 244 characters"):
        parse_mailboxes({"accounts": [
            {"server": "s", "user": user, "password": "p", "folders": [fits + "F"]}]}, "m.yaml")


def test_a_single_account_too_long_for_the_store_is_named_by_its_settings() -> None:
    with pytest.raises(ConfigError) as caught:
        load_accounts(settings(imap_server="imap.example.com", imap_email="u@example.com",
                               imap_password="hunter2-secret", imap_mailbox="F" * 300))
    assert str(caught.value) == ("IMAP_EMAIL and IMAP_MAILBOX: the account's name and a folder's "
                                 "name together are longer than the store's 244 characters")
    assert "hunter2" not in str(caught.value)
