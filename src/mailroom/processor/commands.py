"""The processor's sub-commands: ``rules test``, ``model train|evaluate``, ``replay``."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailroom.settings import ConfigError, Settings

if TYPE_CHECKING:
    from mailroom.processor.evaluation import LabelledMail
    from mailroom.processor.model import TextModel


def register(sub: Any) -> None:
    """Add this stage's sub-commands to the ``mailroom`` parser."""
    rules = sub.add_parser("rules", help="see which rule and model decision a mail (.eml) gets, "
                                          "and why")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    test = rules_sub.add_parser("test", help="show which rule fires for a .eml file, and why")
    test.add_argument("eml", type=Path, help="a message file (.eml)")
    test.add_argument("--rules", type=Path, help="rules file (default MAILROOM_RULES or the seed)")
    test.set_defaults(func=cmd_rules_test)

    model = sub.add_parser("model", help="train the classifier on your labelled mail, and "
                                          "measure how well it does")
    model_sub = model.add_subparsers(dest="model_command", required=True)
    train = model_sub.add_parser("train", help="train a model file from labelled data")
    train.add_argument("data", type=Path, nargs="?",
                       help="CSV/JSONL with text,label or a folder of <label>/*.eml "
                            "(default: the shipped starter data)")
    train.add_argument("--out", type=Path, help="model file (default MAILROOM_MODEL or "
                                                "$MAILROOM_DATA_DIR/model.joblib)")
    train.add_argument("--from-feedback", action="store_true",
                       help="add the labels reviewers gave in the dashboard (state store)")
    train.set_defaults(func=cmd_model_train)
    evaluate = model_sub.add_parser(
        "evaluate", help="precision/recall of the intent model, and which mails the whole "
                         "pipeline would answer, per label, language and slice")
    evaluate.add_argument("data", type=Path, nargs="?",
                          help="labelled mails (JSONL with subject/body/html, label, language, "
                               "slices) or texts (CSV/JSONL with text,label, or <label>/*.eml); "
                               "default: the dev set tests/data/intent_testset.jsonl (tuned on; "
                               "the independent sets are tests/data/independent*/, each README saying "
                               "whether it is still blind)")
    evaluate.add_argument("--model", type=Path, help="model file (default MAILROOM_MODEL or starter)")
    evaluate.add_argument("--json", action="store_true", help="print the full report as JSON")
    evaluate.set_defaults(func=cmd_model_evaluate)

    replay = sub.add_parser("replay", help="after changing rules or the model: see which "
                                           "collected mails would now go elsewhere, and move them")
    replay.add_argument("--since", required=True, type=_date, help="ISO date or date-time (UTC)")
    replay.add_argument("--limit", type=int, default=100_000)
    replay.add_argument("--apply", action="store_true",
                        help="store and route the changed decisions (replied mails stay replied)")
    replay.set_defaults(func=cmd_replay)


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cmd_rules_test(args: argparse.Namespace, settings: Settings) -> int:
    """Print what the processor would decide for one .eml file, and why."""
    from mailroom.processor.classify import (
        DEFAULT_SPAM_THRESHOLD,
        ClassifyParams,
        Models,
        classify,
        with_language,
    )
    from mailroom.processor.eml import parse_eml
    from mailroom.processor.rules import load_rules
    from mailroom.processor.training import (
        SPAM_MODEL,
        STARTER_MODEL,
        load_intent_model,
        load_spam_model,
    )

    rules = load_rules(args.rules or settings.mailroom_rules)
    try:
        email = parse_eml(args.eml.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{args.eml}: {exc.strerror or exc}") from None
    # the CLI's preflight has loaded both models already and named a bad one by its setting
    intent = load_intent_model(settings.mailroom_model)
    spam = load_spam_model(settings.mailroom_spam_model)
    params = ClassifyParams.from_settings(settings)
    email = with_language(email, params.default_language)
    print(f"mail: {email.subject!r} from {email.from_addr or '(no sender)'}, "
          f"language {email.language}")
    print(f"rules: {rules.path or 'the built-in seed rules (MAILROOM_RULES is unset)'}")
    print(f"intent model: {intent.version} ({settings.mailroom_model or STARTER_MODEL})")
    print("spam model: " + (f"{spam.version} ({settings.mailroom_spam_model or SPAM_MODEL}), "
                            f"threshold {spam.threshold or DEFAULT_SPAM_THRESHOLD:.4f}" if spam else "none"))
    print(f"autoreply mode: {params.autoreply_mode.value}")
    decision = classify(email, rules, Models(intent, spam), params)
    if decision.rule and decision.rule.startswith("guard:"):
        print(f"never answered: {decision.category}; the rules and models are not consulted")
    else:
        print("rules tried:")
        print(rules.explain(email).render(rules.path))
    print(f"decision: category {decision.category}, route {decision.route.value}, "
          f"template {decision.template}, confidence {decision.confidence:.2f}")
    for reason in decision.reasons:
        print(f"  because {reason}")
    if decision.would_reply:
        print(f"shadow mode: would have replied with template {decision.would_reply}")
    return 0


def cmd_model_train(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.processor import model as text_model
    from mailroom.processor.text import model_text
    from mailroom.processor.training import STARTER_DATA, read_dataset, train_evaluated

    # a DatasetError or ModelError is a user's to fix: the CLI says it in one line (USER_ERRORS)
    data = read_dataset(args.data or STARTER_DATA)
    if args.from_feedback:
        from mailroom.store.history import feedback_examples
        from mailroom.store.location import open_existing

        db, store_line = open_existing(settings)
        print(store_line)
        with db.begin() as conn:
            examples = feedback_examples(conn)
        db.dispose()
        for email, label in examples:
            data.add(model_text(email), label, f"feedback-{email.mail_id}")
        print(f"added {len(examples)} reviewer label(s) from the state store")
    out = args.out or settings.mailroom_model or settings.mailroom_data_dir / "model.joblib"
    model = train_evaluated(data)
    text_model.save(model, out)
    print(f"wrote {out}: version {model.version}, labels {', '.join(model.labels)}, "
          f"{len(data.texts)} examples")
    print(json.dumps(model.metrics, indent=2))
    return 0


def cmd_model_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.processor import evaluation
    from mailroom.processor import model as text_model
    from mailroom.processor.training import (
        TEST_SET,
        load_intent_model,
        load_spam_model,
        read_dataset,
    )

    path = args.data or TEST_SET
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder" + (
            "" if args.data else " (the dev test set ships with the source tree; "
                                 "give DATA to evaluate other labelled mail)"))
    mail_set = evaluation.is_mail_set(path)
    model = load_intent_model(args.model or settings.mailroom_model)
    if mail_set:
        mails = evaluation.read_mail_set(path)
        texts = model.texts_for([m.email for m in mails])
    else:
        data = read_dataset(path)
        texts = data.texts
    # with --json, stdout is one JSON document; what is said about it goes to stderr
    say = sys.stderr if args.json else sys.stdout
    print(f"intent model {model.version} on {len(texts)} examples from {path}", file=say)
    seen = model.seen_in_training(texts)
    if seen:
        print(f"warning: {seen} of {len(texts)} examples were in this model's training data; "
              "these numbers overstate how it does on new mail", file=say)
    if not mail_set:
        result = text_model.evaluate(model, texts, data.labels)
        print(json.dumps(result, indent=2) if args.json else
              "\n".join([f"accuracy {result['accuracy']:.4f}",
                         *evaluation.render_model({"all": result}, sorted(result["labels"]))]))
        return 0
    return _evaluate_mails(args, settings, model, load_spam_model(settings.mailroom_spam_model),
                           mails, texts)


