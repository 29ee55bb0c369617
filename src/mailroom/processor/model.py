"""Trainable text classifiers: hashed word and character n-grams, TF-IDF, logistic regression.

Hashing (``ngrams.NgramHasher``) keeps the model file small and free of a vocabulary;
character 3-5-grams make it robust to Spanish inflection, typos and missing accents, and
the text is folded (see ``text.fold``) before it is read. ``predict_proba`` gives the
confidence that ``CLASSIFIER_MIN_CONFIDENCE`` is compared with.

A *segmented* model (the intent model) reads a mail twice: whole, and sentence by
sentence (the subject is one sentence). A request is often one sentence inside a long,
chatty mail; the whole-mail reading drowns it, the sentence reading does not. The
probability of a request label is the larger of the two readings (its most confident
sentence), the probability of the background label ("other") the smaller, renormalised.
The whole mail's counts are the sum of its sentences' counts, so n-grams are hashed once.

A model file is a joblib dict with metadata (format, kind, version, labels, trained_at,
metrics, scikit-learn version, which view of a mail it reads, and fingerprints of its
training texts so an evaluation can say when it is shown what it was trained on).
Loading one runs pickle: load only files you trust.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
import sklearn
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.pipeline import Pipeline

from mailroom.events import RawEmail
from mailroom.processor.ngrams import NgramHasher
from mailroom.processor.text import fold, model_text, spam_text

FORMAT = 1
BACKGROUND = "other"  # the label that means "no request": never taken from one sentence
MAX_SEGMENTS = 16  # sentences read one by one per mail (the rest still counts as a whole)
# a sentence ends at . ! ? or a line break; a clause after ":" or ";" is read on its own
# too ("the button doesn't work, so I'm writing directly: could you add me by hand?")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+|\n+")


class ModelError(Exception):
    """A model file cannot be used (missing, corrupt, or from another scikit-learn)."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float
    # P(label) of every label (``label``'s is ``confidence``); empty from a model that gives
    # only its best label
    scores: Mapping[str, float] = field(default_factory=dict, compare=False)

    def of(self, label: str) -> float:
        """P(``label``): from ``scores``, else ``confidence`` for the best label and 0."""
        if label in self.scores:
            return self.scores[label]
        return self.confidence if label == self.label else 0.0


# the view of a mail a model reads: "text" (subject + own words) or "mail" (the same plus
# shape tokens from headers and HTML, for the spam model)
VIEWS = {"text": model_text, "mail": spam_text}


def fingerprint(texts: Iterable[str]) -> np.ndarray:
    """Sorted 64-bit hashes of texts, whitespace and case folded (for overlap checks)."""
    hashes = {int.from_bytes(hashlib.blake2b(" ".join(fold(t).split()).encode(), digest_size=8)
                             .digest(), "little") for t in texts}
    return np.array(sorted(hashes), dtype=np.uint64)


