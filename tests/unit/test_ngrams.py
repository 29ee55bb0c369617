"""The numpy n-gram hasher: counts what its docstring says, independent of batch and process."""

from __future__ import annotations

import pytest

from mailroom.processor import ngrams
from mailroom.processor.ngrams import NgramHasher, normalise

GOLDEN = [198, 1329, 1585, 5627, 8760, 10495, 14482, 20548, 20908, 31557, 31621, 31883, 33275,
          33385, 35898, 38308, 43064, 45326, 48540, 52323, 53230, 54596, 60889, 66735, 75560,
          77284, 79091, 82300, 85222, 86371, 92322, 94359, 97221, 98727, 98982, 106016, 115553,
          118896, 121328, 124045, 128611]


def expected_count(text: str) -> int:
    """Character 3-5-grams of the normalised text plus its words and word pairs."""
    s = normalise(text)
    words = s.split()
    return sum(max(0, len(s) - n + 1) for n in (3, 4, 5)) + len(words) + max(0, len(words) - 1)


@pytest.mark.parametrize("text", ["Quiero suscribirme al boletín, ¡gracias!", "", "a", "ab cd",
                                  "Sign me up.\n-- \nJohn", "hola hola hola", "ÁÉÍ óú ñ 42"])
def test_counts_every_char_and_word_ngram_of_the_normalised_text(text: str) -> None:
    row = NgramHasher(n_features=2**20).transform([text])
    assert row.sum() == expected_count(text)


def test_normalise_folds_accents_case_and_punctuation_to_single_spaces() -> None:
    assert normalise("¡SUSCRIPCIÓN,  ya!\n") == " suscripcion ya "


def test_a_text_gets_the_same_row_alone_or_between_others() -> None:
    hasher = NgramHasher()
    alone = hasher.transform(["sign me up please"])
    batch = hasher.transform(["xx yy", "sign me up please", "", "zz"])
    assert (alone[0] != batch[1]).nnz == 0
    assert batch[2].nnz == 0


def test_same_text_same_columns_and_repeats_are_counted() -> None:
    row = NgramHasher(n_features=2**20, char_ngrams=(), word_ngrams=(1,)).transform(["baja baja alta"])
    assert sorted(row.data.tolist()) == [1.0, 2.0]


def test_columns_are_pinned() -> None:
    """Shipped model files hold weights by column: the hashing scheme must never drift
    (it uses no Python ``hash``, so no PYTHONHASHSEED or platform can move a column)."""
    columns = NgramHasher().transform(["darme de baja"]).indices.tolist()
    assert columns == GOLDEN


@pytest.mark.parametrize("n_features", [2**30, 1000, 2**17])
def test_wide_and_odd_widths_count_the_same_ngrams_as_one_text_alone(n_features: int) -> None:
    """Keys go to 64 bits when (rows + 1) x width passes 2**31 (2**30: four rows), and a
    width that is no power of two takes the remainder, not the mask."""
    hasher = NgramHasher(n_features=n_features)
    texts = ["darme de baja", "Sign me up, please", "", "hola hola"]
    batch = hasher.transform(texts)
    for i, text in enumerate(texts):
        alone = hasher.transform([text])
        assert (alone[0] != batch[i]).nnz == 0
        assert batch[i].sum() == expected_count(text)
    assert batch.indices.max() < n_features


def test_a_long_list_is_hashed_in_chunks_to_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """A training run hashes hundreds of thousands of texts: a chunk at a time, the same matrix."""
    texts = [f"texto {i} de prueba, quiero suscribirme {i % 7}" for i in range(50)] + ["", "a"]
    whole = NgramHasher().transform(texts)
    monkeypatch.setattr(ngrams, "_CHUNK", 8)
    chunked = NgramHasher().transform(texts)
    assert chunked.shape == whole.shape and (chunked != whole).nnz == 0
    assert chunked.has_sorted_indices
