"""The text classifier: train, predict, evaluate, save/load round trip, version checks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest

from mailroom.events import RawEmail
from mailroom.processor import model as text_model
from mailroom.processor.training import (
    STARTER_DATA,
    STARTER_MODEL,
    DatasetError,
    load_intent_model,
    read_dataset,
    split,
)

TEXTS = ["quiero suscribirme al boletín", "please subscribe me to the newsletter",
         "add me to your mailing list", "alta en la lista de correo, por favor",
         "my invoice is wrong", "la factura tiene un error", "where is my order?",
         "¿dónde está mi pedido?"]
LABELS = ["subscription"] * 4 + ["other"] * 4


@pytest.fixture(scope="module")
def small_model() -> text_model.TextModel:
    return text_model.train(TEXTS, LABELS, n_features=2**12)


def test_trained_model_predicts_its_training_labels_with_a_confidence(
    small_model: text_model.TextModel,
) -> None:
    predictions = small_model.predict(["Suscribirme al boletin", "mi factura es incorrecta"])
    assert [p.label for p in predictions] == ["subscription", "other"]
    assert all(0.5 < p.confidence <= 1.0 for p in predictions)
    assert small_model.labels == ["other", "subscription"]
    assert small_model.version.startswith("intent-")


def test_segmented_model_round_trip_keeps_probabilities_view_and_fingerprints(tmp_path: Path) -> None:
    texts = ["Hola\nquiero suscribirme al boletín", "Hi\nsign me up please", "quiero el boletín",
             "Baja\nquitadme de la lista", "Hi\nremove me please", "remove me",
             "Factura\nel importe está mal", "Order\nwhere is my parcel", "hola, buenos días"]
    labels = ["subscription"] * 3 + ["unsubscription"] * 3 + ["other"] * 3
    model = text_model.train(texts, labels, n_features=2**14)
    assert model.segmented
    spam = text_model.train(texts, ["spam", "ham", "ham"] * 3, kind="spam", view="mail",
                            n_features=2**14)
    assert not spam.segmented
    for trained in (model, spam):
        path = tmp_path / f"{trained.kind}.joblib"
        text_model.save(trained, path)
        loaded = text_model.load(path)
        probe = ["Hola\nos sigo desde hace años. quiero suscribirme.", "", "\n\n", "x" * 5000]
        assert (loaded.segmented, loaded.view) == (trained.segmented, trained.view)
        assert (loaded.proba(probe) == trained.proba(probe)).all()
        assert loaded.seen_in_training(texts) == len(set(texts))
    chatty = model.proba(["Hola\nEl pedido llegó bien. Os sigo hace años. "
                          "Quiero suscribirme al boletín. Un saludo."])[0]
    assert model.classes[int(chatty.argmax())] == "subscription"
    assert abs(chatty.sum() - 1) < 1e-6


def test_a_second_reader_averages_the_probabilities_and_survives_a_round_trip(
        tmp_path: Path) -> None:
    texts = ["Hola\nquiero suscribirme al boletín", "Hi\nsign me up please", "quiero el boletín",
             "Baja\nquitadme de la lista", "Hi\nremove me please", "remove me",
             "Factura\nel importe está mal", "Order\nwhere is my parcel", "hola, buenos días"]
    labels = ["subscription"] * 3 + ["unsubscription"] * 3 + ["other"] * 3
    main = text_model.train(texts, labels, n_features=2**14)
    other = text_model.train([*texts[::-1], "newsletter please"], [*labels[::-1], "subscription"],
                             n_features=2**14)
    probe = ["Hola\nos sigo desde hace años. quiero suscribirme.", "Hi\nremove me", "", "x" * 500]
    expected = (main.proba(probe) + other.proba(probe)) / 2
    both = text_model.train(texts, labels, n_features=2**14).with_reader(other)
    assert np.allclose(both.proba(probe), expected)
    assert np.allclose(both.proba(probe).sum(axis=1), 1)
    path = tmp_path / "two.joblib"
    text_model.save(both, path)
    loaded = text_model.load(path)
    assert len(loaded.readers) == 1
    assert (loaded.proba(probe) == both.proba(probe)).all()
    # a reader must hash the text as the model does
    differently = text_model.train(texts, labels, n_features=2**12)
    with pytest.raises(text_model.ModelError):
        main.with_reader(differently)
    # a model file written before readers existed loads with none
    data = joblib.load(path)
    del data["readers"]
    joblib.dump(data, path)
    assert text_model.load(path).readers == []


def _sklearn_proba(model: text_model.TextModel, texts: list[str]) -> np.ndarray:
    """``model.proba`` through scikit-learn's own ``predict_proba``, reader by reader."""
    tails = [model.pipeline[1:], *model.readers]
    model._fused = (tuple(id(tail[-1].coef_) for tail in tails), None)
    try:
        return model.proba(texts)
    finally:
        model._fused = None


