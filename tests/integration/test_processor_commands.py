"""The processor's commands: rules test, model train/evaluate, replay (dry run and --apply)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mailroom import topics
from mailroom.cli import build_parser
from mailroom.events import Decision, RawEmail, Route
from mailroom.processor import model as text_model
from mailroom.settings import Settings
from mailroom.store import Database, MailStatus
from mailroom.store import mails as mail_store
from mailroom.store.schema import feedback

pytestmark = pytest.mark.integration


def run(settings: Settings, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    code: int = args.func(args, settings)
    return code


def test_rules_test_shows_which_rule_fires_and_why(
    make_settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    eml = tmp_path / "m.eml"
    eml.write_bytes("From: Ana <ana@example.org>\r\nSubject: =?utf-8?q?SUSCRIPCI=C3=93N?=\r\n\r\n"
                    "Hola, quiero suscribirme al boletín, gracias.\r\n".encode())
    assert run(make_settings(), "rules", "test", str(eml)) == 0
    out = capsys.readouterr().out
    assert "subscription: YES (subject contains 'suscripcion')" in out
    assert "decision: category subscription, route acknowledgement_queue" in out

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: spanish, category: es-mail, when: {body: [boletin]}}\n",
                     encoding="utf-8")
    assert run(make_settings(), "rules", "test", str(eml), "--rules", str(rules)) == 0
    assert f"fired: spanish ({rules}:2)" in capsys.readouterr().out


def test_rules_test_says_when_the_guard_decides(
    make_settings, corpora: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    bounce = next(iter(sorted((corpora / "flanker" / "bounce").glob("*.eml"))))
    assert run(make_settings(), "rules", "test", str(bounce)) == 0
    out = capsys.readouterr().out
    assert "never answered: automated" in out and "decision: category automated" in out


@pytest.mark.slow  # two fits on the 30,000 generated lines: a minute or two on this machine
def test_model_train_with_feedback_and_evaluate(
    make_settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings()
    db = Database(settings.store_url)
    db.create_schema()
    reviewed = RawEmail(mail_id="r1", account="a", folder="INBOX", subject="Precios",
                        text="¿Cuánto cuesta el plan anual para empresas?", from_addr="x@example.org")
    with db.begin() as conn:
        mail_store.record_collected(conn, [reviewed])
        conn.execute(feedback.insert().values(mail_id="r1", label="sales", user="rev",
                                              at=reviewed.collected_at))
    db.dispose()
    out = tmp_path / "trained.joblib"
    assert run(settings, "model", "train", "--out", str(out), "--from-feedback") == 0
    printed = capsys.readouterr().out
    assert "added 1 reviewer label(s)" in printed and f"wrote {out}" in printed
    model = text_model.load(out)
    assert set(model.labels) == {"subscription", "unsubscription", "other", "sales"}
    assert model.metrics["holdout"]["accuracy"] > 0.8

    data = tmp_path / "eval.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "Alta\nQuiero suscribirme al boletín", "label": "subscription"},
        {"text": "Remove me\nPlease unsubscribe me from the newsletter", "label": "unsubscription"},
    ]), encoding="utf-8")
    assert run(settings, "model", "evaluate", str(data), "--model", str(out)) == 0
    table = capsys.readouterr().out
    assert "accuracy 1.0000" in table and "unsubscription" in table


def test_model_evaluate_defaults_to_the_test_set_and_warns_about_training_overlap(
    make_settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    """Without DATA: the independent test set, per label, language and slice, and the whole
    decision; on lines the model was trained on: a warning that the numbers overstate it."""
    from mailroom.processor.training import STARTER_DATA, read_dataset

    settings = make_settings()
    assert run(settings, "model", "evaluate") == 0
    out = capsys.readouterr().out
    assert "intent_testset.jsonl" in out
    for group in ("all ", "es ", "en ", "es/body-only", "en/phrased", "en/subject-only"):
        assert any(line.startswith(group) for line in out.splitlines()), group
    assert "cancellations it reads as subscription" in out and "wrongly replied to" in out

    trained = read_dataset(STARTER_DATA)
    seen = tmp_path / "seen.jsonl"
    seen.write_text("".join(json.dumps({"text": t, "label": lab}, ensure_ascii=False) + "\n"
                            for t, lab in zip(trained.texts[:20], trained.labels[:20], strict=True)),
                    encoding="utf-8")
    assert run(settings, "model", "evaluate", str(seen)) == 0
    assert "warning: 20 of 20 examples were in this model's training data" in capsys.readouterr().out


def test_model_evaluate_json_prints_one_json_document(
    make_settings, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    """--json: stdout parses as JSON (for jq and scripts); which model and set go to stderr."""
    assert run(make_settings(), "model", "evaluate", "--json") == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert set(report) == {"model", "pipeline", "cancellations_read_as_subscription"}
    assert report["model"]["all"]["n"] > 0
    assert "intent model" in err and "intent_testset.jsonl" in err


def test_replay_reports_changes_and_apply_never_reroutes_a_replied_mail(
    broker, make_settings, tmp_path: Path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - {name: invoices, category: billing, route: human_review, "
                     "when: {subject: [invoice]}}\n  - {name: sub, category: subscription, "
                     "route: acknowledgement_queue, template: subscription, decides_alone: true, "
                     "when: {subject: [subscription]}}\n", encoding="utf-8")
    settings = make_settings(bootstrap=broker.bootstrap_servers, mailroom_rules=rules)
    db = Database(settings.store_url)
    db.create_schema()
    invoice = RawEmail(mail_id="m-invoice", account="a", folder="INBOX", subject="Invoice 7",
                       from_addr="a@example.org", language="en")
    replied = RawEmail(mail_id="m-replied", account="a", folder="INBOX",
                       subject="subscription invoice", from_addr="b@example.org", language="en")
    same = RawEmail(mail_id="m-same", account="a", folder="INBOX", subject="subscription",
                    from_addr="c@example.org", language="en")
    with db.begin() as conn:
        mail_store.record_decisions(conn, [
            (invoice, Decision(mail_id="m-invoice", category="other", route=Route.REVIEW)),
            (replied, Decision(mail_id="m-replied", category="subscription", route=Route.ACKNOWLEDGE)),
            (same, Decision(mail_id="m-same", category="subscription", route=Route.ACKNOWLEDGE)),
        ])
        mail_store.set_status(conn, "m-replied", MailStatus.REPLIED)

    assert run(settings, "replay", "--since", "2000-01-01") == 0
    out = capsys.readouterr().out
    # the replied mail would be judged differently, but --apply leaves it: not a change
    assert "3 mail(s) since" in out and "1 would change (1 more would be judged" in out
    assert "m-replied" not in out
    assert "m-invoice  [in_review]  'Invoice 7': other/human_review -> billing/human_review" in out
    assert "m-same" not in out

    assert run(settings, "replay", "--since", "2000-01-01", "--apply") == 0
    assert "applied: 1 re-routed, 0 left as they were" in capsys.readouterr().out
    with db.begin() as conn:
        assert (mail_store.get_mail(conn, "m-invoice") or {})["category"] == "billing"
        assert (mail_store.get_mail(conn, "m-replied") or {})["status"] == MailStatus.REPLIED
    db.dispose()

    from mailroom.kafka import KafkaClients

    reader = KafkaClients(broker.bootstrap_servers).consumer("replay-check", [topics.HUMAN_REVIEW,
                                                                              topics.ACKNOWLEDGEMENT_QUEUE])
    keys: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not keys:
        keys += [(m.key() or b"").decode() for m in reader.consume(10, 0.5) if m.error() is None]
    time.sleep(1)
    keys += [(m.key() or b"").decode() for m in reader.consume(10, 1.0) if m.error() is None]
    reader.close()
    assert keys == ["m-invoice"]
