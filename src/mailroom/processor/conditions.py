"""Rule conditions: small matchers over a mail, each able to say why it matched (pure).

Keywords are compared on folded text (see ``text.fold``), so a rule written with or
without accents, in any case, matches both spellings. Regular expressions run on the
original text, case-insensitively unless the pattern says ``(?-i:...)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from mailroom.events import RawEmail
from mailroom.processor.text import body_text, fold

TEXT_FIELDS = ("subject", "body", "from", "to")


class MailView:
    """The parts of a mail a rule can look at, folded once and cached."""

    def __init__(self, email: RawEmail) -> None:
        self.email = email
        self._folded: dict[str, str] = {}

    @cached_property
    def fields(self) -> dict[str, str]:
        e = self.email
        sender = f"{e.from_name} <{e.from_addr}>" if e.from_name else e.from_addr
        return {
            "subject": e.subject,
            "body": body_text(e),
            "from": sender,
            "to": ", ".join([*e.to, *e.cc]),
        }

    def text(self, field: str) -> str:
        if field in self.fields:
            return self.fields[field]
        return "\n".join(self.email.headers.get(field.removeprefix("header:"), []))

    def folded(self, field: str) -> str:
        if field not in self._folded:
            self._folded[field] = fold(self.text(field))
        return self._folded[field]

    def has_header(self, name: str) -> bool:
        return name in self.email.headers


class Condition(Protocol):
    def test(self, view: MailView) -> tuple[bool, str]:
        """Whether the mail matches, and a short reason either way."""
        ...


def _label(field: str) -> str:
    return f"header {field.removeprefix('header:')}" if field.startswith("header:") else field


@dataclass(frozen=True)
class Contains:
    """The field contains at least one of the keywords."""

    field: str
    keywords: tuple[str, ...]  # already folded

    def test(self, view: MailView) -> tuple[bool, str]:
        haystack = view.folded(self.field)
        for keyword in self.keywords:
            if keyword in haystack:
                return True, f"{_label(self.field)} contains {keyword!r}"
        listed = ", ".join(repr(k) for k in self.keywords)
        return False, f"{_label(self.field)} contains none of {listed}"


@dataclass(frozen=True)
class Matches:
    """A regular expression finds a match in the field."""

    field: str
    pattern: re.Pattern[str]

    def test(self, view: MailView) -> tuple[bool, str]:
        found = self.pattern.search(view.text(self.field))
        if found:
            return True, f"{_label(self.field)} matches /{self.pattern.pattern}/ at {found.group(0)!r}"
        return False, f"{_label(self.field)} does not match /{self.pattern.pattern}/"


@dataclass(frozen=True)
class HeaderPresent:
    name: str  # lower-case
    present: bool = True

    def test(self, view: MailView) -> tuple[bool, str]:
        found = view.has_header(self.name)
        state = "present" if found else "absent"
        return found == self.present, f"header {self.name} is {state}"


@dataclass(frozen=True)
class LanguageIs:
    languages: frozenset[str]
    fallback: str | None = None  # the language used when the mail has none

    def test(self, view: MailView) -> tuple[bool, str]:
        lang = (view.email.language or self.fallback or "").lower()
        ok = lang in self.languages
        wanted = ", ".join(sorted(self.languages))
        return ok, f"language is {lang or 'unknown'}" + ("" if ok else f", not one of {wanted}")


@dataclass(frozen=True)
class HasAttachment:
    wanted: bool

    def test(self, view: MailView) -> tuple[bool, str]:
        has = bool(view.email.attachments)
        return has == self.wanted, "has an attachment" if has else "has no attachment"


@dataclass(frozen=True)
class AllOf:
    children: tuple[Condition, ...]

    def test(self, view: MailView) -> tuple[bool, str]:
        reasons = []
        for child in self.children:
            ok, reason = child.test(view)
            if not ok:
                return False, reason
            reasons.append(reason)
        return True, " and ".join(reasons)


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Condition, ...]

    def test(self, view: MailView) -> tuple[bool, str]:
        reasons = []
        for child in self.children:
            ok, reason = child.test(view)
            if ok:
                return True, reason
            reasons.append(reason)
        return False, "none of: " + "; ".join(reasons)


@dataclass(frozen=True)
class Not:
    child: Condition

    def test(self, view: MailView) -> tuple[bool, str]:
        ok, reason = self.child.test(view)
        return not ok, f"not ({reason})"


@dataclass(frozen=True)
class Always:
    def test(self, view: MailView) -> tuple[bool, str]:
        return True, "no conditions (matches every mail)"
