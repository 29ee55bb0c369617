"""One mail in, one decision out (pure, given loaded rules and models).

The order is the policy:

1. the never-answer guard: upstream spam verdicts, then RFC 3834 auto-generated mail;
2. the spam model (when one is loaded): P(spam) at or above its threshold is spam;
3. the rules, first match wins; a rule with a route decides alone, a rule without one
   names the category and the category's route applies;
4. the intent model: its label's route when its confidence reaches
   ``CLASSIFIER_MIN_CONFIDENCE``, otherwise ``human_review``;
5. no model: ``human_review``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mailroom.events import Decision, RawEmail, Route
from mailroom.processor.automated import SPAM, never_answer
from mailroom.processor.language import detect_language
from mailroom.processor.model import Prediction, TextModel
from mailroom.processor.rules import NEVER_ANSWERED, RuleSet
from mailroom.processor.text import model_text
from mailroom.settings import Settings

DEFAULT_SPAM_THRESHOLD = 0.9


@dataclass(frozen=True)
class ClassifyParams:
    min_confidence: float = 0.6
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    default_language: str = "en"

    @classmethod
    def from_settings(cls, settings: Settings) -> ClassifyParams:
        own = {settings.imap_email, settings.smtp_email}
        return cls(settings.classifier_min_confidence,
                   frozenset(a.lower() for a in own if a), settings.default_language)


@dataclass(frozen=True)
class Models:
    intent: TextModel | None = None
    spam: TextModel | None = None


def with_language(email: RawEmail, default: str) -> RawEmail:
    if email.language:
        return email
    found = detect_language(model_text(email), default)
    return email.model_copy(update={"language": found})


def classify(
    email: RawEmail, rules: RuleSet, models: Models, params: ClassifyParams,
) -> Decision:
    """The decision for one mail (see the module docstring for the order)."""
    return classify_batch([email], rules, models, params)[0]


def classify_batch(
    emails: Sequence[RawEmail], rules: RuleSet, models: Models, params: ClassifyParams,
) -> list[Decision]:
    """Decisions for many mails; the models read all pending texts in one call each."""
    mails = [with_language(e, params.default_language) for e in emails]
    texts = [model_text(e) for e in mails]
    decided: list[Decision | None] = [_guard(e, rules, params) for e in mails]

    pending = [i for i, d in enumerate(decided) if d is None]
    if models.spam is not None and pending:
        threshold = models.spam.threshold or DEFAULT_SPAM_THRESHOLD
        scores = models.spam.probability([texts[i] for i in pending], SPAM)
        for i, p_spam in zip(pending, scores, strict=True):
            if p_spam >= threshold:
                decided[i] = Decision(
                    mail_id=mails[i].mail_id, language=mails[i].language, category=SPAM,
                    route=_never_ack(rules.action_for(SPAM).route), rule="model:spam",
                    confidence=p_spam, model_version=models.spam.version,
                    reasons=[f"spam model: P(spam)={p_spam:.2f} >= {threshold:.2f}"])

    for i in (i for i, d in enumerate(decided) if d is None):
        decided[i] = _by_rules(mails[i], rules)

    pending = [i for i, d in enumerate(decided) if d is None]
    if pending:
        predictions = (models.intent.predict([texts[i] for i in pending])
                       if models.intent is not None else [None] * len(pending))
        for i, prediction in zip(pending, predictions, strict=True):
            decided[i] = _by_model(mails[i], prediction, models.intent, rules, params)
    return [_limited_to_review(e, d) for e, d in zip(mails, decided, strict=True) if d is not None]


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


def _by_rules(email: RawEmail, rules: RuleSet) -> Decision | None:
    explanation = rules.explain(email)
    rule = explanation.rule
    if rule is None:
        return None
    action = rules.action_for(rule.category)
    route = rule.route or action.route
    if rule.category in NEVER_ANSWERED:
        route = _never_ack(route)
    return Decision(mail_id=email.mail_id, language=email.language, category=rule.category,
                    route=route, rule=rule.name, template=rule.template or action.template,
                    confidence=1.0, reasons=[f"rule {rule.name}: {explanation.reason}"])


def _by_model(email: RawEmail, prediction: Prediction | None, model: TextModel | None,
              rules: RuleSet, params: ClassifyParams) -> Decision:
    base = {"mail_id": email.mail_id, "language": email.language}
    if prediction is None or model is None:
        return Decision(**base, category="other", route=Route.REVIEW, rule="default",
                        confidence=1.0, reasons=["no rule fired and no model is loaded"])
    decision = Decision(**base, category=prediction.label, route=Route.REVIEW, rule="model",
                        confidence=prediction.confidence, model_version=model.version)
    if prediction.confidence < params.min_confidence:
        decision.reasons = [f"model says {prediction.label} with confidence "
                            f"{prediction.confidence:.2f}, below {params.min_confidence:.2f}: "
                            "a person decides"]
        return decision
    action = rules.action_for(prediction.label)
    decision.route = _never_ack(action.route) if prediction.label in NEVER_ANSWERED else action.route
    decision.template = action.template
    decision.reasons = [f"no rule fired; model says {prediction.label} with confidence "
                        f"{prediction.confidence:.2f}"]
    return decision


def _never_ack(route: Route) -> Route:
    return Route.REVIEW if route is Route.ACKNOWLEDGE else route

