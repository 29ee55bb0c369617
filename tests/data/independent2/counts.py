"""Validate and count tests/data/independent2/intent_testset.jsonl.

Only reads the file and prints. It produces no mails.
Run: python tests/data/independent2/counts.py
"""
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

PATH = Path(__file__).with_name("intent_testset.jsonl")
KEYS = {"id", "language", "label", "slices", "subject", "body", "html"}
LANGS = ("es", "en")
LABELS = ("subscription", "unsubscription", "other")
SLICES = ("keyword", "phrased", "subject_only", "body_only", "html_only",
          "quoted_thread", "signature", "typos", "formal", "informal",
          "mixed_language")
KEYWORD_RE = re.compile(r"susc?ri|subs?cri")


def fold(text):
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def main():
    errors, warnings = [], []
    rows, ids = [], set()
    for n, line in enumerate(PATH.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"line {n}: blank line")
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {n}: bad JSON: {exc}")
            continue
        if set(row) != KEYS:
            errors.append(f"line {n}: keys {sorted(row)}")
            continue
        rid = row["id"]
        if rid in ids:
            errors.append(f"line {n}: duplicate id {rid}")
        ids.add(rid)
        if row["language"] not in LANGS:
            errors.append(f"{rid}: language {row['language']!r}")
        if row["label"] not in LABELS:
            errors.append(f"{rid}: label {row['label']!r}")
        if not all(isinstance(row[k], str) for k in ("subject", "body", "html")):
            errors.append(f"{rid}: subject/body/html must be strings")
            continue
        if not isinstance(row["slices"], list) or any(s not in SLICES for s in row["slices"]):
            errors.append(f"{rid}: slices {row['slices']!r}")
        if len(set(row["slices"])) != len(row["slices"]):
            errors.append(f"{rid}: repeated slice")
        prefix = f"m-{row['language']}-{row['label'][0] if row['label'] != 'unsubscription' else 'u'}"
        if not rid.startswith(prefix):
            warnings.append(f"{rid}: id does not match language/label ({prefix}...)")
        # consistency checks between text and slices (warnings only)
        text = fold(" ".join((row["subject"], row["body"], row["html"])))
        has_kw = bool(KEYWORD_RE.search(text))
        sl = set(row["slices"])
        if has_kw != ("keyword" in sl):
            warnings.append(f"{rid}: keyword in text={has_kw} but slice={'keyword' in sl}")
        if ("html_only" in sl) != bool(row["html"]):
            warnings.append(f"{rid}: html_only slice vs html field mismatch")
        if row["html"] and row["body"]:
            errors.append(f"{rid}: html mail must have empty body")
        if not row["html"] and not row["body"] and "subject_only" not in sl:
            warnings.append(f"{rid}: empty body without subject_only")
        if "phrased" in sl and has_kw:
            warnings.append(f"{rid}: phrased but keyword present")
        if "phrased" in sl and row["label"] == "other":
            warnings.append(f"{rid}: phrased on an 'other' mail")
        if "quoted_thread" in sl and not re.search(r"^>|escribi|wrote:", row["body"] + row["html"], re.M):
            warnings.append(f"{rid}: quoted_thread without a quote marker")
        rows.append(row)

    for msg in errors + warnings:
        print(("ERROR " if msg in errors else "warn  ") + msg)

    print(f"\n{len(rows)} mails, {len(errors)} errors, {len(warnings)} warnings\n")
    by = Counter((r["language"], r["label"]) for r in rows)
    print("language x label")
    print(f"{'':6}" + "".join(f"{label:>16}" for label in LABELS) + f"{'total':>8}")
    for lang in LANGS:
        cells = [by[(lang, label)] for label in LABELS]
        print(f"{lang:6}" + "".join(f"{c:>16}" for c in cells) + f"{sum(cells):>8}")

    print("\nslice counts (language / label)")
    head = ["es/sub", "es/unsub", "es/other", "es", "en/sub", "en/unsub", "en/other", "en", "all"]
    print(f"{'slice':16}" + "".join(f"{h:>10}" for h in head))
    for s in SLICES:
        cells = []
        for lang in LANGS:
            per = [sum(1 for r in rows
                       if r["language"] == lang and r["label"] == label and s in r["slices"])
                   for label in LABELS]
            cells += [*per, sum(per)]
        cells.append(sum(1 for r in rows if s in r["slices"]))
        print(f"{s:16}" + "".join(f"{c:>10}" for c in cells))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
