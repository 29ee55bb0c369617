"""The reply's To, Message-ID, Subject, In-Reply-To and References headers, made without
parsing where the text allows it, and its From and Date, made once: the same as the stdlib's.

``compose`` gives these per-reply headers their parse tree only when something folds
them the stdlib's way; the value, the addresses, the defects and every folded byte must be
what the stdlib's own header registry makes from the same value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email import policy
from email.headerregistry import Address, HeaderRegistry
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailroom.responder.compose import REPLY_POLICY, SIMPLE_MSG_ID

STDLIB = HeaderRegistry()
OURS = REPLY_POLICY.header_factory
POLICIES = (policy.SMTP, policy.SMTPUTF8, REPLY_POLICY)

atom = st.from_regex(r"[A-Za-z0-9]{1,40}", fullmatch=True)
dot_atom = st.lists(atom, min_size=1, max_size=4).map(".".join)
label = st.from_regex(r"[A-Za-z0-9-]{1,30}", fullmatch=True)
domain = st.lists(label, min_size=1, max_size=4).map(".".join)
names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]),
                max_size=120)


def same_header(ours: object, theirs: object) -> None:
    assert str(ours) == str(theirs)
    assert [(type(d), str(d)) for d in ours.defects] == \
        [(type(d), str(d)) for d in theirs.defects]  # type: ignore[attr-defined]
    for p in POLICIES:
        assert outcome(p.fold, ours) == outcome(p.fold, theirs)
        assert outcome(p.fold_binary, ours) == outcome(p.fold_binary, theirs)


def outcome(fold: Callable[[str, Any], object], header: object) -> object:
    """What folding gives, or the error it raises (e.g. a non-ASCII id under policy.SMTP)."""
    try:
        return fold("X", header)
    except Exception as exc:
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(left=dot_atom, right=domain)
def test_a_plain_message_id_is_the_stdlibs(left: str, right: str) -> None:
    value = f"<{left}@{right}>"
    assert SIMPLE_MSG_ID.fullmatch(value)
    ours, theirs = OURS("Message-ID", value), STDLIB("Message-ID", value)
    same_header(ours, theirs)
    assert not theirs.defects and str(theirs) == value


@settings(max_examples=100, deadline=None)
@given(value=st.text(max_size=60))
@example(value="<")
def test_any_other_message_id_is_parsed_as_the_stdlib_does(value: str) -> None:
    value = value.replace("\r", "").replace("\n", "")
    try:
        theirs = STDLIB("Message-ID", value)
    except Exception as exc:  # the stdlib's parser fails on some text ("<": IndexError)
        with pytest.raises(type(exc)):
            OURS("Message-ID", value)
        return
    same_header(OURS("Message-ID", value), theirs)


@settings(max_examples=300, deadline=None)
@given(name=names, local=dot_atom, host=domain)
def test_the_to_address_is_the_stdlibs(name: str, local: str, host: str) -> None:
    address = Address(display_name=name, addr_spec=f"{local}@{host}")
    ours, theirs = OURS("To", address), STDLIB("To", address)
    same_header(ours, theirs)
    assert ours.addresses == theirs.addresses  # type: ignore[attr-defined]
    assert ours.groups == theirs.groups  # type: ignore[attr-defined]


def test_a_to_given_as_text_is_parsed_as_usual() -> None:
    ours = OURS("To", "Ana <ana@example.org>, bob@example.org")
    theirs = STDLIB("To", "Ana <ana@example.org>, bob@example.org")
    same_header(ours, theirs)
    assert ours.addresses == theirs.addresses  # type: ignore[attr-defined]


# ASCII text as subjects, ids and reference lists carry it, including what looks like an
# encoded word (parsed as usual), long runs that must fold, and runs of spaces
ascii_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=200)


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(ascii_text, names, st.just("=?utf-8?q?Suscripci=C3=B3n?= x"),
                       ascii_text.map(lambda t: f"<{t}@x> " * 3)))
def test_unstructured_headers_are_the_stdlibs(value: str) -> None:
    for header in ("Subject", "In-Reply-To", "References"):
        same_header(OURS(header, value), STDLIB(header, value))


@settings(max_examples=300, deadline=None)
@given(name=names, local=dot_atom, host=domain)
def test_a_plain_recipient_address_is_the_parsed_one(name: str, local: str, host: str) -> None:
    from mailroom.responder.compose import _address

    ours = _address(f"{local}@{host}", "From", name)
    theirs = Address(display_name=name.strip(), addr_spec=f"{local}@{host}")
    assert ours == theirs and str(ours) == str(theirs)
    assert (ours.username, ours.domain, ours.addr_spec) == \
        (theirs.username, theirs.domain, theirs.addr_spec)


@settings(max_examples=300, deadline=None)
@given(name=names, local=st.one_of(dot_atom, st.just("a b"), st.just('x"y'), st.just(".lead")),
       host=domain)
def test_our_from_text_is_the_addresss_own(name: str, local: str, host: str) -> None:
    """The From every reply carries, made once from the three parts ``str(Address)`` reads."""
    from mailroom.responder.compose import _address_text

    sender = Address(display_name=name, username=local, domain=host)
    assert _address_text(sender.display_name, sender.username, sender.domain) == str(sender)


ZONES = [UTC, timezone(timedelta(hours=-5, minutes=-30)), timezone(timedelta(hours=14)),
         timezone(timedelta(seconds=-3601)), ZoneInfo("Europe/Madrid"), ZoneInfo("America/Havana"),
         None]


@settings(max_examples=500, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1),
                           allow_imaginary=True),
       zone=st.sampled_from(ZONES), fold=st.integers(0, 1), micro=st.integers(0, 999_999))
def test_the_date_is_format_datetimes(moment: datetime, zone: tzinfo | None, fold: int,
                                      micro: int) -> None:
    """The Date, formatted once per second: what ``format_datetime`` gives for each moment,
    also for the same instant in another zone or the other side of a fold just before."""
    from mailroom.responder.compose import _date

    moment = moment.replace(tzinfo=zone, fold=fold)
    for one in (moment.replace(microsecond=micro), moment.replace(fold=1 - fold),
                moment.astimezone(UTC) if zone is not None else moment, moment):
        assert _date(one) == format_datetime(one)
