"""Building replies: threading headers, Message-ID, templates, languages, injection safety."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.errors import HeaderParseError
from email.headerregistry import Address, HeaderRegistry
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import DictLoader

from mailroom.events import Decision, RawEmail, Route
from mailroom.responder import folding
from mailroom.responder.compose import (
    Composer,
    ComposeRefused,
    ReplyFields,
    clean_subject,
    envelope_recipients,
    reply_bytes,
    reply_fields,
    reply_key,
    reply_message,
    reply_subject,
    serialise,
    truncate_utf8,
)
from mailroom.responder.templates import Templates, language_candidates

TEMPLATES = Templates()
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
EXPECTED_HEADERS = {"from", "to", "subject", "date", "message-id", "in-reply-to", "references",
                    "auto-submitted", "x-auto-response-suppress", "mime-version", "content-type",
                    "content-language"}


def mail(**fields: Any) -> RawEmail:
    values: dict[str, Any] = {
        "mail_id": "m1", "account": "support@example.com", "folder": "INBOX",
        "message_id": "<orig-1@client.example.org>", "subject": "Suscripción al boletín",
        "from_addr": "ana@example.org", "from_name": "Ana Pérez", "language": "es",
        "references": ["<root@client.example.org>"],
    }
    values.update(fields)
    return RawEmail(**values)


def decision(**fields: Any) -> Decision:
    values: dict[str, Any] = {"mail_id": "m1", "category": "subscription",
                              "route": Route.ACKNOWLEDGE}
    values.update(fields)
    return Decision(**values)


def compose(email: RawEmail | None = None, dec: Decision | None = None, *,
            templates: Templates = TEMPLATES, from_addr: str = "support@example.com",
            from_name: str = "Soporte", default_language: str = "en") -> EmailMessage:
    return reply_message(reply_fields(email or mail(), dec or decision(), templates=templates,
                                      from_addr=from_addr, from_name=from_name,
                                      default_language=default_language, now=NOW))


def reparse(msg: EmailMessage) -> EmailMessage:
    """What the receiving side sees after the bytes went over SMTP."""
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def parts(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert isinstance(text, EmailMessage) and isinstance(html, EmailMessage)
    return str(text.get_content()), str(html.get_content())


def test_reply_threads_to_the_original() -> None:
    """In-Reply-To is the original Message-ID; References is the old chain plus it."""
    msg = reparse(compose())
    assert msg["In-Reply-To"] == "<orig-1@client.example.org>"
    assert msg["References"].split() == ["<root@client.example.org>", "<orig-1@client.example.org>"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["From"] == "Soporte <support@example.com>"
    assert msg["To"] == "Ana Pérez <ana@example.org>"
    assert msg["Subject"] == "Re: Suscripción al boletín"
    assert {k.lower() for k in msg} == EXPECTED_HEADERS


def test_message_id_is_deterministic_per_original_and_template() -> None:
    """Same original and template -> same Message-ID; another template or mail -> another."""
    first, again = compose(), compose()
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"].endswith(".reply@example.com>")
    other_template = compose(dec=decision(category="unsubscription"))
    other_mail = compose(mail(message_id="<orig-2@client.example.org>"))
    assert len({first["Message-ID"], other_template["Message-ID"], other_mail["Message-ID"]}) == 3


def test_mail_without_message_id_gets_no_in_reply_to_but_a_stable_id() -> None:
    msg = compose(mail(message_id="", references=[]))
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert msg["Message-ID"] == compose(mail(message_id="", references=[]))["Message-ID"]


def test_reply_goes_to_a_single_reply_to_without_the_from_name() -> None:
    """One Reply-To: the reply goes there alone; the From's name belongs to the From."""
    msg = compose(mail(reply_to=["boss@example.org"]))
    assert envelope_recipients(msg) == ["boss@example.org"]
    assert str(msg["To"]) == "boss@example.org"
    same = compose(mail(reply_to=["Ana@Example.org"]))
    assert envelope_recipients(same) == ["ana@example.org"] and "Ana Pérez" in str(same["To"])