def test_the_fused_readers_give_scikit_learns_probabilities() -> None:
    """Every reader's TF-IDF and logistic regression as one product: the same probabilities
    (to float32 rounding) as each pipeline's ``predict_proba``, for a segmented model with a
    second reader, an unsegmented three-label one and a two-label (spam) one."""
    texts = ["Hola\nquiero suscribirme al boletín", "Hi\nsign me up please", "quiero el boletín",
             "Baja\nquitadme de la lista", "Hi\nremove me please", "remove me",
             "Factura\nel importe está mal", "Order\nwhere is my parcel", "hola, buenos días"]
    labels = ["subscription"] * 3 + ["unsubscription"] * 3 + ["other"] * 3
    probe = [*texts, "Hola\nos sigo desde hace años. quiero suscribirme.", "", "!!!", "x" * 500,
             "Re: Re: FW: baja? alta? " * 40]
    other = text_model.train([*texts[::-1], "newsletter please"], [*labels[::-1], "subscription"],
                             n_features=2**14)
    models = [text_model.train(texts, labels, n_features=2**14).with_reader(other),
              text_model.train(texts, labels, n_features=2**12, segmented=False),
              text_model.train(texts, ["spam", "ham", "ham"] * 3, kind="spam", view="mail",
                               n_features=2**12)]
    for model in models:
        fused = model.proba(probe)
        assert isinstance(model._fused, tuple) and model._fused[1] is not None  # the fused path ran
        assert np.abs(fused - _sklearn_proba(model, probe)).max() < 1e-5
        assert np.allclose(fused.sum(axis=1), 1)
    # anything but TF-IDF + logistic regression is read by scikit-learn itself
    assert text_model.FusedReaders.of([models[1].pipeline[1:2]]) is None
    assert text_model.FusedReaders.of([]) is None


def test_an_unbalanced_reader_weighs_labels_as_they_occur() -> None:
    """Balanced (the default), a rare label weighs as much as a common one; unbalanced (the
    shipped second reader), the common label's prior stays, so a mail with little evidence
    leans to it."""
    texts = ["Hola\nquiero suscribirme al boletín", "Hi\nsign me up please",
             *[f"Consulta {i}\nel pedido {i} no ha llegado" for i in range(12)]]
    labels = ["subscription"] * 2 + ["other"] * 12
    balanced = text_model.train(texts, labels, n_features=2**12, segmented=False)
    unbalanced = text_model.train(texts, labels, n_features=2**12, segmented=False, balanced=False)
    assert balanced.pipeline[-1].class_weight == "balanced"
    assert unbalanced.pipeline[-1].class_weight is None
    probe = ["Hola\nquiero el boletín", "hola"]
    lean = [b - u for b, u in zip(balanced.probability(probe, "subscription"),
                                  unbalanced.probability(probe, "subscription"), strict=True)]
    assert all(d > 0 for d in lean)


def test_a_fixed_number_of_solver_steps_runs_them_all() -> None:
    """``iterations``: the solver takes exactly that many steps (no tolerance stops it
    sooner, no warning that it did not converge); without it, it stops at its tolerance."""
    texts = [f"Hola {i}\nquiero suscribirme al boletín {i}" for i in range(6)] + \
        [f"Consulta {i}\nel pedido {i} no ha llegado" for i in range(6)]
    labels = ["subscription"] * 6 + ["other"] * 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning would fail the test
        fixed = text_model.train(texts, labels, n_features=2**12, segmented=False, iterations=7)
    free = text_model.train(texts, labels, n_features=2**12, segmented=False)
    assert fixed.pipeline[-1].n_iter_[0] == 7 and fixed.pipeline[-1].max_iter == 7
    assert free.pipeline[-1].max_iter == 3000 and free.pipeline[-1].n_iter_[0] < 3000


