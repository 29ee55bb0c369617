"""The stdlib's folding of a reply's own headers, computed from their text.

``email.policy.SMTP`` folds a header by parsing its value into a token tree and walking
that tree (``email._header_value_parser._refold_parse_tree``, with ``_fold_as_ew`` for
RFC 2047 encoded words). A reply's Subject, References, In-Reply-To and To are new in
every reply, so each reply pays for that parse and walk. This module gives the same text
without the tree, for the shapes those headers have:

* unstructured text (Subject, In-Reply-To, References): words separated by runs of spaces
  and tabs, with no encoded word ("=?"), no control character, no other whitespace and
  no lone surrogate. Its tree is a flat list of words and runs, so the walk is followed
  here token by token: a word too long for the rest of the line moves to the next one at
  the space before it, a word that is not ASCII (or longer than a line) becomes an
  encoded word, merged with the encoded word before it on its line, and split over lines
  the way ``_fold_as_ew`` splits it;
* a mailbox (To) whose display name is not ASCII, is made of atom text (nothing that
  needs quoting) and single spaces, and whose address is a plain ASCII one. The stdlib
  folds each level of its tree (address list, address, mailbox, name-addr) alone first
  and uses that if it is one line; else it takes the level apart, down to the name's
  atoms and the angle address, which are followed here as they are for unstructured
  text (an atom that is not ASCII becomes an encoded word, merged with the one before).

Anything else, and any step of the walk whose outcome depends on text this module does
not track, returns ``None``: the caller folds it with the stdlib. Every function follows
the stdlib code it was checked against, step for step, and that code has changed between
Python releases (3.13 folds encoded words after a folded line differently), so nothing
here is used unless ``reproducible()``: the source of the stdlib functions followed is one
of the versions listed in ``_FOLLOWED`` and a set of sample headers fold the same both
ways. ``tests/unit/test_compose.py`` checks the results byte for byte against
``policy.SMTP``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import re
from collections.abc import Callable
from email import _encoded_words as _ew  # type: ignore[attr-defined]
from email import _header_value_parser as _parser
from email import headerregistry
from email.policy import EmailPolicy
from typing import Any

# ``_fold_as_ew``'s "chrome": "=?utf-8?q?" and "?=" around the encoded text
_CHROME = len("utf-8") + 7
# the shortest line and longest header name this module folds for (a policy could ask for
# less room than an encoded word needs, where the stdlib raises)
_MIN_LINE = 40
_MAX_NAME = 30
_NAME = re.compile(r"[!-9;-~]+")  # a header name: printable ASCII without ":"
_WSP = " \t"
_WSP_RUNS = re.compile(r"([ \t]+)")  # the stdlib's _wsp_splitter
# what this module leaves to the stdlib in any text: C0 and C1 controls (tab apart), any
# whitespace but space and tab (the parser's lstrip takes it as folding white space), lone
# surrogates (the stdlib writes them as unknown-8bit)
_UNTRACKED = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]|[^\S \t]")
# a display name the parser reads as atoms (no special, no quote, single spaces) and
# Address prints unquoted
_ATOM_CHARS = r'[^\s()<>@,:;.\\"\[\]\x00-\x1f\x7f-\x9f\ud800-\udfff]+'
_ATOM_NAME = re.compile(rf"{_ATOM_CHARS}(?: {_ATOM_CHARS})*")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")

# the stdlib's quoted-printable map for encoded words (q), and the bytes it writes as
# themselves (one character; every other byte takes three, "=XX")
try:
    _Q_MAP: list[str] = [_ew._q_byte_map[byte] for byte in range(256)]
except (AttributeError, KeyError, TypeError):  # another Python's internals: ``reproducible`` says no
    _Q_MAP = []
_Q_PLAIN = bytes(byte for byte in range(len(_Q_MAP)) if len(_Q_MAP[byte]) == 1)


class _Untracked(Exception):
    """The stdlib's next step depends on text this module does not follow."""


