"""The rules engine: ordered rules from YAML, first match wins (pure).

A rules file (``MAILROOM_RULES``) looks like::

    rules:
      - name: subscription
        when:
          subject: [suscripción, subscription]     # keywords: any case, with or without accents
        category: subscription
        route: acknowledgement_queue                 # or human_review, archive
        template: subscription
        # decides_alone: true                        # the seed's behaviour: no model may veto
      - name: invoices-with-pdf
        when:
          all:
            - body: {regex: 'invoice\\s+#?\\d+'}
            - has_attachment: true
        category: billing                            # no route: the category's route applies
    categories:                                      # where a category goes when no rule routes it
      billing: {route: human_review}

Conditions: ``subject``, ``body``, ``from``, ``to`` (a keyword, a list of keywords, or a
mapping with ``contains`` and/or ``regex``), ``headers`` (header name -> the same, or
``{present: true|false}``), ``language`` (a code or a list), ``has_attachment`` (bool), and
``any`` / ``all`` (lists) and ``not`` (one condition) to nest. Several keys in one mapping
must all hold. A rule without ``when`` matches every mail.

A rule that routes to ``acknowledgement_queue`` only *nominates* the mail for an automatic
reply: the models may veto it (see ``classify``). ``decides_alone: true`` opts a rule out of
the veto, as every rule behaved in the seed.

An invalid file raises ``RulesError`` naming the file, the line and the reason, so the
processor refuses to start on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailroom.events import RawEmail, Route
from mailroom.processor.conditions import Always, Condition, MailView
from mailroom.processor.rules_yaml import NEVER_ANSWERED, RulesError, parse_rules

__all__ = [
    "DEFAULT_CATEGORIES",
    "NEVER_ANSWERED",
    "SEED_RULES",
    "CategoryAction",
    "Explanation",
    "Rule",
    "RuleSet",
    "RulesError",
    "load_rules",
]

SEED_RULES = """\
rules:
  - name: subscription
    when:
      subject: [suscripción, subscription]
    category: subscription
    route: acknowledgement_queue
    template: subscription
"""


@dataclass(frozen=True)
class CategoryAction:
    route: Route
    template: str | None = None


# where a category goes when no rule gave a route (the model's and the guard's categories)
DEFAULT_CATEGORIES: Mapping[str, CategoryAction] = {
    "subscription": CategoryAction(Route.ACKNOWLEDGE, "subscription"),
    "automated": CategoryAction(Route.REVIEW),
    "spam": CategoryAction(Route.ARCHIVE),
}


@dataclass(frozen=True)
class Rule:
    name: str
    category: str
    condition: Condition = field(default_factory=Always)
    route: Route | None = None
    template: str | None = None
    line: int = 0
    decides_alone: bool = False  # an acknowledgement no model may veto (the seed's behaviour)


@dataclass(frozen=True)
class Explanation:
    """Which rule fired (if any) and why, plus why each earlier rule did not."""

    rule: Rule | None
    reason: str
    tried: tuple[tuple[str, str], ...]

    def render(self, source: str | None = None) -> str:
        """What was tried; ``source`` (a rules file's path) is cited with the rule's line."""
        lines = [f"  - {name}: no ({why})" for name, why in self.tried]
        if self.rule is None:
            lines.append("no rule fired: the model (or the default) decides")
        else:
            rule = self.rule
            route = rule.route.value if rule.route else "(the category's route)"
            where = f" ({source}:{rule.line})" if source else ""
            alone = ", decides alone" if rule.decides_alone else ""
            lines.append(f"  - {rule.name}: YES ({self.reason})")
            lines.append(f"fired: {rule.name}{where} -> category {rule.category}, route {route}, "
                         f"template {rule.template}{alone}")
        return "\n".join(lines)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    categories: Mapping[str, CategoryAction] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))
    source: str = "<built-in>"

    @property
    def path(self) -> str | None:
        """The rules file a user can open, or None for the built-in rules."""
        return None if self.source.startswith("<") else self.source

    def explain(self, email: RawEmail) -> Explanation:
        view = MailView(email)
        tried: list[tuple[str, str]] = []
        for rule in self.rules:
            ok, reason = rule.condition.test(view)
            if ok:
                return Explanation(rule, reason, tuple(tried))
            tried.append((rule.name, reason))
        return Explanation(None, "", tuple(tried))

    def action_for(self, category: str) -> CategoryAction:
        """The route for a category no rule routed; unknown categories go to review."""
        return self.categories.get(category, CategoryAction(Route.REVIEW))


def build_ruleset(text: str, source: str) -> RuleSet:
    raw_rules, raw_categories = parse_rules(text, source)
    rules = tuple(Rule(**r) for r in raw_rules)
    categories = dict(DEFAULT_CATEGORIES)
    categories.update({name: CategoryAction(route, template)
                       for name, (route, template) in raw_categories.items()})
    return RuleSet(rules, categories, source)


def load_rules(path: Path | None) -> RuleSet:
    """The rules in ``path``, or the built-in seed rule when no file is configured."""
    if path is None:
        return build_ruleset(SEED_RULES, "<built-in seed rules>")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rules file: {exc.strerror or exc}") from None
    return build_ruleset(text, str(path))