def test_save_and_load_round_trip_keeps_predictions_and_metadata(
    small_model: text_model.TextModel, tmp_path: Path,
) -> None:
    small_model.metrics = {"holdout": {"accuracy": 1.0}}
    path = tmp_path / "m.joblib"
    text_model.save(small_model, path)
    loaded = text_model.load(path)
    assert (loaded.version, loaded.labels, loaded.kind, loaded.metrics, loaded.trained_at) == (
        small_model.version, small_model.labels, small_model.kind, small_model.metrics,
        small_model.trained_at)
    texts = ["please add me", "wrong invoice"]
    assert loaded.predict(texts) == small_model.predict(texts)
    assert not path.with_name("m.joblib.tmp").exists()


def test_training_on_other_data_gives_another_version() -> None:
    a = text_model.train(TEXTS, LABELS, n_features=2**10)
    b = text_model.train(TEXTS[:-1], LABELS[:-1], n_features=2**10)
    assert a.version.split("-")[-1] != b.version.split("-")[-1]


def test_training_needs_two_labels() -> None:
    with pytest.raises(text_model.ModelError, match="at least two labels"):
        text_model.train(["a", "b"], ["x", "x"])


def test_load_refuses_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.joblib"
    joblib.dump({"something": 1}, bad)
    with pytest.raises(text_model.ModelError, match="not a mailroom model"):
        text_model.load(bad)
    garbage = tmp_path / "garbage.joblib"
    garbage.write_bytes(b"not a pickle at all")
    with pytest.raises(text_model.ModelError, match="not a mailroom model"):
        text_model.load(garbage)
    with pytest.raises(text_model.ModelError, match="no such model file"):
        text_model.load(tmp_path / "missing.joblib")


def test_evaluate_reports_precision_and_recall_per_label(small_model: text_model.TextModel) -> None:
    result = text_model.evaluate(small_model, ["suscribirme", "factura mal", "newsletter please"],
                                 ["subscription", "other", "other"])
    assert result["n"] == 3
    assert set(result["labels"]) == {"subscription", "other"}
    assert result["labels"]["other"]["support"] == 2


def test_datasets_read_from_jsonl_csv_and_eml_folders(tmp_path: Path) -> None:
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text(json.dumps({"text": "hola", "label": "other", "group": "g"}) + "\n\n",
                     encoding="utf-8")
    assert read_dataset(jsonl).groups == ["g"]
    csv_file = tmp_path / "d.csv"
    csv_file.write_text('text,label\n"hello, world",other\nsign me up,subscription\n', encoding="utf-8")
    assert read_dataset(csv_file).labels == ["other", "subscription"]
    folder = tmp_path / "eml"
    (folder / "subscription").mkdir(parents=True)
    (folder / "subscription" / "1.eml").write_bytes(b"Subject: Alta\r\n\r\nquiero el boletin\r\n")
    data = read_dataset(folder)
    assert data.labels == ["subscription"] and data.texts[0].startswith("Alta\nquiero el boletin")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no label"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:1: needs text and label"):
        read_dataset(bad)


def test_split_keeps_a_group_on_one_side() -> None:
    data = read_dataset(STARTER_DATA)
    parts = split(data)
    assert parts is not None
    train_part, test_part = parts
    assert not set(train_part.groups) & set(test_part.groups)
    assert len(train_part.texts) + len(test_part.texts) == len(data.texts)