@pytest.mark.parametrize("reply_to", [["lists@example.org", "boss@example.org"],
                                      ["noreply@example.org"], ["support@example.com"]])
def test_several_or_refused_reply_to_is_never_composed(reply_to: list[str]) -> None:
    """Compose refuses rather than pick another address (the responder checks first)."""
    with pytest.raises(ComposeRefused, match="no reply address"):
        reply_fields(mail(reply_to=reply_to), decision(), templates=TEMPLATES,
                     from_addr="support@example.com", from_name="Soporte",
                     default_language="en", own_addresses=["support@example.com"], now=NOW)


def test_html_and_text_alternatives_in_the_mail_language() -> None:
    """Spanish mail -> Spanish template, HTML and plain text parts."""
    text, html = parts(reparse(compose()))
    assert "Hemos recibido su solicitud de suscripción" in text
    assert '<html lang="es">' in html
    assert compose()["Content-Language"] == "es"


def test_unknown_language_falls_back_to_default_language() -> None:
    msg = compose(mail(language="de"))
    assert msg["Content-Language"] == "en"
    assert "subscription request" in parts(msg)[0]


def test_regional_language_uses_its_base_language() -> None:
    assert compose(mail(language="es-ES"))["Content-Language"] == "es"
    assert language_candidates("es_MX", "en") == ("es-mx", "es", "en")


def test_unknown_category_uses_the_default_template() -> None:
    text, _ = parts(compose(dec=decision(category="billing")))
    assert "Gracias por su mensaje" in text


def test_path_like_template_names_never_reach_the_loader() -> None:
    """A decision naming ``../secret`` falls back to the default template."""
    text, _ = parts(compose(dec=decision(template="../../etc/passwd")))
    assert "Gracias por su mensaje" in text


def test_manual_reply_body_is_escaped_in_html() -> None:
    """A reviewer's text is sent verbatim in text and escaped in HTML."""
    body = 'Hola <script>alert("x")</script> & adiós'
    text, html = parts(compose(dec=decision(reply_body=body, requested_by="alice")))
    assert body in text
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; adiós" in html


def test_manual_template_without_text_is_refused() -> None:
    """A person's reply whose text was lost is never sent as an empty template."""
    with pytest.raises(ComposeRefused, match="without its text"):
        compose(dec=decision(template="manual"))
    with pytest.raises(ComposeRefused, match="without its text"):
        compose(dec=decision(reply_body="  ", requested_by="alice"))


def test_manual_reply_key_depends_on_the_text() -> None:
    one = decision(reply_body="a", requested_by="alice")
    assert reply_key(one) == reply_key(decision(reply_body="a")) != reply_key(decision(reply_body="b"))
    assert reply_key(one).startswith("manual-")
    assert reply_key(decision()) == "subscription"
    assert reply_key(decision(template="welcome")) == "welcome"


def test_user_templates_win_over_packaged_ones(tmp_path: Path) -> None:
    """A file in MAILROOM_TEMPLATES replaces the packaged one of the same name."""
    (tmp_path / "subscription.es.txt").write_text("Texto propio para {{ sender_address }}\n")
    msg = compose(templates=Templates(tmp_path))
    text, html = parts(msg)
    assert text.startswith("Texto propio para ana@example.org")
    assert "Hemos recibido" in html  # the html part still comes from the package


def test_undefined_template_variable_is_refused() -> None:
    """StrictUndefined: a template typo fails (dead letter), it never sends a hole."""
    loader = DictLoader({"default.en.txt": "{{ nmae }}", "default.en.html": "x"})
    with pytest.raises(ComposeRefused, match="nmae"):
        compose(mail(language="en"), templates=Templates(loader=loader))


def test_missing_default_template_is_refused() -> None:
    with pytest.raises(ComposeRefused, match="no template"):
        compose(templates=Templates(loader=DictLoader({})))


