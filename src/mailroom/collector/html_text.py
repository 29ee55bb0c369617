"""HTML to readable plain text with the standard library's ``html.parser``.

Used when a mail has an HTML body and no text part: the classifier and the reviewer need
words, not markup. Scripts, styles and the head are dropped; block elements become line
breaks; entities are decoded by the parser itself.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
BLOCK = frozenset({
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
    "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd", "dt",
})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIP:
            self.skipping += 1
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The visible text of an HTML document, one paragraph per line."""
    collector = _TextCollector()
    try:
        collector.feed(html)
        collector.close()
    except Exception:  # html.parser is lenient, but never let markup stop a mail
        return _SPACES.sub(" ", re.sub(r"<[^>]*>", " ", html)).strip()
    text = "".join(collector.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def text_or_html(text: str, html: str) -> tuple[str, bool]:
    """A mail's text for the models and the reviewer: its text parts, or, when it has none and
    an HTML part, that part's visible text (then True: the mail is flagged ``TEXT_FROM_HTML``)."""
    if text.strip() or not html:
        return text, False
    return html_to_text(html), True
