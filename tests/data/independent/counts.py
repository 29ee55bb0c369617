"""Print the counts table of intent_testset.jsonl as Markdown (the README's tables come from here).

Run: python tests/data/independent/counts.py
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

PATH = Path(__file__).with_name("intent_testset.jsonl")
LABELS = ("subscription", "unsubscription", "other")
LANGUAGES = ("es", "en")


def main() -> None:
    mails = [json.loads(line) for line in PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
    cells = Counter((m["label"], m["language"]) for m in mails)
    slices = Counter((s, m["label"], m["language"]) for m in mails for s in m["slices"])
    columns = [f"{label} {language}" for label in LABELS for language in LANGUAGES]
    print(f"{len(mails)} mails\n")
    print("| label | es | en | total |\n|---|---:|---:|---:|")
    for label in LABELS:
        es, en = cells[(label, "es")], cells[(label, "en")]
        print(f"| {label} | {es} | {en} | {es + en} |")
    total_es = sum(cells[(label, "es")] for label in LABELS)
    total_en = sum(cells[(label, "en")] for label in LABELS)
    print(f"| all | {total_es} | {total_en} | {total_es + total_en} |\n")
    print("| slice | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name in sorted({s for s, _, _ in slices}):
        row = [str(slices[(name, label, language)]) for label in LABELS for language in LANGUAGES]
        print(f"| {name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