@pytest.mark.parametrize(("original", "expected"), [
    ("Hello", "Re: Hello"),
    ("Re: Hello", "Re: Hello"),
    ("RE: re:Re[2]: Hello", "Re: Hello"),
    ("  Re :  Suscripción  ", "Re: Suscripción"),
    ("", "Re:"),
    ("Line\r\nBcc: evil@example.net", "Re: Line Bcc: …"),
    ("tab\tand\x00nul\u2028sep", "Re: tab and nul sep"),
])
def test_reply_subject(original: str, expected: str) -> None:
    """One ``Re:``, control characters turned into spaces, addresses not echoed."""
    assert reply_subject(original) == expected


def test_subject_truncated_on_a_character_boundary() -> None:
    subject = clean_subject("ñ" * 300)
    assert len(subject.encode()) <= 200 and subject == "ñ" * 100
    assert truncate_utf8("aé", 2) == "a"


INJECTION = "x\r\nBcc: evil@attacker.example\r\n\r\n<b>body</b>"


@pytest.mark.parametrize("field", ["from_addr", "message_id", "references"])
def test_header_injection_through_mail_fields_is_refused(field: str) -> None:
    """CR/LF in any value that ends up in a header refuses the reply."""
    value: Any = [INJECTION] if field == "references" else INJECTION
    with pytest.raises(ComposeRefused, match="control character"):
        compose(mail(**{field: value}))


def test_header_injection_through_reply_to_is_refused() -> None:
    """CR/LF in Reply-To makes several addresses of it: refused, never sent to any."""
    with pytest.raises(ComposeRefused, match="no reply address"):
        compose(mail(reply_to=[INJECTION]))


def test_display_name_with_line_breaks_becomes_one_safe_line() -> None:
    """The From name is echoed made safe: no header, no link, no body can ride on it."""
    parsed = reparse(compose(mail(from_name=INJECTION)))
    assert {k.lower() for k in parsed} == EXPECTED_HEADERS
    assert "evil" not in str(parsed["To"]) and parsed["To"].addresses[0].addr_spec == "ana@example.org"


@pytest.mark.parametrize("kwarg", ["from_addr", "from_name"])
def test_header_injection_through_our_from_is_refused(kwarg: str) -> None:
    with pytest.raises(ComposeRefused):
        kwargs: dict[str, Any] = {kwarg: "support@example.com\r\nBcc: evil@attacker.example"}
        compose(**kwargs)


@pytest.mark.parametrize("field", ["subject", "category", "reply_body", "language", "template"])
def test_injection_through_body_variables_stays_in_the_body(field: str) -> None:
    """Subject is cleaned; body variables cannot add headers; nothing raises unexpectedly."""
    if field in ("subject", "language"):
        msg = compose(mail(**{field: INJECTION}))
    else:
        msg = compose(dec=decision(**{field: INJECTION}))
    parsed = reparse(msg)
    assert {k.lower() for k in parsed} == EXPECTED_HEADERS
    assert "bcc" not in {k.lower() for k in parsed}
    assert "<b>body</b>" not in parts(parsed)[1]


def test_invalid_addresses_are_refused() -> None:
    for bad in ("not-an-address", "a@b, c@d", "@example.org", "ana@"):
        with pytest.raises(ComposeRefused):
            compose(mail(from_addr=bad, reply_to=[]))


header_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)
# no control characters, no line or paragraph separators: nothing the composer must refuse
safe_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]),
                    max_size=80)
any_text = st.one_of(safe_text, header_text)


@settings(max_examples=300, deadline=None)
@given(subject=any_text, name=any_text, message_id=any_text, reference=any_text,
       body=any_text, local=st.one_of(st.just("ana"), any_text))
def test_random_values_never_inject_or_crash(subject: str, name: str, message_id: str,
                                             reference: str, body: str, local: str) -> None:
    """Property: any input either composes to a message with exactly our headers or is refused."""
    email = mail(subject=subject, from_name=name, from_addr=f"{local}@example.org",
                 message_id=message_id, references=[reference])
    try:
        msg = compose(email, decision(reply_body=body))
    except ComposeRefused:
        return
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    names = {line.split(b":", 1)[0].lower() for line in head.splitlines()
             if line and not line[:1].isspace()}
    assert names <= {n.encode() for n in EXPECTED_HEADERS}
    assert reparse(msg)["Auto-Submitted"] == "auto-replied"


