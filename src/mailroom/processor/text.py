"""Text views of a mail shared by the rules, the guard and the models (pure)."""

from __future__ import annotations

import html
import re
import unicodedata

from mailroom.events import RawEmail

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SPACE = re.compile(r"\s+")
# the models see at most this much body: the opening of a mail carries its intent, and a
# bound keeps a huge mail from costing more than a small one
MODEL_TEXT_CHARS = 4000


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, combining marks dropped, casefolded.

    "Suscripción", "SUSCRIPCION" and "suscripcion" all fold to "suscripcion".
    """
    if text.isascii():  # NFKD leaves ASCII as it is and there is nothing to drop
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    # the few distinct marks in a text, each looked up once and dropped at C speed
    for mark in [c for c in set(decomposed) if unicodedata.combining(c)]:
        decomposed = decomposed.replace(mark, "")
    return decomposed.casefold()


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body, roughly: tags dropped, entities decoded."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup))).strip()


def body_text(email: RawEmail) -> str:
    """The plain-text body, or the HTML body's text when there is no plain part."""
    if email.text.strip():
        return email.text
    return html_to_text(email.html) if email.html else ""


def model_text(email: RawEmail) -> str:
    """What the classifiers read: the subject, then the start of the body."""
    return f"{email.subject}\n{body_text(email)[:MODEL_TEXT_CHARS]}"
