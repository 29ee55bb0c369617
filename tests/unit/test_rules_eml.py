"""parse_eml (used by `mailroom rules test` and .eml training folders) on real and broken mail."""

from __future__ import annotations

from pathlib import Path

from mailroom.processor.classify import ClassifyParams, Models, classify
from mailroom.processor.eml import parse_eml
from mailroom.processor.rules import load_rules


def test_every_corpus_message_parses_and_classifies_without_raising(corpora: Path) -> None:
    """611 real, malformed and fuzzed messages: each gives a RawEmail and a Decision."""
    rules = load_rules(None)
    files = [p for p in corpora.rglob("*") if p.is_file() and p.name not in
             ("LICENSE", "COPYING", "README.md")]
    assert len(files) > 600
    for file in files:
        email = parse_eml(file.read_bytes())
        decision = classify(email, rules, Models(), ClassifyParams())
        assert decision.mail_id == email.mail_id


def test_headers_needed_by_the_guard_are_kept_and_8bit_text_is_decoded() -> None:
    raw = ("From: Ana <ana@example.org>\r\nTo: a@x.org, b@x.org\r\nReturn-Path: <>\r\n"
           "List-Id: <news.example.org>\r\nAuto-Submitted: auto-generated\r\n"
           "Subject: =?utf-8?q?Suscripci=C3=B3n?=\r\nContent-Type: text/plain\r\n\r\n"
           "Quiero el boletín\r\n").encode()
    email = parse_eml(raw)
    assert email.subject == "Suscripción" and email.text.startswith("Quiero el boletín")
    assert email.return_path == "<>" and email.to == ["a@x.org", "b@x.org"]
    assert email.headers["list-id"] == ["<news.example.org>"]
    assert email.headers["auto-submitted"] == ["auto-generated"]
    assert parse_eml(raw).mail_id == email.mail_id  # stable id for the same bytes
