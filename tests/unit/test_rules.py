"""The rules engine: every condition kind, accent/case folding, and errors with file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailroom.events import Attachment, RawEmail, Route
from mailroom.processor.rules import RulesError, build_ruleset, load_rules


def mail(**fields: object) -> RawEmail:
    values: dict[str, object] = {"mail_id": "m1", "account": "support@example.com",
                                 "folder": "INBOX", "from_addr": "ana@example.org"}
    values |= fields
    return RawEmail.model_validate(values)


def fired(rules_yaml: str, email: RawEmail) -> str | None:
    rule = build_ruleset(rules_yaml, "test.yaml").explain(email).rule
    return rule.name if rule else None


@pytest.mark.parametrize("subject", [
    "Suscripción", "suscripcion", "SUSCRIPCIÓN al boletín", "Re: SuScRiPcIoN", "Subscription please",
    "newsletter SUBSCRIPTION",
])
def test_seed_rule_matches_subscription_in_any_case_with_or_without_accent(subject: str) -> None:
    explanation = load_rules(None).explain(mail(subject=subject))
    assert explanation.rule is not None
    assert explanation.rule.route is Route.ACKNOWLEDGE
    assert explanation.rule.template == "subscription"
    assert explanation.rule.category == "subscription"


@pytest.mark.parametrize("subject", ["Factura de marzo", "Question about my order", "", "suscribirme"])
def test_seed_rule_leaves_other_subjects_to_the_model_or_review(subject: str) -> None:
    assert load_rules(None).explain(mail(subject=subject)).rule is None


def test_seed_rule_does_not_look_at_the_body() -> None:
    assert load_rules(None).explain(mail(subject="Hola", text="quiero una suscripción")).rule is None


def test_keywords_written_without_accent_match_accented_text() -> None:
    rules = "rules:\n  - {name: r, category: c, when: {body: [informacion]}}\n"
    assert fired(rules, mail(text="Quiero más INFORMACIÓN")) == "r"


@pytest.mark.parametrize(("condition", "email", "expected"), [
    ("{subject: {regex: 'order\\s+#?\\d{4}'}}", mail(subject="Order #1234 late"), True),
    ("{subject: {regex: 'order\\s+#?\\d{4}'}}", mail(subject="Order late"), False),
    ("{from: [example.org]}", mail(), True),
    ("{from: {regex: '@example\\.com$'}}", mail(), False),
    ("{from: [Ana Pérez]}", mail(from_name="ANA PEREZ"), True),
    ("{to: [ventas@]}", mail(to=["ventas@example.com"]), True),
    ("{to: [ventas@]}", mail(cc=["ventas@example.com"]), True),
    ("{to: [ventas@]}", mail(to=["support@example.com"]), False),
    ("{body: [precio]}", mail(html="<p>¿Cuál es el <b>precio</b>?</p>"), True),
    ("{body: [script]}", mail(html="<script>script()</script><p>hola</p>"), False),
    ("{headers: {X-Priority: ['1']}}", mail(headers={"x-priority": ["1 (Highest)"]}), True),
    ("{headers: {X-Priority: {present: true}}}", mail(), False),
    ("{headers: {X-Priority: {present: false}}}", mail(), True),
    ("{language: es}", mail(language="es"), True),
    ("{language: [en, fr]}", mail(language="es"), False),
    ("{has_attachment: true}", mail(attachments=[Attachment(name="a.pdf")]), True),
    ("{has_attachment: true}", mail(), False),
    ("{has_attachment: false}", mail(), True),
    ("{any: [{subject: [a1]}, {body: [b1]}]}", mail(text="b1"), True),
    ("{any: [{subject: [a1]}, {body: [b1]}]}", mail(text="zz"), False),
    ("{all: [{subject: [a1]}, {body: [b1]}]}", mail(subject="a1", text="b1"), True),
    ("{all: [{subject: [a1]}, {body: [b1]}]}", mail(subject="a1"), False),
    ("{subject: [a1], body: [b1]}", mail(subject="a1"), False),
    ("{not: {subject: [a1]}}", mail(subject="zz"), True),
    ("{any: [{all: [{language: es}, {subject: [alta]}]}, {subject: [signup]}]}",
     mail(language="es", subject="Alta"), True),
    ("{subject: {contains: [alta], regex: '^Re:'}}", mail(subject="Alta"), False),
])
def test_each_condition_kind_matches_only_what_it_says(
    condition: str, email: RawEmail, expected: bool,
) -> None:
    rules = f"rules:\n  - name: r\n    category: c\n    when: {condition}\n"
    assert (fired(rules, email) == "r") is expected


def test_first_matching_rule_wins_and_explain_says_why_earlier_ones_did_not() -> None:
    rules = """\
rules:
  - {name: first, category: a, when: {subject: [zzz]}}
  - {name: second, category: b, route: archive, when: {subject: [hola]}}
  - {name: third, category: c}
