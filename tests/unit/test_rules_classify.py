"""classify(): guard first, then rules (explicit route wins), then the model and its threshold."""

from __future__ import annotations

import pytest

from mailroom.events import RawEmail, Route
from mailroom.processor import model as text_model
from mailroom.processor.classify import ClassifyParams, Models, classify
from mailroom.processor.rules import build_ruleset, load_rules
from mailroom.settings import Settings

PARAMS = ClassifyParams(min_confidence=0.6, own_addresses=frozenset({"support@example.com"}),
                        default_language="en")


def mail(**fields: object) -> RawEmail:
    values: dict[str, object] = {"mail_id": "m1", "account": "support@example.com",
                                 "folder": "INBOX", "from_addr": "ana@example.org", "language": "es"}
    values |= fields
    return RawEmail.model_validate(values)


@pytest.fixture(scope="module")
def intent() -> text_model.TextModel:
    texts = ["quiero suscribirme al boletín", "please subscribe me to the newsletter",
             "darme de baja de la lista", "unsubscribe me now",
             "my invoice is wrong", "la factura tiene un error"]
    labels = ["subscription", "subscription", "unsubscription", "unsubscription", "other", "other"]
    return text_model.train(texts, labels, n_features=2**12)


def test_seed_rule_nominates_and_the_intent_model_confirms_the_acknowledgement(
        intent: text_model.TextModel) -> None:
    decision = classify(mail(subject="Suscripción", text="quiero suscribirme al boletín"),
                        load_rules(None), Models(intent), PARAMS)
    assert (decision.category, decision.route, decision.template, decision.rule) == (
        "subscription", Route.ACKNOWLEDGE, "subscription", "subscription")
    assert decision.language == "es" and decision.model_version == intent.version
    assert decision.reasons[0] == ("rule subscription: subject contains 'suscripcion' "
                                   "(nominates an automatic reply)")
    assert decision.reasons[1].startswith("the intent model confirms subscription")


def test_without_rule_or_model_the_mail_goes_to_human_review() -> None:
    decision = classify(mail(subject="Factura"), load_rules(None), Models(), PARAMS)
    assert decision.route is Route.REVIEW and decision.rule == "default"


def test_guard_comes_before_rules_so_auto_replies_are_never_acknowledged() -> None:
    email = mail(subject="Re: Suscripción", headers={"auto-submitted": ["auto-replied"]})
    decision = classify(email, load_rules(None), Models(), PARAMS)
    assert (decision.category, decision.route, decision.rule) == ("automated", Route.REVIEW,
                                                                  "guard:automated")
    assert decision.reasons == ["Auto-Submitted: auto-replied"]


def test_spam_verdict_goes_to_the_spam_category_and_archive() -> None:
    email = mail(subject="Suscripción", headers={"x-spam-flag": ["YES"]})
    decision = classify(email, load_rules(None), Models(), PARAMS)
    assert (decision.category, decision.route) == ("spam", Route.ARCHIVE)


def test_rule_with_explicit_route_wins_over_the_model(intent: text_model.TextModel) -> None:
    rules = build_ruleset("- {name: lists, category: other, route: archive, "
                          "when: {body: [boletin]}}\n", "r")
    decision = classify(mail(text="quiero suscribirme al boletín"), rules, Models(intent), PARAMS)
    assert (decision.category, decision.route, decision.rule) == ("other", Route.ARCHIVE, "lists")


def test_rule_without_route_uses_its_categorys_route() -> None:
    rules = build_ruleset("rules:\n  - {name: r, category: billing, when: {subject: [factura]}}\n"
                          "categories:\n  billing: {route: archive}\n", "r")
    decision = classify(mail(subject="Factura"), rules, Models(), PARAMS)
    assert (decision.category, decision.route, decision.rule) == ("billing", Route.ARCHIVE, "r")


def test_model_decides_when_no_rule_fires(intent: text_model.TextModel) -> None:
    decision = classify(mail(subject="Hola", text="quiero suscribirme al boletín"),
                        load_rules(None), Models(intent), PARAMS)
    assert (decision.category, decision.route, decision.template) == (
        "subscription", Route.ACKNOWLEDGE, "subscription")
    assert decision.rule == "model" and decision.model_version == intent.version
    assert 0.6 <= decision.confidence <= 1.0


def test_model_below_min_confidence_goes_to_review(intent: text_model.TextModel) -> None:
    strict = ClassifyParams(min_confidence=0.999, ask_margin=0.0)  # (the mail asks to join)
    decision = classify(mail(subject="Hola", text="quiero suscribirme al boletín"),
                        load_rules(None), Models(intent), strict)
    assert decision.category == "subscription" and decision.route is Route.REVIEW
    assert "below 1.00" in decision.reasons[0]


def test_categories_without_a_route_of_their_own_go_to_review(intent: text_model.TextModel) -> None:
    decision = classify(mail(subject="Hola", text="darme de baja de la lista"),
                        load_rules(None), Models(intent), PARAMS)
    assert (decision.category, decision.route) == ("unsubscription", Route.REVIEW)


def test_spam_model_above_its_threshold_archives_as_spam() -> None:
    spam = text_model.train(["cheap pills buy now", "win money casino", "meeting notes attached",
                             "invoice for march"], ["spam", "spam", "ham", "ham"],
                            kind="spam", n_features=2**10)
    spam.threshold = 0.5
    decision = classify(mail(subject="Oferta", text="cheap pills buy now casino money"),
                        load_rules(None), Models(spam=spam), PARAMS)
    assert (decision.category, decision.route, decision.rule) == ("spam", Route.ARCHIVE, "model:spam")
    spam.threshold = 0.9999
    decision = classify(mail(subject="Suscripción", text="cheap pills buy now casino money"),
                        load_rules(None), Models(spam=spam), PARAMS)
    assert decision.category == "subscription" and decision.rule == "subscription"


def test_language_is_detected_when_the_event_has_none() -> None:
    decision = classify(mail(language=None, subject="Suscripción",
                             text="Hola, quiero recibir el boletín todas las semanas, gracias."),
                        load_rules(None), Models(), PARAMS)
    assert decision.language == "es"
    short = classify(mail(language=None, subject="x"), load_rules(None), Models(), PARAMS)
    assert short.language == "en"  # too little text: the default language


def test_params_from_settings_know_our_own_addresses() -> None:
    settings = Settings(_env_file=None, imap_email="Support@Example.com",  # type: ignore[call-arg]
                        smtp_email="mailer@example.com", classifier_min_confidence=0.7)
    params = ClassifyParams.from_settings(settings)
    assert params.own_addresses == {"support@example.com", "mailer@example.com"}
    assert params.min_confidence == 0.7



def test_a_mail_read_only_in_part_goes_to_review_even_when_a_rule_would_answer_it(
        intent: text_model.TextModel) -> None:
    text = "quiero suscribirme al boletín"
    email = mail(subject="Suscripción", text=text, flags=["too_large"])
    decision = classify(email, load_rules(None), Models(intent), PARAMS)
    assert decision.route is Route.REVIEW
    assert any("too_large" in reason for reason in decision.reasons)
    assert classify(mail(subject="Suscripción", text=text), load_rules(None), Models(intent),
                    PARAMS).route is Route.ACKNOWLEDGE
