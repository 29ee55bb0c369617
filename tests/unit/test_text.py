"""The text views the rules and models read: ``fold`` exactly, the sender's own words, shape tokens."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailroom.collector.parse import ParseLimits, parse_message
from mailroom.events import TEXT_FROM_HTML, RawEmail
from mailroom.processor.text import (
    HTML_READ_CHARS,
    SUBJECT_ONLY,
    body_text,
    fold,
    model_text,
    own_words,
    shape_tokens,
    spam_text,
)


def fold_by_definition(text: str) -> str:
    """NFKD, every combining mark dropped, casefolded: what the shipped models were trained on."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@pytest.mark.parametrize(("text", "expected"), [
    ("Suscripción", "suscripcion"), ("SUSCRIPCION", "suscripcion"), ("Straße", "strasse"),
    ("ＡＢＣ", "abc"), ("Ελληνικά", "ελληνικα"), ("", ""), ("plain ascii", "plain ascii"),
])
def test_fold_examples(text: str, expected: str) -> None:
    assert fold(text) == expected


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200))
def test_fold_matches_its_definition(text: str) -> None:
    assert fold(text) == fold_by_definition(text)


QUOTED_REPLIES = [
    ("Please subscribe me.\n\nOn Tue, Dec 1, 2026 at 10:00 AM John <j@x.com> wrote:\n> unsubscribe",
     "Please subscribe me."),
    ("Quiero darme de alta\n\nEl mar, 1 dic 2026 a las 10:00, Ana <a@x.es>\nescribió:\n> baja",
     "Quiero darme de alta"),
    ("Sign me up\n-- \nJohn Smith\nACME", "Sign me up"),
    ("Alta por favor\n\n-----Mensaje original-----\nDe: x\nEnviado: y\nbaja", "Alta por favor"),
    ("Hi\nplease add me\n\nFrom: Sales <s@x.com>\nSent: Monday\nTo: me\nSubject: stop", "Hi\nplease add me"),
    ("Alta\n________________________________\nDe: Club <c@x.es>\nEnviado: lunes\nbaja", "Alta"),
    ("add me\n> quoted line\nthanks", "add me\nthanks"),
    ("> only quoted\n> text", "> only quoted\n> text"),
    ("-- \nEnviado desde mi iPhone", ""),
    ("Hi\n\nSent from my Galaxy", ""), ("Anna Bell\nanna.bell@example.com", ""),
    ("Yours sincerely,\nProfessor H. Langley", ""), ("Enviado desde mi iPhone", ""),
    ("Remove Me\nSent from my iPhone", "Remove Me\nSent from my iPhone"), ("Stop", "Stop"),
    ("alta", "alta"), ("Please add me\nThanks", "Please add me\nThanks"),
    # a bare "please" says nothing of its own: the subject is the request ("Newsletter / Please.")
    ("Please.", ""), ("Por favor, gracias.", ""), ("Hola, porfa!!", ""), ("Por favor no", "Por favor no"),
    ("From: is how I start a sentence sometimes\nplease add me", "From: is how I start a sentence "
     "sometimes\nplease add me"),
]


@pytest.mark.parametrize(("body", "words"), QUOTED_REPLIES)
def test_own_words_stop_at_quotes_attributions_and_signatures(body: str, words: str) -> None:
    assert own_words(body) == words


def test_model_text_of_html_only_mail_drops_the_quoted_thread() -> None:
    email = RawEmail(mail_id="1", account="a", folder="f", subject="Hola", content_type="text/html",
                     html='<p>Quiero <b>suscribirme</b></p><div class="gmail_quote">El lun '
                          'escribió:<blockquote>darme de baja</blockquote></div>')
    assert model_text(email) == "Hola\nQuiero suscribirme"