def test_shipped_starter_model_is_small_and_knows_es_and_en_intents() -> None:
    # two readers: 3.7-3.9 MB from the ninth rebuild, 4.3-4.6 MB since the twenty-fourth (more
    # hand-written mail, more n-grams kept), 5.0-5.1 MB since the forty-first, about 1.6 MB of it
    # the fingerprints of its distinct training texts (8 bytes each, for the "in this model's
    # training data" warning: 196,121 at the forty-first), which grow with the hand-written mail;
    # 6.0 MB at the sixty-third, 6.1 MB at the sixty-fifth, 2.7 MB of it 334,153 fingerprints
    # (random bits: they do not compress), 6.3 MB at the sixty-eighth (351,737 fingerprints,
    # 2.8 MB). Past 7 MB is a change to look at (fewer bits per fingerprint would halve them)
    assert STARTER_MODEL.stat().st_size < 7_000_000
    model = load_intent_model(None)
    assert set(model.labels) == {"subscription", "unsubscription", "other"}
    assert model.segmented and model.view == "text"
    predictions = model.predict([
        "Hola\nMe gustaría darme de alta en la newsletter.",
        "Hello\nPlease take me off your mailing list.",
        "Pedido\nMi pedido 4411 no ha llegado todavía.",
        "Sign up\nI would like to subscribe to the weekly digest.",
        "Hola\nEl otro día estuve en vuestra tienda. Os sigo desde hace años. Mi hermana recibe "
        "vuestro boletín y le encanta, así que me gustaría recibirlo yo también. Gracias.",
    ])
    assert [p.label for p in predictions] == ["subscription", "unsubscription", "other",
                                              "subscription", "subscription"]


def test_segment_reads_a_clause_after_a_colon_on_its_own() -> None:
    pieces, starts = text_model.segment([
        "Hola\nEl botón no funciona, así que os escribo directamente: ¿me dais de alta? Gracias",
        "Subject: only\n"])
    assert pieces == ["Hola", "El botón no funciona, así que os escribo directamente:",
                      "¿me dais de alta?", "Gracias", "Subject: only"]
    assert list(starts) == [0, 4]


def test_shipped_intent_model_tells_a_bare_keyword_subject_from_one_above_a_question() -> None:
    """"Suscripción" and nothing else asks to join; above a billing question or spam it does not."""
    from mailroom.processor.text import model_text

    def mail(subject: str, body: str) -> str:
        return model_text(RawEmail(mail_id="1", account="a", folder="f", subject=subject, text=body))

    model = load_intent_model(None)
    said = model.predict([mail("Suscripción", ""), mail("Subscription", ""),
                          mail("Suscripción", "Me habéis cobrado dos veces la cuota de este mes."),
                          mail("Subscription: Cheap meds", "Best prices on pills, order now, free shipping")])
    assert [p.label for p in said] == ["subscription", "subscription", "other", "other"]


@pytest.mark.parametrize("text", [
    "Consulta\nLes agradecería que quitaran mi dirección de la lista de envíos, gracias.",
    "Hola\npor favor sacarme de la lista de correo",
    "Hola\nNo quiero recibir más vuestros correos.",
    "Hello\nCould you remove my address from your list? Thanks",
    "Hi\nI don't want to get these emails anymore.",
])
def test_shipped_intent_model_reads_remove_my_address_as_a_cancellation(text: str) -> None:
    assert load_intent_model(None).predict([text])[0].label == "unsubscription"


def test_shipped_models_on_the_dev_test_set_stay_above_their_floor() -> None:
    """A regression floor below the documented numbers (docs/classification.md), not the
    issue's target: a retrained model that reads much worse fails here."""
    from mailroom.processor.evaluation import model_report, read_mail_set
    from mailroom.processor.training import TEST_SET, load_spam_model

    mails = read_mail_set(TEST_SET)
    model = load_intent_model(None)
    said = [p.label for p in model.predict(model.texts_for([m.email for m in mails]))]
    report = model_report(mails, said)["all"]["labels"]
    assert report["subscription"]["recall"] >= 0.92 and report["subscription"]["precision"] >= 0.95
    assert report["unsubscription"]["recall"] >= 0.9
    # only a short mail may coincide with a training text: a subject-only one with a generated
    # line ("Darme de baja del boletín" is both an example of the issue and a subject of the
    # generator), a terse one with a hand-written mail ("Hola / Quiero suscribirme.", written
    # the same by five authors of the independent sets, each without seeing the others; "." /
    # "Unsubscribe", written the same by set 96's author)
    short = [m for m in mails if "subject-only" in m.slices
             or ("terse" in m.slices and len(model_text_of(m)) <= 40)]
    assert model.seen_in_training([model_text_of(m) for m in mails]) == model.seen_in_training(
        [model_text_of(m) for m in short]) <= 3
    spam = load_spam_model(None)
    assert spam is not None and spam.view == "mail" and spam.threshold is not None
    assert max(spam.probability(spam.texts_for([m.email for m in mails]), "spam")) < spam.threshold


