"""The text views the rules and models read: ``fold`` must match its definition exactly."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.processor.text import fold


def fold_by_definition(text: str) -> str:
    """NFKD, every combining mark dropped, casefolded: what the shipped models were trained on."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@pytest.mark.parametrize(("text", "expected"), [
    ("Suscripción", "suscripcion"), ("SUSCRIPCION", "suscripcion"), ("Straße", "strasse"),
    ("ＡＢＣ", "abc"), ("Ελληνικά", "ελληνικα"), ("", ""), ("plain ascii", "plain ascii"),
])
def test_fold_examples(text: str, expected: str) -> None:
    assert fold(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200))
def test_fold_matches_its_definition(text: str) -> None:
    assert fold(text) == fold_by_definition(text)