@dataclass(frozen=True)
class FusedReaders:
    """Readers that are each ``TfidfTransformer(norm="l2")`` and a ``LogisticRegression``
    over the same hashed counts, as one sparse-dense product.

    A reader's decision for a row x of counts is ``W (t(x) * idf) / |t(x) * idf| + b``
    (``t`` the sublinear tf, 1 + log, when set); the idf is folded into ``W`` and the norm is
    ``sqrt(t(x)^2 . idf^2)``, so every reader's decisions come from two products over the
    rows, not a TF-IDF copy and a product per reader. Computed in float64 (scikit-learn
    keeps float32 counts in float32), so probabilities agree with ``predict_proba`` to
    about 1e-6 (tests/unit/test_model.py).
    """

    weights: np.ndarray  # n_features x (readers * columns): each reader's coef_.T * idf
    idf_squared: np.ndarray  # n_features x readers
    intercepts: np.ndarray  # readers * columns
    readers: int
    binary: bool  # one decision column per reader (two labels: the sigmoid)
    sublinear: bool

    @classmethod
    def of(cls, tails: Sequence[Pipeline]) -> FusedReaders | None:
        """The fused form of ``tails``, or None when one of them is not TF-IDF + LR."""
        parts = []
        for tail in tails:
            if len(tail.steps) != 2:
                return None
            tfidf, classifier = tail[0], tail[-1]
            if (type(tfidf) is not TfidfTransformer or type(classifier) is not LogisticRegression
                    or tfidf.norm != "l2" or not tfidf.use_idf or not hasattr(tfidf, "idf_")
                    or not hasattr(classifier, "coef_")):
                return None
            parts.append((tfidf, classifier))
        if not parts or len({t.sublinear_tf for t, _ in parts}) != 1 \
                or len({c.coef_.shape for _, c in parts}) != 1:
            return None
        return cls(
            weights=np.hstack([c.coef_.T * t.idf_[:, None] for t, c in parts]).astype(np.float64),
            idf_squared=np.column_stack([t.idf_ ** 2 for t, _ in parts]).astype(np.float64),
            intercepts=np.concatenate([c.intercept_ for _, c in parts]).astype(np.float64),
            readers=len(parts), binary=parts[0][1].coef_.shape[0] == 1,
            sublinear=bool(parts[0][0].sublinear_tf))

    def proba(self, counts: sp.csr_matrix) -> list[np.ndarray]:
        """Each reader's P(label) per row, columns in ``classes_`` order."""
        tf = sp.csr_matrix(counts, dtype=np.float64, copy=True)
        tf.sum_duplicates()  # (a no-op on the hasher's rows) one value per entry: its count
        if self.sublinear:
            np.log(tf.data, out=tf.data)
            tf.data += 1.0
        squared = tf.copy()  # the same sparsity: squaring the values is the element-wise product
        np.square(squared.data, out=squared.data)
        norms = np.sqrt(np.asarray(squared @ self.idf_squared))
        norms[norms == 0.0] = 1.0  # an empty row stays empty, as ``normalize`` leaves it
        decisions = np.asarray(tf @ self.weights)
        columns = decisions.shape[1] // self.readers
        out = []
        for r in range(self.readers):
            decision = decisions[:, r * columns:(r + 1) * columns] / norms[:, r:r + 1] \
                + self.intercepts[r * columns:(r + 1) * columns]
            if self.binary:
                p = expit(decision[:, 0])
                out.append(np.column_stack([1.0 - p, p]))
            else:
                decision -= decision.max(axis=1, keepdims=True)
                np.exp(decision, out=decision)
                out.append(decision / decision.sum(axis=1, keepdims=True))
        return out


@dataclass
class TextModel:
    pipeline: Pipeline
    labels: list[str]
    version: str
    kind: str = "intent"  # "intent" (subscription/unsubscription/other) or "spam"
    trained_at: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None  # spam models: P(spam) at or above this is spam
    sklearn_version: str = sklearn.__version__
    view: str = "text"
    fingerprints: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    segmented: bool = False
    # more readers of the same hashed n-grams (each a fitted TF-IDF + classifier, trained on
    # other data, with the same labels): the model's probabilities are the mean of every
    # reader's (``with_reader``); the n-grams are hashed once for all of them
    readers: list[Pipeline] = field(default_factory=list)
    # the readers as one product (``_per_reader``), with what they were built from
    _fused: tuple[tuple[int, ...], FusedReaders | None] | None = field(
        default=None, init=False, repr=False, compare=False)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(label) per text, one column per label of ``classes`` (one model call): the mean
        of every reader's (the pipeline's own and ``readers``)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, len(self.classes)))
        if not self.segmented:
            counts = self.pipeline[0].transform(texts)
            return np.asarray(np.mean(self._per_reader(counts), axis=0))
        pieces, starts = segment(texts)
        counts = self.pipeline[0].transform(pieces)
        rows = sp.vstack([_sum_rows(counts, starts), counts], format="csr")
        return np.asarray(np.mean([self._combine(both, len(texts), starts)
                                   for both in self._per_reader(rows)], axis=0))

    def _per_reader(self, counts: sp.csr_matrix) -> list[np.ndarray]:
        """Each reader's P(label) of each row of hashed counts: one product for them all
        when every reader is the TF-IDF and logistic regression ``make_pipeline`` builds
        (``FusedReaders``), else scikit-learn's own ``predict_proba``."""
        tails = [self.pipeline[1:], *self.readers]
        key = tuple(id(getattr(tail[-1], "coef_", None)) for tail in tails)  # a refit: new arrays
        if self._fused is None or self._fused[0] != key:
            self._fused = (key, FusedReaders.of(tails))
        fused = self._fused[1]
        if fused is None:
            return [np.asarray(tail.predict_proba(counts)) for tail in tails]
        return fused.proba(counts)

    def _combine(self, both: np.ndarray, n: int, starts: np.ndarray) -> np.ndarray:
        """One reader's P(label) per mail from its whole-mail rows and its sentence rows."""
        whole, per_piece = both[:n], both[n:]
        combined = np.maximum(whole, np.maximum.reduceat(per_piece, starts, axis=0))
        if BACKGROUND in self.classes:
            bg = self.classes.index(BACKGROUND)
            combined[:, bg] = np.minimum(whole[:, bg],
                                         np.minimum.reduceat(per_piece[:, bg], starts))
        return np.asarray(combined / combined.sum(axis=1, keepdims=True))

    def with_reader(self, other: TextModel) -> TextModel:
        """This model with ``other``'s TF-IDF and classifier as one more reader: ``other`` must
        hash text the same way, read the same view and know the same labels."""
        if (other.pipeline[0].get_params() != self.pipeline[0].get_params()
                or other.classes != self.classes or other.view != self.view
                or other.segmented != self.segmented):
            raise ModelError("a reader must hash, read and label text as the model does")
        self.readers = [*self.readers, other.pipeline[1:]]
        self._fused = None
        return self

    def texts_for(self, emails: Sequence[RawEmail],
                  words: Sequence[str] | None = None) -> list[str]:
        """The text this model reads for each mail (``model_text`` or ``spam_text``);
        ``words``: each mail's ``request_text``, when the caller has it already."""
        view = VIEWS[self.view]
        if words is None:
            return [view(e) for e in emails]
        return [view(e, w) for e, w in zip(emails, words, strict=True)]

    def seen_in_training(self, texts: Sequence[str]) -> int:
        """How many of these texts (folded) were among the texts this model was trained on."""
        if not len(self.fingerprints) or not texts:
            return 0
        found = np.isin(fingerprint(texts), self.fingerprints, assume_unique=True)
        return int(found.sum())

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        classes = self.classes
        result = []
        for row in self.proba(texts).tolist():
            best = max(range(len(row)), key=row.__getitem__)
            result.append(Prediction(classes[best], row[best], dict(zip(classes, row, strict=True))))
        return result

    def probability(self, texts: Sequence[str], label: str) -> list[float]:
        """P(label) for each text (for a spam model: the spam probability)."""
        column = self.classes.index(label)
        return [float(p) for p in self.proba(texts)[:, column]]


