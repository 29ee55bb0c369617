"""Settings and the local start-up checks: every problem at once, named by its env name."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailroom.check import (
    Result,
    Status,
    check_api_users,
    check_mailboxes,
    check_models,
    check_rules,
    check_templates,
    exit_code,
    fail,
    failure_lines,
    local_checks,
    ok,
    warn,
)
from mailroom.settings import ConfigError, Settings


def settings(**values: object) -> Settings:
    return Settings.load(_env_file=None, **values)


def test_every_invalid_setting_is_named_in_one_message_one_line_each() -> None:
    with pytest.raises(ConfigError) as caught:
        settings(imap_port=99999, smtp_security="bogus", classifier_min_confidence=2,
                 imap_password="hunter2-secret")
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("invalid setting IMAP_PORT:")
    assert lines[1].startswith("invalid setting SMTP_SECURITY:")
    assert lines[2].startswith("invalid setting CLASSIFIER_MIN_CONFIDENCE:")
    assert "hunter2" not in str(caught.value)


def test_a_model_level_error_reads_as_one_line_without_pydantic_prefix() -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL must start with sqlite:// or "):
        settings(database_url="mysql://x")


def test_the_ask_margin_must_leave_the_model_some_evidence_to_give() -> None:
    with pytest.raises(ConfigError, match=r"^CLASSIFIER_ASK_MARGIN must be below CLASSIFIER_MIN_"):
        settings(classifier_ask_margin=0.6)
    with pytest.raises(ConfigError, match=r"^CLASSIFIER_ASK_MARGIN must be below"):
        settings(classifier_min_confidence=0.2, classifier_ask_margin=0.3)
    assert settings(classifier_ask_margin=0.59).classifier_ask_margin == 0.59
    with pytest.raises(ConfigError, match=r"^CLASSIFIER_ASK_MARGIN must be below"):
        settings(classifier_min_confidence=0.0)  # the default margin, 0.3, would answer alone
    assert settings(classifier_min_confidence=0.0, classifier_ask_margin=0.0).classifier_ask_margin == 0


def test_default_language_is_normalised_and_a_non_code_refused() -> None:
    assert settings(default_language="ES_es").default_language == "es-es"
    with pytest.raises(ConfigError, match="DEFAULT_LANGUAGE: must be a language code"):
        settings(default_language="french!")


def test_missing_for_lists_every_missing_setting_a_service_needs() -> None:
    missing = settings().missing_for(["collector", "processor", "responder"])
    assert [line.split()[0] for line in missing] == [
        "IMAP_SERVER", "IMAP_EMAIL", "IMAP_PASSWORD", "SMTP_SERVER", "SMTP_EMAIL"]
    assert settings(mailroom_mailboxes=Path("m.yaml")).missing_for(["collector"]) == []
    assert settings().missing_for(["processor", "api"]) == []


def test_the_supervisor_refuses_to_start_with_every_missing_setting_named() -> None:
    from mailroom.app import check_settings

    with pytest.raises(ConfigError) as caught:
        check_settings(settings(), ["collector", "responder"])
    assert str(caught.value).splitlines() == settings().missing_for(["collector", "responder"])
    check_settings(settings(), ["processor", "api"])


def test_result_lines_marks_and_exit_code() -> None:
    results = [ok("rules", "1 rule(s)"), warn("spam model", "none"),
               fail("SMTP", "h:25: cannot connect", "check SMTP_PORT")]
    assert [r.line() for r in results] == [
        "✓ rules: 1 rule(s)", "! spam model: none", "✗ SMTP: h:25: cannot connect -> check SMTP_PORT"]
    assert exit_code(results) == 1 and exit_code(results[:2]) == 0
    assert failure_lines(results) == ["h:25: cannot connect -> check SMTP_PORT"]
    assert Result("x", Status.OK, "y").fix == ""


def test_a_default_language_without_templates_is_refused_with_the_usable_ones() -> None:
    results = check_templates(settings(default_language="fr"))
    assert [r.status for r in results] == [Status.FAIL]
    assert results[0].detail.startswith("DEFAULT_LANGUAGE=fr: no reply template")
    assert "one of: en, es" in results[0].fix


def test_the_shipped_templates_cover_english_and_spanish() -> None:
    results = check_templates(settings(default_language="es"))
    assert [r.status for r in results] == [Status.OK]
    assert "in en, es" in results[0].detail


def test_a_language_with_only_the_default_reply_is_said_as_warnings_after_the_tick(
        tmp_path: Path) -> None:
    for suffix in ("txt", "html"):
        (tmp_path / f"default.fr.{suffix}").write_text("Bonjour\n", encoding="utf-8")
    results = check_templates(settings(mailroom_templates=tmp_path))
    assert results[0].status is Status.OK and "in en, es, fr" in results[0].detail
    assert results[1:] and all(r.status is Status.WARN for r in results[1:])
    assert any(r.detail == "no subscription.fr template: such mails get default.fr"
               for r in results[1:])


def test_a_broken_user_template_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "default.en.txt").write_text("Hello\n{% if %}\n", encoding="utf-8")
    results = check_templates(settings(mailroom_templates=tmp_path))
    assert any(r.status is Status.FAIL and "default.en.txt line 2" in r.detail for r in results)
    missing = check_templates(settings(mailroom_templates=tmp_path / "nope"))
    assert missing[0].detail.startswith("MAILROOM_TEMPLATES=") and "not a folder" in missing[0].detail


def test_a_missing_model_or_rules_file_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    bad = settings(mailroom_model=tmp_path / "nope.joblib", mailroom_rules=tmp_path / "r.yaml")
    model = check_models(bad)[0]
    assert model.status is Status.FAIL and model.detail.startswith("MAILROOM_MODEL: ")
    rules = check_rules(bad)[0]
    assert rules.status is Status.FAIL and rules.detail.startswith("MAILROOM_RULES: ")


def test_start_up_checks_report_missing_settings_and_files_together(tmp_path: Path) -> None:
    results = local_checks(settings(mailroom_model=tmp_path / "nope.joblib"),
                           ["collector", "processor", "responder"])
    lines = failure_lines(results)
    assert [line.split(maxsplit=1)[0] for line in lines] == [
        "IMAP_SERVER", "IMAP_EMAIL", "IMAP_PASSWORD", "SMTP_SERVER", "SMTP_EMAIL", "MAILROOM_MODEL:"]


def test_an_api_users_entry_without_a_hash_is_refused() -> None:
    assert check_api_users(settings(api_users="alice:pbkdf2$x, bob")) == [fail(
        "dashboard", "API_USERS has an entry that is not name:hash",
        "write each user as name:hash, the hash from `mailroom users hash`")]
    assert check_api_users(settings(api_users="alice:pbkdf2$x, ")) == []
    assert "API_USERS has an entry" in failure_lines(local_checks(settings(api_users="bob"),
                                                                  ["api"]))[0]


def test_log_level_is_one_of_the_known_levels() -> None:
    assert settings(log_level="warning").log_level == "WARNING"
    with pytest.raises(ConfigError, match="invalid setting LOG_LEVEL: must be one of DEBUG, INFO"):
        settings(log_level="loud")


def test_user_errors_are_told_apart_from_bugs() -> None:
    from mailroom.cli import is_user_error

    assert is_user_error(ConfigError("x")) and is_user_error(FileNotFoundError(2, "gone", "a.eml"))
    assert not is_user_error(ValueError("a bug"))


def test_a_file_error_is_one_line_naming_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    from mailroom.cli import say_error

    say_error(FileNotFoundError(2, "No such file or directory", "mail.eml"))
    say_error(ConfigError("A is not set\nB is not set"))
    assert capsys.readouterr().err.splitlines() == [
        "mailroom: mail.eml: No such file or directory", "mailroom: A is not set",
        "mailroom: B is not set"]


def test_a_bad_mailboxes_file_is_named_by_its_setting(tmp_path: Path) -> None:
    missing = check_mailboxes(settings(mailroom_mailboxes=tmp_path / "none.yaml"))
    assert missing[0].status is Status.FAIL
    assert missing[0].detail.startswith("MAILROOM_MAILBOXES: cannot read ")
    bad = tmp_path / "mailboxes.yaml"
    bad.write_text("accounts:\n  - server: imap.example.com\n    password: x\n", encoding="utf-8")
    found = check_mailboxes(settings(mailroom_mailboxes=bad))
    assert found[0].detail == f"MAILROOM_MAILBOXES: {bad}: accounts[0].user: Field required"
    good = tmp_path / "good.yaml"
    good.write_text("accounts:\n  - {server: imap.example.com, user: a@example.com, password: x,"
                    " folders: [INBOX, Sales]}\n", encoding="utf-8")
    assert check_mailboxes(settings(mailroom_mailboxes=good)) == [
        ok("mailboxes", f"{good}: 1 account(s), 2 folder(s)")]
