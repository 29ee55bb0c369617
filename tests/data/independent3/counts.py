"""Validate and count the hand-written independent intent test set (helper R).

Reads intent_testset.jsonl next to this file (or the path given as the first
argument), checks every line, and prints counts per language x label x slice.
It only reads and prints; it never writes or produces mails.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

KEYS = ["id", "language", "label", "slices", "subject", "body", "html"]
LANGUAGES = ("es", "en")
LABELS = ("subscription", "unsubscription", "other")
SLICES = (
    "keyword",
    "phrased",
    "subject_only",
    "body_only",
    "html_only",
    "quoted_thread",
    "signature",
    "typos",
    "formal",
    "informal",
    "mixed_language",
)
KEYWORD_RE = re.compile(r"suscri|subscri", re.IGNORECASE)  # suscribir, suscrito, subscribe, ...


def fold(text: str) -> str:
    """Drop accents so that «suscríbeme» counts as a form of suscribir."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def check(path: Path) -> tuple[list[dict], list[str]]:
    mails: list[dict] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            problems.append(f"line {number}: empty line")
            continue
        try:
            mail = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not JSON ({exc})")
            continue
        if list(mail) != KEYS:
            problems.append(f"line {number}: keys {list(mail)}")
            continue
        ident = mail["id"]
        if ident in seen:
            problems.append(f"line {number}: duplicate id {ident}")
        seen.add(ident)
        if not ident.startswith(f"r-{mail['language']}-"):
            problems.append(f"{ident}: id does not start with r-<language>-")
        if mail["language"] not in LANGUAGES:
            problems.append(f"{ident}: language {mail['language']!r}")
        if mail["label"] not in LABELS:
            problems.append(f"{ident}: label {mail['label']!r}")
        unknown = [name for name in mail["slices"] if name not in SLICES]
        if unknown:
            problems.append(f"{ident}: unknown slices {unknown}")
        if len(set(mail["slices"])) != len(mail["slices"]):
            problems.append(f"{ident}: repeated slice")
        text = " ".join((mail["subject"], mail["body"], mail["html"]))
        has_keyword = bool(KEYWORD_RE.search(fold(text)))
        if has_keyword != ("keyword" in mail["slices"]):
            problems.append(f"{ident}: keyword slice {'missing' if has_keyword else 'wrong'}")
        if has_keyword and "phrased" in mail["slices"]:
            problems.append(f"{ident}: phrased but has a keyword")
        is_request = mail["label"] != "other"
        if is_request and ("keyword" in mail["slices"]) == ("phrased" in mail["slices"]):
            problems.append(f"{ident}: a request needs exactly one of keyword / phrased")
        if not is_request and {"phrased", "subject_only"} & set(mail["slices"]):
            problems.append(f"{ident}: phrased / subject_only describe requests, not other mails")
        is_html = bool(mail["html"])
        if is_html != ("html_only" in mail["slices"]):
            problems.append(f"{ident}: html_only slice does not match the html field")
        if is_html and mail["body"]:
            problems.append(f"{ident}: html mail with a non-empty body")
        if not is_html and not mail["body"] and "subject_only" not in mail["slices"]:
            problems.append(f"{ident}: empty mail that is not subject_only")
        mails.append(mail)
    return mails, problems


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("intent_testset.jsonl")
    mails, problems = check(path)
    for problem in problems:
        print("PROBLEM", problem)
    print(f"{len(mails)} mails, {len(problems)} problems\n")

    by_label = Counter((mail["language"], mail["label"]) for mail in mails)
    by_slice = Counter((mail["language"], mail["label"], name) for mail in mails for name in mail["slices"])
    header = f"{'slice':<16}" + "".join(
        f"{lang + ' ' + label[:5]:>11}" for lang in LANGUAGES for label in LABELS
    )
    header += "".join(f"{lang + ' all':>9}" for lang in LANGUAGES) + f"{'total':>8}"
    print(header)
    for name in ("(all mails)", *SLICES):
        cells = []
        lang_totals = []
        for lang in LANGUAGES:
            total = 0
            for label in LABELS:
                count = by_label[(lang, label)] if name == "(all mails)" else by_slice[(lang, label, name)]
                cells.append(f"{count:>11}")
                total += count
            lang_totals.append(total)
        line = f"{name:<16}" + "".join(cells) + "".join(f"{total:>9}" for total in lang_totals)
        print(line + f"{sum(lang_totals):>8}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