def segment(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Each text's sentences (its first line, the subject, is one), flattened, and where
    each text's sentences start. Every text has at least one (possibly empty) piece."""
    pieces: list[str] = []
    starts = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        starts[i] = len(pieces)
        subject, _, body = text.partition("\n")
        found = [p for p in [subject, *_SENTENCE_END.split(body)] if p.strip()]
        pieces.extend(found[:MAX_SEGMENTS] if found else [text])
        if len(found) > MAX_SEGMENTS:  # the rest of the mail, as one piece
            pieces[-1] = " ".join(found[MAX_SEGMENTS - 1 :])
    return pieces, starts


def _sum_rows(counts: sp.csr_matrix, starts: np.ndarray) -> sp.csr_matrix:
    """Row i: the sum of rows starts[i] .. starts[i+1]-1 (a mail from its sentences)."""
    owner = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, counts.shape[0])))
    gather = sp.csr_matrix((np.ones(len(owner), dtype=np.float32), (owner, np.arange(len(owner)))),
                           shape=(len(starts), counts.shape[0]))
    return sp.csr_matrix(gather @ counts)


def make_pipeline(n_features: int = 2**17, c: float = 10.0,
                  char_ngrams: tuple[int, ...] = (3, 4, 5),
                  word_ngrams: tuple[int, ...] = (1, 2), respell: bool = False,
                  balanced: bool = True, iterations: int | None = None) -> Pipeline:
    """``balanced``: each label weighs as much as the others whatever its count; unbalanced,
    the labels weigh as often as they occur in the training data. ``iterations``: the
    solver runs exactly that many steps (none: until its default tolerance, at most 3,000),
    so how far a large fit goes does not depend on where the tolerance happens to stop it."""
    solver = {"max_iter": 3000} if iterations is None else {"max_iter": iterations, "tol": 0.0}
    return Pipeline([
        ("features", NgramHasher(n_features, char_ngrams, word_ngrams, respell=respell)),
        ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ("classifier", LogisticRegression(C=c, class_weight="balanced" if balanced else None,
                                          **solver)),
    ])


def fit(pipeline: Pipeline, texts: Sequence[str], labels: Sequence[str], *,
        segmented: bool) -> Pipeline:
    """Fit a pipeline; a segmented one sees each text as the sum of its sentences, as it
    will when it predicts."""
    if not segmented:
        return pipeline.fit(list(texts), list(labels))
    pieces, starts = segment(list(texts))
    pipeline[1:].fit(_sum_rows(pipeline[0].transform(pieces), starts), list(labels))
    return pipeline


