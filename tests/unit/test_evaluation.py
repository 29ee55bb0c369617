"""Evaluation per label, language and slice; the dev test set; the overlap warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailroom.events import Decision, Route
from mailroom.processor import model as text_model
from mailroom.processor.evaluation import (
    MailSetError,
    is_mail_set,
    model_report,
    pipeline_report,
    read_mail_set,
    render_model,
    render_pipeline,
)
from mailroom.processor.training import TEST_SET


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS: list[dict[str, object]] = [
    {"id": "a", "label": "subscription", "language": "es", "subject": "Hola",
     "body": "Quiero el boletín", "slices": ["body-only", "phrased"]},
    {"id": "b", "label": "subscription", "language": "en", "subject": "Sign me up", "body": "",
     "slices": ["subject-only", "phrased"]},
    {"id": "c", "label": "unsubscription", "language": "en", "subject": "Cancel my subscription",
     "html": "<p>cancel it</p>", "slices": ["html"]},
    {"id": "d", "label": "other", "language": "es", "subject": "Factura", "body": "mal importe"},
]


def test_a_mail_set_reads_into_events_with_labels_languages_and_slices(tmp_path: Path) -> None:
    path = write(tmp_path / "set.jsonl", ROWS)
    assert is_mail_set(path)
    mails = read_mail_set(path)
    assert [m.label for m in mails] == ["subscription", "subscription", "unsubscription", "other"]
    html = mails[2].email
    assert (html.text, html.html, html.content_type) == ("", "<p>cancel it</p>", "text/html")
    assert mails[0].slices == ("body-only", "phrased") and mails[0].email.language == "es"
    bad = write(tmp_path / "bad.jsonl", [{"subject": "no label", "body": "x"}])
    with pytest.raises(MailSetError, match=r"bad\.jsonl:1"):
        read_mail_set(bad)
    assert not is_mail_set(write(tmp_path / "texts.jsonl", [{"text": "x", "label": "other"}]))


def test_a_line_that_is_not_json_is_named_by_file_and_line_in_both_readers(tmp_path: Path) -> None:
    from mailroom.processor.training import DatasetError, read_dataset

    broken = tmp_path / "broken.jsonl"
    good = {"label": "other", "text": "x", "body": "x"}  # fits both formats
    broken.write_text(json.dumps(good) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(MailSetError, match=r"broken\.jsonl:3: not JSON"):
        read_mail_set(broken)
    with pytest.raises(DatasetError, match=r"broken\.jsonl:3: not JSON"):
        read_dataset(broken)


def test_model_report_counts_per_label_language_and_slice(tmp_path: Path) -> None:
    mails = read_mail_set(write(tmp_path / "set.jsonl", ROWS))
    report = model_report(mails, ["subscription", "other", "subscription", "other"])
    assert report["all"]["accuracy"] == 0.5
    assert report["all"]["labels"]["subscription"] == {"precision": 0.5, "recall": 0.5, "support": 2}
    assert report["en"]["labels"]["subscription"] == {"precision": 0.0, "recall": 0.0, "support": 1}
    assert report["es/body-only"]["accuracy"] == 1.0
    assert "en/phrased" in report and "es/html" not in report
    assert any("0.500 / 0.500" in line for line in render_model(report, ["other", "subscription"]))


def test_pipeline_report_counts_replies_and_who_got_them_wrongly(tmp_path: Path) -> None:
    mails = read_mail_set(write(tmp_path / "set.jsonl", ROWS))

    def decision(i: int, category: str, route: Route) -> Decision:
        return Decision(mail_id=str(i), category=category, route=route, rule="r")

    decisions = [decision(0, "subscription", Route.ACKNOWLEDGE),
                 decision(1, "subscription", Route.REVIEW),
                 decision(2, "subscription", Route.ACKNOWLEDGE),  # a cancellation answered
                 decision(3, "other", Route.REVIEW)]
    report = pipeline_report(mails, decisions)
    assert report["all"] == {"n": 4, "support": 2, "acknowledged": 2, "recall": 0.5,
                             "precision": 0.5,
                             "wrongly_acknowledged": {"other": 0, "unsubscription": 1}}
    assert report["en"]["recall"] == 0.0 and report["es"]["precision"] == 1.0
    assert any("unsubscription 1" in line for line in render_pipeline(report))


def test_the_dev_test_set_is_checked_in_with_its_slices() -> None:
    mails = read_mail_set(TEST_SET)
    assert len(mails) >= 300
    for language in ("es", "en"):
        for label in ("subscription", "unsubscription", "other"):
            assert sum(1 for m in mails if (m.label, m.language) == (label, language)) >= 40
        requests = [m for m in mails if (m.label, m.language) == ("subscription", language)]
        for slice_ in ("body-only", "phrased", "subject-only", "html", "quoted"):
            assert any(slice_ in m.slices for m in requests), (language, slice_)
    assert (TEST_SET.parent / "README.md").read_text(encoding="utf-8").count("never used for training")


def test_a_model_knows_which_texts_it_was_trained_on() -> None:
    model = text_model.train(["quiero suscribirme", "mi factura", "alta boletín", "pedido roto"],
                             ["subscription", "other", "subscription", "other"], n_features=2**12)
    assert model.seen_in_training(["Quiero  SUSCRIBIRME", "algo nuevo"]) == 1
    assert model.seen_in_training([]) == 0
