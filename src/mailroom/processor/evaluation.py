"""Measure the classifier on labelled mail: per label, per language and per slice (pure).

Two views of the same test set:

- the intent model alone (its label against the true label), and
- the whole decision (``classify_batch``: guard, spam model, rules, intent model, with the
  policy in ``classify.py``), where what matters is which mails get an automatic reply.

A labelled mail set is JSONL, one mail per line: ``label``, ``language``, ``subject`` and
``body`` (plain text) or ``html``, optional ``id`` and ``slices`` (tags such as
``body-only``, ``subject-only``, ``phrased``, ``quoted``, ``html``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailroom.events import Decision, RawEmail, Route


class MailSetError(Exception):
    """A labelled mail set that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class LabelledMail:
    email: RawEmail
    label: str
    language: str
    slices: tuple[str, ...] = field(default_factory=tuple)


def is_mail_set(path: Path) -> bool:
    """True when a JSONL file holds mails (subject/body) rather than ready-made texts."""
    if path.suffix.lower() != ".jsonl" or not path.is_file():
        return False
    with path.open(encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "")
    try:
        row = json.loads(first)
    except json.JSONDecodeError:
        return False
    return isinstance(row, dict) and "text" not in row and ("body" in row or "html" in row)


def json_lines(path: Path, content: str, error: type[Exception]) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of JSONL ``content`` parsed, with its line number; a line that is
    not JSON raises ``error`` naming ``path`` and the line."""
    for n, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{n}: not JSON: {exc.msg}") from None
        yield n, row


def read_mail_set(path: Path) -> list[LabelledMail]:
    mails = []
    for n, row in json_lines(path, path.read_text(encoding="utf-8"), MailSetError):
        if not isinstance(row, dict) or not isinstance(row.get("label"), str):
            raise MailSetError(f"{path}:{n}: needs label, subject and body or html")
        html, body = str(row.get("html", "")), str(row.get("body", ""))
        language = str(row.get("language", "")) or "und"
        email = RawEmail(
            mail_id=str(row.get("id", f"line-{n}")), account="testset", folder="INBOX",
            subject=str(row.get("subject", "")), text=body, html=html,
            content_type="text/html" if html and not body else "text/plain",
            from_addr=f"sender{n}@example.com", from_name=f"Sender {n}",
            language=language if language != "und" else None)
        mails.append(LabelledMail(email, row["label"], language,
                                  tuple(str(s) for s in row.get("slices", []))))
    if not mails:
        raise MailSetError(f"{path}: no mails")
    return mails


def _counts(pairs: Sequence[tuple[str, str]], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        tp = sum(1 for true, said in pairs if true == said == name)
        said = sum(1 for _, s in pairs if s == name)
        real = sum(1 for t, _ in pairs if t == name)
        out[name] = {"precision": round(tp / said, 4) if said else None,
                     "recall": round(tp / real, 4) if real else None, "support": real}
    return out


def by_groups(mails: Sequence[LabelledMail], predicted: Sequence[str],
              score: Callable[[Sequence[tuple[str, str]]], dict[str, Any]]) -> dict[str, Any]:
    """``score`` of the whole set, of each language, and of each (language, slice)."""
    pairs = [(m.label, p) for m, p in zip(mails, predicted, strict=True)]
    result: dict[str, Any] = {"all": score(pairs)}
    for language in sorted({m.language for m in mails}):
        result[language] = score([p for m, p in zip(mails, pairs, strict=True)
                                  if m.language == language])
        for slice_ in sorted({s for m in mails for s in m.slices}):
            chosen = [p for m, p in zip(mails, pairs, strict=True)
                      if m.language == language and slice_ in m.slices]
            if chosen:
                result[f"{language}/{slice_}"] = score(chosen)
    return result


def model_report(mails: Sequence[LabelledMail], predicted: Sequence[str]) -> dict[str, Any]:
    """Precision/recall per label of the intent model's own labels, per language and slice."""
    names = sorted({m.label for m in mails} | set(predicted))

    def score(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
        correct = sum(1 for t, p in pairs if t == p)
        return {"n": len(pairs), "accuracy": round(correct / len(pairs), 4) if pairs else None,
                "labels": _counts(pairs, names)}

    return by_groups(mails, predicted, score)


def acknowledged_as(decision: Decision) -> str:
    """What an automatic reply would answer: the template's category, or "" for none."""
    return decision.category if decision.route is Route.ACKNOWLEDGE else ""


def pipeline_report(mails: Sequence[LabelledMail], decisions: Sequence[Decision],
                    answered: str = "subscription") -> dict[str, Any]:
    """What got an automatic reply as ``answered``: its recall on the mails of that label,
    its precision, and how many mails of every other label got it (wrong replies)."""
    said = [acknowledged_as(d) for d in decisions]

    def score(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
        real = [p for p in pairs if p[0] == answered]
        acked = [p for p in pairs if p[1] == answered]
        right = sum(1 for t, _ in acked if t == answered)
        wrong = {label: sum(1 for t, _ in acked if t == label)
                 for label in sorted({t for t, _ in pairs} - {answered})}
        return {"n": len(pairs), "support": len(real), "acknowledged": len(acked),
                "recall": round(right / len(real), 4) if real else None,
                "precision": round(right / len(acked), 4) if acked else None,
                "wrongly_acknowledged": wrong}

    return by_groups(mails, said, score)


def _cell(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def render_model(report: dict[str, Any], labels: Sequence[str]) -> list[str]:
    """One line per group: n, accuracy, precision/recall per label."""
    head = f"{'group':<26}{'n':>5}{'acc':>7}" + "".join(f"{label[:14]:>18}" for label in labels)
    lines = [head, f"{'':<38}" + "".join(f"{'P / R':>18}" for _ in labels)]
    for group, score in report.items():
        pairs = [(score["labels"].get(label) or {"precision": None, "recall": None})
                 for label in labels]
        cells = "".join(f"{_cell(m['precision']) + ' / ' + _cell(m['recall']):>18}" for m in pairs)
        lines.append(f"{group:<26}{score['n']:>5}{_cell(score['accuracy']):>7}{cells}")
    return lines


def render_pipeline(report: dict[str, Any], answered: str = "subscription") -> list[str]:
    """One line per group: how many mails of ``answered`` got the reply, and who else did."""
    lines = [f"{'group':<26}{'n':>5}{'requests':>10}{'replied':>9}{'recall':>8}{'precision':>10}"
             "  wrongly replied to"]
    for group, score in report.items():
        wrong = ", ".join(f"{k} {v}" for k, v in score["wrongly_acknowledged"].items()) or "-"
        lines.append(f"{group:<26}{score['n']:>5}{score['support']:>10}{score['acknowledged']:>9}"
                     f"{_cell(score['recall']):>8}{_cell(score['precision']):>10}  {wrong}")
    return lines
