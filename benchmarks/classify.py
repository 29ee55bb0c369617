"""Classification throughput: classify() per mail (guard, rules, spam + intent models), and
the intent model alone on a batch.

Usage: python benchmarks/classify.py [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import time

from mailroom.events import RawEmail
from mailroom.processor.classify import ClassifyParams, Models, classify_batch
from mailroom.processor.rules import load_rules
from mailroom.processor.training import STARTER_DATA, load_intent_model, load_spam_model


def mails(n: int) -> list[RawEmail]:
    rows = [json.loads(line) for line in STARTER_DATA.read_text(encoding="utf-8").splitlines()]
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        subject, _, body = row["text"].partition("\n")
        out.append(RawEmail(mail_id=f"m{i}", account="a", folder="INBOX", subject=subject, text=body,
                            from_addr=f"user{i}@example.org", language=row["language"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=500, help="mails per classify_batch call")
    args = parser.parse_args()
    rules = load_rules(None)
    intent = load_intent_model(None)
    spam = load_spam_model(None)
    params = ClassifyParams()
    sample = mails(args.n)
    texts = [f"{m.subject}\n{m.text}" for m in sample]
    results = {}
    for name, models in (("intent only", Models(intent)), ("intent + spam", Models(intent, spam))):
        started = time.perf_counter()
        for i in range(0, len(sample), args.batch):
            classify_batch(sample[i : i + args.batch], rules, models, params)
        results[f"classify_batch ({name})"] = len(sample) / (time.perf_counter() - started)
    started = time.perf_counter()
    intent.predict(texts)
    results["intent model predict() alone"] = len(texts) / (time.perf_counter() - started)
    for name, rate in results.items():
        print(f"{name:<40} {rate:>10,.0f} mails/s")


if __name__ == "__main__":
    main()
