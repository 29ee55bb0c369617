"""Print what the cues and the spam model's doubt do to every hand-written labelled mail.

Reads the dev set, every independent set whose README no longer says it is blind (a blind
set is read only once, by its evaluation) and scripts/intent_data/. Prints the labels, the
cue found per label (``processor.cues.veto_cue`` on each mail's ``model_text``; and on the
generated subscription lines), and, with the shipped models and the seed rules, how many
mails of each label get an automatic reply at several values of ``AUTOREPLY_MAX_SPAM`` and
how many the spam model's doubt holds.
docs/classification.md quotes these numbers; tests/unit/test_cues.py holds the cue counts
as floors over the same files.

Usage: python scripts/labelled_counts.py
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

from mailroom.processor.evaluation import LabelledMail, acknowledged_as, read_mail_set

ROOT = Path(__file__).resolve().parents[1]
DOUBTS = (1.0, 0.5, 0.4, 0.3)


def labelled_files(root: Path = ROOT) -> list[Path]:
    """The dev set, every independent set that is not blind, scripts/intent_data/ (a set
    still being written, with no README yet, is blind)."""
    sets = [path for path in sorted((root / "tests" / "data").glob("independent*/intent_testset.jsonl"))
            if (readme := path.parent / "README.md").is_file()
            and "not yet evaluated; blind" not in readme.read_text(encoding="utf-8")]
    return [root / "tests" / "data" / "intent_testset.jsonl", *sets,
            *sorted((root / "scripts" / "intent_data").glob("*.jsonl"))]


def main() -> int:
    from mailroom.processor.classify import ClassifyParams, Models, classify_batch
    from mailroom.processor.cues import veto_cue
    from mailroom.processor.rules import load_rules
    from mailroom.processor.text import model_text
    from mailroom.processor.training import (
        STARTER_DATA,
        load_intent_model,
        load_spam_model,
        read_dataset,
    )
    from mailroom.settings import Settings

    files = labelled_files()
    mails: list[LabelledMail] = [m for path in files for m in read_mail_set(path)]
    sets = sum(1 for path in files if path.parent.name.startswith("independent"))
    print(f"{len(mails)} mails from {len(files)} files ({sets} independent sets): "
          f"{dict(Counter(m.label for m in mails))}")
    cued = Counter((m.label, cue[0]) for m in mails if (cue := veto_cue(model_text(m.email))))
    print("cue found, by (label, kind):", dict(sorted(cued.items())))
    generated = read_dataset(STARTER_DATA)
    requests = [t for t, label in zip(generated.texts, generated.labels, strict=True)
                if label == "subscription"]
    print(f"generated subscription lines with a cue: {sum(1 for t in requests if veto_cue(t))} "
          f"of {len(requests)}")

    settings = Settings()
    models = Models(load_intent_model(None), load_spam_model(settings.mailroom_spam_model))
    rules, base = load_rules(settings.mailroom_rules), ClassifyParams.from_settings(settings)
    emails = [m.email for m in mails]
    for doubt in DOUBTS:
        decisions = classify_batch(emails, rules, models, dataclasses.replace(base, max_spam=doubt))
        answered = Counter(m.label for m, d in zip(mails, decisions, strict=True)
                           if acknowledged_as(d) == "subscription")
        held = Counter(m.label for m, d in zip(mails, decisions, strict=True)
                       if "spam model is in doubt" in d.reasons[-1])
        print(f"AUTOREPLY_MAX_SPAM {doubt}: answered {dict(answered)}, held in doubt {dict(held)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