@settings(max_examples=200, deadline=None)
@given(subject=header_text, name=safe_text, message_id=safe_text, reference=safe_text,
       body=header_text.map(lambda t: f"x{t}"))
def test_values_without_control_characters_always_get_a_reply(
        subject: str, name: str, message_id: str, reference: str, body: str) -> None:
    """Property: odd but harmless names, ids and subjects are repaired or dropped, never refused."""
    email = mail(subject=subject, from_name=name, message_id=message_id, references=[reference])
    msg = reparse(compose(email, decision(reply_body=body)))
    assert msg["To"].addresses[0].addr_spec == "ana@example.org"
    assert msg["Subject"].startswith("Re:")


def stdlib_bytes(msg: EmailMessage, *, utf8: bool = False) -> bytes:
    """The same message flattened by the stdlib's own SMTP policy, with no shortcut."""
    return msg.as_bytes(policy=(policy.SMTPUTF8 if utf8 else policy.SMTP))


@settings(max_examples=300, deadline=None)
@given(subject=safe_text, name=safe_text, reference=safe_text, body=safe_text,
       local=st.one_of(st.just("ana"), st.from_regex(r"[a-z0-9._-]{1,30}", fullmatch=True)),
       long_name=st.booleans())
def test_serialised_reply_is_byte_for_byte_what_the_stdlib_writes(
        subject: str, name: str, reference: str, body: str, local: str, long_name: bool) -> None:
    """The composer's header memo and one-line fast path must not change a single byte."""
    email = mail(subject=subject, from_name=name * (4 if long_name else 1),
                 from_addr=f"{local}@example.org", references=[reference])
    try:
        msg = compose(email, decision(reply_body=f"x{body}"))
    except ComposeRefused:
        return
    assert serialise(msg) == stdlib_bytes(msg)
    assert serialise(msg) == serialise(msg)  # the second time comes from the memo


