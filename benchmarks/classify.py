"""Classification throughput: ``classify_batch`` with every model loaded (guard, language,
rules, spam and intent models, the policy in ``classify.py``), each model alone, and the
cues (``processor/cues.py``) alone.

The mails are the dev test set (tests/data/intent_testset.jsonl: requests,
cancellations and other mail, es and en, plain and HTML, with quoted threads and
signatures), repeated to N and given distinct ids, in batches as the processor sees them:
an HTML-only mail with the text the collector writes for it (``TEXT_FROM_HTML``), which the
set's lines do not carry.

Each figure is printed twice: mails per second of wall-clock time, and mails per second
of this process's CPU time (``time.process_time``), which is what one core can do even
when other work shares the machine.

Usage: python benchmarks/classify.py [--n 6000] [--batch 500] [--model FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from mailroom.collector.html_text import text_or_html
from mailroom.events import TEXT_FROM_HTML, RawEmail
from mailroom.processor.classify import ClassifyParams, Models, classify_batch
from mailroom.processor.cues import veto_cue
from mailroom.processor.evaluation import read_mail_set
from mailroom.processor.rules import load_rules
from mailroom.processor.text import model_text
from mailroom.processor.training import TEST_SET, load_intent_model, load_spam_model


def collected(email: RawEmail) -> RawEmail:
    """``email`` as the collector hands it on (``collector/parse.py``): an HTML-only mail's
    ``text`` is its HTML's text, flagged."""
    text, from_html = text_or_html(email.text, email.html)
    if not from_html:
        return email
    return email.model_copy(update={"text": text, "flags": [*email.flags, TEXT_FROM_HTML]})


def mails(n: int) -> list[RawEmail]:
    base = [collected(m.email) for m in read_mail_set(TEST_SET)]
    return [base[i % len(base)].model_copy(update={"mail_id": f"m{i}"}) for i in range(n)]


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def rate(n: int, started: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return n / (wall - started[0]), n / (cpu - started[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=500, help="mails per classify_batch call")
    parser.add_argument("--model", type=Path, help="an intent model file (default: the shipped "
                                                   "one), to compare two in one run")
    args = parser.parse_args()
    rules = load_rules(None)
    intent = load_intent_model(args.model)
    spam = load_spam_model(None)
    params = ClassifyParams()
    sample = mails(args.n)
    classify_batch(sample[:50], rules, Models(intent, spam), params)  # warm caches and imports
    results = {}
    started = clock()
    for i in range(0, len(sample), args.batch):
        classify_batch(sample[i : i + args.batch], rules, Models(intent, spam), params)
    results["classify_batch, every model loaded"] = rate(len(sample), started)
    for name, model in (("intent", intent), ("spam", spam)):
        if model is None:
            continue
        started = clock()
        texts = model.texts_for(sample)
        results[f"{name} model: its text of each mail"] = rate(len(texts), started)
        started = clock()
        for i in range(0, len(texts), args.batch):
            model.predict(texts[i : i + args.batch])
        results[f"{name} model predict() alone"] = rate(len(texts), started)
    texts = [model_text(e) for e in sample]
    started = clock()
    for text in texts:
        veto_cue(text)
    results["cues (veto_cue) alone, on every mail"] = rate(len(texts), started)
    print(f"{len(sample)} mails, batches of {args.batch}; mails/s of wall time, of CPU time")
    for name, (wall, cpu) in results.items():
        print(f"{name:<42} {wall:>10,.0f} {cpu:>10,.0f}")


if __name__ == "__main__":
    main()