def data_version(kind: str, texts: Sequence[str], labels: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(label.encode() + b"\x00" + text.encode() + b"\x01")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{digest.hexdigest()[:8]}"


def train(
    texts: Sequence[str], labels: Sequence[str], *, kind: str = "intent",
    n_features: int = 2**17, metrics: dict[str, Any] | None = None, view: str = "text",
    segmented: bool | None = None, char_ngrams: tuple[int, ...] = (3, 4, 5),
    respell: bool | None = None, c: float = 10.0, balanced: bool = True,
    iterations: int | None = None,
) -> TextModel:
    """Fit a model on every text given (evaluate separately, on data it has not seen).

    ``respell`` (default: for an intent model) reads a misspelt subscribe/suscribir word as
    the word (``ngrams.respelled``); ``c``: the logistic regression's inverse regularisation;
    ``balanced``: labels weighed equally, ``iterations``: the solver's steps (``make_pipeline``)."""
    if len(texts) != len(labels) or not texts:
        raise ModelError("training needs the same number of texts and labels, at least one")
    if len(set(labels)) < 2:
        raise ModelError(f"training needs at least two labels, got {sorted(set(labels))}")
    if view not in VIEWS:
        raise ModelError(f"unknown view {view!r}; one of {sorted(VIEWS)}")
    # intent models read sentence by sentence when they have a background label
    segmented = BACKGROUND in labels if segmented is None else segmented
    respell = kind == "intent" if respell is None else respell
    with warnings.catch_warnings():
        if iterations is not None:  # a fixed number of steps is the point, not a failure
            warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline = fit(make_pipeline(n_features, c=c, char_ngrams=char_ngrams, respell=respell,
                                     balanced=balanced, iterations=iterations),
                       texts, labels, segmented=segmented)
    _compact(pipeline)
    return TextModel(
        pipeline=pipeline,
        labels=[str(c) for c in pipeline.classes_],
        version=data_version(kind, texts, labels),
        kind=kind,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics=metrics or {},
        view=view,
        fingerprints=fingerprint(texts),
        segmented=segmented,
    )


def _compact(pipeline: Pipeline) -> None:
    """Weights and IDF as float32: half the file, the same decisions (features are float32)."""
    classifier = pipeline.named_steps["classifier"]
    classifier.coef_ = classifier.coef_.astype(np.float32)
    classifier.intercept_ = classifier.intercept_.astype(np.float32)


def evaluate(model: TextModel, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Precision, recall, F1 and support per label, plus accuracy, on labelled texts."""
    predicted = [p.label for p in model.predict(texts)]
    names = sorted(set(labels) | set(model.labels))
    precision, recall, f1, support = precision_recall_fscore_support(
        list(labels), predicted, labels=names, zero_division=0,
    )
    per_label = {
        name: {"precision": round(float(p), 4), "recall": round(float(r), 4),
               "f1": round(float(f), 4), "support": int(s)}
        for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    }
    correct = sum(1 for a, b in zip(labels, predicted, strict=True) if a == b)
    return {"accuracy": round(correct / len(labels), 4) if labels else 0.0, "labels": per_label,
            "n": len(labels)}


def save(model: TextModel, path: Path) -> None:
    """Write the model atomically (a watcher never reads a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    joblib.dump({
        "format": FORMAT, "kind": model.kind, "version": model.version, "labels": model.labels,
        "trained_at": model.trained_at, "metrics": model.metrics, "threshold": model.threshold,
        "sklearn_version": model.sklearn_version, "pipeline": model.pipeline,
        "view": model.view, "fingerprints": model.fingerprints, "segmented": model.segmented,
        "readers": model.readers,
    }, tmp, compress=3)
    tmp.replace(path)


def load(path: Path) -> TextModel:
    """Read a model file; ``ModelError`` when it is unusable here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InconsistentVersionWarning)
            data = joblib.load(path)
    except InconsistentVersionWarning as exc:
        raise ModelError(f"{path}: trained with scikit-learn {exc.original_sklearn_version}, "
                         f"installed {sklearn.__version__}; retrain it") from None
    except FileNotFoundError:
        raise ModelError(f"{path}: no such model file") from None
    except Exception as exc:
        raise ModelError(f"{path}: not a mailroom model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelError(f"{path}: not a mailroom model file (format {FORMAT} expected)")
    return TextModel(
        pipeline=data["pipeline"], labels=list(data["labels"]), version=str(data["version"]),
        kind=str(data.get("kind", "intent")), trained_at=str(data.get("trained_at", "")),
        metrics=dict(data.get("metrics") or {}), threshold=data.get("threshold"),
        sklearn_version=str(data.get("sklearn_version", "")),
        view=str(data.get("view", "text")) if data.get("view") in VIEWS else "text",
        fingerprints=np.asarray(data.get("fingerprints", np.zeros(0)), dtype=np.uint64),
        segmented=bool(data.get("segmented", False)),
        readers=list(data.get("readers") or []),
    )