ascii_text = st.from_regex(r"[ -~]{0,100}", fullmatch=True)
atoms = st.from_regex(r"[A-Za-z0-9'!#-]{1,12}( [A-Za-z0-9'!#-]{1,12}){0,4}", fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(subject=st.one_of(header_text, ascii_text), name=st.one_of(safe_text, ascii_text, atoms),
       reference=safe_text, body=safe_text,
       local=st.one_of(st.just("ana"), st.from_regex(r"[a-z0-9._-]{1,30}", fullmatch=True),
                       st.just("jos\u00e9")),
       message_id=st.one_of(st.just("<orig-1@client.example.org>"), safe_text,
                            st.from_regex(r"<[a-z0-9.]{60,120}@[a-z]{3,20}\.example>",
                                          fullmatch=True)),
       references=st.integers(0, 25), long_name=st.booleans(), manual=st.booleans(),
       language=st.sampled_from(["es", "en", "fr", ""]),
       micro=st.integers(0, 999_999))
def test_reply_bytes_are_what_the_message_serialises_to_and_the_stdlib_writes(
        subject: str, name: str, reference: str, body: str, local: str, message_id: str,
        references: int, long_name: bool, manual: bool, language: str, micro: int) -> None:
    """The reply written without an EmailMessage (``reply_bytes``, what the processor and
    the responder send) is, byte for byte, the message's ``serialise`` and the stdlib's own
    ``policy.SMTP`` (or SMTPUTF8) flattening, whatever the subject, name, ids and language."""
    email = mail(subject=subject, from_name=name * (4 if long_name else 1), language=language,
                 from_addr=f"{local}@example.org", message_id=message_id,
                 references=[f"<r{i}.{reference[:20]}@example.org>" for i in range(references)])
    now = NOW.replace(microsecond=micro)
    dec = decision(reply_body=f"x{body}") if manual else decision()
    try:
        fields = reply_fields(email, dec, templates=TEMPLATES, from_addr="support@example.com",
                              from_name="Soporte", default_language="en", now=now)
    except ComposeRefused:
        return
    msg = reply_message(fields)
    written = reply_bytes(fields)
    assert written == serialise(msg)
    assert written == stdlib_bytes(msg, utf8=not local.isascii())
    assert [fields.to.addr_spec] == envelope_recipients(msg)  # what Composer.render sends to


def test_the_composer_renders_the_reply_it_composes() -> None:
    composer = Composer(TEMPLATES, "support@example.com", "Soporte", "en")
    rendered = composer.render(mail(), decision(), now=NOW)
    msg = composer.compose(mail(), decision(), now=NOW)
    assert rendered.data == serialise(msg)
    assert rendered.recipients == envelope_recipients(msg) == ["ana@example.org"]
    assert rendered.message_id == str(msg["Message-ID"])


def test_serialised_reply_parses_back_to_the_same_reply() -> None:
    msg = compose()
    parsed = message_from_bytes(serialise(msg), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"] == "Ana Pérez <ana@example.org>"
    assert [p.replace("\r\n", "\n") for p in parts(parsed)] == list(parts(msg))
    assert b"\r\n" in serialise(msg) and b"\n" not in serialise(msg).replace(b"\r\n", b"")


def test_internationalised_address_is_serialised_with_utf8_headers() -> None:
    """A recipient on an internationalised domain: UTF-8 headers (RFC 6532), sent with
    SMTPUTF8. (A non-ASCII local part is refused by ``Address`` and never composed.)"""
    msg = compose(mail(from_addr="jose@ejémplo.es", from_name="José"))
    raw = serialise(msg)
    assert raw == stdlib_bytes(msg, utf8=True)
    assert "José <jose@ejémplo.es>".encode() in raw
    assert envelope_recipients(msg) == ["jose@ejémplo.es"]


def test_body_parts_are_quoted_printable_so_the_boundary_never_occurs_in_them() -> None:
    """A reply quoting our own boundary (or anything) cannot break the MIME structure."""
    first = compose()
    boundary = first.get_boundary()
    assert boundary is not None and "=_" in boundary
    msg = compose(dec=decision(reply_body=f"--{boundary}\n--{boundary}--\nlínea =_ fin"))
    raw = serialise(msg)
    assert raw.count(f"--{boundary}".encode()) == 3  # two part openers and the closer
    text, _html = parts(reparse(msg))
    assert f"--{boundary}" in text and "línea =_ fin" in text


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(st.text(), st.text(alphabet="a\r\n =.\t\u00e9\u2028\x0b\x0c\x1c\x85",
                                          max_size=200)),
       long=st.booleans())
def test_a_part_is_written_as_its_quoted_printable_with_crlf_lines(text: str, long: bool) -> None:
    """``reply_bytes`` writes a part's encoding straight to bytes: the same bytes as the
    encoded text with its lines joined by CRLF, as ``serialise`` writes them."""
    from mailroom.responder.compose import _crlf_lines, _qp, _qp_crlf

    text = text * 40 if long else text
    assert _qp_crlf(text) == _crlf_lines(_qp(text))


def test_a_message_of_another_shape_is_serialised_by_the_generator() -> None:
    """serialise() writes its own framing only for the shape reply_message builds."""
    single = EmailMessage(policy=policy.SMTP)
    single["To"] = "ana@example.org"
    single["Subject"] = "Re: hola"
    single.set_content("hola\n")
    assert serialise(single) == stdlib_bytes(single)
    mixed = compose()
    mixed.preamble = "This is a multi-part message."
    assert serialise(mixed) == stdlib_bytes(mixed)


_ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"


@given(local=st.lists(st.text(alphabet=_ATEXT, min_size=1, max_size=8), min_size=1, max_size=3),
       labels=st.lists(st.from_regex(r"[A-Za-z0-9-]{1,10}", fullmatch=True), min_size=2, max_size=4))
def test_plain_addresses_are_read_as_getaddresses_reads_them(
        local: list[str], labels: list[str]) -> None:
    """The composer's shortcut for dot-atom addresses agrees with ``getaddresses``."""
    from email.utils import getaddresses

    address = ".".join(local) + "@" + ".".join(labels)
    assert [a for _n, a in getaddresses([address]) if a] == [address]
    try:
        msg = compose(mail(from_addr=address, from_name="Ana"))
    except ComposeRefused:
        # refused only where the stdlib's own Address refuses it as well
        with pytest.raises((ValueError, HeaderParseError)):
            Address(display_name="Ana", addr_spec=address)
        return
    assert envelope_recipients(msg) == [address]


# --- the per-reply headers folded from their text (mailroom.responder.folding) --------

STDLIB_HEADERS = HeaderRegistry()  # the stdlib's own header classes: each value parsed


def stdlib_fold(flat: Any, name: str, value: Any) -> object:
    """What the stdlib's policy folds the header made from ``value`` to (or the error)."""
    try:
        return flat.fold_binary(name, STDLIB_HEADERS(name, value))
    except Exception as exc:
        return type(exc)


SPANISH = ["Re:", "Solicitud", "de", "suscripción", "al", "boletín", "baja", "inmediata", "por",
           "favor", "año", "niño", "¿Cómo", "cambio", "contraseña?", "Devolución", "última",
           "factura", "Subscription", "request", "please", "cancel", "my", "invoice", "a", "🙂",
           "中文", "Ünïcödé", "=?utf-8?q?x?=", "x=?y", "é" * 30, "x" * 80, "<id@example.org>"]
# blanks as a header may carry them (the composer's own subject has single spaces)
BLANKS = st.sampled_from([" ", " ", " ", "  ", "\t", " \t ", " " * 30])
words_and_blanks = st.lists(st.tuples(st.sampled_from(SPANISH), BLANKS), min_size=1, max_size=24) \
    .map(lambda pairs: "".join(word + blank for word, blank in pairs).rstrip())
header_chars = st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]) | \
    st.sampled_from(list("\t =?_áéíóúñ¿¡🙂"))
