"""One mail in, one decision out (pure, given loaded rules and models).

The order is the policy (docs/classification.md, "When mailroom answers"):

1. the never-answer guard: upstream spam verdicts, then RFC 3834 auto-generated mail;
2. the rules, first match wins. A rule routing elsewhere than ``acknowledgement_queue``
   decides (after the spam model's verdict, as in the seed). A rule routing to
   ``acknowledgement_queue`` only *nominates* the mail for an automatic reply, unless it says
   ``decides_alone: true`` (the seed's behaviour);
3. with no rule firing, the intent model decides: a confident label whose route is
   ``acknowledgement_queue`` nominates the mail; anything else goes where its label goes, or
   to ``human_review`` below ``CLASSIFIER_MIN_CONFIDENCE``;
4. a nomination is vetoed, in this order, by: the spam model (P(spam) at or above its
   threshold); the spam model in doubt (P(spam) at or above ``AUTOREPLY_MAX_SPAM``, below
   its threshold); no intent model being loaded; the intent model reading another label (a
   cancellation, or "other": not a request); the intent model's confidence below
   ``CLASSIFIER_MIN_CONFIDENCE``; neither of these two when the mail asks to be put on a list
   it names (``cues.asks_to_join``: "¿me volvéis a suscribir al boletín?") and the intent
   model's P(subscription) is at most ``CLASSIFIER_ASK_MARGIN`` below that threshold (the
   same ask nominates a mail in 3. that the model reads otherwise); a cancellation or
   negation cue in the mail's own words (``cues.py``: "darme de baja", "stop sending", "I
   never subscribed"). A vetoed mail goes to ``human_review`` with the reason;
5. a spam verdict on a mail nothing nominated takes the spam category's route (archive);
6. an acknowledgement whose reply address is in doubt (``reply_target``), or of a mail the
   collector read only in part, goes to review;
7. ``AUTOREPLY_MODE``: ``off`` sends every acknowledgement to review, ``shadow`` too, and
   records the template it would have used (``Decision.would_reply``).

Each model reads the whole batch in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mailroom.autoreply import own_addresses
from mailroom.events import Decision, RawEmail, Route
from mailroom.language import detect_language
from mailroom.processor.automated import SPAM, doubtful_address_to_review, never_answer
from mailroom.processor.cues import asks_to_join, veto_cue
from mailroom.processor.model import Prediction, TextModel
from mailroom.processor.rules import NEVER_ANSWERED, RuleSet
from mailroom.processor.text import has_words, model_text, request_text
from mailroom.settings import (
    AUTOREPLY_MAX_SPAM,
    CLASSIFIER_ASK_MARGIN,
    CLASSIFIER_MIN_CONFIDENCE,
    AutoreplyMode,
    Settings,
)

DEFAULT_SPAM_THRESHOLD = 0.9
NOT_A_REQUEST = "other"
SUBSCRIPTION = "subscription"  # the request the cues in cues.py speak against
CUE_CATEGORY = {"cancellation": "unsubscription", "not a request": NOT_A_REQUEST}


@dataclass(frozen=True)
class ClassifyParams:
    min_confidence: float = CLASSIFIER_MIN_CONFIDENCE
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    default_language: str = "en"
    autoreply_mode: AutoreplyMode = AutoreplyMode.ON
    max_spam: float = AUTOREPLY_MAX_SPAM
    ask_margin: float = CLASSIFIER_ASK_MARGIN

    @classmethod
    def from_settings(cls, settings: Settings) -> ClassifyParams:
        return cls(settings.classifier_min_confidence, own_addresses(settings),
                   settings.default_language, settings.autoreply_mode,
                   settings.autoreply_max_spam, settings.classifier_ask_margin)


@dataclass(frozen=True)
class Models:
    intent: TextModel | None = None
    spam: TextModel | None = None


def with_language(email: RawEmail, default: str) -> RawEmail:
    if email.language:
        return email
    found = detect_language(model_text(email)) or default
    return email.model_copy(update={"language": found})


def classify(
    email: RawEmail, rules: RuleSet, models: Models, params: ClassifyParams,
) -> Decision:
    """The decision for one mail (see the module docstring for the order)."""
    return classify_batch([email], rules, models, params)[0]


def classify_batch(
    emails: Sequence[RawEmail], rules: RuleSet, models: Models, params: ClassifyParams,
) -> list[Decision]:
    """Decisions for many mails; each model reads all the texts it needs in one call."""
    mails = [with_language(e, params.default_language) for e in emails]
    decided: list[Decision | None] = [_guard(e, rules, params) for e in mails]

    pending = [i for i, d in enumerate(decided) if d is None]
    # the sender's own words, cut out once for both models (each reads them in its own view)
    words = {i: request_text(mails[i]) for i in pending} if models.spam or models.intent else {}
    spam, p_spam = _spam_verdicts(mails, pending, words, rules, models.spam)

    nominated: dict[int, Decision | None] = {}  # None: no rule fired, the intent model decides
    for i in pending:
        by_rule, alone = _by_rules(mails[i], rules)
        if by_rule is not None and by_rule.route is Route.ACKNOWLEDGE and not alone:
            nominated[i] = by_rule
        elif by_rule is None:
            nominated[i] = None
        else:
            decided[i] = spam.get(i) or by_rule

    asked = list(nominated)
    predictions: list[Prediction | None] = [None] * len(asked)
    texts: list[str | None] = [None] * len(asked)  # what the intent model read (cues read it too)
    if models.intent is not None and asked:
        read = models.intent.texts_for([mails[i] for i in asked], [words[i] for i in asked])
        predictions = list(models.intent.predict(read))
        if models.intent.view == "text":
            texts = list(read)
    for i, prediction, text in zip(asked, predictions, texts, strict=True):
        nominee = nominated[i]
        if text is None:  # (a model of another view: the cues read the mail's own words)
            text = model_text(mails[i], words.get(i))
        if nominee is None:
            by_model = _by_model(mails[i], prediction, models.intent, rules, params, text)
            if by_model.route is not Route.ACKNOWLEDGE:
                decided[i] = spam.get(i) or by_model
                continue
            nominee = by_model
        decided[i] = _vetted(text, nominee, spam.get(i), p_spam.get(i), prediction, models, params)
    # the reply address and the read limits are judged before the mode, so shadow never
    # records a reply that mode "on" would have sent to review
    return [_in_mode(_limited_to_review(e, doubtful_address_to_review(e, d, params.own_addresses)),
                     params.autoreply_mode)
            for e, d in zip(mails, decided, strict=True) if d is not None]


def _spam_verdicts(mails: list[RawEmail], pending: list[int], words: dict[int, str],
                   rules: RuleSet, model: TextModel | None,
                   ) -> tuple[dict[int, Decision], dict[int, float]]:
    """The spam model's verdict on each pending mail at or above its threshold, and its
    P(spam) of every pending mail (``words``: each one's ``request_text``)."""
    if model is None or not pending:
        return {}, {}
    threshold = model.threshold or DEFAULT_SPAM_THRESHOLD
    # the model's own view of a mail (the spam model also reads header and HTML shape)
    scores = model.probability(model.texts_for([mails[i] for i in pending],
                                               [words[i] for i in pending]), SPAM)
    route = _never_ack(rules.action_for(SPAM).route)
    return {
        i: Decision(mail_id=mails[i].mail_id, language=mails[i].language, category=SPAM,
                    route=route, rule="model:spam", confidence=p_spam, model_version=model.version,
                    reasons=[f"spam model: P(spam)={p_spam:.2f} >= {threshold:.2f}"])
        for i, p_spam in zip(pending, scores, strict=True) if p_spam >= threshold
    }, dict(zip(pending, scores, strict=True))


def _vetted(text: str, nominee: Decision, spam: Decision | None, p_spam: float | None,
            prediction: Prediction | None, models: Models, params: ClassifyParams) -> Decision:
    """The nominated acknowledgement, or review with the first veto that applies (``text``:
    the mail's ``model_text``, where the cues are looked for; ``spam``: the spam model's
    verdict, ``p_spam`` its P(spam) of the mail, None without a spam model)."""
    wanted, intent = nominee.category, models.intent
    veto: tuple[str, str, float, str | None] | None = None  # reason, category, confidence, model
    ask: str | None = None  # an ask to be put on a list that made up for the model's doubt
    if spam is not None:
        veto = (f"vetoed by the spam model: {spam.reasons[0].removeprefix('spam model: ')}",
                SPAM, spam.confidence, spam.model_version)
    elif p_spam is not None and models.spam is not None and p_spam >= params.max_spam:
        veto = (f"vetoed: the spam model is in doubt, P(spam)={p_spam:.2f} >= "
                f"AUTOREPLY_MAX_SPAM {params.max_spam:.2f}", wanted, p_spam, models.spam.version)
    elif prediction is None or intent is None:
        veto = ("vetoed: no intent model is loaded, so nothing is acknowledged automatically "
                "(only a rule with decides_alone: true answers alone)", wanted, 1.0, None)
    elif nominee.rule == "model":
        pass  # the intent model nominated it itself, with confidence
    elif wanted not in intent.labels:
        veto = (f"vetoed: the intent model has no label {wanted!r}, so nothing confirms the "
                "request (only a rule with decides_alone: true answers alone)",
                wanted, prediction.confidence, intent.version)
    elif prediction.label != wanted or prediction.confidence < params.min_confidence:
        ask = _ask_confirms(wanted, prediction, text, params)
        if ask is None and prediction.label != wanted:
            what = "not a request" if prediction.label == NOT_A_REQUEST else "a different request"
            veto = (f"vetoed: the intent model reads {prediction.label} "
                    f"({prediction.confidence:.2f}), {what}, not {wanted}",
                    prediction.label, prediction.confidence, intent.version)
        elif ask is None:
            veto = (f"vetoed: the intent model's confidence in {wanted} is "
                    f"{prediction.confidence:.2f}, below CLASSIFIER_MIN_CONFIDENCE "
                    f"{params.min_confidence:.2f}", wanted, prediction.confidence, intent.version)
    if veto is None and not has_words(text):
        # nothing in it to answer: a model's lean on an empty mail is no evidence
        veto = ("vetoed: the mail has no words (no subject, no text)", NOT_A_REQUEST,
                prediction.confidence if prediction is not None else 1.0,
                intent.version if intent is not None else None)
    if veto is None and wanted == SUBSCRIPTION and prediction is not None and intent is not None:
        # the last veto, also on the intent model's own nomination: words that say no
        cue = veto_cue(text)
        if cue is not None:
            kind, words = cue
            veto = (f"vetoed: the mail says \"{words}\" ({kind} cue, processor/cues.py)",
                    CUE_CATEGORY[kind], prediction.confidence, intent.version)
    if veto is None:
        if nominee.rule != "model" and prediction is not None and intent is not None:
            confirms = f"the intent model confirms {wanted} ({prediction.confidence:.2f})" \
                if ask is None else _ask_reason(prediction, ask, params)
            return nominee.model_copy(update={
                "confidence": prediction.of(wanted), "model_version": intent.version,
                "reasons": [*nominee.reasons, confirms]})
        return nominee
    reason, category, confidence, version = veto
    return nominee.model_copy(update={
        "route": Route.REVIEW, "template": None, "category": category, "confidence": confidence,
        "model_version": version, "reasons": [*nominee.reasons, f"{reason}: a person decides"]})


def _in_mode(decision: Decision, mode: AutoreplyMode) -> Decision:
    """``AUTOREPLY_MODE`` off or shadow: an acknowledgement goes to review instead."""
    if mode is AutoreplyMode.ON or decision.route is not Route.ACKNOWLEDGE:
        return decision
    template = decision.template or decision.category
    if mode is AutoreplyMode.SHADOW:
        return decision.model_copy(update={
            "route": Route.REVIEW, "would_reply": template,
            "reasons": [*decision.reasons, f"AUTOREPLY_MODE=shadow: would have replied with "
                                           f"template {template}; nothing sent"]})
    return decision.model_copy(update={
        "route": Route.REVIEW,
        "reasons": [*decision.reasons, f"AUTOREPLY_MODE=off: an automatic reply with template "
                                       f"{template} would be due; a person decides"]})


LIMIT_FLAGS = frozenset({"too_large", "too_deep", "too_many_parts"})


def _limited_to_review(email: RawEmail, decision: Decision) -> Decision:
    """A mail the collector could read only in part is always seen by a person."""
    hit = sorted(LIMIT_FLAGS.intersection(email.flags))
    if not hit or decision.route is Route.REVIEW:
        return decision
    return decision.model_copy(update={
        "route": Route.REVIEW, "reasons": [*decision.reasons, f"read only in part: {', '.join(hit)}"]})


def _guard(email: RawEmail, rules: RuleSet, params: ClassifyParams) -> Decision | None:
    verdict = never_answer(email, params.own_addresses)
    if verdict is None:
        return None
    action = rules.action_for(verdict.category)
    return Decision(mail_id=email.mail_id, language=email.language, category=verdict.category,
                    route=_never_ack(action.route), rule=f"guard:{verdict.category}",
                    confidence=1.0, reasons=[verdict.reason])


def _by_rules(email: RawEmail, rules: RuleSet) -> tuple[Decision | None, bool]:
    """The first matching rule's decision, and whether that rule decides alone."""
    explanation = rules.explain(email)
    rule = explanation.rule
    if rule is None:
        return None, False
    action = rules.action_for(rule.category)
    route = rule.route or action.route
    if rule.category in NEVER_ANSWERED:
        route = _never_ack(route)
    verb = "decides alone" if rule.decides_alone else "nominates"
    why = f"rule {rule.name}: {explanation.reason}"
    if route is Route.ACKNOWLEDGE:
        why = f"{why} ({verb} an automatic reply)"
    return Decision(mail_id=email.mail_id, language=email.language, category=rule.category,
                    route=route, rule=rule.name, template=rule.template or action.template,
                    confidence=1.0, reasons=[why]), rule.decides_alone


def _by_model(email: RawEmail, prediction: Prediction | None, model: TextModel | None,
              rules: RuleSet, params: ClassifyParams, text: str) -> Decision:
    base = {"mail_id": email.mail_id, "language": email.language}
    if prediction is None or model is None:
        return Decision(**base, category="other", route=Route.REVIEW, rule="default",
                        confidence=1.0, reasons=["no rule fired and no model is loaded"])
    decision = Decision(**base, category=prediction.label, route=Route.REVIEW, rule="model",
                        confidence=prediction.confidence, model_version=model.version)
    label, said = prediction.label, (f"model says {prediction.label} with confidence "
                                     f"{prediction.confidence:.2f}")
    if label != SUBSCRIPTION or prediction.confidence < params.min_confidence:
        ask = _ask_confirms(SUBSCRIPTION, prediction, text, params)
        if ask is not None:
            label, said = SUBSCRIPTION, _ask_reason(prediction, ask, params)
            decision.category, decision.confidence = label, prediction.of(label)
        elif prediction.confidence < params.min_confidence:
            decision.reasons = [f"{said}, below {params.min_confidence:.2f}: a person decides"]
            return decision
    action = rules.action_for(label)
    decision.route = _never_ack(action.route) if label in NEVER_ANSWERED else action.route
    decision.template = action.template
    decision.reasons = [f"no rule fired; {said}"]
    return decision


def _ask_confirms(wanted: str, prediction: Prediction, text: str,
                  params: ClassifyParams) -> str | None:
    """The words of an explicit ask to be put on a list that confirms a subscription whose
    P(subscription), by the intent model, is short of ``CLASSIFIER_MIN_CONFIDENCE`` by
    ``CLASSIFIER_ASK_MARGIN`` at most (whatever label it reads best), or None. Only the
    model's doubt is made up for: the vetoes after it (the cues) still apply."""
    if wanted != SUBSCRIPTION or params.ask_margin <= 0 \
            or prediction.of(SUBSCRIPTION) < params.min_confidence - params.ask_margin:
        return None
    return asks_to_join(text)


def _ask_reason(prediction: Prediction, ask: str, params: ClassifyParams) -> str:
    if prediction.label == SUBSCRIPTION:
        read = (f"model says {SUBSCRIPTION} with confidence {prediction.confidence:.2f}, below "
                f"{params.min_confidence:.2f}")
    else:
        read = (f"model says {prediction.label} with confidence {prediction.confidence:.2f} "
                f"({SUBSCRIPTION} {prediction.of(SUBSCRIPTION):.2f})")
    return f"{read}, and the mail asks to be put on a list (\"{ask}\", processor/cues.py)"


def _never_ack(route: Route) -> Route:
    return Route.REVIEW if route is Route.ACKNOWLEDGE else route
