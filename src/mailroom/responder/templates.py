"""Reply templates: ``<name>.<language>.html`` and ``.txt`` per category and language.

The packaged templates live in ``mailroom/templates``; a folder named by
``MAILROOM_TEMPLATES`` is searched first, so a user file with the same name wins.
HTML is rendered with autoescape, text without; both with ``StrictUndefined`` so a typo in
a template fails loudly instead of sending a reply with a hole in it, and both in Jinja2's
``SandboxedEnvironment``: a template (a user's file) reaches no Python internals, and the
values it gets are plain strings (the echoed ones made safe by ``compose.echo_safe``).
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from mailroom.settings import LANGUAGE_CODE

PACKAGED = Path(str(files("mailroom") / "templates"))
DEFAULT_TEMPLATE = "default"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def language_candidates(language: str | None, default_language: str) -> list[str]:
    """``es-ES`` -> ``es-es``, ``es``, then the default language; unsafe values are dropped."""
    out: list[str] = []
    for value in (language, default_language):
        if not value:
            continue
        norm = value.strip().lower().replace("_", "-")
        for cand in (norm, norm.split("-", 1)[0]):
            if LANGUAGE_CODE.match(cand) and cand not in out:
                out.append(cand)
    return out


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
        self.html = SandboxedEnvironment(autoescape=True, **common)
        # the text part is plain text, never HTML: escaping it would show "&amp;" to readers
        self.text = SandboxedEnvironment(autoescape=False, **common)

    def exists(self, name: str, language: str) -> bool:
        try:
            self.text.get_template(f"{name}.{language}.txt")
            self.html.get_template(f"{name}.{language}.html")
        except TemplateNotFound:
            return False
        return True

    def resolve(self, name: str, language: str | None, default_language: str) -> tuple[str, str]:
        """The (template, language) pair to use: the category's, else ``default``.

        Raises ``LookupError`` when not even the default template exists.
        """
        names = [name] if _NAME.match(name) else []
        if DEFAULT_TEMPLATE not in names:
            names.append(DEFAULT_TEMPLATE)
        languages = language_candidates(language, default_language)
        for candidate in names:
            for lang in languages:
                if self.exists(candidate, lang):
                    return candidate, lang
        raise LookupError(f"no template for {name!r} in {languages} (nor {DEFAULT_TEMPLATE!r})")

    def render(self, name: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
        """Render (text, html)."""
        text = self.text.get_template(f"{name}.{language}.txt").render(context)
        html = self.html.get_template(f"{name}.{language}.html").render(context)
        return text, html
