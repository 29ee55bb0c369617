"""parse_message: bytes of one mail to a RawEmail, or UnparseableMail with a reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailroom.collector import headers as h
from mailroom.collector.parse import ParseLimits, UnparseableMail, parse_message
from mailroom.events import RawEmail

LIMITS = ParseLimits()
SKIP = {"LICENSE", "COPYING", "README.md"}


def parse(raw: bytes, **kwargs: object) -> RawEmail:
    options: dict[str, object] = {"account": "acc", "folder": "INBOX", "uid": 7,
                                  "uidvalidity": 42, "limits": LIMITS}
    options.update(kwargs)
    return parse_message(raw, **options)  # type: ignore[arg-type]


def mail(headers: str, body: str = "Hello there, this is the body of the message.\n") -> bytes:
    return (headers.strip("\n").replace("\n", "\r\n") + "\r\n\r\n" + body).encode()


BASIC = mail("""
From: "Ana Pérez" <Ana.Perez@Example.COM>
To: Support <support@example.com>, other@example.com
Cc: boss@example.com
Reply-To: replies@example.com
Return-Path: <bounce@example.com>
Subject: =?utf-8?q?Quiero_la_suscripci=C3=B3n?=
Message-ID: <abc123@example.com>
In-Reply-To: <prev@example.com>
References: <first@example.com> <prev@example.com>
Date: Fri, 27 Nov 2026 10:00:00 +0100
Auto-Submitted: no
Precedence: bulk
List-Unsubscribe: <mailto:unsub@example.com>
X-Spam-Status: No, score=0.1
Received: from somewhere
Content-Type: text/plain; charset=utf-8
""", "Hola, quiero darme de alta en la suscripción mensual del boletín, gracias.\n")


def test_every_field_of_a_plain_mail_is_filled() -> None:
    """Addresses are lower-case addr-specs, the subject is RFC 2047-decoded, ids keep <>."""
    event = parse(BASIC)
    assert event.subject == "Quiero la suscripción"
    assert (event.from_addr, event.from_name) == ("ana.perez@example.com", "Ana Pérez")
    assert event.to == ["support@example.com", "other@example.com"]
    assert event.cc == ["boss@example.com"] and event.reply_to == ["replies@example.com"]
    assert event.return_path == "bounce@example.com"
    assert event.message_id == "<abc123@example.com>"
    assert event.in_reply_to == "<prev@example.com>"
    assert event.references == ["<first@example.com>", "<prev@example.com>"]
    assert event.date == "2026-11-27T09:00:00+00:00"  # in UTC
    assert event.text.startswith("Hola, quiero darme de alta")
    assert event.language == "es"
    assert event.content_type == "text/plain"
    assert (event.account, event.folder, event.uid, event.uidvalidity) == ("acc", "INBOX", 7, 42)
    assert event.size == len(BASIC) and event.flags == []


def test_only_loop_and_spam_relevant_headers_are_kept_lower_case() -> None:
    headers = parse(BASIC).headers
    assert headers["auto-submitted"] == ["no"]
    assert headers["precedence"] == ["bulk"]
    assert headers["list-unsubscribe"] == ["<mailto:unsub@example.com>"]
    assert headers["x-spam-status"] == ["No, score=0.1"]
    assert "received" not in headers and "subject" not in headers


def test_mail_id_is_stable_per_mailbox_and_message_id() -> None:
    """The same Message-ID is the same mail in one folder, another mail in another folder."""
    other_body = BASIC.replace(b"Hola", b"Adios")
    assert parse(BASIC).mail_id == parse(other_body).mail_id
    assert parse(BASIC).mail_id != parse(BASIC, folder="Sales").mail_id
    no_id = mail("From: a@example.com\nSubject: x")
    assert parse(no_id).mail_id == parse(no_id).mail_id != parse(no_id + b"more").mail_id


@pytest.mark.parametrize(("header", "expected"), [
    ("=?utf-8?b?U3VzY3JpcGNpw7Nu?=", "Suscripción"),
    ("=?iso-8859-1?q?Suscripci=F3n?= mensual", "Suscripción mensual"),
    ("=?utf-8?q?Hola?= =?utf-8?q?_mundo?=", "Hola mundo"),
    ("=?x-bogus-charset?q?hola?=", "hola"),
    ("=?utf-8?q?broken", "=?utf-8?q?broken"),
    ("=?utf-8?q?two=0D=0Alines=09tab?=", "two lines tab"),
])
def test_subject_encoded_words_are_decoded(header: str, expected: str) -> None:
    assert parse(mail(f"From: a@example.com\nSubject: {header}")).subject == expected


def test_raw_utf8_header_and_unknown_body_charset_decode_with_replacement() -> None:
    raw = ("From: a@example.com\r\nSubject: Señal ñandú\r\n"
           "Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n").encode() + \
        b"Caf\xc3\xa9 \xff\xfe end\r\n"
    event = parse(raw)
    assert event.subject == "Señal ñandú"
    assert event.text.startswith("Café") and "\ufffd" in event.text
    assert "charset_replaced" in event.flags


def test_latin1_body_is_decoded_in_its_charset() -> None:
    raw = b"From: a@example.com\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nCaf\xe9\r\n"
    assert parse(raw).text == "Café"


def test_nul_bytes_are_stripped() -> None:
    event = parse(b"From: a@exa\x00mple.com\r\nSubject: a\x00b\r\n\r\nbo\x00dy\r\n")
    assert (event.from_addr, event.subject, event.text) == ("a@example.com", "ab", "body")


def test_html_only_mail_gets_text_from_its_html() -> None:
    raw = mail("From: a@example.com\nContent-Type: text/html; charset=utf-8",
               "<html><head><style>p{}</style></head><body><p>Hello &amp; welcome</p>"
               "<script>x()</script><div>Second line</div></body></html>")
    event = parse(raw)
    assert event.text == "Hello & welcome\n\nSecond line" or event.text == "Hello & welcome\nSecond line"
    assert "<p>" in event.html


def test_attachments_are_described_without_their_bytes() -> None:
    raw = mail("""