def _encoded_word(text: str) -> str:
    """``_ew.encode(text, charset="utf-8")``: q or b, whichever is shorter (q when at most
    four characters longer)."""
    data = text.encode("utf-8")
    q = len(data) + 2 * len(data.translate(None, _Q_PLAIN))
    b = (len(data) + 2) // 3 * 4
    if q - b < 5:
        return "=?utf-8?q?" + "".join(map(_Q_MAP.__getitem__, data)) + "?="
    return "=?utf-8?b?" + base64.b64encode(data).decode("ascii") + "?="


def _encoded_length(text: str) -> int:
    """``len(_encoded_word(text))``, without writing it."""
    data = text.encode("utf-8")
    q = len(data) + 2 * len(data.translate(None, _Q_PLAIN))
    b = (len(data) + 2) // 3 * 4
    return _CHROME + (q if q - b < 5 else b)


class _Lines:
    """``_refold_parse_tree``'s ``lines`` and ``last_ew``, and the text of the last line
    from ``last_ew`` on as the stdlib reads it back to merge encoded words.

    To merge a new encoded word with the one before it on its line, ``_fold_as_ew``
    decodes ``lines[-1][last_ew:]`` (``get_unstructured``). This class knows that text
    (``tail``) while ``tail_at`` is where it starts on the last line; where the stdlib's
    ``last_ew`` points elsewhere (it may be left pointing into the line before, when an
    encoded word had to start on a new one), the text it would read is known only when it
    is empty (``last_ew`` at or past the line's end); otherwise the fold is the stdlib's.
    """

    __slots__ = ("last_ew", "lines", "maxlen", "tail", "tail_at")

    def __init__(self, maxlen: int, first: str) -> None:
        self.maxlen = maxlen
        self.lines = [first]
        self.last_ew: int | None = None
        self.tail_at: int | None = None
        self.tail = ""

    def add(self, text: str) -> None:
        """``lines[-1] += text``."""
        self.lines[-1] += text
        if self.tail_at is not None:
            self.tail += text

    def new_line(self, text: str) -> None:
        """``lines.append(text)``."""
        self.lines.append(text)
        self.tail_at = None
        self.tail = ""

    def steal_wsp(self) -> str:
        """``_steal_trailing_WSP_if_exists(lines)``: the last line's final blank, taken
        off it (the stdlib starts the next line with it)."""
        line = self.lines[-1]
        if line and line[-1] in _WSP:
            self.lines[-1] = line[:-1]
            self.tail_at = None  # (a new line follows every time)
            return line[-1]
        return ""

    def fold_as_ew(self, to_encode: str) -> None:
        """``last_ew = _fold_as_ew(to_encode, lines, maxlen, last_ew, True, charset)``:
        ``to_encode`` as UTF-8 encoded words, merged with the one before on this line."""
        lines, last_ew = self.lines, self.last_ew
        if last_ew is not None:
            line = lines[-1]
            if last_ew >= len(line):
                before = ""
            elif last_ew == self.tail_at:
                before = self.tail
            else:
                raise _Untracked
            to_encode = before + to_encode
            lines[-1] = line[:last_ew]
            self.tail_at = last_ew if last_ew == len(lines[-1]) else None
            self.tail = ""
        if to_encode[0] in _WSP:
            leading = to_encode[0]
            to_encode = to_encode[1:]
            if len(lines[-1]) == self.maxlen:
                self.new_line(self.steal_wsp())
            self.add(leading)
        if not to_encode:
            raise _Untracked  # (the stdlib fails here: an IndexError)
        trailing = ""
        if to_encode[-1] in _WSP:
            trailing = to_encode[-1]
            to_encode = to_encode[:-1]
        if last_ew is None:
            last_ew = self.tail_at = len(lines[-1])
            self.tail = ""
        maxlen = self.maxlen
        while to_encode:
            remaining = maxlen - len(lines[-1])
            text_space = remaining - _CHROME
            if text_space <= 0:
                self.new_line(" ")
                continue
            # the longest start of what is left that fits, as the stdlib finds it: from
            # text_space characters down, one at a time (the encoded length is not
            # monotonic: q turns into b)
            size = min(text_space, len(to_encode))
            while _encoded_length(to_encode[:size]) > remaining:
                size -= 1
            chunk = to_encode[:size]
            lines[-1] += _encoded_word(chunk)
            if self.tail_at is not None:
                self.tail += chunk
            to_encode = to_encode[size:]
            if to_encode:
                self.new_line(" ")
                last_ew = self.tail_at = 1
        self.add(trailing)
        self.last_ew = last_ew


