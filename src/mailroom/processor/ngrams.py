"""Hashed character and word n-gram counts for a batch of texts, computed with numpy (pure).

scikit-learn's ``HashingVectorizer`` builds every n-gram as a Python string; for character
3-5-grams that is most of the classifier's time. Here a batch of texts becomes one array of
code points and each n-gram's hash is a few vectorised multiply-adds over it, so a batch
costs about as much as a few passes over its characters.

What is counted, per text, after ``text.fold`` (accents dropped, casefolded) and keeping
only letters and digits (every other run of characters becomes one space):
character n-grams of ``char_ngrams`` sizes (across word boundaries, so short word pairs
count too) and word n-grams of ``word_ngrams`` sizes. Hashes are stable across processes
and platforms (unsigned 64-bit arithmetic, no Python ``hash``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from mailroom.processor.text import fold

_NOT_WORD = re.compile(r"[\W_]+")
_BASE = np.uint64(0x100000001B3)  # odd: invertible modulo 2**64
_MIX = np.uint64(0x9E3779B97F4A7C15)
_WORD_SALT = np.uint64(0xD6E8FEB86659FD93)


def normalise(text: str, *, respell: bool = False) -> str:
    """Folded words and digits separated by single spaces, with a space at each end;
    ``respell``: a misspelt subscribe/suscribir word written as the word (``respelled``)."""
    words = _NOT_WORD.sub(" ", fold(text)).strip()
    if respell and "su" in words:
        words = _SU_WORD.sub(_respelled_match, words)
    return f" {words} "


# the words of a subscription request (folded), and how far a misspelling of one may be:
# "subscibe", "subcribe", "susbcribe", "subscirption", "suscrivo" are read as the word, so a
# hurried request carries the features of a careful one (one edit, two in a word of ten
# letters or more; a swap of neighbours counts one; "suscitar" stays itself)
_REQUEST_WORDS = (
    "subscribe", "subscribed", "subscribing", "subscription", "subscriptions", "subscriber",
    "suscribir", "suscribirme", "suscribirse", "suscribo", "suscribe", "suscribete", "suscrito",
    "suscrita", "suscripcion", "suscripciones", "suscriptor", "suscriptora",
)
_SU_WORD = re.compile(r"\bsu[a-z]{5,13}\b")


def _respelled_match(match: re.Match[str]) -> str:
    return respelled(match.group(0))


@functools.lru_cache(maxsize=4096)
def respelled(word: str) -> str:
    """``word`` or, if a misspelling of a request word is within reach (one edit, two in a
    word of ten letters or more), that word."""
    if word.startswith(("subscrib", "subscrip", "suscrib", "suscrip")):
        return word  # spelt right
    best, best_distance = word, 2 if len(word) < 10 else 3  # one edit, two in a long word
    for target in _REQUEST_WORDS:
        if abs(len(target) - len(word)) < best_distance:
            distance = _edits(word, target, best_distance)
            if distance < best_distance:
                best, best_distance = target, distance
    return best


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insert, delete, replace, swap of neighbours), or
    ``limit`` once it reaches it."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) >= limit:
            return limit
        previous2, previous = previous, current
    return min(previous[-1], limit)


def _powers(base: np.uint64, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint64)
    out[0] = 1
    if n > 1:
        out[1:] = base
        np.cumprod(out[1:], out=out[1:])
    return out


_INVERSE = np.uint64(pow(int(_BASE), -1, 2**64))
_CHUNK = 4096  # texts hashed together (a classify batch is within one chunk)


class NgramHasher(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Texts to a sparse matrix of hashed n-gram counts (float32), no state to fit."""

    def __init__(self, n_features: int = 2**17, char_ngrams: tuple[int, ...] = (3, 4, 5),
                 word_ngrams: tuple[int, ...] = (1, 2), respell: bool = False) -> None:
        self.n_features = n_features
        self.char_ngrams = char_ngrams
        self.word_ngrams = word_ngrams
        self.respell = respell  # (a model saved before it existed reads as False)

    def fit(self, texts: Sequence[str], y: Any = None) -> NgramHasher:
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """One row of counts per text; a long list is hashed a chunk of texts at a time (the
        same rows: a text's row does not depend on the others), so the work arrays, several
        words per n-gram, stay the size of a chunk however many texts a training run hashes."""
        if len(texts) <= _CHUNK:
            return self._transform(texts)
        return sp.vstack([self._transform(texts[i:i + _CHUNK]) for i in range(0, len(texts), _CHUNK)],
                         format="csr")

    def _transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        respell = getattr(self, "respell", False)
        normalised = [normalise(t, respell=respell) for t in texts]
        lengths = np.fromiter((len(t) for t in normalised), dtype=np.int64, count=len(normalised))
        joined = "".join(normalised)
        size = len(joined)
        if size == 0:
            return sp.csr_matrix((len(texts), self.n_features), dtype=np.float32)
        codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        owner = np.repeat(np.arange(len(normalised)), lengths)
        # prefix sums of code * BASE**-i: the hash of codes[a..b] is BASE**b * (S[b] - S[a-1])
        scaled = np.cumsum(codes * _powers(_INVERSE, size))
        up = _powers(_BASE, size)
        rows, hashes = [], []
        for n in self.char_ngrams:
            if size < n:
                continue
            start = np.arange(size - n + 1)
            end = start + n - 1
            keep = owner[start] == owner[end]
            start, end = start[keep], end[keep]
            rows.append(owner[start])
            hashes.append(self._span(scaled, up, start, end) + np.uint64(n))
        spaces = np.flatnonzero(codes == 32)
        # word k runs from spaces[k] + 1 to spaces[k + 1] - 1; empty between two texts
        for n in self.word_ngrams:
            if len(spaces) <= n:
                continue
            first, last = spaces[:-n] + 1, spaces[n:] - 1
            keep = (owner[spaces[:-n]] == owner[spaces[n:]]) & (first <= last)
            if n > 1:  # no empty word inside (two texts meeting) either
                gaps = np.diff(spaces)
                inner = np.lib.stride_tricks.sliding_window_view(gaps, n).min(axis=1) > 1
                keep &= inner
            first, last = first[keep], last[keep]
            rows.append(owner[first])
            hashes.append((self._span(scaled, up, first, last) ^ _WORD_SALT) + np.uint64(n))
        if not rows or not sum(len(r) for r in rows):
            return sp.csr_matrix((len(texts), self.n_features), dtype=np.float32)
        mixed = np.concatenate(hashes) * _MIX
        # (row, column) keys in 32 bits when every key fits: half the bytes to sort
        kind: np.dtype[Any] = np.dtype(np.int32 if (len(texts) + 1) * self.n_features < 2**31 else np.int64)
        high = mixed >> np.uint64(32)
        if self.n_features & (self.n_features - 1) == 0:  # a power of two: a mask, not a division
            high &= np.uint64(self.n_features - 1)
        else:
            high %= np.uint64(self.n_features)
        columns = high.astype(kind)
        width = np.asarray(self.n_features, dtype=kind)
        # one sort of (row, column) keys counts repeats and orders the matrix at once
        keys = np.concatenate(rows).astype(kind) * width + columns
        keys.sort()
        first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        counts = np.diff(np.append(first, len(keys))).astype(np.float32)
        unique = keys[first]
        indptr = np.searchsorted(unique, np.arange(len(texts) + 1, dtype=kind) * width)
        return sp.csr_matrix((counts, unique % self.n_features, indptr),
                             shape=(len(texts), self.n_features))

    @staticmethod
    def _span(scaled: np.ndarray, up: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        before = np.where(first > 0, scaled[np.maximum(first - 1, 0)], np.uint64(0))
        return np.asarray(up[last] * (scaled[last] - before), dtype=np.uint64)