From: a@example.com
Content-Type: multipart/mixed; boundary=XX""", """--XX
Content-Type: text/plain

See attached.
--XX
Content-Type: application/pdf; name=report.pdf
Content-Disposition: attachment; filename=report.pdf
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+Pg==
--XX--
""")
    event = parse(raw)
    assert event.text == "See attached."
    assert [(a.name, a.content_type) for a in event.attachments] == [("report.pdf", "application/pdf")]
    assert event.attachments[0].size > 0
    assert "JVBER" not in event.to_bytes().decode()


def test_null_return_path_is_empty_and_missing_is_none() -> None:
    assert parse(mail("From: a@example.com\nReturn-Path: <>")).return_path == ""
    assert parse(mail("From: a@example.com")).return_path is None


def test_oversize_mail_becomes_headers_only_event_flagged_too_large() -> None:
    """The caller passes only the header section and the real size."""
    head = mail("From: a@example.com\nSubject: big one\nMessage-ID: <big@x>", "")
    event = parse(head, full_size=30_000_000)
    assert event.flags == ["too_large"] and event.size == 30_000_000
    assert (event.subject, event.text, event.message_id) == ("big one", "", "<big@x>")


def test_mail_over_max_bytes_is_cut_to_its_headers() -> None:
    event = parse(mail("From: a@example.com\nSubject: s", "y" * 5000),
                  limits=ParseLimits(max_bytes=2048))
    assert "too_large" in event.flags and event.text == ""


def _nested(depth: int) -> bytes:
    head = "From: a@example.com\r\nSubject: deep\r\n"
    body = "innermost text\r\n"
    for level in range(depth, 0, -1):
        body = (f"Content-Type: multipart/mixed; boundary=x{level}x\r\n\r\n--x{level}x\r\n"
                f"{body}\r\n--x{level}x--\r\n")
    return (head + body).encode()


def test_too_deep_mime_becomes_headers_only_event() -> None:
    event = parse(_nested(30), limits=ParseLimits(max_depth=20))
    assert "too_deep" in event.flags and event.subject == "deep" and event.text == ""
    assert "too_deep" not in parse(_nested(5)).flags
    # deeper than fast-mail-parser's cap and Python's recursion limit: still an event
    assert parse(_nested(3000)).flags == ["too_deep"]


def test_too_many_parts_becomes_headers_only_event() -> None:
    parts = "".join(f"--XX\r\nContent-Type: text/plain\r\n\r\npart {i}\r\n" for i in range(50))
    raw = ("From: a@example.com\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=XX"
           f"\r\n\r\n{parts}--XX--\r\n").encode()
    event = parse(raw, limits=ParseLimits(max_parts=20))
    assert "too_many_parts" in event.flags and event.text == ""
    assert "part 49" in parse(raw).text


def test_header_fast_parser_refuses_falls_back_to_stdlib() -> None:
    event = parse(b" X-Broken: first line folded\nFrom: a@example.com\n\nbody\n")
    assert "stdlib_fallback" in event.flags
    assert event.from_addr == "a@example.com" and event.text == "body"


def test_long_bodies_are_cut_to_fit_one_kafka_record() -> None:
    event = parse(mail("From: a@example.com", "z" * 5000), limits=ParseLimits(max_body_chars=1000))
    assert len(event.text) == 1000 and "body_truncated" in event.flags


def test_mail_from_our_own_address_is_flagged() -> None:
    event = parse(BASIC, own_addresses=["ANA.perez@example.com"])
    assert "from_own_address" in event.flags


@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "empty message"),
    (b"\r\n \r\n", "empty message"),
    (b"just some words without any header\r\nmore words\r\n", "no header fields found"),
])
def test_unparseable_mail_raises_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(UnparseableMail) as caught:
        parse(raw)
    assert caught.value.reason == reason


def test_every_corpora_message_parses_or_is_unparseable_with_a_reason(corpora: Path) -> None:
    """611 real, malformed and fuzzed mails: an event that serialises, or a reason."""
    files = [p for p in sorted(corpora.rglob("*")) if p.is_file() and p.name not in SKIP]
    assert len(files) == 611
    parsed = 0
    for path in files:
        try:
            event = parse(path.read_bytes())
        except UnparseableMail as exc:
            assert exc.reason, path
            continue
        assert len(event.to_bytes()) < 8 * 1024 * 1024, path
        parsed += 1
    assert parsed > 500  # the fallback keeps the real-world mails


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_anything_but_unparseable(raw: bytes) -> None:
    try:
        event = parse(raw)
    except UnparseableMail as exc:
        assert exc.reason
    else:
        event.to_bytes()
        assert event.mail_id and "\n" not in event.subject and "\r" not in event.subject


HEADER_NAMES = st.sampled_from([
    "From", "To", "Cc", "Subject", "Message-ID", "References", "In-Reply-To", "Date",
    "Content-Type", "Content-Transfer-Encoding", "Return-Path", "Reply-To", "X-Spam-Flag",
    "MIME-Version", "Content-Disposition",
])
HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from([
        "multipart/mixed; boundary=", "multipart/alternative; boundary=\"a\"", "text/html; charset=",
        "=?utf-8?b?", "=?bogus?q?x?=", "<>", "<@>", "base64", "quoted-printable", "a@", "@b",
        "message/rfc822", "text/plain; charset=\"utf-16\"", "((((", "\"unterminated",
    ]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12), st.binary(max_size=500),
       st.sampled_from([b"\r\n", b"\n"]))
def test_random_headers_never_raise_anything_but_unparseable(
        headers: list[tuple[str, str]], body: bytes, eol: bytes) -> None:
    raw = b"".join(f"{n}: {v}".encode("utf-8", "surrogatepass") + eol for n, v in headers)
    try:
        event = parse(raw + eol + body)
    except UnparseableMail as exc:
        assert exc.reason
    else:
        event.to_bytes()
        assert "\n" not in event.subject and "\r" not in event.from_name


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=80), st.text(alphabet="ab \t\r\n\udcff\u00e9=?", max_size=40)))
def test_header_text_is_unfolded_and_read_as_before(value: str) -> None:
    """``unfold`` and ``to_text`` return values without a line break, or ASCII, as they
    are: what the full unfolding and the UTF-8 round trip give."""
    assert h.unfold(value) == re.sub(r"\r?\n[ \t]*", " ", value).strip()
    try:
        expected = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:
        expected = value.encode("utf-8", "replace").decode("utf-8", "replace")
    assert h.to_text(value) == expected
