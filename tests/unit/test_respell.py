"""A misspelt subscribe/suscribir word is read as the word by the intent model's n-grams."""

from __future__ import annotations

import pytest

from mailroom.processor.ngrams import NgramHasher, normalise, respelled


@pytest.mark.parametrize(("typed", "word"), [
    ("subscibe", "subscribe"), ("subcribe", "subscribe"), ("susbcribe", "subscribe"),
    ("subscirbe", "subscribe"), ("subscrive", "subscribe"), ("subscirption", "subscription"),
    ("suscrivo", "suscribo"), ("suscricion", "suscripcion"), ("suscrbirme", "suscribirme"),
    ("susbscribe", "subscribe"),
])
def test_a_misspelling_within_reach_is_read_as_the_word(typed: str, word: str) -> None:
    assert respelled(typed) == word


@pytest.mark.parametrize("word", [
    "subscribe", "suscripcion", "subscriber", "support", "subject", "suspender", "subsidio",
    "suscitar", "suspend", "superior", "sugerencia", "supresion", "suficiente", "sunday",
])
def test_other_words_and_right_spellings_stay_as_they_are(word: str) -> None:
    assert respelled(word) == word


def test_only_an_intent_hasher_respells() -> None:
    text = "Hola, quiero SUSCRIVIRME al boletín"
    assert normalise(text, respell=True) == " hola quiero suscribirme al boletin "
    assert normalise(text) == " hola quiero suscrivirme al boletin "
    respelling, plain = NgramHasher(2**10, respell=True), NgramHasher(2**10)
    right = "Hola, quiero suscribirme al boletín"
    assert (respelling.transform([text]) != respelling.transform([right])).nnz == 0
    assert (plain.transform([text]) != plain.transform([right])).nnz > 0
