"""Reply templates: ``<name>.<language>.html`` and ``.txt`` per category and language.

The packaged templates live in ``mailroom/templates``; a folder named by
``MAILROOM_TEMPLATES`` is searched first, so a user file with the same name wins.
HTML is rendered with autoescape, text without; both with ``StrictUndefined`` so a typo in
a template fails loudly instead of sending a reply with a hole in it, and both in Jinja2's
``SandboxedEnvironment``: a template (a user's file) reaches no Python internals, and the
values it gets are plain strings (the echoed ones made safe by ``compose.echo_safe``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import MutableMapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
)
from jinja2.sandbox import SandboxedEnvironment

from mailroom.settings import LANGUAGE_CODE

PACKAGED = Path(str(files("mailroom") / "templates"))
DEFAULT_TEMPLATE = "default"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@functools.lru_cache(maxsize=256)
def language_candidates(language: str | None, default_language: str) -> tuple[str, ...]:
    """``es-ES`` -> ``es-es``, ``es``, then the default language; unsafe values are dropped.
    (A handful of languages, asked for on every reply: worked out once each, and a tuple, so
    no caller can change what the cache holds.)"""
    out: list[str] = []
    for value in (language, default_language):
        if not value:
            continue
        norm = value.strip().lower().replace("_", "-")
        for cand in (norm, norm.split("-", 1)[0]):
            if LANGUAGE_CODE.match(cand) and cand not in out:
                out.append(cand)
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _choices(name: str, language: str | None, default_language: str
             ) -> tuple[tuple[str, str], ...]:
    """The (template, language) pairs to try, in order: the category's, then ``default``."""
    names = [name] if _NAME.match(name) else []
    if DEFAULT_TEMPLATE not in names:
        names.append(DEFAULT_TEMPLATE)
    languages = language_candidates(language, default_language)
    return tuple((candidate, lang) for candidate in names for lang in languages)


class _Environment(SandboxedEnvironment):
    """A ``SandboxedEnvironment`` whose templates keep their globals in one plain dict.

    Jinja gives each template a ``ChainMap`` over the environment's globals and copies it
    into the context of every render; iterating a ``ChainMap`` costs more than rendering a
    reply's template. The environment's globals are all set in its constructor, before
    any template is loaded, and never change after, so a dict made at load time holds the
    same names and values (``test_templates`` renders against a plain environment).
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class Templates:
    """Finds and renders a reply's text and HTML parts."""

    def __init__(self, override_dir: Path | None = None, *, loader: BaseLoader | None = None) -> None:
        if loader is None:
            loaders: list[BaseLoader] = []
            if override_dir is not None:
                loaders.append(FileSystemLoader(str(override_dir)))
            loaders.append(FileSystemLoader(str(PACKAGED)))
            loader = ChoiceLoader(loaders)
        common: dict[str, Any] = {"loader": loader, "undefined": StrictUndefined,
                                  "keep_trailing_newline": True}
        self.html = _Environment(autoescape=True, **common)
        # the text part is plain text, never HTML: escaping it would show "&amp;" to readers
        self.text = _Environment(autoescape=False, **common)
        # the pairs found so far: Jinja2 is asked again only when a file of theirs changed,
        # the check its own cache makes on every lookup (without its lock and bookkeeping)
        self._found: dict[tuple[str, str], Found] = {}

    def _pair(self, name: str, language: str) -> Found | None:
        found = self._found.get((name, language))
        if found is not None and found.text.is_up_to_date and found.html.is_up_to_date:
            return found
        try:
            found = Found(name, language, self.text.get_template(f"{name}.{language}.txt"),
                          self.html.get_template(f"{name}.{language}.html"))
        except TemplateNotFound:
            return None
        self._found[(name, language)] = found
        return found

    def exists(self, name: str, language: str) -> bool:
        return self._pair(name, language) is not None

    def find(self, name: str, language: str | None, default_language: str) -> Found:
        """The templates to use, loaded: the category's, else ``default``.

        Raises ``LookupError`` when not even the default template exists.
        """
        for candidate, lang in _choices(name, language, default_language):
            if (found := self._pair(candidate, lang)) is not None:
                return found
        raise LookupError(f"no template for {name!r} in "
                          f"{list(language_candidates(language, default_language))} "
                          f"(nor {DEFAULT_TEMPLATE!r})")



@dataclass(frozen=True)
class Found:
    """A reply's two templates, as ``Templates.find`` loaded them."""

    name: str
    language: str
    text: Template
    html: Template

    def render(self, context: dict[str, Any]) -> tuple[str, str]:
        """Render (text, html)."""
        return self.text.render(context), self.html.render(context)
