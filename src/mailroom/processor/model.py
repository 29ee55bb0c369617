"""Trainable text classifiers: hashed word and character n-grams, TF-IDF, logistic regression.

Hashing keeps the model file small and free of a vocabulary; character n-grams
(``char_wb`` 3-5) make it robust to Spanish inflection, typos and missing accents, and
the text is folded (see ``text.fold``) before it is read. ``predict_proba`` gives the
confidence that ``CLASSIFIER_MIN_CONFIDENCE`` is compared with.

A model file is a joblib dict with metadata (format, kind, version, labels, trained_at,
metrics, scikit-learn version). Loading one runs pickle: load only files you trust.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.exceptions import InconsistentVersionWarning
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.pipeline import FeatureUnion, Pipeline

from mailroom.processor.text import fold

FORMAT = 1


class ModelError(Exception):
    """A model file cannot be used (missing, corrupt, or from another scikit-learn)."""


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float


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

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        probabilities = self.pipeline.predict_proba(list(texts))
        classes = [str(c) for c in self.pipeline.classes_]
        result = []
        for row in probabilities:
            best = int(row.argmax())
            result.append(Prediction(classes[best], float(row[best])))
        return result

    def probability(self, texts: Sequence[str], label: str) -> list[float]:
        """P(label) for each text (for a spam model: the spam probability)."""
        classes = [str(c) for c in self.pipeline.classes_]
        column = classes.index(label)
        return [float(p) for p in self.pipeline.predict_proba(list(texts))[:, column]]


def make_pipeline(n_features: int = 2**16, c: float = 10.0) -> Pipeline:
    def hashed(analyzer: str, ngrams: tuple[int, int]) -> HashingVectorizer:
        return HashingVectorizer(
            analyzer=analyzer, ngram_range=ngrams, n_features=n_features, preprocessor=fold,
            alternate_sign=False, norm=None, dtype=np.float32,
        )

    return Pipeline([
        ("features", FeatureUnion([("words", hashed("word", (1, 2))),
                                   ("chars", hashed("char_wb", (3, 5)))])),
        ("tfidf", TfidfTransformer(sublinear_tf=True)),
        ("classifier", LogisticRegression(C=c, max_iter=2000, class_weight="balanced")),
    ])


def data_version(kind: str, texts: Sequence[str], labels: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(label.encode() + b"\x00" + text.encode() + b"\x01")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"{kind}-{stamp}-{digest.hexdigest()[:8]}"


def train(
    texts: Sequence[str], labels: Sequence[str], *, kind: str = "intent",
    n_features: int = 2**16, metrics: dict[str, Any] | None = None,
) -> TextModel:
    """Fit a model on every text given (evaluate separately, on data it has not seen)."""
    if len(texts) != len(labels) or not texts:
        raise ModelError("training needs the same number of texts and labels, at least one")
    if len(set(labels)) < 2:
        raise ModelError(f"training needs at least two labels, got {sorted(set(labels))}")
    pipeline = make_pipeline(n_features)
    pipeline.fit(list(texts), list(labels))
    return TextModel(
        pipeline=pipeline,
        labels=[str(c) for c in pipeline.classes_],
        version=data_version(kind, texts, labels),
        kind=kind,
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        metrics=metrics or {},
    )


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
    )