def test_an_html_only_mail_reads_the_same_collected_as_in_a_labelled_set() -> None:
    """The collector writes an HTML-only mail's visible text, quoted thread and all, into
    ``text``; the models still read its HTML without the thread, as they do for a labelled
    set's mail (``html`` only) that they were trained and evaluated on."""
    markup = ('<div>Please add me to the weekly newsletter.</div><blockquote type="cite">'
              'To unsubscribe from this newsletter, reply STOP</blockquote>')
    raw = ("From: Ana <ana@example.org>\r\nTo: support@example.com\r\nSubject: Re: Hello\r\n"
           "Message-ID: <h1@example.org>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: text/html; charset=utf-8\r\n\r\n" + markup + "\r\n").encode()
    collected = parse_message(raw, account="a", folder="INBOX", uid=1, uidvalidity=1,
                              limits=ParseLimits())
    assert "unsubscribe" in collected.text  # the reviewer sees the whole mail
    assert TEXT_FROM_HTML in collected.flags
    labelled = RawEmail(mail_id="1", account="a", folder="f", subject="Re: Hello",
                        content_type="text/html", html=markup)
    assert model_text(collected) == model_text(labelled) == \
        "Re: Hello\nPlease add me to the weekly newsletter."
    assert body_text(collected) == body_text(labelled)
    # a mail with a text part of its own is read from it, as before
    plain = parse_message(raw.replace(b"text/html", b"text/plain"), account="a", folder="INBOX",
                          uid=2, uidvalidity=1, limits=ParseLimits())
    assert TEXT_FROM_HTML not in plain.flags


def test_a_huge_html_only_mail_is_read_from_its_opening() -> None:
    """The models read the first HTML_READ_CHARS of the HTML: a megabyte of markup costs no
    more than that (the request is at the top)."""
    markup = "<p>Quiero suscribirme al boletín.</p>" + "<p>relleno de la página</p>" * 40_000
    huge = RawEmail(mail_id="1", account="a", folder="f", subject="Hola", content_type="text/html",
                    html=markup, text="collected text", flags=[TEXT_FROM_HTML])
    opening = huge.model_copy(update={"html": markup[:HTML_READ_CHARS]})
    assert len(markup) > 10 * HTML_READ_CHARS
    assert model_text(huge) == model_text(opening)
    assert model_text(huge).startswith("Hola\nQuiero suscribirme al boletín.")


def test_spam_text_adds_shape_tokens_from_the_event() -> None:
    html_spam = RawEmail(mail_id="1", account="a", folder="f", subject="FREE MONEY NOW!!!",
                         from_addr="x8812@deals.biz", content_type="text/html",
                         html='<font color="red"><a href="http://a.biz">win</a><img src=x></font>')
    tokens = shape_tokens(html_spam)
    assert {"zzhtmlonly", "zzurls1", "zzimg", "zzfont", "zzcolor", "zzfromdigits", "zztldbiz",
            "zznoname", "zzto0", "zznomsgid", "zznodate", "zznomailer", "zzsubjectcaps",
            "zzsubjectbang"} <= set(tokens)
    person = RawEmail(mail_id="2", account="a", folder="f", subject="Alta", text="alta, gracias",
                      from_addr="ana@example.es", from_name="Ana", to=["info@x.es"],
                      message_id="<1@example.es>", date="Tue, 1 Dec 2026 10:00:00 +0100",
                      headers={"x-mailer": ["Apple Mail (2.3445)"]}, in_reply_to="<0@x.es>")
    assert shape_tokens(person) == ["zzplain", "zzurls0", "zzfromletters", "zztldes", "zzname",
                                    "zzto1", "zzthread", "zzmailerapple"]
    assert spam_text(person).endswith(model_text(person))


def test_a_subject_only_mail_is_marked_for_the_intent_model_not_for_the_spam_model() -> None:
    """"Suscripción" with an empty body reads differently from the same subject above a
    question, so a linear model can call only the first a request."""
    alone = RawEmail(mail_id="1", account="a", folder="f", subject="Suscripción", text="  \n")
    above = alone.model_copy(update={"text": "¿Cuándo se renueva mi suscripción?"})
    assert model_text(alone) == f"Suscripción {SUBJECT_ONLY}\n"
    assert model_text(above) == "Suscripción\n¿Cuándo se renueva mi suscripción?"
    assert SUBJECT_ONLY not in spam_text(alone) and spam_text(alone).endswith("\nSuscripción\n")
