"""The acknowledgement policy: a rule nominates, the models veto (in order), modes off/shadow."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest

from mailroom.events import RawEmail, Route
from mailroom.processor import model as text_model
from mailroom.processor.classify import ClassifyParams, Models, classify, classify_batch
from mailroom.processor.rules import build_ruleset, load_rules
from mailroom.processor.rules_yaml import RulesError
from mailroom.settings import AutoreplyMode

PARAMS = ClassifyParams(min_confidence=0.6)
SUBSCRIBE = "Quiero suscribirme al boletín. Please subscribe me to the newsletter."
CANCEL = "Quiero darme de baja de la lista. Please unsubscribe me now."
OTHER = "My invoice is wrong. La factura tiene un error."
SPAMMY = "Cheap pills, casino money, winner bonus viagra. Buy cheap pills casino now."
# a keyword neither model has seen, so the rule's nomination and the models' evidence are
# independent of each other
NOMINATE = """\
rules:
  - name: ref
    when: {subject: [ref-7]}
    category: subscription
    route: acknowledgement_queue
    template: subscription
"""
ALONE = """\
rules:
  - name: seed
    when: {subject: [suscripción, subscription]}
    category: subscription
    route: acknowledgement_queue
    template: subscription
    decides_alone: true
"""


def mail(subject: str, text: str, mail_id: str = "m1") -> RawEmail:
    return RawEmail.model_validate({"mail_id": mail_id, "account": "a", "folder": "INBOX",
                                    "from_addr": "ana@example.org", "language": "es",
                                    "subject": subject, "text": text})


@pytest.fixture(scope="module")
def intent() -> text_model.TextModel:
    texts = [SUBSCRIBE, "quiero suscribirme", "please subscribe me", "sign me up to the newsletter",
             "quiero suscribirme al boletín", "please subscribe me to the newsletter",
             CANCEL, "darme de baja", "unsubscribe me", "cancel my subscription",
             "quiero darme de baja de la lista", "please unsubscribe me now",
             OTHER, "la factura tiene un error", "my invoice is wrong", "cannot log in",
             "ref-7", "hola", SPAMMY, "cheap pills casino"]
    labels = ["subscription"] * 6 + ["unsubscription"] * 6 + ["other"] * 8
    return text_model.train(texts, labels, n_features=2**12)


@pytest.fixture(scope="module")
def spam() -> text_model.TextModel:
    spam = [SPAMMY, "win money casino now", "cheap pills", "casino winner bonus",
            "viagra cheap pills buy now", "buy now casino money"]
    ham = [SUBSCRIBE, CANCEL, OTHER, "ref-7", "Suscripción", "hola", "quiero suscribirme",
           "darme de baja", "factura", "please subscribe me"]
    model = text_model.train([*spam, *ham], ["spam"] * len(spam) + ["ham"] * len(ham),
                             kind="spam", n_features=2**12)
    model.threshold = 0.5
    return model


def test_rule_nomination_confirmed_by_the_intent_model_is_acknowledged(
        intent: text_model.TextModel, spam: text_model.TextModel) -> None:
    decision = classify(mail("Suscripción", SUBSCRIBE), load_rules(None), Models(intent, spam),
                        PARAMS)
    assert (decision.route, decision.template, decision.rule) == (
        Route.ACKNOWLEDGE, "subscription", "subscription")
    assert "confirms subscription" in decision.reasons[-1]


def test_spam_veto_comes_first_and_sends_the_nominated_mail_to_review(
        intent: text_model.TextModel, spam: text_model.TextModel) -> None:
    """Spam is vetoed even though the intent model would also veto it as a cancellation."""
    decision = classify(mail("REF-7", f"{SPAMMY}\n{CANCEL}"), build_ruleset(NOMINATE, "n"),
                        Models(intent, spam), PARAMS)
    assert (decision.route, decision.category, decision.template) == (Route.REVIEW, "spam", None)
    assert decision.rule == "ref"
    assert decision.reasons[-1].startswith("vetoed by the spam model: P(spam)=")


def test_the_spam_model_in_doubt_vetoes_a_nomination_below_its_threshold(
        intent: text_model.TextModel, spam: text_model.TextModel) -> None:
    """Between AUTOREPLY_MAX_SPAM and the spam threshold a mail is not spam (not archived) but
    not answered either: a person decides. A rule that decides alone is not held by it."""
    request = mail("REF-7", SUBSCRIBE)
    p_spam = spam.probability(spam.texts_for([request]), "spam")[0]
    assert spam.threshold is not None and p_spam < spam.threshold
    in_doubt = dataclasses.replace(PARAMS, max_spam=p_spam)
    decision = classify(request, build_ruleset(NOMINATE, "n"), Models(intent, spam), in_doubt)
    assert (decision.route, decision.category, decision.template) == (
        Route.REVIEW, "subscription", None)
    assert decision.reasons[-1].startswith(
        f"vetoed: the spam model is in doubt, P(spam)={p_spam:.2f} >= AUTOREPLY_MAX_SPAM")
    assert decision.model_version == spam.version
    sure = dataclasses.replace(PARAMS, max_spam=min(1.0, p_spam + 0.01))
    decision = classify(request, build_ruleset(NOMINATE, "n"), Models(intent, spam), sure)
    assert (decision.route, decision.template) == (Route.ACKNOWLEDGE, "subscription")
    alone = classify(mail("Suscripción", SUBSCRIBE), build_ruleset(ALONE, "a.yaml"),
                     Models(intent, spam), in_doubt)
    assert (alone.route, alone.template) == (Route.ACKNOWLEDGE, "subscription")


def test_spam_verdict_on_a_mail_nothing_nominated_is_archived(
        intent: text_model.TextModel, spam: text_model.TextModel) -> None:
    decision = classify(mail("Oferta", SPAMMY), load_rules(None), Models(intent, spam), PARAMS)
    assert (decision.route, decision.category, decision.rule) == (Route.ARCHIVE, "spam",
                                                                  "model:spam")


def test_without_an_intent_model_a_nomination_goes_to_review() -> None:
    decision = classify(mail("Suscripción", SUBSCRIBE), load_rules(None), Models(), PARAMS)
    assert decision.route is Route.REVIEW and decision.template is None
    assert "no intent model is loaded" in decision.reasons[-1]


def test_a_cancellation_vetoes_the_subscription_rule(intent: text_model.TextModel) -> None:
    decision = classify(mail("REF-7", CANCEL), build_ruleset(NOMINATE, "n"), Models(intent), PARAMS)
    assert (decision.route, decision.category) == (Route.REVIEW, "unsubscription")
    assert "reads unsubscription" in decision.reasons[-1]
    assert "a different request, not subscription" in decision.reasons[-1]


def test_not_a_request_vetoes_the_subscription_rule(intent: text_model.TextModel) -> None:
    decision = classify(mail("REF-7", OTHER), build_ruleset(NOMINATE, "n"), Models(intent), PARAMS)
    assert (decision.route, decision.category) == (Route.REVIEW, "other")
    assert "reads other" in decision.reasons[-1] and "not a request" in decision.reasons[-1]


def test_low_intent_confidence_vetoes_the_nomination(intent: text_model.TextModel) -> None:
    # (SUBSCRIBE asks to be put on a list: that confirms nothing with CLASSIFIER_ASK_MARGIN 0)
    strict = ClassifyParams(min_confidence=0.999, ask_margin=0.0)
    decision = classify(mail("Suscripción", SUBSCRIBE), load_rules(None), Models(intent), strict)
    assert (decision.route, decision.category) == (Route.REVIEW, "subscription")
    assert "below CLASSIFIER_MIN_CONFIDENCE 1.00" in decision.reasons[-1]


def test_a_category_the_intent_model_does_not_know_cannot_be_confirmed(
        intent: text_model.TextModel) -> None:
    rules = build_ruleset("- {name: b, category: billing, route: acknowledgement_queue, "
                          "template: billing, when: {subject: [factura]}}\n", "r.yaml")
    decision = classify(mail("Factura", OTHER), rules, Models(intent), PARAMS)
    assert decision.route is Route.REVIEW
    assert "has no label 'billing'" in decision.reasons[-1]


def test_a_rule_may_nominate_another_label_the_model_confirms(
        intent: text_model.TextModel) -> None:
    rules = build_ruleset("- {name: bye, category: unsubscription, route: acknowledgement_queue, "
                          "template: unsubscription, when: {subject: [baja]}}\n", "r.yaml")
    decision = classify(mail("Baja", CANCEL), rules, Models(intent), PARAMS)
    assert (decision.route, decision.template) == (Route.ACKNOWLEDGE, "unsubscription")


def test_decides_alone_is_the_seed_behaviour_no_model_vetoes_it(
        intent: text_model.TextModel) -> None:
    rules = build_ruleset(ALONE, "alone.yaml")
    for models in (Models(), Models(intent)):
        decision = classify(mail("Cancelar mi suscripción", CANCEL), rules, models, PARAMS)
        assert (decision.route, decision.template) == (Route.ACKNOWLEDGE, "subscription")
        assert "decides alone" in decision.reasons[0]


def test_decides_alone_still_comes_after_the_spam_verdict(spam: text_model.TextModel) -> None:
    decision = classify(mail("Suscripción", SPAMMY), build_ruleset(ALONE, "a.yaml"),
                        Models(spam=spam), PARAMS)
    assert (decision.route, decision.category) == (Route.ARCHIVE, "spam")


def test_decides_alone_must_be_a_boolean() -> None:
    with pytest.raises(RulesError, match=r"a.yaml:\d+: decides_alone must be true or false"):
        build_ruleset(ALONE.replace("decides_alone: true", "decides_alone: sometimes"), "a.yaml")


def test_the_intent_model_nominates_alone_and_the_spam_model_still_vetoes(
        intent: text_model.TextModel, spam: text_model.TextModel) -> None:
    request = mail("Hola", SUBSCRIBE)
    decision = classify(request, load_rules(None), Models(intent, spam), PARAMS)
    assert (decision.route, decision.rule) == (Route.ACKNOWLEDGE, "model")
    # the spam model's score for this very mail, read as a verdict (no intent model: no
    # nomination, so the verdict archives and carries P(spam) as its confidence)
    probe = classify(request, load_rules(None),
                     Models(spam=dataclasses.replace(spam, threshold=1e-9)), PARAMS)
    assert probe.rule == "model:spam"
    strict = dataclasses.replace(spam, threshold=probe.confidence)
    vetoed = classify(request, load_rules(None), Models(intent, strict), PARAMS)
    assert (vetoed.route, vetoed.category, vetoed.rule) == (Route.REVIEW, "spam", "model")
    assert vetoed.reasons[-1].startswith("vetoed by the spam model")


def test_autoreply_off_sends_every_acknowledgement_to_review(intent: text_model.TextModel) -> None:
    off = ClassifyParams(autoreply_mode=AutoreplyMode.OFF)
    decision = classify(mail("Suscripción", SUBSCRIBE), load_rules(None), Models(intent), off)
    assert decision.route is Route.REVIEW and decision.would_reply is None
    assert decision.reasons[-1].startswith("AUTOREPLY_MODE=off")


def test_shadow_mode_records_the_template_it_would_have_replied_with(
        intent: text_model.TextModel) -> None:
    shadow = ClassifyParams(autoreply_mode=AutoreplyMode.SHADOW)
    decision = classify(mail("Suscripción", SUBSCRIBE), load_rules(None), Models(intent), shadow)
    assert (decision.route, decision.would_reply) == (Route.REVIEW, "subscription")
    assert "would have replied with template subscription" in decision.reasons[-1]
    vetoed = classify(mail("REF-7", CANCEL), build_ruleset(NOMINATE, "n"), Models(intent), shadow)
    assert vetoed.would_reply is None  # a vetoed mail was never going to be answered
    partial = mail("Suscripción", SUBSCRIBE).model_copy(update={"flags": ["too_large"]})
    limited = classify(partial, load_rules(None), Models(intent), shadow)
    assert limited.route is Route.REVIEW and limited.would_reply is None  # "on" would not reply


def init_fields(model: text_model.TextModel) -> dict[str, Any]:
    """What a copy of ``model`` is made from (its cache of fused readers is not)."""
    return {f.name: getattr(model, f.name) for f in dataclasses.fields(model) if f.init}


class Counting(text_model.TextModel):
    """A real model that counts how often it is asked (the batch must ask once)."""

    calls = 0

    def predict(self, texts: Sequence[str]) -> list[text_model.Prediction]:
        type(self).calls += 1
        return super().predict(texts)

    def probability(self, texts: Sequence[str], label: str) -> list[float]:
        type(self).calls += 1
        return super().probability(texts, label)


def test_a_batch_asks_each_model_once(intent: text_model.TextModel,
                                      spam: text_model.TextModel) -> None:
    counting_intent = Counting(**init_fields(intent))
    counting_spam = type("CountingSpam", (Counting,), {"calls": 0})(**init_fields(spam))
    mails = [mail(s, t, f"m{i}") for i, (s, t) in enumerate(
        [("Suscripción", SUBSCRIBE), ("Hola", SUBSCRIBE), ("Suscripción", CANCEL),
         ("Oferta", SPAMMY), ("Factura", OTHER)] * 20)]
    decisions = classify_batch(mails, load_rules(None), Models(counting_intent, counting_spam),
                               PARAMS)
    assert len(decisions) == 100 and [d.mail_id for d in decisions] == [m.mail_id for m in mails]
    assert (type(counting_intent).calls, type(counting_spam).calls) == (1, 1)


def test_a_mail_without_words_is_never_acknowledged_whatever_the_model_leans() -> None:
    """A model that learned "an empty body means a subject-only request" still cannot answer
    a mail with no subject and no text (an attachment alone): nothing in it asks."""
    from mailroom.processor.text import SUBJECT_ONLY

    texts = [f"quiero suscribirme {SUBJECT_ONLY}", f"alta boletín {SUBJECT_ONLY}",
             f"sign me up {SUBJECT_ONLY}", f" {SUBJECT_ONLY}",
             "darme de baja", "unsubscribe me", "la factura tiene un error", "cannot log in"]
    labels = ["subscription"] * 4 + ["unsubscription"] * 2 + ["other"] * 2
    leaning = text_model.train(texts, labels, n_features=2**12)
    empty = mail("", "", "m-empty")
    assert leaning.predict(leaning.texts_for([empty]))[0].label == "subscription"
    decision = classify(empty, load_rules(None), Models(leaning), PARAMS)
    assert (decision.route, decision.category) == (Route.REVIEW, "other")
    assert "no words" in decision.reasons[-1]
    worded = classify(mail("quiero suscribirme", "", "m-worded"), load_rules(None),
                      Models(leaning), PARAMS)
    assert worded.route is Route.ACKNOWLEDGE
    # a bare reply or forward prefix above nothing is no word of the sender's either
    for subject in ("RV:", "Fwd:", "Re: RE: FW:", "AW: [2]:"):
        bare = classify(mail(subject, "", f"m-{subject}"), load_rules(None), Models(leaning),
                        PARAMS)
        assert (bare.route, "no words" in bare.reasons[-1]) == (Route.REVIEW, True), subject
    forwarded = classify(mail("Fwd: quiero suscribirme", "", "m-fwd"), load_rules(None),
                         Models(leaning), PARAMS)
    assert forwarded.route is Route.ACKNOWLEDGE


class Leans(text_model.TextModel):
    """A real model that reads every mail as ``leaning``: a request, below the threshold."""

    leaning = text_model.Prediction("subscription", 0.55)

    def predict(self, texts: Sequence[str]) -> list[text_model.Prediction]:
        return [self.leaning for _ in texts]


def test_an_ask_to_be_put_on_a_list_confirms_a_model_that_leans_to_a_request(
        intent: text_model.TextModel) -> None:
    leans = Leans(**init_fields(intent))
    ask = mail("Hola", "Me di de baja sin querer. ¿Me volvéis a suscribir al boletín?")
    decision = classify(ask, load_rules(None), Models(leans), PARAMS)
    assert (decision.route, decision.rule, decision.confidence) == (
        Route.ACKNOWLEDGE, "model", 0.55)
    assert decision.reasons == ["no rule fired; model says subscription with confidence 0.55, "
                                "below 0.60, and the mail asks to be put on a list (\"me "
                                "volveis a suscribir\", processor/cues.py)"]
    # a rule's nomination is confirmed the same way
    keyword = ask.model_copy(update={"subject": "Suscripción"})
    nominated = classify(keyword, load_rules(None), Models(leans), PARAMS)
    assert nominated.route is Route.ACKNOWLEDGE and nominated.rule == "subscription"
    assert "asks to be put on a list" in nominated.reasons[-1]
    # further below CLASSIFIER_MIN_CONFIDENCE than CLASSIFIER_ASK_MARGIN the ask confirms nothing
    for mail_ in (ask, keyword):
        strict = classify(mail_, load_rules(None), Models(leans),
                          dataclasses.replace(PARAMS, ask_margin=0.04))
        assert (strict.route, strict.category) == (Route.REVIEW, "subscription")
    assert PARAMS.ask_margin == 0.3  # the default


def test_without_an_ask_or_a_list_the_leaning_model_is_not_enough(
        intent: text_model.TextModel) -> None:
    leans = Leans(**init_fields(intent))
    for subject, text in [("Hola", "¿Me mandáis el boletín?"),  # no ask phrase
                          ("Taller", "Apuntadme al taller del sábado."),  # no list named
                          ("Suscripción", "¿Me mandáis el boletín?")]:  # the rule nominated
        decision = classify(mail(subject, text), load_rules(None), Models(leans), PARAMS)
        assert (decision.route, decision.category) == (Route.REVIEW, "subscription"), text
        assert "below" in decision.reasons[-1] and "asks" not in decision.reasons[-1]


def test_predict_keeps_every_labels_probability(intent: text_model.TextModel) -> None:
    """What the ask is weighed against: P(subscription) even when another label reads best."""
    texts = [SUBSCRIBE, CANCEL, OTHER]
    for text, prediction in zip(texts, intent.predict(texts), strict=True):
        assert set(prediction.scores) == set(intent.classes)
        assert abs(sum(prediction.scores.values()) - 1) < 1e-9
        assert prediction.of(prediction.label) == prediction.confidence == max(prediction.scores.values())
        assert prediction.of("subscription") == pytest.approx(
            intent.probability([text], "subscription")[0])
    assert text_model.Prediction("other", 0.7).of("subscription") == 0.0  # no scores: unknown


def leaning(intent: text_model.TextModel, label: str, **scores: float) -> Leans:
    """A model that reads every mail as ``label``, with these P(label) (those not given are
    unknown to the decision, as from a model that gives only its best label)."""
    best = text_model.Prediction(label, scores[label], scores)
    return type("Leaning", (Leans,), {"leaning": best})(**init_fields(intent))


def test_an_ask_makes_up_for_a_model_that_reads_another_label_close_enough(
        intent: text_model.TextModel) -> None:
    """A newsletter's name the model never saw ("¿Me suscriben a Epífita?") or a leaving told
    before the ask pulls P(subscription) under another label; within CLASSIFIER_ASK_MARGIN of
    the threshold, the ask is the evidence."""
    ask = mail("Dendrobium", "Buenas. ¿Me suscriben a Epífita, el boletín? Gracias.")
    other = leaning(intent, "other", other=0.64, subscription=0.33, unsubscription=0.03)
    decision = classify(ask, load_rules(None), Models(other), PARAMS)
    assert (decision.route, decision.category, decision.template) == (
        Route.ACKNOWLEDGE, "subscription", "subscription")
    assert decision.confidence == 0.33
    assert decision.reasons == ["no rule fired; model says other with confidence 0.64 "
                                "(subscription 0.33), and the mail asks to be put on a list "
                                "(\"me suscriben\", processor/cues.py)"]
    back = mail("Suscripción", "Me di de baja del boletín hace un año. ¿Me pueden volver a poner?")
    cancel = leaning(intent, "unsubscription", unsubscription=0.6, subscription=0.35, other=0.05)
    nominated = classify(back, load_rules(None), Models(cancel), PARAMS)
    assert (nominated.route, nominated.rule, nominated.confidence) == (
        Route.ACKNOWLEDGE, "subscription", 0.35)
    assert "(subscription 0.35), and the mail asks" in nominated.reasons[-1]
    # further below: the model's reading stands
    far = leaning(intent, "other", other=0.72, subscription=0.25, unsubscription=0.03)
    for mail_ in (ask, back):
        decision = classify(mail_, load_rules(None), Models(far), PARAMS)
        assert (decision.route, decision.category) == (Route.REVIEW, "other")


def test_an_ask_does_not_overrule_a_cue_or_a_model_without_doubt(
        intent: text_model.TextModel) -> None:
    leans = Leans(**init_fields(intent))
    cancel_after = mail("Hola", "Apuntadme al boletín de la biblioteca. Y borradme de la lista "
                                "de socios del club.")
    decision = classify(cancel_after, load_rules(None), Models(leans), PARAMS)
    assert (decision.route, decision.category) == (Route.REVIEW, "unsubscription")
    assert "cancellation cue" in decision.reasons[-1]
    # a model that gives only its best label says nothing of P(subscription): taken as 0
    other = leaning(intent, "other", other=0.55)
    decision = classify(mail("Hola", "Por favor, apuntadme al boletín."), load_rules(None),
                        Models(other), PARAMS)
    assert (decision.route, decision.category) == (Route.REVIEW, "other")