def _usable(name: str, policy: EmailPolicy[Any]) -> int | None:
    """The policy's line length, if this module folds for it and for this header name."""
    maxlen = policy.max_line_length
    if not isinstance(maxlen, int) or maxlen < _MIN_LINE or len(name) > _MAX_NAME \
            or not _NAME.fullmatch(name):
        return None
    return maxlen


def fold_unstructured(name: str, text: str, policy: EmailPolicy[Any]) -> bytes | None:
    """``policy.fold_binary(name, header)`` for an unstructured header whose value is
    ``text`` (its tree parsed from ``text``), or ``None`` where this module leaves the
    folding to the stdlib."""
    return _unstructured(name, text, policy) if reproducible() else None


def _unstructured(name: str, text: str, policy: EmailPolicy[Any]) -> bytes | None:
    maxlen = _usable(name, policy)
    if maxlen is None or not text or "=?" in text or _UNTRACKED.search(text):
        return None
    try:
        lines = _fold_unstructured(name, text, maxlen, policy.utf8)
    except _Untracked:
        return None
    return _encode(lines, policy)


def _fold_unstructured(name: str, text: str, maxlen: int, utf8: bool) -> list[str]:
    # the header's label and the blank after it fit (the name is short)
    head = f"{name}: "
    if utf8 or text.isascii():
        # the whole value (the tree's one token list) on this line if it fits, else alone
        # on the next one if it fits there
        if len(text) <= maxlen - len(head):
            return [head + text]
        if len(text) + 1 <= maxlen:
            return [head[:-1], " " + text]
    # else its words and blanks one by one
    out = _Lines(maxlen, head)
    pieces = _WSP_RUNS.split(text)
    tokens = [(piece, i % 2 == 1) for i, piece in enumerate(pieces) if piece]
    want_encoding = False
    i = 0
    while i < len(tokens):
        token, blank = tokens[i]
        if not (utf8 or token.isascii()):
            want_encoding = True
        if want_encoding:
            out.fold_as_ew(token)
            want_encoding = False
            i += 1
            continue
        if len(token) <= maxlen - len(out.lines[-1]):
            out.add(token)
            i += 1
            continue
        if len(token) + 1 <= maxlen:
            newline = out.steal_wsp()
            if newline or blank:
                out.new_line(newline + token)
                out.last_ew = None
                i += 1
                continue
        # a word that fits on no line (or cannot start one): the stdlib encodes it, to
        # be able to split it
        want_encoding = True
    return out.lines


def fold_mailbox(name: str, display_name: str, addr_spec: str,
                 policy: EmailPolicy[Any]) -> bytes | None:
    """``policy.fold_binary(name, header)`` for an address header holding the one mailbox
    ``display_name <addr_spec>`` (its tree parsed from that text), or ``None`` where this
    module leaves the folding to the stdlib: an ASCII or quoted display name, another
    address, a UTF-8 policy, or a word or address too long for a line."""
    return _mailbox(name, display_name, addr_spec, policy) if reproducible() else None


def _mailbox(name: str, display_name: str, addr_spec: str, policy: EmailPolicy[Any]) -> bytes | None:
    maxlen = _usable(name, policy)
    if maxlen is None or policy.utf8 or display_name.isascii() or "=?" in display_name \
            or not _ATOM_NAME.fullmatch(display_name) or not _PLAIN_ADDRESS.fullmatch(addr_spec):
        return None
    words = display_name.split(" ")
    angle = f"<{addr_spec}>"
    try:
        # the address list, address, mailbox and name-addr each fold alone to what the
        # name-addr's parts fold to from an empty line
        alone = _name_addr(_Lines(maxlen, ""), words, angle)
        if len(alone) == 1:
            # one line: after the label if it fits there, else alone on the next line
            if len(alone[0]) <= maxlen - len(name) - 2:
                return _encode([f"{name}: {alone[0]}"], policy)
            return _encode([f"{name}:", " " + alone[0]], policy)
        # else each level is taken apart, down to those parts, folded after the label
        return _encode(_name_addr(_Lines(maxlen, f"{name}: "), words, angle), policy)
    except _Untracked:
        return None