subjects = st.one_of(words_and_blanks, st.text(header_chars, min_size=1, max_size=160),
                     ascii_text.filter(bool), words_and_blanks.map(lambda t: f"Re: {t}"[:84]))
msg_ids = st.one_of(st.from_regex(r"<[a-z0-9.]{1,40}@[a-z]{1,12}\.example>", fullmatch=True),
                    st.from_regex(r"<[A-Za-z0-9.$-]{60,200}@[a-z.]{5,40}\.com>", fullmatch=True),
                    st.from_regex(r"<[a-zñé0-9.]{1,30}@[a-z]{1,12}\.example>", fullmatch=True))
references = st.lists(msg_ids, min_size=1, max_size=20).map(" ".join)
NAME_WORDS = ["José", "Pérez", "María", "de", "la", "Núñez", "Zoë", "O'Brien", "Ana", "Íñigo",
              "Ibáñez", "李", "🙂", "ü" * 25, "x" * 40, "Smith", "von"]
display_names = st.one_of(
    st.lists(st.sampled_from(NAME_WORDS), min_size=1, max_size=6).map(" ".join),
    st.text(header_chars, max_size=60), st.just("Pérez, Ana"), st.just("J. Pérez"))
locals_ = st.from_regex(r"[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,2}", fullmatch=True)
FLAT = [policy.SMTP, policy.SMTPUTF8, policy.SMTP.clone(max_line_length=50),
        policy.SMTP.clone(max_line_length=120)]


def test_folding_follows_this_pythons_stdlib() -> None:
    """The folding module is in use here (else every test of it below passes trivially).
    If this fails on another Python, its email folding is not one the module follows:
    compare the new source with the one followed, then add its digest to ``_FOLLOWED``."""
    assert folding.reproducible(), folding.source_digests()


@settings(max_examples=600, deadline=None)
@given(value=st.one_of(subjects, references), name=st.sampled_from(["Subject", "References",
                                                                    "In-Reply-To"]))
def test_an_unstructured_header_folds_as_the_stdlib_folds_it(value: str, name: str) -> None:
    """Subjects (Spanish, emoji, long words, encoded-word look-alikes, runs of blanks and
    tabs) and References lists: what the folding module writes, where it writes anything,
    is byte for byte the stdlib's, under the SMTP policy, SMTPUTF8 and other line lengths."""
    for flat in FLAT:
        ours = folding.fold_unstructured(name, value, flat)
        if ours is not None:
            assert ours == stdlib_fold(flat, name, value)


