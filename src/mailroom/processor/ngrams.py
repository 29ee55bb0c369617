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


def normalise(text: str) -> str:
    """Folded words and digits separated by single spaces, with a space at each end."""
    return f" {_NOT_WORD.sub(' ', fold(text)).strip()} "


def _powers(base: np.uint64, n: int) -> np.ndarray:
    out = np.empty(n, dtype=np.uint64)
    out[0] = 1
    if n > 1:
        out[1:] = base
        np.cumprod(out[1:], out=out[1:])
    return out


_INVERSE = np.uint64(pow(int(_BASE), -1, 2**64))


class NgramHasher(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Texts to a sparse matrix of hashed n-gram counts (float32), no state to fit."""

    def __init__(self, n_features: int = 2**17, char_ngrams: tuple[int, ...] = (3, 4, 5),
                 word_ngrams: tuple[int, ...] = (1, 2)) -> None:
        self.n_features = n_features
        self.char_ngrams = char_ngrams
        self.word_ngrams = word_ngrams

    def fit(self, texts: Sequence[str], y: Any = None) -> NgramHasher:
        return self

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        normalised = [normalise(t) for t in texts]
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
        columns = ((mixed >> np.uint64(32)) % np.uint64(self.n_features)).astype(np.int64)
        # one sort of (row, column) keys counts repeats and orders the matrix at once
        keys = np.concatenate(rows).astype(np.int64) * self.n_features + columns
        keys.sort()
        first = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        counts = np.diff(np.append(first, len(keys))).astype(np.float32)
        unique = keys[first]
        indptr = np.searchsorted(unique, np.arange(len(texts) + 1) * self.n_features)
        return sp.csr_matrix((counts, unique % self.n_features, indptr),
                             shape=(len(texts), self.n_features))

    @staticmethod
    def _span(scaled: np.ndarray, up: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        before = np.where(first > 0, scaled[np.maximum(first - 1, 0)], np.uint64(0))
        return np.asarray(up[last] * (scaled[last] - before), dtype=np.uint64)