def _name_addr(out: _Lines, words: list[str], angle: str) -> list[str]:
    """The display name's atoms, then the angle address, folded onto ``out``'s lines.

    An ASCII atom (the word and the blank after it) goes on the line if it fits, else on
    the next, with the blank it takes from the end of this one. Another is taken apart:
    its word as an encoded word (merged with the one before on the line), then its blank,
    on this line if there is room, else starting the next. The angle address, like an
    ASCII atom. (An atom or address that fits on no line the stdlib takes apart further:
    not followed here.)
    """
    maxlen = out.maxlen
    for word in words:
        if word.isascii():
            _whole(out, word + " ")
            continue
        out.fold_as_ew(word)
        if len(out.lines[-1]) < maxlen:
            out.add(" ")
        else:
            out.new_line(out.steal_wsp() + " ")
            out.last_ew = None
    _whole(out, angle)
    return out.lines


def _whole(out: _Lines, part: str) -> None:
    """A part the stdlib keeps whole (an ASCII atom, the angle address): here if it fits,
    else on a new line started by the blank before it."""
    if len(part) <= out.maxlen - len(out.lines[-1]):
        out.add(part)
        return
    newline = out.steal_wsp() if len(part) + 1 <= out.maxlen else ""
    if not newline:
        raise _Untracked
    out.new_line(newline + part)
    out.last_ew = None


def _encode(lines: list[str], policy: EmailPolicy[Any]) -> bytes:
    """What ``fold_binary`` returns for the folded lines."""
    folded = policy.linesep.join(lines) + policy.linesep
    return folded.encode("utf-8" if policy.utf8 else "ascii")


# The stdlib code the functions above follow, by the SHA-256 of its source (first 16 hex
# digits): the versions they were checked against, by the tests and by differential runs
# under each Python (CPython 3.11.7 and 3.12.1, and Debian's 3.11.2, which carries the
# security fixes that changed _refold_parse_tree and get_address_list in branches these
# headers never take: newlines in a token, list separators). Another version of any of
# them and nothing here is used (3.13's _refold_parse_tree and _fold_as_ew give other
# bytes for some of these headers).
_FOLLOWED: dict[str, frozenset[str]] = {name: frozenset(digests) for name, digests in {
    "_refold_parse_tree": ("f3458a82b73fa3aa", "5b879dcfe84fa8bd"),
    "_fold_as_ew": ("f71cd366baa150c7",),
    "_steal_trailing_WSP_if_exists": ("c0cde9fe03a31077",),
    "get_unstructured": ("a01158c4b7ae09d8",),
    "get_fws": ("6fd21e1cbc94eb0b",),
    "get_encoded_word": ("d384d6c5c3b79062",),
    "get_address_list": ("e7fb1163cc6aed10", "ed1835f2f995c6aa", "7f59a957e73ba995"),
    "get_address": ("497713ae8f2b8842",),
    "get_mailbox": ("1f2d518c81f0f4f7",),
    "get_name_addr": ("02143a1dfcbdf4d7",),
    "get_display_name": ("0a865cdf8dfb40d3",),
    "get_phrase": ("3ea9006863c6ae46",),
    "get_word": ("c4134a1e8ad557dc",),
    "get_atom": ("9a96a9b72559a163",),
    "get_atext": ("fcb42891b6f44cad",),
    "get_cfws": ("adf35498b49c734a",),
    "get_angle_addr": ("10874a347edc8912",),
    "get_addr_spec": ("1a374ee5234a0b99",),
    "get_local_part": ("059d084acd1a0635",),
    "get_dot_atom": ("966173924a5304b2",),
    "get_dot_atom_text": ("4904a4f9a7ca46ed",),
    "get_domain": ("a9f52ee806f25a33",),
    "_ew.encode": ("4d8e262b74428e5e",),
    "_ew.encode_q": ("321f5a540c970d4f",),
    "_ew.encode_b": ("7b63d81193d2ca57",),
    "_ew.len_q": ("b56d0acfa3d8f235",),
    "_ew.len_b": ("5457944badf97934",),
    "_ew.decode": ("a044b4e63b4852ad",),
    "BaseHeader.fold": ("55e00f88fa855d21",),
    "EmailPolicy._fold": ("80e8938a5099dbbc",),
    "EmailPolicy.fold_binary": ("a158d08a4ca7aed7",),
}.items()}