@settings(max_examples=400, deadline=None)
@given(name=display_names, local=locals_,
       host=st.from_regex(r"[a-z0-9-]{1,40}(\.[a-z]{2,10}){1,2}", fullmatch=True))
def test_a_mailbox_folds_as_the_stdlib_folds_it(name: str, local: str, host: str) -> None:
    """A To of one mailbox, whatever its display name: the folding module's bytes, where it
    writes any, are the stdlib's (one line, the next line, or over several lines)."""
    address = Address(display_name=name, addr_spec=f"{local}@{host}")
    for flat in FLAT:
        ours = folding.fold_mailbox("To", name, address.addr_spec, flat)
        if ours is not None:
            assert ours == stdlib_fold(flat, "To", address)


def base_fields() -> ReplyFields:
    return reply_fields(mail(), decision(), templates=TEMPLATES, from_addr="support@example.com",
                        from_name="Soporte", default_language="en", now=NOW)


@settings(max_examples=400, deadline=None)
@given(subject=subjects, name=display_names, refs=st.one_of(st.none(), references),
       original=st.one_of(st.none(), msg_ids), local=locals_)
def test_a_reply_with_folded_headers_is_the_stdlibs(
        subject: str, name: str, refs: str | None, original: str | None, local: str) -> None:
    """The whole reply, with any Subject, To name, In-Reply-To and 1-20 References (not
    only what ``reply_fields`` makes of a mail): ``reply_bytes`` (the folding module, no
    header objects), ``serialise`` (the reply policy's folding of the message's headers)
    and the stdlib's ``policy.SMTP`` flattening agree byte for byte."""
    fields = dataclasses.replace(
        base_fields(), subject=subject, in_reply_to=original, references=refs,
        to=Address(display_name=name, username=local, domain="customers.example.org"))
    msg = reply_message(fields)
    written = reply_bytes(fields)
    assert written == stdlib_bytes(msg)
    assert written == serialise(msg)


SPANISH_SUBJECT = "Re: Devolución del importe cobrado dos veces en la última factura del mes"


@pytest.mark.parametrize(("name", "value", "utf8", "shape"), [
    # the whole value: after the label, or alone on the next line
    ("Subject", "Re: Suscripción al boletín", True, b"Subject: Re: Suscripci\xc3\xb3n al bolet"),
    ("Subject", "Re: Please cancel my subscription to the weekly newsletter right now, thanks",
     False, b"Subject:\r\n Re: Please"),
    # ASCII words folded at the blank before the one that does not fit
    ("References", " ".join(f"<{i}.a1b2c3d4e5@mail.client.example.com>" for i in range(6)), False,
     b"<0.a1b2c3d4e5@mail.client.example.com>\r\n <1."),
    # runs of blanks and tabs: the run before a word that does not fit goes with it
    ("Subject", "Re: a \t  b" + " word" * 14 + "\t\t  tail", False, b" word\r\n word"),
    # a word longer than a line: encoded to be split
    ("References", f"<{'x' * 90}@example.org> <b@example.org>", False,
     b"References: =?utf-8?q?=3Cxxx"),
    # words that are not ASCII: one encoded word with the ASCII words between them (q)
    ("Subject", "Re: Suscripción al boletín", False,
     b"Subject: Re: =?utf-8?q?Suscripci=C3=B3n_al_bolet=C3=ADn?=\r\n"),
    # ... in base64 where that is shorter
    ("Subject", "Re: 🙂🙂🙂 中文字符", False, b"=?utf-8?b?"),
    # an encoded word split over lines, the rest of the words after it as they are
    ("Subject", SPANISH_SUBJECT, False, b"_la_?=\r\n =?utf-8?q?=C3=BAltima?= factura"),
    # no room left for an encoded word on the line: it starts the next one
    ("Subject", "xxxxxxxxxxxx favor Solicitud baja favor por de inmediata 🙂", False,
     b"inmediata \r\n =?utf-8?q?=F0=9F=99=82?=\r\n"),
    # ... after which the stdlib does not merge the next encoded word with it
    ("Subject", "xxxxxxxxxxxx bb xxxxxxxxxxxx inmediata bb Solicitud favor año ¿Cómo", False,
     b"=?utf-8?q?a=C3=B1o?= =?utf-8?q?=C2=BFC=C3=B3mo?="),
    # merging with an encoded word that starts with the blank it was split at
    ("Subject", "🙂 niño ééééé suscripción 🙂 bb 🙂 🙂", False, b"?=\r\n  =?utf-8?b?"),
])
def test_each_way_the_folding_module_folds_text(name: str, value: str, utf8: bool,
                                                shape: bytes) -> None:
    flat = policy.SMTPUTF8 if utf8 else policy.SMTP
    ours = folding.fold_unstructured(name, value, flat)
    assert ours is not None and shape in ours
    assert ours == stdlib_fold(flat, name, value)


