"""Reading a rules file: YAML nodes to conditions, with the line of every mistake (pure).

The file is walked as YAML *nodes* (not plain values) so every error can name the line
it comes from: ``rules.yaml:12: unknown condition 'subjet' (expected one of ...)``.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mailroom.events import Route
from mailroom.processor.conditions import (
    TEXT_FIELDS,
    AllOf,
    AnyOf,
    Condition,
    Contains,
    HasAttachment,
    HeaderPresent,
    LanguageIs,
    Matches,
    Not,
)
from mailroom.processor.text import fold
from mailroom.settings import ConfigError

# categories that must never be answered, whatever a rules file says: a file routing one to
# acknowledgement_queue is refused here, and the processor vetoes it again (classify.py)
NEVER_ANSWERED = frozenset({"automated", "spam"})

RULE_KEYS = ("name", "when", "category", "route", "template", "decides_alone")
CONDITION_KEYS = (*TEXT_FIELDS, "headers", "language", "has_attachment", "any", "all", "not")
ROUTES = {r.value: r for r in Route}
NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class RulesError(ConfigError):
    """A rules file is invalid; the message names the file, the line and the reason."""


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.constructor = SafeConstructor()

    def error(self, node: Node | None, reason: str) -> RulesError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return RulesError(f"{self.source}{line}: {reason}")

    def value(self, node: Node) -> Any:
        return self.constructor.construct_object(node, deep=True)

    def mapping(self, node: Node, what: str) -> list[tuple[str, Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        items = []
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                raise self.error(key_node, f"{what}: keys must be text, got {key!r}")
            items.append((key, key_node, value_node))
        return items

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.error(node, f"{what} must be a list")
        return list(node.value)

    def text(self, node: Node, what: str) -> str:
        value = self.value(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, str | int | float) or isinstance(value, bool) or str(value) == "":
            raise self.error(node, f"{what} must be non-empty text")
        return str(value)

    def keywords(self, node: Node, what: str) -> tuple[str, ...]:
        nodes = self.sequence(node, what) if isinstance(node, SequenceNode) else [node]
        if not nodes:
            raise self.error(node, f"{what}: the keyword list is empty")
        return tuple(fold(self.text(n, f"{what} keyword")) for n in nodes)

    def regex(self, node: Node, what: str) -> re.Pattern[str]:
        pattern = self.text(node, what)
        try:
            return re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise self.error(node, f"{what}: invalid regular expression {pattern!r}: {exc}") from None

    # -- conditions ---------------------------------------------------------------------
    def condition(self, node: Node) -> Condition:
        parts = [self.one_condition(key, key_node, value)
                 for key, key_node, value in self.mapping(node, "a condition")]
        if not parts:
            raise self.error(node, "empty condition")
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def one_condition(self, key: str, key_node: Node, node: Node) -> Condition:
        if key in TEXT_FIELDS:
            return self.text_match(key, node)
        if key == "headers":
            return self.headers(node)
        if key == "language":
            codes = self.keywords(node, "language")
            return LanguageIs(frozenset(codes))
        if key == "has_attachment":
            wanted = self.value(node)
            if not isinstance(wanted, bool):
                raise self.error(node, "has_attachment must be true or false")
            return HasAttachment(wanted)
        if key in ("any", "all"):
            children = tuple(self.condition(n) for n in self.sequence(node, key))
            if not children:
                raise self.error(node, f"{key}: the list is empty")
            return AnyOf(children) if key == "any" else AllOf(children)
        if key == "not":
            return Not(self.condition(node))
        raise self.error(key_node, f"unknown condition {key!r} (expected one of "
                                   f"{', '.join(CONDITION_KEYS)})")

    def text_match(self, field: str, node: Node) -> Condition:
        if not isinstance(node, MappingNode):
            return Contains(field, self.keywords(node, field))
        parts: list[Condition] = []
        for key, key_node, value in self.mapping(node, field):
            if key == "contains":
                parts.append(Contains(field, self.keywords(value, f"{field}.contains")))
            elif key == "regex":
                parts.append(Matches(field, self.regex(value, f"{field}.regex")))
            elif key == "present" and field.startswith("header:"):
                present = self.value(value)
                if not isinstance(present, bool):
                    raise self.error(value, "present must be true or false")
                parts.append(HeaderPresent(field.removeprefix("header:"), present))
            else:
                allowed = "contains, regex" + (", present" if field.startswith("header:") else "")
                raise self.error(key_node, f"{field}: unknown key {key!r} (expected {allowed})")
        if not parts:
            raise self.error(node, f"{field}: empty condition")
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def headers(self, node: Node) -> Condition:
        parts = [self.text_match(f"header:{name.lower()}", value)
                 for name, _, value in self.mapping(node, "headers")]
        if not parts:
            raise self.error(node, "headers: empty condition")
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    # -- rules and categories --------------------------------------------------------------
    def route(self, node: Node) -> Route:
        value = self.text(node, "route")
        if value not in ROUTES:
            raise self.error(node, f"unknown route {value!r} (expected one of {', '.join(ROUTES)})")
        return ROUTES[value]

    def rule(self, node: Node, index: int, seen: set[str]) -> dict[str, Any]:
        fields = {key: (key_node, value) for key, key_node, value in self.mapping(node, "a rule")}
        for key, (key_node, _) in fields.items():
            if key not in RULE_KEYS:
                raise self.error(key_node, f"unknown rule key {key!r} (expected one of "
                                           f"{', '.join(RULE_KEYS)})")
        rule: dict[str, Any] = {"line": node.start_mark.line + 1}
        name = self.text(fields["name"][1], "name") if "name" in fields else f"rule-{index + 1}"
        if not NAME.match(name) or name in seen:
            where = fields["name"][1] if "name" in fields else node
            why = "is used twice" if name in seen else "must be 1-64 letters, digits, _ . : -"
            raise self.error(where, f"rule name {name!r} {why}")
        seen.add(name)
        rule["name"] = name
        if "category" not in fields:
            raise self.error(node, f"rule {name!r} has no category")
        rule["category"] = self.category_name(fields["category"][1])
        if "when" in fields:
            rule["condition"] = self.condition(fields["when"][1])
        if "route" in fields:
            rule["route"] = self.route(fields["route"][1])
        if "template" in fields:
            rule["template"] = self.text(fields["template"][1], "template")
        if "decides_alone" in fields:
            alone = self.value(fields["decides_alone"][1])
            if not isinstance(alone, bool):
                raise self.error(fields["decides_alone"][1], "decides_alone must be true or false")
            rule["decides_alone"] = alone
        self.check_answerable(rule["category"], rule.get("route"), node)
        return rule

    def category_name(self, node: Node) -> str:
        name = self.text(node, "category")
        if not NAME.match(name):
            raise self.error(node, f"category {name!r} must be 1-64 letters, digits, _ . : -")
        return name

    def check_answerable(self, category: str, route: Route | None, node: Node) -> None:
        if route is Route.ACKNOWLEDGE and category in NEVER_ANSWERED:
            raise self.error(node, f"category {category!r} is never answered: it cannot route "
                                   "to acknowledgement_queue")

    def categories(self, node: Node) -> dict[str, tuple[Route, str | None]]:
        result: dict[str, tuple[Route, str | None]] = {}
        for name, key_node, value in self.mapping(node, "categories"):
            self.category_name(key_node)
            fields = {k: v for k, _, v in self.mapping(value, f"category {name!r}")}
            if "route" not in fields or set(fields) - {"route", "template"}:
                raise self.error(value, f"category {name!r} needs a route (and optionally a "
                                        "template), nothing else")
            route = self.route(fields["route"])
            self.check_answerable(name, route, value)
            template = self.text(fields["template"], "template") if "template" in fields else None
            result[name] = (route, template)
        return result


def parse_rules(
    text: str, source: str,
) -> tuple[list[dict[str, Any]], dict[str, tuple[Route, str | None]]]:
    """Rule keyword arguments and category routes from a rules file's text."""
    reader = _Reader(source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RulesError(f"{source}{line}: not valid YAML: {problem}") from None
    if root is None:
        raise RulesError(f"{source}: the rules file is empty")
    rules_node: Node | None = root
    categories: dict[str, tuple[Route, str | None]] = {}
    if isinstance(root, MappingNode):
        top = {key: (key_node, value) for key, key_node, value in reader.mapping(root, "the file")}
        for key, (key_node, _) in top.items():
            if key not in ("rules", "categories", "version"):
                raise reader.error(key_node, f"unknown top-level key {key!r} "
                                             "(expected rules, categories, version)")
        rules_node = top["rules"][1] if "rules" in top else None
        if "categories" in top:
            categories = reader.categories(top["categories"][1])
    seen: set[str] = set()
    rules = [reader.rule(node, i, seen)
             for i, node in enumerate(reader.sequence(rules_node, "rules"))] if rules_node else []
    return rules, categories