def _followed_functions() -> dict[str, Callable[..., Any]]:
    names = ("_refold_parse_tree", "_fold_as_ew", "_steal_trailing_WSP_if_exists",
             "get_unstructured", "get_fws", "get_encoded_word", "get_address_list", "get_address",
             "get_mailbox", "get_name_addr", "get_display_name", "get_phrase", "get_word",
             "get_atom", "get_atext", "get_cfws", "get_angle_addr", "get_addr_spec",
             "get_local_part", "get_dot_atom", "get_dot_atom_text", "get_domain")
    found: dict[str, Callable[..., Any]] = {name: getattr(_parser, name) for name in names}
    found.update({
        "_ew.encode": _ew.encode, "_ew.encode_q": _ew.encode_q, "_ew.encode_b": _ew.encode_b,
        "_ew.len_q": _ew.len_q, "_ew.len_b": _ew.len_b, "_ew.decode": _ew.decode,
        "BaseHeader.fold": headerregistry.BaseHeader.fold,
        "EmailPolicy._fold": vars(EmailPolicy)["_fold"], "EmailPolicy.fold_binary": EmailPolicy.fold_binary,
    })
    return found


def source_digests() -> dict[str, str]:
    """The digest of each followed function's source in this Python (for ``_FOLLOWED``)."""
    return {name: hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]
            for name, function in _followed_functions().items()}


@functools.cache
def reproducible() -> bool:
    """Whether this Python's folding is the one this module follows (checked once)."""
    try:
        digests = source_digests()
    except (OSError, TypeError, AttributeError):  # no source to read: not known
        return False
    if any(digest not in _FOLLOWED.get(name, ()) for name, digest in digests.items()):
        return False
    if len(_Q_MAP) != 256 or any(len(encoded) not in (1, 3) for encoded in _Q_MAP):
        # (what _encoded_length counts)
        return False
    return _samples_agree()


def _samples_agree() -> bool:
    """A sample of each case folded by this module and by the stdlib's own header classes
    (the token tree's shape is the parser's, which the digests cover only in part)."""
    from email import policy as policies

    registry = headerregistry.HeaderRegistry()
    subjects = ["Re: Solicitud de suscripción al boletín de noticias de la asociación de vecinos",
                "Re: ¿Cómo cambio mi contraseña? 🙂 " * 3, "Re: " + "ñ" * 90,
                "Re: " + "x" * 90, "Re: a\t\tb  " + "c" * 75 + " é"]
    references = [" ".join(f"<{i}.{'r' * 30}@example.org>" for i in range(12)),
                  f"<{'long' * 30}@example.org> <b@example.org>"]
    names = ["José Pérez", "María José Núñez de la Fuente", "Zoë " + "ü" * 40]
    for policy in (policies.SMTP, policies.SMTPUTF8):
        for name, value in [*(("Subject", s) for s in subjects),
                            *(("References", r) for r in references)]:
            ours = _unstructured(name, value, policy)
            if ours is not None and ours != policy.fold_binary(name, registry(name, value)):
                return False
    for display_name in names:
        address = headerregistry.Address(display_name=display_name, addr_spec="ana@example.org")
        ours = _mailbox("To", display_name, address.addr_spec, policies.SMTP)
        if ours is not None and ours != policies.SMTP.fold_binary("To", registry("To", address)):
            return False
    return True
