"""The checks and counts of a hand-written intent set (tests/data/independent4/ to 7/).

Each set's ``counts.py`` calls ``main`` with its file and id prefix. Until 2026-12-02 each
set carried its own copy of these lines (set 4's, with only the file name and the prefix
changed); they are kept once here. Reads the file only; it never writes or changes mail text.
"""
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

KEYS = ["id", "language", "label", "slices", "subject", "body", "html"]
LABELS = {"subscription": "s", "unsubscription": "u", "other": "o"}
SLICES = ["phrased", "keyword", "body_only", "subject_only", "html_only",
          "quoted_thread", "signature", "typos", "no_accents", "formal",
          "informal", "terse", "rambling", "mixed_language"]
TARGET = {"subscription": 110, "unsubscription": 45, "other": 85}
# stems of subscribe / suscribir / subscription / suscripcion, with the
# misspellings used in the set (subcribe, subscrbe, subscibe, susbcribe)
STEM = re.compile(r"su(b)?s?cri|subscr|subsci|susbc")
# words that name the thing without asking to join or leave
NAMES = re.compile(r"su(b)?s?cri|subscr|subsci|susbc|newsletter|newsleter|boletin|mailing list|mailing-list"
                   r"|lista de correo|lista de envio|lista de distribucion")


def fold(text):
    text = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in text if not unicodedata.combining(c))


def main(default: Path, prefix: str) -> int:
    """Check ``default`` (or the path given on the command line), ids ``<prefix>-...``."""
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    partial = "--partial" in sys.argv
    path = Path(args[0]) if args else default
    errors = []
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {n}: invalid JSON: {exc}")
            continue
        if list(row) != KEYS:
            errors.append(f"line {n}: keys {list(row)}")
            continue
        rows.append(row)
    ids = Counter(r["id"] for r in rows)
    errors += [f"duplicate id {i}" for i, c in ids.items() if c > 1]
    for r in rows:
        rid, lang, label, slices = r["id"], r["language"], r["label"], r["slices"]
        text = fold(" ".join([r["subject"], r["body"], r["html"]]))
        m = re.fullmatch(rf"{prefix}-(es|en)-([suo])(\d{{3}})", rid)
        if not m or m.group(1) != lang or LABELS.get(label) != m.group(2):
            errors.append(f"{rid}: id does not match language/label")
        if not isinstance(slices, list) or len(set(slices)) != len(slices):
            errors.append(f"{rid}: slices not a list without duplicates")
        bad = [s for s in slices if s not in SLICES]
        if bad:
            errors.append(f"{rid}: unknown slices {bad}")
        has_stem = bool(STEM.search(text))
        if label != "other":
            if ("phrased" in slices) == ("keyword" in slices):
                errors.append(f"{rid}: needs exactly one of phrased/keyword")
        elif "phrased" in slices:
            errors.append(f"{rid}: phrased on an other mail")
        if "phrased" in slices and has_stem:
            errors.append(f"{rid}: phrased but contains a stem")
        if ("keyword" in slices) != has_stem:
            errors.append(f"{rid}: keyword slice {'keyword' in slices} but stem {has_stem}")
        if "html_only" in slices and (r["body"] or not r["html"]):
            errors.append(f"{rid}: html_only needs empty body and html")
        if r["html"] and "html_only" not in slices:
            errors.append(f"{rid}: html without html_only")
        if "subject_only" in slices and (r["body"] or r["html"] or not r["subject"]):
            errors.append(f"{rid}: subject_only needs a subject and no body")
        if "body_only" in slices and not r["body"]:
            errors.append(f"{rid}: body_only with empty body")
        if "body_only" in slices and label != "other" and STEM.search(fold(r["subject"])):
            errors.append(f"{rid}: body_only but the subject has a stem")
        text = " ".join([r["subject"], r["body"], r["html"]]).lower()
        if "no_accents" in slices and re.search("[áéíóú]", text):
            errors.append(f"{rid}: no_accents but has accents")
        if not (r["body"] or r["html"] or r["subject"]):
            errors.append(f"{rid}: empty mail")
    for e in errors:
        print("ERROR", e)

    by = Counter((r["language"], r["label"]) for r in rows)
    langs = ["es", "en"]
    print(f"\n{len(rows)} mails\n")
    print("| label | es | en | total |")
    print("|---|---|---|---|")
    for label in TARGET:
        es, en = by[("es", label)], by[("en", label)]
        print(f"| {label} | {es} | {en} | {es + en} |")
    es_all, en_all = (sum(by[(lang, lab)] for lab in TARGET) for lang in ("es", "en"))
    print(f"| total | {es_all} | {en_all} | {len(rows)} |")

    print("\n| slice | " + " | ".join(f"{lg} {lb[:5]}" for lg in langs for lb in TARGET) + " | total |")
    print("|---|" + "---|" * (len(langs) * len(TARGET) + 1))
    for s in SLICES:
        cells = [sum(1 for r in rows if r["language"] == lg and r["label"] == lb and s in r["slices"])
                 for lg in langs for lb in TARGET]
        print(f"| {s} | " + " | ".join(map(str, cells)) + f" | {sum(cells)} |")

    print("\nchecks per language:")
    for lg in langs:
        sub = [r for r in rows if r["language"] == lg and r["label"] == "subscription"]
        oth = [r for r in rows if r["language"] == lg and r["label"] == "other"]
        named = sum(1 for r in oth if NAMES.search(fold(" ".join([r["subject"], r["body"], r["html"]]))))
        print(f"  {lg}: subscription phrased {sum('phrased' in r['slices'] for r in sub)}/{len(sub)}, "
              f"body_only {sum('body_only' in r['slices'] for r in sub)}, "
              f"subject_only {sum('subject_only' in r['slices'] for r in sub)}; "
              f"other naming subscription/newsletter/list {named}/{len(oth)}")
        if not partial:
            if named * 2 < len(oth):
                errors.append(f"{lg}: fewer than half of other mails name the newsletter")
            if sum('body_only' in r['slices'] for r in sub) < 60:
                errors.append(f"{lg}: fewer than 60 body_only subscription mails")
    if not partial:
        for lg in langs:
            for label, n in TARGET.items():
                if by[(lg, label)] != n:
                    errors.append(f"{lg}/{label}: {by[(lg, label)]} != {n}")
        if len(rows) != 480:
            errors.append(f"{len(rows)} rows != 480")
    print("\nOK" if not errors else f"\n{len(errors)} problem(s)")
    return 1 if errors else 0