"""
    explanation = build_ruleset(rules, "t.yaml").explain(mail(subject="Hola"))
    assert explanation.rule is not None and explanation.rule.name == "second"
    assert explanation.rule.route is Route.ARCHIVE
    assert explanation.reason == "subject contains 'hola'"
    assert explanation.tried == (("first", "subject contains none of 'zzz'"),)
    assert "fired: second (t.yaml:3)" in explanation.render("t.yaml")
    assert "line" not in explanation.render(None) and ":3" not in explanation.render(None)


def test_rule_without_when_matches_every_mail() -> None:
    assert fired("- {name: all, category: c}\n", mail()) == "all"


def test_categories_section_sets_the_route_of_a_category() -> None:
    rules = build_ruleset("rules: []\ncategories:\n  billing: {route: archive, template: t}\n", "x")
    assert rules.action_for("billing").route is Route.ARCHIVE
    assert rules.action_for("billing").template == "t"
    assert rules.action_for("never-heard-of").route is Route.REVIEW
    assert rules.action_for("subscription").route is Route.ACKNOWLEDGE


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("rules:\n  - name: a\n    category: b\n    when:\n      subjet: x\n", 5, "unknown condition 'subjet'"),
    ("rules:\n  - name: a\n    category: b\n    route: outbox\n", 4, "unknown route 'outbox'"),
    ("rules:\n  - name: a\n    when: {subject: x}\n", 2, "has no category"),
    ("rules:\n  - name: a\n    category: b\n    when: {body: {regex: '(unclosed'}}\n", 4,
     "invalid regular expression"),
    ("rules:\n  - {name: a, category: b}\n  - {name: a, category: c}\n", 3, "is used twice"),
    ("rules:\n  - name: a\n    category: b\n    colour: red\n", 4, "unknown rule key 'colour'"),
    ("rules:\n  - name: a\n    category: b\n    when: {has_attachment: maybe}\n", 4,
     "has_attachment must be true or false"),
    ("rules:\n  - name: a\n    category: b\n    when: {any: []}\n", 4, "the list is empty"),
    ("rules:\n  - name: a\n    category: spam\n    route: acknowledgement_queue\n", 2, "never answered"),
    ("rules:\n  - name: a\n   category: b\n", 3, "not valid YAML"),
    ("rulez: []\n", 1, "unknown top-level key 'rulez'"),
    ("categories:\n  automated: {route: acknowledgement_queue}\n", 2, "never answered"),
])
def test_invalid_rules_name_the_file_the_line_and_the_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(RulesError) as caught:
        build_ruleset(text, "/etc/mailroom/rules.yaml")
    message = str(caught.value)
    assert message.startswith(f"/etc/mailroom/rules.yaml:{line}: "), message
    assert reason in message


def test_load_rules_reads_the_file_and_reports_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {name: only, category: c, when: {subject: [x]}}\n", encoding="utf-8")
    assert [r.name for r in load_rules(path).rules] == ["only"]
    assert load_rules(path).source == str(path)
    with pytest.raises(RulesError, match=r"missing\.yaml: cannot read rules file"):
        load_rules(tmp_path / "missing.yaml")


def doc_yaml_blocks() -> list[str]:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "classification.md").read_text(encoding="utf-8")
    blocks = [part.split("```", 1)[0] for part in doc.split("```yaml\n")[1:]]
    # a block indented inside a list item: drop the common indentation
    return [textwrap.dedent(b) for b in blocks]


def test_every_rules_example_in_the_docs_is_valid() -> None:
    blocks = doc_yaml_blocks()
    assert len(blocks) >= 2
    for block in blocks:
        assert build_ruleset(block, "docs/classification.md").rules
    alone = [r for b in blocks for r in build_ruleset(b, "d").rules if r.decides_alone]
    assert [r.name for r in alone] == ["seed"]


def test_the_example_rules_file_in_the_docs_is_valid_and_does_what_it_says() -> None:
    blocks = doc_yaml_blocks()
    example = next(b for b in blocks if "name: unsubscribe" in b)
    rules = build_ruleset(example, "docs/classification.md")
    assert [r.name for r in rules.rules] == ["unsubscribe", "subscription", "invoices-to-billing",
                                             "key-accounts"]
    cancel = rules.explain(mail(subject="Cancel my subscription"))
    assert cancel.rule is not None and cancel.rule.name == "unsubscribe"
    assert rules.action_for("unsubscription").template == "unsubscription"
    vip = rules.explain(mail(from_addr="ceo@bigclient.example"))
    assert vip.rule is not None and vip.rule.name == "key-accounts"


@given(
    prefix=st.text(max_size=30), suffix=st.text(max_size=30),
    casing=st.lists(st.booleans(), min_size=11, max_size=11), accent=st.booleans(),
)
def test_seed_rule_fires_for_suscripcion_in_any_casing_anywhere_in_the_subject(
    prefix: str, suffix: str, casing: list[bool], accent: bool,
) -> None:
    word = "suscripción" if accent else "suscripcion"
    cased = "".join(c.upper() if up else c for c, up in zip(word, casing, strict=True))
    explanation = load_rules(None).explain(mail(subject=f"{prefix}{cased}{suffix}"))
    assert explanation.rule is not None and explanation.rule.name == "subscription"