def _evaluate_mails(args: argparse.Namespace, settings: Settings, model: TextModel,
                    spam: TextModel | None, mails: list[LabelledMail], texts: list[str]) -> int:
    from mailroom.processor import evaluation
    from mailroom.processor.classify import ClassifyParams, Models, classify_batch
    from mailroom.processor.rules import load_rules

    params = ClassifyParams.from_settings(settings)
    predictions = model.predict(texts)
    own = evaluation.model_report(mails, [p.label for p in predictions])
    decisions = classify_batch([m.email for m in mails], load_rules(settings.mailroom_rules),
                               Models(model, spam), params)
    replies = evaluation.pipeline_report(mails, decisions)
    crossed = sum(1 for m, p in zip(mails, predictions, strict=True)
                  if m.label == "unsubscription" and p.label == "subscription"
                  and p.confidence >= params.min_confidence)
    if args.json:
        print(json.dumps({"model": own, "pipeline": replies,
                          "cancellations_read_as_subscription": crossed}, indent=2))
        return 0
    print("\nthe intent model alone (its label against the true label):")
    print("\n".join(evaluation.render_model(own, sorted({m.label for m in mails}))))
    print(f"cancellations it reads as subscription with confidence >= "
          f"{params.min_confidence:.2f}: {crossed}")
    print(f"\nthe whole decision (guard, spam model {spam.version if spam else '(none)'}, rules, "
          "intent model): automatic subscription replies")
    print("\n".join(evaluation.render_pipeline(replies)))
    return 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from mailroom.kafka import KafkaClients, produce_all
    from mailroom.processor import replay
    from mailroom.processor.classify import ClassifyParams, Models
    from mailroom.processor.rules import load_rules
    from mailroom.processor.training import load_intent_model, load_spam_model
    from mailroom.store.history import stored_since
    from mailroom.store.location import open_existing

    rules = load_rules(settings.mailroom_rules)
    models = Models(load_intent_model(settings.mailroom_model),
                    load_spam_model(settings.mailroom_spam_model))
    params = ClassifyParams.from_settings(settings)
    db, store_line = open_existing(settings)
    print(store_line)
    try:
        with db.begin() as conn:
            rows = stored_since(conn, args.since, args.limit)
        result = replay.changes(rows, rules, models, params)
        for change in result.found:
            print(change.describe())
        settled = (f" ({result.settled} more would be judged differently but are settled: "
                   "replied, suppressed, failed or closed mails stay as they are)"
                   if result.settled else "")
        print(f"{result.read} mail(s) since {args.since.isoformat()}; "
              f"{len(result.found)} would change{settled}")
        if not args.apply or not result.found:
            return 0
        with db.begin() as conn:
            records, left = replay.apply(conn, result.found)
        applied = len(result.found) - len(left)
        if settings.embedded:
            # the embedded broker lives inside `mailroom up`: the store is enough, because
            # `up` republishes every open mail from it (at start, and when its stages idle)
            print(f"applied: {applied} re-decided in the store, {len(left)} left as they were "
                  "(settled meanwhile); KAFKA_BOOTSTRAP_SERVERS is unset: a running `mailroom up` "
                  f"routes them within {2 * settings.reconcile_after_seconds:.0f} s, or at its "
                  "next start")
            return 0
        producer = KafkaClients(settings.kafka_bootstrap_servers,
                                group_prefix=settings.kafka_group_prefix).producer()
        produce_all(producer, records)
        print(f"applied: {applied} re-routed, {len(left)} left as they were "
              "(already replied, suppressed or closed)")
        return 0
    finally:
        db.dispose()