def model_text_of(mail: object) -> str:
    from mailroom.processor.text import model_text

    return model_text(mail.email)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_starter_model_from_another_scikit_learn_is_rebuilt_from_the_data(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    """The rebuild path end to end (read the shipped data file, split, measure, fit, cache,
    use), on every 15th line of the shipped data: the same code as the full rebuild, without
    its minutes of training."""
    import gzip

    from mailroom.processor import training
    from mailroom.processor.classify import ClassifyParams, Models, classify_batch
    from mailroom.processor.rules import load_rules

    def refuse(path: Path) -> text_model.TextModel:
        raise text_model.ModelError(f"{path}: trained with scikit-learn 0.1")

    lines = gzip.decompress(STARTER_DATA.read_bytes()).decode("utf-8").splitlines()
    small = tmp_path / "starter.jsonl.gz"
    small.write_bytes(gzip.compress("\n".join(lines[::15]).encode("utf-8")))
    monkeypatch.setattr(training, "STARTER_DATA", small)
    monkeypatch.setattr(training.text_model, "load", refuse)
    training._retrained_starter_model.cache_clear()
    try:
        model = training.load_intent_model(None)
        assert set(model.labels) == {"subscription", "unsubscription", "other"}
        assert model.metrics["trained_on"] == len(lines[::15])
        assert "holdout" in model.metrics
        assert training.load_intent_model(None) is model  # trained once, not again for each caller
        with pytest.raises(text_model.ModelError):
            training.load_intent_model(tmp_path / "configured.joblib")
        # and it is the model the processor then uses
        email = RawEmail(mail_id="m1", account="a", folder="INBOX", subject="Hola",
                         from_addr="ana@example.es", from_name="Ana", language="es",
                         text="Quiero suscribirme al boletín mensual, por favor.")
        decision = classify_batch([email], load_rules(None), Models(model, None), ClassifyParams())[0]
        assert decision.rule == "model" and decision.model_version == model.version
    finally:
        training._retrained_starter_model.cache_clear()


def test_classify_gives_the_spam_model_its_view_of_the_mail() -> None:
    """The spam model reads header/HTML shape tokens: classify_batch must hand it
    ``spam_text``, not the intent model's text (same words, different shape here)."""
    from mailroom.events import RawEmail
    from mailroom.processor.classify import ClassifyParams, Models, classify_batch
    from mailroom.processor.rules import load_rules
    from mailroom.processor.text import spam_text

    def mail(i: int, shady: bool) -> RawEmail:
        return RawEmail(mail_id=f"m{i}", account="a", folder="INBOX", subject="hello",
                        from_addr=f"x{i}9@deals.biz" if shady else "ana@example.es",
                        from_name="" if shady else "Ana", language="en",
                        html='<font><a href="http://a">hi</a></font>' if shady else "",
                        text="" if shady else "hi", content_type="text/html" if shady else "text/plain")

    emails = [mail(i, shady=i % 2 == 0) for i in range(40)]
    spam = text_model.train([spam_text(e) for e in emails],
                            ["spam" if i % 2 == 0 else "ham" for i in range(40)], kind="spam",
                            view="mail", n_features=2**12)
    spam.threshold = 0.5
    decisions = classify_batch([mail(100, shady=True), mail(101, shady=False)], load_rules(None),
                               Models(None, spam), ClassifyParams())
    assert decisions[0].category == "spam"
    assert decisions[1].category != "spam"


def test_the_shipped_training_data_is_what_the_seeded_generator_writes() -> None:
    """scripts/make_starter_data.py rebuilds src/mailroom/data/starter.jsonl.gz line for line."""
    import gzip
    import importlib.util
    import sys

    script = Path(__file__).resolve().parents[2] / "scripts" / "make_starter_data.py"
    spec = importlib.util.spec_from_file_location("make_starter_data", script)
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    sys.modules["make_starter_data"] = generator  # its dataclasses look themselves up there
    spec.loader.exec_module(generator)
    lines = generator.data_lines(generator.generate())
    assert "".join(lines) == gzip.decompress(STARTER_DATA.read_bytes()).decode("utf-8")