ADDRESS = "user1234@customers.example.org"


@pytest.mark.parametrize(("name", "addr_spec", "shape"), [
    # the mailbox on one line after the label; atoms merged into one encoded word
    ("José de la Peña", ADDRESS, b"To: =?utf-8?q?Jos=C3=A9_de_la_Pe=C3=B1a?= <user1234@"),
    # one line, alone on the line after the label
    ("José Pérez", f"{'x' * 20}@customers.example.org", b"To:\r\n =?utf-8?q?Jos=C3=A9_P"),
    # taken apart: ASCII atoms after the encoded word, the address on the next line
    ("María José Núñez de la Fuente", ADDRESS, b"?= de la Fuente\r\n <user1234@"),
    # an encoded word split over lines
    ("Zoë " + "ü" * 40, ADDRESS, b"?=\r\n =?utf-8?b?"),
    # an encoded word that fills the line: its blank starts the next one, and the next
    # encoded word is not merged with it
    (f"de la {'ü' * 11} {'é' * 7} ñ ñ", ADDRESS, b"==?=\r\n =?utf-8?q?=C3=B1?= <user1234@"),
])
def test_each_way_the_folding_module_folds_a_mailbox(name: str, addr_spec: str,
                                                     shape: bytes) -> None:
    address = Address(display_name=name, addr_spec=addr_spec)
    ours = folding.fold_mailbox("To", name, address.addr_spec, policy.SMTP)
    assert ours is not None and shape in ours
    assert ours == stdlib_fold(policy.SMTP, "To", address)


@pytest.mark.parametrize(("name", "value"), [
    ("Subject", "Re: =?utf-8?q?Suscripci=C3=B3n?= al boletín"),  # an encoded word
    ("Subject", "Re: a\u00a0b"),  # whitespace the parser reads as blank, not space or tab
    ("Subject", "Re: \x00 nul"),  # a control character
    ("Subject", "Re: \udce9 surrogate"),  # a lone surrogate (the stdlib writes unknown-8bit)
    ("Subject", ""),
    # the stdlib merges an encoded word with a slice of one on the line before (it points
    # into the wrong line): not followed
    ("Subject", "xxxxxxxxxxxx favor de Re: de xxxxxxxxxxxx xxxxxxxxxxxx baja boletín año favor "
                "🙂 ééééé"),
    ("To", "Pérez, Ana"),  # quoted
    ("To", "Ana Smith"),  # ASCII: one short line, or the stdlib
    ("To", "José  Pérez"),  # two spaces
    ("To", "José " + "x" * 80),  # an atom longer than a line
])
def test_what_the_folding_module_leaves_to_the_stdlib(name: str, value: str) -> None:
    """None from the module (the stdlib folds it), and the reply is still the stdlib's."""
    if name == "To":
        address = Address(display_name=value, addr_spec="ana@example.org")
        assert folding.fold_mailbox("To", value, address.addr_spec, policy.SMTP) is None
        fields = dataclasses.replace(base_fields(), to=address)
    else:
        assert folding.fold_unstructured(name, value, policy.SMTP) is None
        fields = dataclasses.replace(base_fields(), subject=value)
    if "\udce9" in value:  # (the stdlib refuses to write it under policy.SMTP)
        return
    assert reply_bytes(fields) == stdlib_bytes(reply_message(fields))
